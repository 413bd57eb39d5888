//! The V2 preflight: what a core device set up by this plan will do with its identity, asked of the
//! account before the deployment is made ([`crate::provision::authz`] asks).
//!
//! - The core certificate, connected with the thing name as client id (AWS IoT `TestAuthorization`):
//!   connect; the nucleus's own topics (jobs, the deployment shadow, health); each shadow it syncs;
//!   each topic filter its components subscribe to on IoT Core and the topics they receive there;
//!   each topic routed to the cloud.
//! - The token exchange role (IAM `SimulatePrincipalPolicy`): `s3:GetObject` on each artifact ggp
//!   uploads, `secretsmanager:GetSecretValue` on each secret, and the CloudWatch Logs actions of
//!   LogManager on each log group it writes (Greengrass V2 Developer Guide: "Authorize core devices
//!   to interact with AWS services", LogManager's "Requirements").
//!
//! A secret named without its ARN has a random 6-character suffix ggp does not know before reading
//! it; the check uses the name with a stand-in suffix, which matches what `-??????` matches.

use std::collections::BTreeSet;

use super::plan::Plan;
use super::policy::topic_resources;
use super::public::LOG_MANAGER;
use super::recipe::{artifact_key, ComponentKind};
use crate::provision::authz::{self, IotNeed, Preflight, RoleNeed};
use crate::provision::ProvisionError;

/// What the core certificate must be allowed, in the order asked.
pub fn iot_needs(plan: &Plan) -> Vec<IotNeed> {
    let (r, a) = (&plan.region, &plan.account);
    let thing = &plan.iot.core.thing_name;
    let p = crate::model::arn::prefix("iot", r, a);
    let mut out = Vec::new();
    let mut need = |t: &'static str, resource: String, reason: &str| {
        out.push(IotNeed {
            action_type: t,
            resource,
            reason: reason.to_string(),
        })
    };
    need(
        "CONNECT",
        format!("{p}:client/{thing}"),
        "the nucleus connects as the thing",
    );
    let jobs = format!("$aws/things/{thing}/jobs/notify-next");
    need(
        "SUBSCRIBE",
        format!("{p}:topicfilter/{jobs}"),
        "deployments reach the core as IoT jobs",
    );
    need(
        "RECEIVE",
        format!("{p}:topic/{jobs}"),
        "deployments reach the core as IoT jobs",
    );
    need(
        "PUBLISH",
        format!("{p}:topic/$aws/things/{thing}/jobs/$next/get"),
        "the nucleus asks for its next job",
    );
    need(
        "PUBLISH",
        format!(
            "{p}:topic/$aws/things/{thing}/shadow/name/AWSManagedGreengrassV2Deployment/update"
        ),
        "the nucleus reports deployment status in its deployment shadow",
    );
    need(
        "PUBLISH",
        format!("{p}:topic/$aws/things/{thing}/greengrassv2/health/json"),
        "the nucleus reports its health",
    );
    for t in &plan.iot.core.shadow_things {
        let s = format!("$aws/things/{t}/shadow");
        need(
            "PUBLISH",
            format!("{p}:topic/{s}/update"),
            "ShadowManager syncs the shadow",
        );
        need(
            "SUBSCRIBE",
            format!("{p}:topicfilter/{s}/update/delta"),
            "ShadowManager syncs the shadow",
        );
        need(
            "RECEIVE",
            format!("{p}:topic/{s}/update/delta"),
            "ShadowManager syncs the shadow",
        );
    }
    let topics = &plan.iot.cloud_topics;
    for f in &topics.subscribe {
        let why = format!("a component's IoT Core event source {f}");
        need("SUBSCRIBE", format!("{p}:topicfilter/{f}"), &why);
        for t in topic_resources(f) {
            need("RECEIVE", format!("{p}:topic/{t}"), &why);
        }
    }
    for f in &topics.publish {
        let why = format!("a route to the cloud on {f}");
        for t in topic_resources(f) {
            need("PUBLISH", format!("{p}:topic/{t}"), &why);
        }
    }
    out
}

/// Where ggp puts the artifacts of this deploy (bucket and prefix) and each native component's
/// version, to name the objects the role must read.
pub struct ArtifactObjects<'a> {
    pub bucket: &'a str,
    pub prefix: &'a str,
    pub versions: &'a std::collections::BTreeMap<String, String>,
}

