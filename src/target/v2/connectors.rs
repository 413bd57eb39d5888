//! V1 connectors on Greengrass V2: each one with a documented replacement
//! ([`CONNECTOR_COMPONENTS`], AWS's move-from-v1 table) becomes that public component, configured
//! from the connector's parameters and wired to the functions by topic. The Docker application
//! deployment connector has no public replacement: AWS's guidance is a component of one's own that
//! depends on `aws.greengrass.DockerApplicationManager` and carries the compose file as an
//! artifact ([`docker_app`]), which ggp writes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::plan::Mapping;
use super::public::CLOUDWATCH;
use super::recipe::{content_version, ComponentKind, ComponentPlan};
use crate::config::model::{sanitize_id, ConnectorConf};
use crate::model::Desired;
use crate::topics;

/// The V1 connectors ggp maps, by the connector name in their ARN
/// (`…/connectors/<name>/versions/<n>`), to the public component AWS documents as their
/// replacement (move-from-v1). Other connectors are reported as unsupported.
pub const CONNECTOR_COMPONENTS: &[(&str, &str)] = &[("CloudWatchMetricsConnector", CLOUDWATCH)];

/// The connector name of V1's Docker application deployment connector.
pub const DOCKER_CONNECTOR: &str = "DockerApplicationDeployment";
/// The public component a Docker application's component depends on.
pub const DOCKER_MANAGER: &str = "aws.greengrass.DockerApplicationManager";

/// The kind of a connector: the name in its ARN (`…/connectors/<name>/versions/<n>`).
fn kind_of(c: &ConnectorConf) -> &str {
    c.connector_arn
        .split('/')
        .nth(2)
        .unwrap_or(&c.connector_arn)
}

/// A Docker application deployment connector as the component ggp writes for it.
pub(super) struct DockerApp {
    pub component: ComponentPlan,
    /// `s3://bucket/key` of the compose file, the component's artifact.
    pub compose_uri: String,
    /// `DockerUserId`: the component runs as that user (the deployment's `runWith.posixUser`).
    pub posix_user: Option<String>,
}

/// The component that replaces a V1 Docker application deployment connector ("Move from V1":
/// no direct replacement; "Docker application manager": a component that depends on it runs the
/// compose file). Its recipe takes `DockerComposeFileS3Bucket`/`DockerComposeFileS3Key` as an
/// `s3://` artifact, runs `docker-compose -f {artifacts:path}/<file> up` (as root, like the
/// connector, unless `DockerUserId` names the user), pulls first when `DockerPullBeforeUp` is
/// true, and takes the containers down on stop when `StopContainersOnNewDeployment` is not false.
/// Its version is `1.0.<n>` from the recipe's content. Parameters with no V2 meaning are dropped
/// with a warning; an S3 object version cannot be an artifact URI and is refused.
pub(super) fn docker_app(
    group: &str,
    c: &ConnectorConf,
    warnings: &mut Vec<String>,
) -> Result<DockerApp, String> {
    let p = |k: &str| {
        c.parameters
            .get(k)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    };
    let required = |k: &str| {
        p(k).ok_or_else(|| {
            format!(
                "connector {}: {DOCKER_CONNECTOR} needs the parameter {k}",
                c.name
            )
        })
    };
    let bucket = required("DockerComposeFileS3Bucket")?;
    let key = required("DockerComposeFileS3Key")?.trim_start_matches('/');
    if let Some(v) = p("DockerComposeFileS3Version") {
        return Err(format!(
            "connector {}: DockerComposeFileS3Version = {v:?}: a Greengrass V2 artifact is an s3:// URI with no object version; upload that version as its own key and name it in DockerComposeFileS3Key",
            c.name
        ));
    }
    let bool_of = |k: &str, default: bool| -> Result<bool, String> {
        match p(k).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(v) => Err(format!(
                "connector {}: parameter {k} = {v:?} is not True or False",
                c.name
            )),
        }
    };
    let pull = bool_of("DockerPullBeforeUp", false)?;
    let stop = bool_of("StopContainersOnNewDeployment", true)?;
    let user = p("DockerUserId").map(str::to_string);
    let dropped: Vec<&str> = c
        .parameters
        .keys()
        .map(String::as_str)
        .filter(|k| {
            !matches!(
                *k,
                "DockerComposeFileS3Bucket"
                    | "DockerComposeFileS3Key"
                    | "DockerComposeFileS3Version"
                    | "DockerPullBeforeUp"
                    | "StopContainersOnNewDeployment"
                    | "DockerUserId"
            )
        })
        .collect();
    if !dropped.is_empty() {
        warnings.push(format!(
            "connector {}: parameter(s) {} have no meaning for the component ggp writes (the compose file is its artifact, in {{artifacts:path}}; {DOCKER_MANAGER} logs in to Amazon ECR with the token exchange role, other registries need docker login on the device) and are dropped",
            c.name,
            dropped.join(", ")
        ));
    }
    let file = key.rsplit('/').next().unwrap_or(key);
    let compose = format!("docker-compose -f {{artifacts:path}}/{file}");
    let run = if pull {
        format!("{compose} pull && {compose} up")
    } else {
        format!("{compose} up")
    };
    let privileged = user.is_none();
    let mut lifecycle = serde_json::Map::new();
    lifecycle.insert(
        "Run".into(),
        json!({"Script": run, "RequiresPrivilege": privileged}),
    );
    if stop {
        lifecycle.insert(
            "Shutdown".into(),
            json!({"Script": format!("{compose} down"), "RequiresPrivilege": privileged}),
        );
    }
    let name = sanitize_id(&format!("{group}-{}", c.name));
    let uri = format!("s3://{bucket}/{key}");
    let mut recipe = json!({
        "RecipeFormatVersion": "2020-01-25",
        "ComponentName": name,
        "ComponentDescription": format!("The V1 connector {} ({DOCKER_CONNECTOR}), written by ggp", c.name),
        "ComponentPublisher": "ggp",
        "ComponentDependencies": {
            DOCKER_MANAGER: {"VersionRequirement": ">=2.0.0 <3.0.0", "DependencyType": "HARD"},
            "aws.greengrass.TokenExchangeService": {"VersionRequirement": ">=2.0.0 <3.0.0", "DependencyType": "HARD"},
        },
        "Manifests": [{
            "Platform": {"os": "linux"},
            "Lifecycle": lifecycle,
            "Artifacts": [{"URI": uri}],
        }],
    });
    let version = content_version(&recipe);
    recipe["ComponentVersion"] = json!(version);
    let text = serde_json::to_string_pretty(&recipe).unwrap_or_default();
    Ok(DockerApp {
        component: ComponentPlan {
            function: c.name.clone(),
            kind: ComponentKind::Recipe,
            component_name: name,
            component_version: version,
            request: json!({"inlineRecipe": text, "recipeFile": format!("connectors/{}.conf", c.name)}),
            lambda: None,
        },
        compose_uri: uri,
        posix_user: user,
    })
}

