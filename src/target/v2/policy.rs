//! The Greengrass V2 core's IoT policy, and the token exchange role's trust and access.
//!
//! The minimal policy follows AWS's "Minimal AWS IoT policy for AWS IoT Greengrass V2 core devices"
//! (Greengrass V2 Developer Guide, device-auth): the core's client ids, its jobs, shadow and health
//! topics, its role alias. That page says a core's components need their own topics added; ggp adds
//! them from the configuration ([`CloudTopics`], [`add_cloud_topics`]): the topic filters the core
//! subscribes to for its components' IoT Core event sources and the topics it publishes for their
//! routes to the cloud.

use std::collections::BTreeSet;

use serde_json::{json, Value};

/// What the core does on AWS IoT Core for its components, as the configuration writes it (MQTT
/// wildcards included): the topic filters it subscribes to (event sources from the cloud, connectors
/// reading IoT Core) and the topics it publishes (routes to the cloud).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloudTopics {
    pub subscribe: BTreeSet<String>,
    pub publish: BTreeSet<String>,
}

impl CloudTopics {
    pub fn is_empty(&self) -> bool {
        self.subscribe.is_empty() && self.publish.is_empty()
    }
}

/// The IoT policy resource names (after `topic/`) covering every topic the MQTT filter `filter`
/// matches, for `iot:Publish` and `iot:Receive`, whose resources are topic names. AWS IoT policies
/// have no MQTT wildcards; their own `*` matches any characters, `/` included (Developer Guide,
/// "Using wildcards in MQTT and AWS IoT Core policies"). So `+` becomes `*` (which also matches
/// deeper levels: the closest a policy can say), and `a/#` becomes `a` and `a/*` (`#` matches the
/// parent level too). Without wildcards the topic is itself.
pub fn topic_resources(filter: &str) -> Vec<String> {
    let levels: Vec<&str> = filter.split('/').collect();
    let starred = |ls: &[&str]| {
        ls.iter()
            .map(|l| if *l == "+" { "*" } else { l })
            .collect::<Vec<_>>()
            .join("/")
    };
    match levels.split_last() {
        Some((&"#", [])) => vec!["*".into()],
        Some((&"#", parent)) => vec![starred(parent), format!("{}/*", starred(parent))],
        _ => vec![starred(&levels)],
    }
}

/// Adds to `policy` what the core needs for `topics`: `iot:Subscribe` on each filter as written
/// (`topicfilter/` resources take MQTT wildcards literally: subscribing to `a/+` needs
/// `topicfilter/a/+`), `iot:Receive` on the topics it matches, `iot:Publish` on the topics routed
/// to the cloud. To stay under AWS IoT's size limit ([`IOT_POLICY_MAX_CHARS`]) a topic both
/// published and received is named once, with both actions, resources join the statement that
/// already allows the same actions, and a resource another one of it matches is left out.
pub fn add_cloud_topics(policy: &mut Value, region: &str, account: &str, topics: &CloudTopics) {
    let p = crate::model::arn::prefix("iot", region, account);
    let resources = |set: &BTreeSet<String>| -> BTreeSet<String> {
        set.iter().flat_map(|f| topic_resources(f)).collect()
    };
    let (receive, publish) = (resources(&topics.subscribe), resources(&topics.publish));
    let both: BTreeSet<String> = receive.intersection(&publish).cloned().collect();
    let groups: [(&[&str], &str, BTreeSet<String>); 4] = [
        (&["iot:Subscribe"], "topicfilter", topics.subscribe.clone()),
        (&["iot:Publish", "iot:Receive"], "topic", both.clone()),
        (&["iot:Receive"], "topic", &receive - &both),
        (&["iot:Publish"], "topic", &publish - &both),
    ];
    for (actions, kind, set) in groups {
        let kept: Vec<String> = set.iter().map(|r| format!("{p}:{kind}/{r}")).collect();
        allow(policy, actions, kept);
    }
}

