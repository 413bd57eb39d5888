//! Topic routes: who sends what to whom, as typed values (source, topic filter, target).
//!
//! A function's `toCloudSubscriptions` route it to AWS IoT Core, its `fromCloudSubscriptions`
//! route IoT Core to it, each connected shadow routes it to and from the local shadow service,
//! and one function's output topics route to another's input topics where the two filters
//! intersect (GGP's `topicCandidate`; the route's topic is the intersection). Greengrass V1 makes
//! them subscriptions; Greengrass V2 makes them event sources, router entries and IoT policy
//! statements.

use std::collections::{BTreeMap, HashMap};

use super::functions::Function;
use crate::config::model::sanitize_id;
use crate::topics;

/// One end of a route.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Endpoint {
    /// AWS IoT Core.
    Cloud,
    /// The core's local shadow service (V1 `GGShadowService`).
    ShadowService,
    /// A function of the group, by its function name.
    Function(String),
}

/// A route: messages on `topic` (a filter, possibly with wildcards) go from `source` to `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// A stable id from the route's content (its ends' addresses and topic).
    pub id: String,
    pub source: Endpoint,
    pub topic: String,
    pub target: Endpoint,
}

/// How an endpoint is addressed: `cloud`, `GGShadowService`, or the function's alias ARN (the
/// names Greengrass V1 subscriptions use; route ids and their order follow them).
/// `alias_arns` maps function names to alias ARNs.
pub fn address<'a>(e: &'a Endpoint, alias_arns: &HashMap<&str, &'a str>) -> &'a str {
    match e {
        Endpoint::Cloud => "cloud",
        Endpoint::ShadowService => "GGShadowService",
        Endpoint::Function(name) => alias_arns.get(name.as_str()).copied().unwrap_or(name),
    }
}

/// A short stable id from content (route ids must be stable for content hashing).
pub(crate) fn short_hash(s: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(s.as_bytes());
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn topic_head(t: &str) -> &str {
    t.split('/').next().unwrap_or("")
}

fn is_wildcard(level: &str) -> bool {
    level == "+" || level == "#"
}

/// Every route of the group, without repeats, ordered by (source address, topic, target address).
pub(super) fn build(functions: &[Function]) -> Vec<Route> {
    let alias_arns: HashMap<&str, &str> = functions
        .iter()
        .map(|f| (f.name(), f.alias_arn.as_str()))
        .collect();
    let mut routes: BTreeMap<(String, String, String), (Endpoint, Endpoint)> = BTreeMap::new();
    let mut add = |source: Endpoint, topic: String, target: Endpoint| {
        let key = (
            address(&source, &alias_arns).to_string(),
            topic,
            address(&target, &alias_arns).to_string(),
        );
        routes.entry(key).or_insert((source, target));
    };
    for f in functions {
        let me = || Endpoint::Function(f.name().to_string());
        for t in &f.conf.to_cloud_subscriptions {
            add(me(), t.clone(), Endpoint::Cloud);
        }
        for t in &f.conf.from_cloud_subscriptions {
            add(Endpoint::Cloud, t.clone(), me());
        }
        for s in &f.conf.connected_shadows {
            let topic = format!("$aws/things/{s}/shadow/#");
            add(me(), topic.clone(), Endpoint::ShadowService);
            add(Endpoint::ShadowService, topic, me());
        }
    }
    // Index input topics by their first level so the wiring is not a full cross product.
    let mut inputs_by_head: BTreeMap<&str, Vec<(usize, &str)>> = BTreeMap::new();
    for (gi, g) in functions.iter().enumerate() {
        for i in &g.conf.input_topics {
            inputs_by_head
                .entry(topic_head(i))
                .or_default()
                .push((gi, i));
        }
    }
    for (fi, f) in functions.iter().enumerate() {
        for o in &f.conf.output_topics {
            let head = topic_head(o);
            let candidates: Vec<&(usize, &str)> = if is_wildcard(head) {
                inputs_by_head.values().flatten().collect()
            } else {
                ["+", "#", head]
                    .iter()
                    .filter_map(|h| inputs_by_head.get(h))
                    .flatten()
                    .collect()
            };
            for &&(gi, i) in &candidates {
                if gi == fi {
                    continue;
                }
                if let Some(topic) = topics::intersect(o, i) {
                    add(
                        Endpoint::Function(f.name().to_string()),
                        topic,
                        Endpoint::Function(functions[gi].name().to_string()),
                    );
                }
            }
        }
    }
    routes
        .into_iter()
        .map(|((s, topic, t), (source, target))| Route {
            id: sanitize_id(&short_hash(&format!("{s}|{topic}|{t}"))),
            source,
            topic,
            target,
        })
        .collect()
}