/// The default topics of `aws.greengrass.Cloudwatch` 3.x (those of the V1 connector too).
const CLOUDWATCH_INPUT_TOPIC: &str = "cloudwatch/metric/put";
const CLOUDWATCH_OUTPUT_TOPIC: &str = "cloudwatch/metric/put/status";

/// A V1 connector mapped to the public component that replaces it.
pub(super) struct MappedConnector {
    pub name: String,
    pub component: &'static str,
    pub config: serde_json::Map<String, Value>,
    pub input_topics: Vec<String>,
    pub output_topics: Vec<String>,
    /// The connector has cloud subscriptions (`fromCloudSubscriptions`/`toCloudSubscriptions`).
    pub cloud: bool,
    /// Set by [`wire`]: the component reads and writes its topics on AWS IoT Core
    /// (`PubSubToIoTCore`), having cloud subscriptions and no local ones.
    pub iot_core: bool,
}

pub(super) fn has_wildcard(topic: &str) -> bool {
    topic.split('/').any(|l| l == "+" || l == "#")
}

/// `aws.greengrass.Cloudwatch` 3.x configuration from the CloudWatch Metrics connector's
/// parameters: `PublishInterval`, `PublishRegion` and `MaxMetricsToRetain` keep their names
/// (numbers in V2); the connector's input/output topic become `InputTopic`/`OutputTopic`.
/// `MemorySize` and `IsolationMode` have no meaning for the V2 component (a native component, run
/// outside any container): dropped with a warning, like any parameter the component does not know.
pub(super) fn cloudwatch_config(
    c: &ConnectorConf,
    warnings: &mut Vec<String>,
) -> Result<serde_json::Map<String, Value>, String> {
    let mut config = serde_json::Map::new();
    let mut dropped = Vec::new();
    for (k, v) in &c.parameters {
        match k.as_str() {
            "PublishInterval" | "MaxMetricsToRetain" => {
                let n: u64 = v.trim().parse().map_err(|_| {
                    format!(
                        "connector {}: parameter {k} = {v:?} is not a whole number",
                        c.name
                    )
                })?;
                config.insert(k.clone(), json!(n));
            }
            "PublishRegion" if !v.is_empty() => {
                config.insert(k.clone(), json!(v));
            }
            "PublishRegion" => {}
            _ => dropped.push(k.as_str()),
        }
    }
    if !dropped.is_empty() {
        warnings.push(format!(
            "connector {}: parameter(s) {} do not apply to {CLOUDWATCH} (a native component, outside any container) and are dropped",
            c.name,
            dropped.join(", ")
        ));
    }
    let access = cloudwatch_topics(c, &mut config)?;
    if !access.is_empty() {
        config.insert(
            "accessControl".into(),
            json!({"aws.greengrass.ipc.pubsub": access}),
        );
    }
    Ok(config)
}