/// The strings of a statement's `Action` or `Resource` (a string or a list).
fn strings_of(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Allows `actions` on `resources` in `policy`: in the statement that already allows exactly these
/// actions, when there is one (fewer characters than a new statement), else in a new one. A
/// resource that an Allow statement with all of `actions` already covers adds nothing, and a
/// resource another one of the statement covers is left out.
fn allow(policy: &mut Value, actions: &[&str], mut resources: Vec<String>) {
    let Some(statements) = policy["Statement"].as_array_mut() else {
        return;
    };
    resources.retain(|r| {
        !statements.iter().any(|s| {
            let granted = strings_of(&s["Action"]);
            s["Effect"] == "Allow"
                && actions
                    .iter()
                    .all(|a| granted.iter().any(|g| g == a || *g == "iot:*" || *g == "*"))
                && strings_of(&s["Resource"])
                    .iter()
                    .any(|q| policy_star_matches(q, r))
        })
    });
    if resources.is_empty() {
        return;
    }
    let i = match statements.iter().position(|s| {
        s["Effect"] == "Allow" && s["Action"] == json!(actions) && s["Resource"].is_array()
    }) {
        Some(i) => i,
        None => {
            statements.push(json!({"Effect": "Allow", "Action": actions, "Resource": []}));
            statements.len() - 1
        }
    };
    let mut list: Vec<String> = statements[i]["Resource"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    for r in resources {
        if !list.contains(&r) {
            list.push(r);
        }
    }
    let all = list.clone();
    list.retain(|r| !all.iter().any(|q| q != r && policy_star_matches(q, r)));
    statements[i]["Resource"] = json!(list);
}

/// Whether the policy resource pattern `pattern` (its `*` matching any characters, `/` included)
/// matches `text` read literally. When `pattern` has no `?`, a match also means every topic `text`
/// stands for (its own `*` being any characters) is matched, since each of its `*` falls inside
/// one of the pattern's. A pattern with `?` is never taken to cover another resource.
fn policy_star_matches(pattern: &str, text: &str) -> bool {
    if pattern.contains('?') {
        return false;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = parts.split_first().expect("split yields one part");
    let Some(mut t) = text.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return t.is_empty();
    };
    for m in middle {
        match t.find(m) {
            Some(i) => t = &t[i + m.len()..],
            None => return false,
        }
    }
    t.len() >= last.len() && t.ends_with(last)
}

/// AWS IoT's limit on a policy document: 2048 characters, white space not counted (AWS IoT Core
/// endpoints and quotas, "Maximum size of a policy document"; CreatePolicy refuses more).
pub const IOT_POLICY_MAX_CHARS: usize = 2048;

/// The size AWS IoT counts for `policy`. An account id not known yet (a dry run with no account)
/// is counted as the 12 digits every account id has.
pub fn iot_policy_size(policy: &Value) -> usize {
    policy
        .to_string()
        .replace(&crate::config::placeholder("ACCOUNT_ID"), "000000000000")
        .chars()
        .filter(|c| !c.is_whitespace())
        .count()
}

/// The minimal V2 core policy (greengrass-formats.md B.3): its own client ids, jobs, shadows and
/// health topics, its role alias, and the Greengrass data-plane calls.
pub fn minimal_v2_iot_policy(region: &str, account: &str, thing: &str, alias: &str) -> Value {
    let p = crate::model::arn::prefix("iot", region, account);
    let t = format!("$aws/things/{thing}*");
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iot:Connect"], "Resource": format!("{p}:client/{thing}*")},
        {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": [
            format!("{p}:topic/{t}/jobs/*"), format!("{p}:topic/{t}/shadow/*"),
            format!("{p}:topic/{t}/greengrass/health/json"), format!("{p}:topic/{t}/greengrassv2/health/json")]},
        {"Effect": "Allow", "Action": ["iot:Subscribe"], "Resource": [
            format!("{p}:topicfilter/{t}/jobs/*"), format!("{p}:topicfilter/{t}/shadow/*")]},
        {"Effect": "Allow", "Action": ["iot:GetThingShadow", "iot:UpdateThingShadow", "iot:DeleteThingShadow"], "Resource": [format!("{p}:thing/{thing}*")]},
        {"Effect": "Allow", "Action": "iot:AssumeRoleWithCertificate", "Resource": format!("{p}:rolealias/{alias}")},
        {"Effect": "Allow", "Action": ["greengrass:GetComponentVersionArtifact", "greengrass:ResolveComponentCandidates", "greengrass:GetDeploymentConfiguration", "greengrass:ListThingGroupsForCoreDevice"], "Resource": "*"}
    ]})
}

