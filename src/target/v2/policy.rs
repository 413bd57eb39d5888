//! The Greengrass V2 core's IoT policy, and the token exchange role's trust and access.

use serde_json::{json, Value};

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

/// The permissive form the installer uses (`conf.core.broadIotPolicy = true`).
pub fn broad_v2_iot_policy() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["iot:Publish", "iot:Subscribe", "iot:Receive", "iot:Connect", "greengrass:*"], "Resource": ["*"]}]})
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