/// `InputTopic`/`OutputTopic` from the connector's topics, and the access control their non-default
/// values need (the component's default access control names the default topics only).
fn cloudwatch_topics(
    c: &ConnectorConf,
    config: &mut serde_json::Map<String, Value>,
) -> Result<serde_json::Map<String, Value>, String> {
    let mut access = serde_json::Map::new();
    for (key, topics, default, op, n) in [
        (
            "InputTopic",
            &c.input_topics,
            CLOUDWATCH_INPUT_TOPIC,
            "aws.greengrass#SubscribeToTopic",
            1,
        ),
        (
            "OutputTopic",
            &c.output_topics,
            CLOUDWATCH_OUTPUT_TOPIC,
            "aws.greengrass#PublishToTopic",
            2,
        ),
    ] {
        match topics.as_slice() {
            [] => {}
            [t] if !has_wildcard(t) => {
                config.insert(key.into(), json!(t));
                if t != default {
                    access.insert(
                        format!("{CLOUDWATCH}:pubsub:{n}"),
                        json!({"policyDescription": format!("{key} of the {} connector", c.name), "operations": [op], "resources": [t]}),
                    );
                }
            }
            _ => {
                return Err(format!(
                    "connector {}: {CLOUDWATCH} takes one {key} without wildcards, the connector lists {topics:?}",
                    c.name
                ))
            }
        }
    }
    Ok(access)
}

/// The Docker application deployment connectors, as the components ggp writes for them.
pub(super) fn docker_apps(desired: &Desired, m: &mut Mapping) -> Vec<DockerApp> {
    let mut out = Vec::new();
    for c in desired
        .connectors
        .iter()
        .filter(|c| kind_of(c) == DOCKER_CONNECTOR)
    {
        match docker_app(&desired.group, c, &mut m.warnings) {
            Ok(app) => out.push(app),
            Err(e) => m.unsupported.push(e),
        }
    }
    out
}