/// Lets the core sync the shadows of other things (ShadowManager `shadowDocuments`): their shadow
/// topics and shadow calls, added to the minimal policy.
pub fn add_shadow_things(policy: &mut Value, region: &str, account: &str, things: &[&str]) {
    if things.is_empty() {
        return;
    }
    let p = crate::model::arn::prefix("iot", region, account);
    let topics: Vec<String> = things
        .iter()
        .map(|t| format!("{p}:topic/$aws/things/{t}/shadow/*"))
        .collect();
    let filters: Vec<String> = things
        .iter()
        .map(|t| format!("{p}:topicfilter/$aws/things/{t}/shadow/*"))
        .collect();
    let arns: Vec<String> = things.iter().map(|t| format!("{p}:thing/{t}")).collect();
    allow(policy, &["iot:Publish", "iot:Receive"], topics);
    allow(policy, &["iot:Subscribe"], filters);
    allow(
        policy,
        &[
            "iot:GetThingShadow",
            "iot:UpdateThingShadow",
            "iot:DeleteThingShadow",
        ],
        arns,
    );
}

/// The permissive form the installer uses (`conf.core.broadIotPolicy = true`): its
/// `GreengrassV2IoTThingPolicy`, plus `iot:AssumeRoleWithCertificate` on the role alias, which the
/// installer always attaches in a second policy (`GreengrassTESCertificatePolicy<alias>`) and
/// without which the core gets no AWS credentials (Greengrass V2 Developer Guide, "Authorize core
/// devices to interact with AWS services").
pub fn broad_v2_iot_policy(region: &str, account: &str, alias: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iot:Publish", "iot:Subscribe", "iot:Receive", "iot:Connect", "greengrass:*"], "Resource": ["*"]},
        {"Effect": "Allow", "Action": "iot:AssumeRoleWithCertificate", "Resource": format!("{}:rolealias/{alias}", crate::model::arn::prefix("iot", region, account))}
    ]})
}

/// The token exchange role's trust statement.
pub fn tes_trust() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "credentials.iot.amazonaws.com"}}]})
}

