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
/// to the cloud.
pub fn add_cloud_topics(policy: &mut Value, region: &str, account: &str, topics: &CloudTopics) {
    let p = format!("arn:aws:iot:{region}:{account}");
    let topic_arns = |set: &BTreeSet<String>| -> Vec<String> {
        let mut v: Vec<String> = set
            .iter()
            .flat_map(|f| topic_resources(f))
            .map(|t| format!("{p}:topic/{t}"))
            .collect();
        v.dedup();
        v
    };
    let Some(s) = policy["Statement"].as_array_mut() else {
        return;
    };
    if !topics.subscribe.is_empty() {
        let filters: Vec<String> = topics
            .subscribe
            .iter()
            .map(|f| format!("{p}:topicfilter/{f}"))
            .collect();
        s.push(json!({"Effect": "Allow", "Action": ["iot:Subscribe"], "Resource": filters}));
        s.push(json!({"Effect": "Allow", "Action": ["iot:Receive"], "Resource": topic_arns(&topics.subscribe)}));
    }
    if !topics.publish.is_empty() {
        s.push(json!({"Effect": "Allow", "Action": ["iot:Publish"], "Resource": topic_arns(&topics.publish)}));
    }
}

/// AWS IoT's limit on a policy document: 2048 characters, white space not counted (AWS IoT Core
/// endpoints and quotas, "Maximum size of a policy document"; CreatePolicy refuses more).
pub const IOT_POLICY_MAX_CHARS: usize = 2048;

/// The size AWS IoT counts for `policy`.
pub fn iot_policy_size(policy: &Value) -> usize {
    policy
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count()
}

/// The minimal V2 core policy (greengrass-formats.md B.3): its own client ids, jobs, shadows and
/// health topics, its role alias, and the Greengrass data-plane calls.
pub fn minimal_v2_iot_policy(region: &str, account: &str, thing: &str, alias: &str) -> Value {
    let p = format!("arn:aws:iot:{region}:{account}");
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
    let p = format!("arn:aws:iot:{region}:{account}");
    let topics: Vec<String> = things
        .iter()
        .map(|t| format!("{p}:topic/$aws/things/{t}/shadow/*"))
        .collect();
    let filters: Vec<String> = things
        .iter()
        .map(|t| format!("{p}:topicfilter/$aws/things/{t}/shadow/*"))
        .collect();
    let arns: Vec<String> = things.iter().map(|t| format!("{p}:thing/{t}")).collect();
    if let Some(s) = policy["Statement"].as_array_mut() {
        s.push(json!({"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": topics}));
        s.push(json!({"Effect": "Allow", "Action": ["iot:Subscribe"], "Resource": filters}));
        s.push(json!({"Effect": "Allow", "Action": ["iot:GetThingShadow", "iot:UpdateThingShadow", "iot:DeleteThingShadow"], "Resource": arns}));
    }
}

/// The permissive form the installer uses (`conf.core.broadIotPolicy = true`): its
/// `GreengrassV2IoTThingPolicy`, plus `iot:AssumeRoleWithCertificate` on the role alias, which the
/// installer always attaches in a second policy (`GreengrassTESCertificatePolicy<alias>`) and
/// without which the core gets no AWS credentials (Greengrass V2 Developer Guide, "Authorize core
/// devices to interact with AWS services").
pub fn broad_v2_iot_policy(region: &str, account: &str, alias: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iot:Publish", "iot:Subscribe", "iot:Receive", "iot:Connect", "greengrass:*"], "Resource": ["*"]},
        {"Effect": "Allow", "Action": "iot:AssumeRoleWithCertificate", "Resource": format!("arn:aws:iot:{region}:{account}:rolealias/{alias}")}
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