/// The connectors that map to a public component; the Docker ones are [`docker_apps`], the others
/// are unsupported.
pub(super) fn map(desired: &Desired, m: &mut Mapping) -> Vec<MappedConnector> {
    let mut connectors: Vec<MappedConnector> = Vec::new();
    for c in &desired.connectors {
        let kind = kind_of(c);
        if kind == DOCKER_CONNECTOR {
            continue;
        }
        let Some(&(_, component)) = CONNECTOR_COMPONENTS.iter().find(|(k, _)| *k == kind) else {
            m.unsupported.push(format!(
                "connector {} ({kind}): Greengrass V2 has no connectors and ggp does not map this one; deploy the AWS-provided component that replaces it",
                c.name
            ));
            continue;
        };
        let config = match component {
            CLOUDWATCH => cloudwatch_config(c, &mut m.warnings),
            _ => Ok(serde_json::Map::new()),
        };
        match config {
            Err(e) => m.unsupported.push(e),
            Ok(config) => connectors.push(MappedConnector {
                name: c.name.clone(),
                component,
                config,
                input_topics: c.input_topics.clone(),
                output_topics: c.output_topics.clone(),
                cloud: !c.from_cloud_subscriptions.is_empty()
                    || !c.to_cloud_subscriptions.is_empty(),
                iot_core: false,
            }),
        }
    }
    let distinct = connectors
        .iter()
        .map(|c| c.component)
        .collect::<BTreeSet<_>>();
    if connectors.len() != distinct.len() {
        m.unsupported.push(format!(
            "connectors {}: more than one connector maps to the same component, which a deployment holds once",
            connectors.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    connectors
}

/// A short stable id from content, for legacy subscription router entries ggp adds.
fn route_id(source: &str, subject: &str, target: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(format!("{source}|{subject}|{target}").as_bytes());
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Wires the mapped connectors to the functions: function output topics matching a connector's
/// input topics become router entries to its component; its output topics matching a function's
/// input topics become that function's event sources (returned: function → topics).
pub(super) fn wire(
    desired: &Desired,
    connectors: &mut [MappedConnector],
    router: &mut BTreeMap<String, Value>,
    m: &mut Mapping,
) -> BTreeMap<String, Vec<String>> {
    let mut sources: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in connectors.iter_mut() {
        let target = format!("component:{}", c.component);
        let mut local = false;
        for f in &desired.functions {
            let source = format!("component:{}", m.component_of(f));
            for o in &f.conf.output_topics {
                for i in &c.input_topics {
                    if let Some(subject) = topics::intersect(o, i) {
                        local = true;
                        let id = sanitize_id(&route_id(&source, &subject, &target));
                        router.insert(
                            id.clone(),
                            json!({"id": id, "source": source, "subject": subject, "target": target}),
                        );
                    }
                }
            }
            for i in &f.conf.input_topics {
                for o in &c.output_topics {
                    if let Some(subject) = topics::intersect(o, i) {
                        local = true;
                        sources
                            .entry(f.name().to_string())
                            .or_default()
                            .push(subject);
                    }
                }
            }
        }
        if c.cloud && !local {
            // aws.greengrass.Cloudwatch 3.x: `PubSubToIoTCore` (default false, local pub/sub)
            // makes it read InputTopic and write OutputTopic on AWS IoT Core (Greengrass V2
            // Developer Guide, "Amazon CloudWatch metrics" component, Configuration).
            // (The deployment request sets it: `deployment_request` in plan.rs.)
            c.iot_core = true;
            m.warnings.push(format!(
                "connector {}: {} reads and writes its topics on AWS IoT Core (PubSubToIoTCore): the core's IoT policy must allow them (ggp's derived policy does)",
                c.name, c.component
            ));
        }
        if c.cloud && local {
            m.unsupported.push(format!(
                "connector {}: it has both cloud subscriptions and local ones with functions; {} reads and writes either local or AWS IoT Core topics (PubSubToIoTCore), not both",
                c.name, c.component
            ));
        }
    }
    sources
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connector(parameters: &[(&str, &str)], input: &[&str], output: &[&str]) -> ConnectorConf {
        ConnectorConf {
            name: "cw".into(),
            connector_arn:
                "arn:aws:greengrass:eu-west-1::/connectors/CloudWatchMetricsConnector/versions/4"
                    .into(),
            id: "cw".into(),
            parameters: parameters
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            from_cloud_subscriptions: vec![],
            to_cloud_subscriptions: vec![],
            output_topics: output.iter().map(|t| t.to_string()).collect(),
            input_topics: input.iter().map(|t| t.to_string()).collect(),
            core_role_iam_managed_policies: vec![],
            core_role_iam_policy: None,
            service_role_iam_managed_policies: vec![],
            service_role_iam_policy: None,
        }
    }

    #[test]
    fn cloudwatch_connector_parameters_map_to_the_component_configuration() {
        let mut warnings = Vec::new();
        let c = connector(
            &[
                ("PublishInterval", "10"),
                ("PublishRegion", "eu-west-1"),
                ("MaxMetricsToRetain", "5000"),
                ("MemorySize", "65535"),
                ("IsolationMode", "GreengrassContainer"),
            ],
            &["cloudwatch/metric/put"],
            &[],
        );
        let config = cloudwatch_config(&c, &mut warnings).unwrap();
        assert_eq!(
            Value::Object(config),
            json!({"PublishInterval": 10, "PublishRegion": "eu-west-1", "MaxMetricsToRetain": 5000, "InputTopic": "cloudwatch/metric/put"})
        );
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("IsolationMode, MemorySize"),
            "{warnings:?}"
        );
    }

    #[test]
    fn cloudwatch_connector_other_topics_get_access_and_bad_values_fail() {
        let mut warnings = Vec::new();
        let c = connector(&[], &["metrics/in"], &["metrics/out"]);
        let config = Value::Object(cloudwatch_config(&c, &mut warnings).unwrap());
        assert_eq!(config["InputTopic"], "metrics/in");
        assert_eq!(config["OutputTopic"], "metrics/out");
        let acl = &config["accessControl"]["aws.greengrass.ipc.pubsub"];
        assert_eq!(
            acl["aws.greengrass.Cloudwatch:pubsub:1"]["resources"],
            json!(["metrics/in"])
        );
        assert_eq!(
            acl["aws.greengrass.Cloudwatch:pubsub:2"]["operations"],
            json!(["aws.greengrass#PublishToTopic"])
        );
        assert!(warnings.is_empty());
        let e = cloudwatch_config(
            &connector(&[("PublishInterval", "ten")], &[], &[]),
            &mut warnings,
        )
        .unwrap_err();
        assert!(e.contains("PublishInterval"), "{e}");
        let e = cloudwatch_config(&connector(&[], &["a/#"], &[]), &mut warnings).unwrap_err();
        assert!(e.contains("InputTopic"), "{e}");
    }

    #[test]
    fn wildcards() {
        assert!(has_wildcard("a/+/b"));
        assert!(has_wildcard("a/#"));
        assert!(!has_wildcard("a/b+c/d"));
    }
}