/// What the installer grants the token exchange role (nucleus ≥ 2.5.0).
pub fn tes_access() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "s3:GetBucketLocation"], "Resource": "*"}]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_policy_scopes_the_thing_and_alias() {
        let p = minimal_v2_iot_policy("eu-west-1", "123456789012", "g_Core", "alias-x");
        let s = p.to_string();
        assert!(s.contains("arn:aws:iot:eu-west-1:123456789012:client/g_Core*"));
        assert!(s.contains("arn:aws:iot:eu-west-1:123456789012:rolealias/alias-x"));
        assert!(s.contains("greengrass:ListThingGroupsForCoreDevice"));
        assert!(!s.contains("\"iot:*\""));
    }

    #[test]
    fn mqtt_wildcards_become_policy_resources() {
        assert_eq!(topic_resources("a/b"), ["a/b"]);
        assert_eq!(topic_resources("a/+/b"), ["a/*/b"]);
        assert_eq!(topic_resources("a/#"), ["a", "a/*"]);
        assert_eq!(topic_resources("#"), ["*"]);
        assert_eq!(topic_resources("+/x/#"), ["*/x", "*/x/*"]);
    }

    #[test]
    fn cloud_topics_are_added_as_subscribe_receive_and_publish() {
        let mut p = minimal_v2_iot_policy("eu-west-1", "123456789012", "g_Core", "alias-x");
        let topics = CloudTopics {
            subscribe: ["g_Core/python/request".to_string(), "cmd/+/go".into()].into(),
            publish: ["g_Core/python/hello".to_string()].into(),
        };
        add_cloud_topics(&mut p, "eu-west-1", "123456789012", &topics);
        let st = p["Statement"].as_array().unwrap();
        // The statement with exactly these actions: the minimal policy's Subscribe one is extended.
        let find = |action: &str| {
            st.iter()
                .find(|s| s["Action"] == json!([action]))
                .map(|s| s["Resource"].clone())
                .unwrap()
        };
        let a = "arn:aws:iot:eu-west-1:123456789012";
        assert_eq!(
            find("iot:Subscribe"),
            json!([
                format!("{a}:topicfilter/$aws/things/g_Core*/jobs/*"),
                format!("{a}:topicfilter/$aws/things/g_Core*/shadow/*"),
                format!("{a}:topicfilter/cmd/+/go"),
                format!("{a}:topicfilter/g_Core/python/request")
            ])
        );
        assert_eq!(
            find("iot:Receive"),
            json!([
                format!("{a}:topic/cmd/*/go"),
                format!("{a}:topic/g_Core/python/request")
            ])
        );
        assert_eq!(
            find("iot:Publish"),
            json!([format!("{a}:topic/g_Core/python/hello")])
        );
    }

    #[test]
    fn a_topic_published_and_received_is_named_once_and_covered_resources_are_left_out() {
        // `dev/x` is published and received (one resource, both actions); `dev/x/*` is covered
        // by `dev/*` (both Receive only); `topicfilter/dev/a/b` is not covered
        // by `topicfilter/dev/#`: MQTT wildcards are literal in policy resources.
        let mut p = json!({"Statement": []});
        let topics = CloudTopics {
            subscribe: [
                "dev/#".to_string(),
                "dev/a/b".into(),
                "dev/x/#".into(),
                "up".into(),
            ]
            .into(),
            publish: ["up".to_string(), "dev/x".into()].into(),
        };
        add_cloud_topics(&mut p, "r", "1", &topics);
        assert_eq!(
            p["Statement"],
            json!([
                {"Effect": "Allow", "Action": ["iot:Subscribe"], "Resource": [
                    "arn:aws:iot:r:1:topicfilter/dev/#", "arn:aws:iot:r:1:topicfilter/dev/a/b",
                    "arn:aws:iot:r:1:topicfilter/dev/x/#", "arn:aws:iot:r:1:topicfilter/up"]},
                {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": [
                    "arn:aws:iot:r:1:topic/dev/x", "arn:aws:iot:r:1:topic/up"]},
                {"Effect": "Allow", "Action": ["iot:Receive"], "Resource": [
                    "arn:aws:iot:r:1:topic/dev", "arn:aws:iot:r:1:topic/dev/*"]}
            ])
        );
    }

    #[test]
    fn a_policy_star_matches_any_characters_and_question_marks_cover_nothing() {
        assert!(policy_star_matches("a/*", "a/b/c"));
        assert!(policy_star_matches("a/*", "a/*/c"));
        assert!(policy_star_matches("*/x/*", "a/x/y"));
        assert!(policy_star_matches("a", "a"));
        assert!(!policy_star_matches("a/*", "a"));
        assert!(!policy_star_matches("a/*/x", "a/b"));
        assert!(!policy_star_matches("a*b", "ab/c"));
        assert!(!policy_star_matches("a/?", "a/*"));
    }

    #[test]
    fn an_unknown_account_is_counted_as_twelve_digits() {
        let known = minimal_v2_iot_policy("eu-west-1", "123456789012", "g_Core", "alias-x");
        let unknown = minimal_v2_iot_policy(
            "eu-west-1",
            &crate::config::placeholder("ACCOUNT_ID"),
            "g_Core",
            "alias-x",
        );
        assert_eq!(iot_policy_size(&known), iot_policy_size(&unknown));
    }

    #[test]
    fn broad_policy_lets_the_core_assume_its_role_alias() {
        let s = broad_v2_iot_policy("eu-west-1", "123456789012", "alias-x").to_string();
        assert!(s.contains("iot:AssumeRoleWithCertificate"));
        assert!(s.contains("arn:aws:iot:eu-west-1:123456789012:rolealias/alias-x"));
    }

    #[test]
    fn policy_size_ignores_white_space() {
        assert_eq!(iot_policy_size(&json!({"a b": "c"})), 10);
    }

    #[test]
    fn shadow_things_are_added_to_the_minimal_policy() {
        let mut p = minimal_v2_iot_policy("eu-west-1", "123456789012", "g_Core", "alias-x");
        add_shadow_things(&mut p, "eu-west-1", "123456789012", &["pump"]);
        let s = p.to_string();
        assert!(s.contains("arn:aws:iot:eu-west-1:123456789012:topic/$aws/things/pump/shadow/*"));
        assert!(
            s.contains("arn:aws:iot:eu-west-1:123456789012:topicfilter/$aws/things/pump/shadow/*")
        );
        assert!(s.contains("arn:aws:iot:eu-west-1:123456789012:thing/pump\""));
    }
}
