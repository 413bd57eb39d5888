//! The Greengrass V1 core's IoT policy: least privilege by default, GGP's broad one on request.

use serde_json::{json, Value};

use crate::model::{CorePolicy, Desired, Endpoint};
use crate::target::v2::policy::CloudTopics;

/// The least-privilege V1 core policy: its own client id, its own and Greengrass's topics, its
/// own shadow, discovery, and credentials through its role alias.
pub fn least_privilege_iot_policy(
    region: &str,
    account: &str,
    thing: &str,
    role_alias: &str,
) -> Value {
    let p = crate::model::arn::prefix("iot", region, account);
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["iot:Connect"], "Resource": [format!("{p}:client/{thing}*")]},
            {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": [
                format!("{p}:topic/$aws/things/{thing}*"),
                format!("{p}:topic/$aws/things/{thing}*/*"),
                format!("{p}:topic/{thing}/*"),
            ]},
            {"Effect": "Allow", "Action": ["iot:Subscribe"], "Resource": [
                format!("{p}:topicfilter/$aws/things/{thing}*"),
                format!("{p}:topicfilter/$aws/things/{thing}*/*"),
                format!("{p}:topicfilter/{thing}/*"),
            ]},
            {"Effect": "Allow", "Action": ["iot:GetThingShadow", "iot:UpdateThingShadow", "iot:DeleteThingShadow"], "Resource": [format!("{p}:thing/{thing}*")]},
            {"Effect": "Allow", "Action": ["greengrass:Discover"], "Resource": [format!("{p}:thing/{thing}*")]},
            {"Effect": "Allow", "Action": ["iot:AssumeRoleWithCertificate"], "Resource": [format!("{p}:rolealias/{role_alias}")]},
            {"Effect": "Allow", "Action": [
                "greengrass:GetConnectivityInfo", "greengrass:UpdateConnectivityInfo", "greengrass:GetDeploymentArtifacts",
                "greengrass:UpdateCoreDeploymentStatus", "greengrass:GetGroupCertificateAuthority"
            ], "Resource": ["*"]}
        ]
    })
}

/// GGP's broad policy, restored by `conf.core.broadIotPolicy = true`.
pub fn broad_iot_policy() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["iot:*", "greengrass:*"], "Resource": ["*"]}]})
}

/// The document of the core's policy (`None` when an existing policy is used as is).
pub fn document(desired: &Desired) -> Option<Value> {
    let c = &desired.core;
    match &c.policy {
        CorePolicy::Existing(_) => None,
        CorePolicy::Configured(doc) => Some(doc.clone()),
        CorePolicy::Broad => Some(broad_iot_policy()),
        CorePolicy::Derived => {
            let (region, account) = (desired.region(), desired.account());
            let mut doc =
                least_privilege_iot_policy(&region, &account, &c.thing_name, &c.role_alias);
            // The same gap as V2's minimal policy (issue 14): the V1 core relays the cloud
            // subscriptions over its own connection, so a topic outside `<thing>/*` needs its own
            // statement, derived as on V2 (covered topics add nothing).
            crate::target::v2::policy::add_cloud_topics(
                &mut doc,
                &region,
                &account,
                &cloud_topics(desired),
            );
            Some(doc)
        }
    }
}

/// What the V1 core does on AWS IoT Core for its group: subscribe to the topics routed from the
/// cloud (to functions, the shadow service or connectors), publish those routed to the cloud.
fn cloud_topics(desired: &Desired) -> CloudTopics {
    let mut t = CloudTopics::default();
    for r in &desired.routes {
        if r.source == Endpoint::Cloud {
            t.subscribe.insert(r.topic.clone());
        }
        if r.target == Endpoint::Cloud {
            t.publish.insert(r.topic.clone());
        }
    }
    for c in &desired.connectors {
        t.subscribe
            .extend(c.from_cloud_subscriptions.iter().cloned());
        t.publish.extend(c.to_cloud_subscriptions.iter().cloned());
    }
    t
}