/// What the token exchange role must be allowed.
pub fn role_needs(plan: &Plan, artifacts: Option<&ArtifactObjects>) -> Vec<RoleNeed> {
    let (r, a) = (&plan.region, &plan.account);
    let mut out = Vec::new();
    if let Some(loc) = artifacts {
        for c in plan
            .components
            .iter()
            .filter(|c| c.kind == ComponentKind::Native)
        {
            let (Some(version), Some(zip)) = (
                loc.versions.get(&c.component_name),
                c.request["package"].as_str(),
            ) else {
                continue;
            };
            let key = artifact_key(loc.prefix, &plan.group, &c.component_name, version, zip);
            out.push(RoleNeed {
                action: "s3:GetObject".into(),
                resource: crate::model::arn::s3_object(r, loc.bucket, &key),
                reason: format!("the core downloads {}'s artifact", c.component_name),
            });
        }
    }
    for uri in &plan.compose_files {
        if let Some((bucket, key)) = uri.strip_prefix("s3://").and_then(|u| u.split_once('/')) {
            out.push(RoleNeed {
                action: "s3:GetObject".into(),
                resource: crate::model::arn::s3_object(r, bucket, key),
                reason: format!("the core downloads the compose file {uri}"),
            });
        }
    }
    for s in &plan.secrets {
        out.push(RoleNeed {
            action: "secretsmanager:GetSecretValue".into(),
            resource: with_suffix(s),
            reason: "SecretManager reads the secret for the functions".into(),
        });
    }
    for group in log_groups(plan) {
        for action in [
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ] {
            out.push(RoleNeed {
                action: action.into(),
                resource: format!(
                    "{}:log-group:{group}:*",
                    crate::model::arn::prefix("logs", r, a)
                ),
                reason: "LogManager uploads the logs to CloudWatch Logs".into(),
            });
        }
    }
    out
}

/// A secret ARN as Secrets Manager makes it: `name-XXXXXX`. ARNs given whole are kept.
fn with_suffix(arn: &str) -> String {
    if crate::model::resources::secret_has_suffix(arn) {
        arn.to_string()
    } else {
        format!("{arn}-AbCdEf")
    }
}

/// The log groups LogManager writes for this plan: `/aws/greengrass/GreengrassSystemComponent/
/// <region>/System` for the nucleus, `/aws/greengrass/UserComponent/<region>/<component>` per
/// component (LogManager's documentation, "Log group and log stream").
fn log_groups(plan: &Plan) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Some(merge) =
        plan.deployment_request["components"][LOG_MANAGER]["configurationUpdate"]["merge"].as_str()
    else {
        return out;
    };
    let Ok(config) = serde_json::from_str::<serde_json::Value>(merge) else {
        return out;
    };
    let up = &config["logsUploaderConfiguration"];
    let r = &plan.region;
    if up["systemLogsConfiguration"].is_object() {
        out.insert(format!(
            "/aws/greengrass/GreengrassSystemComponent/{r}/System"
        ));
    }
    if let Some(map) = up["componentLogsConfigurationMap"].as_object() {
        for c in map.keys() {
            out.insert(format!("/aws/greengrass/UserComponent/{r}/{c}"));
        }
    }
    out
}

/// Asks both APIs and keeps the answers in the run's report. In a dry run whose certificate,
/// policy or attachments would change first, nothing is asked (the answer would be about the
/// account as it is, not as the deploy leaves it): the preflight says it is deferred.
pub(crate) async fn run(
    ctx: &crate::provision::Ctx<'_>,
    plan: &Plan,
    certificate_arn: &str,
    role_arn: &str,
    artifacts: Option<&ArtifactObjects<'_>>,
) -> Result<Preflight, ProvisionError> {
    if !ctx.apply
        && ctx.changes_any(&[
            "iot-certificate",
            "iot-policy",
            "iot-attachment",
            "iot-thing",
            "iam-role",
        ])
    {
        let p = Preflight {
            checks: vec![],
            deferred: Some(
                "the core's certificate, policy or role changes first: `ggp deploy` asks after they converge"
                    .into(),
            ),
        };
        ctx.set_preflight(p.clone());
        return Ok(p);
    }
    let waiting = ctx
        .progress
        .wait("the preflight (IoT TestAuthorization, IAM SimulatePrincipalPolicy)");
    let (iot_asked, role_asked) = (iot_needs(plan), role_needs(plan, artifacts));
    let (iot, role) = tokio::join!(
        authz::test_authorization(ctx, certificate_arn, &plan.iot.core.thing_name, &iot_asked),
        authz::simulate_role(ctx, role_arn, &role_asked)
    );
    let mut checks = iot?;
    checks.extend(role?);
    let p = Preflight {
        checks,
        deferred: None,
    };
    let denied = p.denials().count();
    waiting.done(&if denied == 0 {
        format!("{} action(s) allowed", p.checks.len())
    } else {
        format!("{denied} of {} action(s) denied", p.checks.len())
    });
    ctx.set_preflight(p.clone());
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_get_a_stand_in_suffix_and_full_arns_are_kept() {
        let a = "arn:aws:secretsmanager:us-east-1:1:secret:db";
        assert_eq!(with_suffix(a), format!("{a}-AbCdEf"));
        let full = "arn:aws:secretsmanager:us-east-1:1:secret:db-x1Y2z3";
        assert_eq!(with_suffix(full), full);
    }
}
