//! The Greengrass V2 desired state of a project, computed offline: the V1 → V2 migration done the
//! way AWS documents it (move-from-v1, see greengrass-formats.md B.8).
//!
//! The V1 plan ([`crate::plan::build`]) stays the single source of the Lambda functions, their
//! environments, resources and subscription wiring; this module translates its content:
//! - each function → its Lambda function (unchanged) and a Lambda function component
//!   (`CreateComponentVersion.lambdaFunction`), named like the Lambda function (`<group>-<name>`);
//! - a function folder holding `recipe.yaml`/`recipe.json` → a native component from that recipe
//!   instead (its Lambda function is then not created);
//! - an executable (C/C++) function without a recipe → a native component ggp writes the recipe of
//!   ([`native_recipe_for`]): its package zip as the one artifact (`Unarchive: ZIP`, uploaded to S3
//!   at deploy time), its handler run from the unarchived folder, its environment as `Setenv`, its
//!   topics allowed through IPC `accessControl` (its Lambda function is not created either);
//! - subscriptions into a function → its `eventSources` (`IOT_CORE` from the cloud, `PUB_SUB` from
//!   other functions); subscriptions out of a function → `aws.greengrass.LegacySubscriptionRouter`
//!   configuration, which the V1 Core SDK `publish()` needs;
//! - connected shadows (the V1 local shadow service) → `aws.greengrass.ShadowManager`, syncing the
//!   classic shadow of each connected thing with the cloud (`synchronize.coreThing` for the core's
//!   own thing, as its V1 `syncShadow` says; `synchronize.shadowDocuments` for the others;
//!   `direction: betweenDeviceAndCloud`), the function ↔ `GGShadowService` subscriptions becoming
//!   router entries from/to `component:aws.greengrass.ShadowManager`, and a HARD dependency of the
//!   function's component on it;
//! - connectors with a documented replacement ([`CONNECTOR_COMPONENTS`]) → that public component,
//!   configured from the connector's parameters; function output topics matching its input topics
//!   → router entries to `component:<it>`, its output topics → event sources of the functions
//!   listening to them;
//! - secrets → `aws.greengrass.SecretManager` (`cloudSecrets`);
//! - CloudWatch loggers → `aws.greengrass.LogManager`; FileSystem loggers → the nucleus `logging`
//!   configuration (written by the V2 bundle);
//! - the group → thing group `<group>` holding thing `<group>_Core`, the deployment target;
//! - the core role → the token exchange role (trusted by `credentials.iot.amazonaws.com`) behind
//!   the role alias, with the minimal V2 core IoT policy.
//!
//! V1 features with no V2 mapping in ggp are one error naming each of them (connectors without a
//! mapped replacement, executables whose volumes are mounted elsewhere than their source path,
//! machine-learning resources, wildcard local topics).
//!
//! Component versions are `1.0.<n>`, `n` derived from the sha256 of the component's request
//! content, so an unchanged function keeps its version and a changed one gets a new one. Values
//! known only at deploy time (account, Lambda version numbers, public component versions) are
//! placeholders, as in the V1 plan.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use serde_json::{json, Value};

use crate::config::model::{sanitize_id, ConnectorConf};
use crate::config::{has_placeholder, Injected, Target};
use crate::config::{placeholder, FunctionConf, FunctionRef, LoggerComponent, LoggerType, Project};
use crate::language::Family;
use crate::plan::{self, ArtifactPlan, CertificateSource, LambdaPlan, PlanError, PlanOptions};
use crate::plan::{merge_policies, role_arn, RolePlan};

/// Public components ggp adds to a deployment when the project needs them.
pub const LOG_MANAGER: &str = "aws.greengrass.LogManager";
pub const SECRET_MANAGER: &str = "aws.greengrass.SecretManager";
pub const LEGACY_ROUTER: &str = "aws.greengrass.LegacySubscriptionRouter";
pub const SHADOW_MANAGER: &str = "aws.greengrass.ShadowManager";
pub const CLOUDWATCH: &str = "aws.greengrass.Cloudwatch";

/// Every public component the mapping can put in a deployment, with the major version it is
/// written for: `(component name, major)`. The plan carries each one's version as the placeholder
/// `VERSION_<name>`; whoever resolves it must pick a version of this major (the latest
/// `<major>.x`), since the configuration keys ggp merges are those of that major. The function
/// components' dependencies on them require the same major (`>=<major>.0.0 <<major+1>.0.0`).
pub const PUBLIC_COMPONENTS: &[(&str, u64)] = &[
    (LOG_MANAGER, 2),
    (SECRET_MANAGER, 2),
    (LEGACY_ROUTER, 2),
    (SHADOW_MANAGER, 2),
    (CLOUDWATCH, 3),
];

/// The major version ggp maps a public component for (see [`PUBLIC_COMPONENTS`]).
pub fn public_major(name: &str) -> Option<u64> {
    PUBLIC_COMPONENTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, m)| *m)
}

/// A HARD component dependency on a public component, within its mapped major.
fn hard_dependency(name: &str) -> Value {
    let major = public_major(name).unwrap_or(2);
    json!({"versionRequirement": format!(">={major}.0.0 <{}.0.0", major + 1), "dependencyType": "HARD"})
}

/// The V2 core's IAM roles.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct V2IamPlan {
    /// The configured core role, used as the token exchange role.
    pub token_exchange_role: RolePlan,
    /// The role of the cloud copies of the Lambda functions.
    pub lambda_role: Option<RolePlan>,
}

/// The core device's IoT resources.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct V2IotPlan {
    pub thing_name: String,
    pub thing_arn: String,
    pub thing_group_name: String,
    pub thing_group_arn: String,
    pub certificate: CertificateSource,
    pub policy_name: String,
    pub policy_managed: bool,
    pub policy_document: Option<Value>,
    pub role_alias: String,
    pub role_alias_role_arn: String,
    /// Things of `connectedShadows` other than the core (created when absent, as in V1).
    pub shadow_things: Vec<String>,
}

/// How a component is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ComponentKind {
    /// `CreateComponentVersion.lambdaFunction`.
    Lambda,
    /// `CreateComponentVersion.inlineRecipe` from the function folder.
    Recipe,
    /// `CreateComponentVersion.inlineRecipe` ggp writes for an executable function: the request is
    /// `{"recipe": <recipe JSON>, "package": <zip file name>}`; the recipe's `ComponentVersion` and
    /// artifact `Uri` are placeholders, filled at deploy time from the package (see
    /// [`native_version`] and [`artifact_key`]).
    Native,
}

/// The bucket ggp keeps Greengrass V2 artifacts in when no `--s3-bucket` is given (a placeholder
/// while the account is not known).
pub fn default_artifact_bucket(account: &str, region: &str) -> String {
    if has_placeholder(account) || has_placeholder(region) {
        placeholder("ARTIFACT_BUCKET")
    } else {
        format!("ggp-artifacts-{account}-{region}")
    }
}

/// The key prefix of a group's artifacts in a bucket, below the `--s3-directory` prefix.
/// `<prefix>ggp/`: what the token exchange role may read. Not narrowed to one group, because
/// groups of one project share the core role (deployment defaults): a per-group statement would
/// flip the shared role's policy at every deploy of another group.
pub fn artifact_root_prefix(prefix: &str) -> String {
    let p = prefix.trim_matches('/');
    if p.is_empty() {
        "ggp/".to_string()
    } else {
        format!("{p}/ggp/")
    }
}

pub fn artifact_group_prefix(prefix: &str, group: &str) -> String {
    let p = prefix.trim_matches('/');
    if p.is_empty() {
        format!("ggp/{group}/")
    } else {
        format!("{p}/ggp/{group}/")
    }
}

/// The key of a native component's artifact: `<prefix>ggp/<group>/<component>/<version>/<zip>`.
pub fn artifact_key(
    prefix: &str,
    group: &str,
    component: &str,
    version: &str,
    zip: &str,
) -> String {
    format!(
        "{}{component}/{version}/{zip}",
        artifact_group_prefix(prefix, group)
    )
}

/// The version of a native component ggp writes: from its recipe (version and artifact URI left
/// out, they follow from it), the sha256 of its package and where its artifacts are kept
/// (`s3://bucket/prefix`), so unchanged code keeps its version.
pub fn native_version(recipe: &Value, package_sha256: &str, location: &str) -> String {
    content_version(&json!({"recipe": recipe, "package": package_sha256, "location": location}))
}

/// The recipe of a native component with its version and artifact URI filled in.
pub fn fill_native_recipe(recipe: &Value, version: &str, uri: &str) -> Value {
    let mut r = recipe.clone();
    r["ComponentVersion"] = json!(version);
    for m in r["Manifests"].as_array_mut().into_iter().flatten() {
        for a in m["Artifacts"].as_array_mut().into_iter().flatten() {
            a["Uri"] = json!(uri);
        }
    }
    r
}

/// Topics an executable function uses, by how its native component reaches them.
#[derive(Debug, Default)]
struct NativeTopics {
    local_publish: BTreeSet<String>,
    local_subscribe: BTreeSet<String>,
    cloud_publish: BTreeSet<String>,
    cloud_subscribe: BTreeSet<String>,
}

/// The recipe ggp writes for an executable function (ComponentVersion and the artifact URI are
/// placeholders until deploy time).
fn native_recipe_for(
    group: &str,
    f: &FunctionConf,
    component: &str,
    zip: &str,
    env: &Value,
    topics: &NativeTopics,
    shadow_things: &[String],
) -> Value {
    let base = zip.strip_suffix(".zip").unwrap_or(zip);
    let run = format!("{{artifacts:decompressedPath}}/{base}/{}", f.handler_name);
    let run = if f.runs_as_root() {
        json!({"Script": run, "RequiresPrivilege": true})
    } else {
        json!(run)
    };
    let mut lifecycle = serde_json::Map::new();
    if env.as_object().is_some_and(|m| !m.is_empty()) {
        lifecycle.insert("Setenv".into(), env.clone());
    }
    lifecycle.insert("Run".into(), run);
    let mut access = serde_json::Map::new();
    let policy = |n: usize, what: &str, ops: &[&str], topics: &BTreeSet<String>| {
        (
            format!("{component}:{what}:{n}"),
            json!({"policyDescription": format!("{what} topics of the V1 function {}", f.function_name), "operations": ops, "resources": topics}),
        )
    };
    let mut pubsub = serde_json::Map::new();
    for (n, ops, t) in [
        (1, ["aws.greengrass#PublishToTopic"], &topics.local_publish),
        (
            2,
            ["aws.greengrass#SubscribeToTopic"],
            &topics.local_subscribe,
        ),
    ] {
        if !t.is_empty() {
            let (k, v) = policy(n, "pubsub", &ops, t);
            pubsub.insert(k, v);
        }
    }
    if !pubsub.is_empty() {
        access.insert("aws.greengrass.ipc.pubsub".into(), Value::Object(pubsub));
    }
    let mut mqtt = serde_json::Map::new();
    for (n, ops, t) in [
        (
            1,
            ["aws.greengrass#PublishToIoTCore"],
            &topics.cloud_publish,
        ),
        (
            2,
            ["aws.greengrass#SubscribeToIoTCore"],
            &topics.cloud_subscribe,
        ),
    ] {
        if !t.is_empty() {
            let (k, v) = policy(n, "mqttproxy", &ops, t);
            mqtt.insert(k, v);
        }
    }
    if !mqtt.is_empty() {
        access.insert("aws.greengrass.ipc.mqttproxy".into(), Value::Object(mqtt));
    }
    if !shadow_things.is_empty() {
        let resources: Vec<String> = shadow_things
            .iter()
            .map(|t| format!("$aws/things/{t}/shadow"))
            .collect();
        access.insert(
            SHADOW_MANAGER.into(),
            json!({format!("{component}:shadow:1"): {"policyDescription": format!("connectedShadows of the V1 function {}", f.function_name), "operations": ["aws.greengrass#GetThingShadow", "aws.greengrass#UpdateThingShadow", "aws.greengrass#DeleteThingShadow"], "resources": resources}}),
        );
    }
    let mut recipe = json!({
        "RecipeFormatVersion": "2020-01-25",
        "ComponentName": component,
        "ComponentVersion": placeholder(&format!("COMPONENT_VERSION_{}", f.function_name)),
        "ComponentDescription": format!("The executable function {} of the group {group}, run as a native component (migrated from Greengrass V1 by ggp).", f.function_name),
        "ComponentPublisher": "ggp",
        "ComponentType": "aws.greengrass.generic",
    });
    if !access.is_empty() {
        recipe["ComponentConfiguration"] =
            json!({"DefaultConfiguration": {"accessControl": access}});
    }
    if !shadow_things.is_empty() {
        let d = hard_dependency(SHADOW_MANAGER);
        recipe["ComponentDependencies"] = json!({SHADOW_MANAGER: {"VersionRequirement": d["versionRequirement"], "DependencyType": "HARD"}});
    }
    recipe["Manifests"] = json!([{
        "Platform": {"os": "linux"},
        "Lifecycle": lifecycle,
        "Artifacts": [{
            "Uri": placeholder(&format!("ARTIFACT_URI_{}", f.function_name)),
            "Unarchive": "ZIP",
            "Permission": {"Read": "OWNER", "Execute": "OWNER"},
        }],
    }]);
    recipe
}

/// One component version ggp creates (only when absent).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentPlan {
    pub function: String,
    pub kind: ComponentKind,
    pub component_name: String,
    pub component_version: String,
    /// The `CreateComponentVersion` request body, API field names.
    pub request: Value,
}

/// Everything a V2 run would do.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct V2Plan {
    pub group: String,
    pub deployment: String,
    pub target: Target,
    pub account: String,
    pub region: String,
    pub files: Vec<String>,
    pub iam: V2IamPlan,
    pub iot: V2IotPlan,
    pub lambda: Vec<LambdaPlan>,
    pub components: Vec<ComponentPlan>,
    /// Nucleus `logging` configuration from the FileSystem loggers (written into config.yaml).
    pub nucleus_logging: Option<Value>,
    /// The `CreateDeployment` request, API field names.
    pub deployment_request: Value,
    pub artifacts: Vec<ArtifactPlan>,
    pub warnings: Vec<String>,
    /// `conf.functions` entries not resolved yet (git URLs, alias ARNs, `~wildcards~`): a deploy
    /// resolves them first; an offline plan lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_functions: Vec<FunctionRef>,
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
fn add_shadow_things(policy: &mut Value, region: &str, account: &str, things: &[&str]) {
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
fn tes_trust() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "credentials.iot.amazonaws.com"}}]})
}

/// What the installer grants the token exchange role (nucleus ≥ 2.5.0).
fn tes_access() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "s3:GetBucketLocation"], "Resource": "*"}]})
}

/// `1.0.<n>`: `n` from the sha256 of the content (first 3 bytes, so at most 16777215).
pub fn content_version(content: &Value) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(content.to_string().as_bytes());
    let n = (u32::from(d[0]) << 16) | (u32::from(d[1]) << 8) | u32::from(d[2]);
    format!("1.0.{n}")
}

/// The version of a public component, resolved at deploy time (the latest version of its major in
/// [`PUBLIC_COMPONENTS`]).
fn public_version(name: &str) -> String {
    placeholder(&format!("VERSION_{name}"))
}

/// A public component's deployment entry with its configuration merged.
fn public_entry(name: &str, config: Value) -> Value {
    json!({"componentVersion": public_version(name), "configurationUpdate": {"merge": config.to_string()}})
}

/// A top-level YAML scalar: the value of an unindented `Key: value` line (key matched
/// case-insensitively, quotes and a trailing comment removed). Enough for recipe names and
/// versions; not a YAML parser.
pub fn yaml_top_level(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (!l.starts_with([' ', '\t']) && k.trim().eq_ignore_ascii_case(key)).then(|| {
                v.split(" #")
                    .next()
                    .unwrap_or("")
                    .trim()
                    .trim_matches(['"', '\''])
                    .to_string()
            })
        })
        .filter(|s| !s.is_empty())
}

/// A native recipe in a function folder (`recipe.yaml`, `recipe.yml` or `recipe.json`).
#[derive(Debug, Clone, PartialEq)]
pub struct NativeRecipe {
    pub file: String,
    pub text: String,
    pub component_name: String,
    pub component_version: String,
}

/// Reads the native recipe of a function folder, if any. Its `ComponentName` and
/// `ComponentVersion` are required (top-level keys, matched case-insensitively as the service does).
pub fn native_recipe(dir: &Path) -> Result<Option<NativeRecipe>, String> {
    for file in ["recipe.yaml", "recipe.yml", "recipe.json"] {
        let path = dir.join(file);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let field = |key: &str| -> Option<String> {
            if file.ends_with(".json") {
                let v: Value = serde_json::from_str(&text).ok()?;
                v.as_object()?
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .and_then(|(_, v)| v.as_str().map(str::to_string))
            } else {
                yaml_top_level(&text, key)
            }
            .filter(|s| !s.is_empty())
        };
        let component_name = field("ComponentName")
            .ok_or_else(|| format!("{}: no top-level ComponentName", path.display()))?;
        let component_version = field("ComponentVersion")
            .ok_or_else(|| format!("{}: no top-level ComponentVersion", path.display()))?;
        return Ok(Some(NativeRecipe {
            file: file.to_string(),
            text,
            component_name,
            component_version,
        }));
    }
    Ok(None)
}

/// The V1 connectors ggp maps, by the connector name in their ARN
/// (`…/connectors/<name>/versions/<n>`), to the public component AWS documents as their
/// replacement (move-from-v1). Other connectors are reported as unsupported.
pub const CONNECTOR_COMPONENTS: &[(&str, &str)] = &[("CloudWatchMetricsConnector", CLOUDWATCH)];

/// The default topics of `aws.greengrass.Cloudwatch` 3.x (those of the V1 connector too).
const CLOUDWATCH_INPUT_TOPIC: &str = "cloudwatch/metric/put";
const CLOUDWATCH_OUTPUT_TOPIC: &str = "cloudwatch/metric/put/status";

/// A V1 connector mapped to the public component that replaces it.
struct MappedConnector {
    name: String,
    component: &'static str,
    config: serde_json::Map<String, Value>,
    input_topics: Vec<String>,
    output_topics: Vec<String>,
    /// The connector has cloud subscriptions (`fromCloudSubscriptions`/`toCloudSubscriptions`).
    cloud: bool,
}

/// `aws.greengrass.Cloudwatch` 3.x configuration from the CloudWatch Metrics connector's
/// parameters: `PublishInterval`, `PublishRegion` and `MaxMetricsToRetain` keep their names
/// (numbers in V2); the connector's input/output topic become `InputTopic`/`OutputTopic`.
/// `MemorySize` and `IsolationMode` have no meaning for the V2 component (a native component, run
/// outside any container): dropped with a warning, like any parameter the component does not know.
fn cloudwatch_config(
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
                    // The component's default access control names the default topics only.
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
    if !access.is_empty() {
        config.insert(
            "accessControl".into(),
            json!({"aws.greengrass.ipc.pubsub": access}),
        );
    }
    Ok(config)
}

/// A short stable id from content, for legacy subscription router entries ggp adds.
fn route_id(source: &str, subject: &str, target: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(format!("{source}|{subject}|{target}").as_bytes());
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn has_wildcard(topic: &str) -> bool {
    topic.split('/').any(|l| l == "+" || l == "#")
}

/// The nucleus `logging` configuration (config.yaml) from the deployment's FileSystem loggers:
/// the system logger's level (else the first one's) and their space summed.
pub fn nucleus_logging(d: &crate::config::DeploymentConf) -> Option<Value> {
    let fs_loggers: Vec<_> = d
        .effective_loggers()
        .into_iter()
        .filter(|l| l.logger_type == LoggerType::FileSystem)
        .collect();
    (!fs_loggers.is_empty()).then(|| {
        let level = fs_loggers
            .iter()
            .find(|l| l.component == LoggerComponent::GreengrassSystem)
            .or(fs_loggers.first())
            .map(|l| serde_json::to_value(l.logger_level).unwrap_or_default());
        let total: u64 = fs_loggers.iter().filter_map(|l| l.space).sum();
        json!({"level": level, "totalLogsSizeKB": total})
    })
}

/// Computes the V2 plan. Every V1 feature without a V2 mapping is named in one error.
pub fn build(
    project: &Project,
    injected: &Injected,
    opts: &PlanOptions,
) -> Result<V2Plan, PlanError> {
    let d = &project.deployment;
    let mut opts1 = opts.clone();
    opts1.target = Target::V2;
    let v1 = plan::build(project, injected, &opts1)?;
    let account = v1.account.clone();
    let region = v1.region.clone();
    let group = v1.group.clone();
    let thing = v1.iot.thing_name.clone();

    let mut unsupported: Vec<String> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    let mut connectors: Vec<MappedConnector> = Vec::new();
    for c in &project.connectors {
        let kind = c
            .connector_arn
            .split('/')
            .nth(2)
            .unwrap_or(&c.connector_arn);
        let Some(&(_, component)) = CONNECTOR_COMPONENTS.iter().find(|(k, _)| *k == kind) else {
            unsupported.push(format!(
                "connector {} ({kind}): Greengrass V2 has no connectors and ggp does not map this one; deploy the AWS-provided component that replaces it",
                c.name
            ));
            continue;
        };
        let config = match component {
            CLOUDWATCH => cloudwatch_config(c, &mut warnings),
            _ => Ok(serde_json::Map::new()),
        };
        match config {
            Err(e) => unsupported.push(e),
            Ok(config) => connectors.push(MappedConnector {
                name: c.name.clone(),
                component,
                config,
                input_topics: c.input_topics.clone(),
                output_topics: c.output_topics.clone(),
                cloud: !c.from_cloud_subscriptions.is_empty()
                    || !c.to_cloud_subscriptions.is_empty(),
            }),
        }
    }
    if connectors.len()
        != connectors
            .iter()
            .map(|m| m.component)
            .collect::<BTreeSet<_>>()
            .len()
    {
        unsupported.push(format!(
            "connectors {}: more than one connector maps to the same component, which a deployment holds once",
            connectors.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    // Existing Lambda functions (alias ARNs, wildcards) become Lambda function components of the
    // version their alias points to; git functions are folders like local ones.
    let external_functions = v1.external_functions.clone();
    let mut recipes: BTreeMap<String, NativeRecipe> = BTreeMap::new();
    for f in &project.functions {
        let dir = project.paths.folder_of(f);
        let recipe = if f.existing.is_some() {
            Ok(None)
        } else {
            native_recipe(&dir)
        };
        match recipe {
            Err(e) => unsupported.push(format!("function {}: {e}", f.function_name)),
            Ok(Some(r)) => {
                recipes.insert(f.function_name.clone(), r);
                continue;
            }
            Ok(None) => {}
        }
        let name = &f.function_name;
        if f.language.family() == Family::Executable {
            // A native component runs outside any container: volumes are seen at their source path.
            for v in &f.local_volume_resources {
                if f.greengrass_container && v.source_path != v.destination_path {
                    unsupported.push(format!("function {name}: executable with the volume {} mounted at {}; its native component runs outside any container and sees the volume at its source path only (or add functions/{}/recipe.yaml)", v.source_path, v.destination_path, f.dir_name));
                }
            }
        }
        if !f.local_s3_resources.is_empty() || !f.local_sage_maker_resources.is_empty() {
            unsupported.push(format!("function {name}: machine-learning resources (localS3Resources, localSageMakerResources) have no V2 equivalent for Lambda components"));
        }
    }

    let lambda_arn = |f: &FunctionConf| match &f.existing {
        Some(e) => e.function_arn.clone(),
        None => format!(
            "arn:aws:lambda:{region}:{account}:function:{group}-{}",
            f.function_name
        ),
    };
    let alias_to_component: BTreeMap<String, String> = project
        .functions
        .iter()
        .map(|f| {
            let component = recipes
                .get(&f.function_name)
                .map(|r| r.component_name.clone())
                .unwrap_or_else(|| format!("{group}-{}", f.function_name));
            (format!("{}:{}", lambda_arn(f), f.alias_name), component)
        })
        .collect();
    let subs = v1.greengrass.subscription_definition["Subscriptions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let endpoint = |s: &str| -> Option<String> {
        match s {
            "cloud" => Some("cloud".into()),
            // The V1 local shadow service: ShadowManager, reached through the router.
            "GGShadowService" => Some(format!("component:{SHADOW_MANAGER}")),
            _ => alias_to_component.get(s).map(|c| format!("component:{c}")),
        }
    };
    // Out of a function, and between a function and the shadow service: the legacy subscription
    // router (V1 Core SDK publish() and shadow calls).
    let mut router: BTreeMap<String, Value> = BTreeMap::new();
    for s in &subs {
        let (src, subject, dst) = (
            s["Source"].as_str().unwrap_or(""),
            s["Subject"].as_str().unwrap_or(""),
            s["Target"].as_str().unwrap_or(""),
        );
        if src == "cloud" {
            continue;
        }
        if let (Some(a), Some(b)) = (endpoint(src), endpoint(dst)) {
            let id = s["Id"].as_str().unwrap_or("").to_string();
            router.insert(
                id.clone(),
                json!({"id": id, "source": a, "subject": subject, "target": b}),
            );
        }
    }

    // Functions → a mapped connector's input topics: router routes to its component. Its output
    // topics → the input topics of functions: event sources of those functions.
    let mut connector_sources: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in &connectors {
        let target = format!("component:{}", m.component);
        let mut local = false;
        for f in &project.functions {
            let component = &alias_to_component[&format!("{}:{}", lambda_arn(f), f.alias_name)];
            let source = format!("component:{component}");
            for o in &f.output_topics {
                for i in &m.input_topics {
                    if let Some(subject) = crate::topics::intersect(o, i) {
                        local = true;
                        let id = sanitize_id(&route_id(&source, &subject, &target));
                        router.insert(
                            id.clone(),
                            json!({"id": id, "source": source, "subject": subject, "target": target}),
                        );
                    }
                }
            }
            for i in &f.input_topics {
                for o in &m.output_topics {
                    if let Some(subject) = crate::topics::intersect(o, i) {
                        local = true;
                        connector_sources
                            .entry(f.function_name.clone())
                            .or_default()
                            .push(subject);
                    }
                }
            }
        }
        if m.cloud && !local {
            warnings.push(format!(
                "connector {}: {} reads and writes its topics on AWS IoT Core (PubSubToIoTCore): the core's IoT policy must allow them",
                m.name, m.component
            ));
        }
        if m.cloud && local {
            unsupported.push(format!(
                "connector {}: it has both cloud subscriptions and local ones with functions; {} reads and writes either local or AWS IoT Core topics (PubSubToIoTCore), not both",
                m.name, m.component
            ));
        }
    }

    // Executables without a recipe run as native components that reach their topics over IPC
    // themselves: the router (V1 Core SDK publish() of Lambda components) has nothing to do for them.
    let natives: BTreeSet<String> = project
        .functions
        .iter()
        .filter(|f| {
            f.language.family() == Family::Executable
                && !recipes.contains_key(&f.function_name)
                && f.existing.is_none()
        })
        .map(|f| f.function_name.clone())
        .collect();
    let native_sources: BTreeSet<String> = natives
        .iter()
        .map(|n| format!("component:{group}-{n}"))
        .collect();
    router.retain(|_, r| !native_sources.contains(r["source"].as_str().unwrap_or("")));

    let functions_v1 = v1.greengrass.function_definition["Functions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let cloud_logger_levels: BTreeMap<&str, Value> = d
        .effective_loggers()
        .iter()
        .filter(|l| l.logger_type == LoggerType::AWSCloudWatch)
        .map(|l| {
            let c = match l.component {
                LoggerComponent::GreengrassSystem => "system",
                LoggerComponent::Lambda => "lambda",
            };
            (c, serde_json::to_value(l.logger_level).unwrap_or_default())
        })
        .collect();

    let mut components: Vec<ComponentPlan> = Vec::new();
    let mut secrets: BTreeSet<String> = BTreeSet::new();
    let mut run_with: BTreeMap<String, String> = BTreeMap::new();
    for f in &project.functions {
        if let Some(r) = recipes.get(&f.function_name) {
            components.push(ComponentPlan {
                function: f.function_name.clone(),
                kind: ComponentKind::Recipe,
                component_name: r.component_name.clone(),
                component_version: r.component_version.clone(),
                request: json!({"inlineRecipe": r.text, "recipeFile": format!("functions/{}/{}", f.dir_name, r.file)}),
            });
            continue;
        }
        let alias_arn = format!("{}:{}", lambda_arn(f), f.alias_name);
        let component = alias_to_component[&alias_arn].clone();
        let id = crate::config::model::sanitize_id(&f.function_name);
        let conf = functions_v1
            .iter()
            .find(|x| x["Id"] == json!(id))
            .map(|x| x["FunctionConfiguration"].clone())
            .unwrap_or_default();
        if natives.contains(&f.function_name) {
            let mut topics = NativeTopics::default();
            for s in &subs {
                let subject = s["Subject"].as_str().unwrap_or("").to_string();
                let (src, dst) = (
                    s["Source"].as_str().unwrap_or(""),
                    s["Target"].as_str().unwrap_or(""),
                );
                if src == alias_arn {
                    match dst {
                        "cloud" => topics.cloud_publish.insert(subject),
                        "GGShadowService" => false,
                        _ => topics.local_publish.insert(subject),
                    };
                } else if dst == alias_arn {
                    match src {
                        "cloud" => topics.cloud_subscribe.insert(subject),
                        "GGShadowService" => false,
                        _ => topics.local_subscribe.insert(subject),
                    };
                }
            }
            for m in &connectors {
                for o in &f.output_topics {
                    for i in &m.input_topics {
                        topics.local_publish.extend(crate::topics::intersect(o, i));
                    }
                }
            }
            topics.local_subscribe.extend(
                connector_sources
                    .get(&f.function_name)
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
            let zip = v1
                .artifacts
                .iter()
                .find(|a| a.function == f.function_name)
                .and_then(|a| Path::new(&a.package).file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| format!("{}.zip", f.function_name));
            let recipe = native_recipe_for(
                &group,
                f,
                &component,
                &zip,
                &conf["Environment"]["Variables"],
                &topics,
                &f.connected_shadows,
            );
            if !f.pinned {
                warnings.push(format!("function {}: its native component runs the executable once, for as long as it runs (pinned = false and timeoutInSeconds do not apply)", f.function_name));
            }
            // Root is RequiresPrivilege in the recipe; another uid/gid is the deployment's runWith.
            if (f.uid.is_some() || f.gid.is_some()) && !f.runs_as_root() {
                let user = f
                    .uid
                    .map_or_else(|| "ggc_user".to_string(), |u| u.to_string());
                let posix = match f.gid {
                    Some(g) => format!("{user}:{g}"),
                    None => user,
                };
                run_with.insert(component.clone(), posix);
            }
            components.push(ComponentPlan {
                function: f.function_name.clone(),
                kind: ComponentKind::Native,
                component_name: component,
                component_version: placeholder(&format!("COMPONENT_VERSION_{}", f.function_name)),
                request: json!({"recipe": recipe, "package": zip}),
            });
            continue;
        }
        let mut event_sources: Vec<Value> = Vec::new();
        for s in &subs {
            if s["Target"].as_str() != Some(alias_arn.as_str()) {
                continue;
            }
            let subject = s["Subject"].as_str().unwrap_or("");
            match s["Source"].as_str().unwrap_or("") {
                "cloud" => event_sources.push(json!({"topic": subject, "type": "IOT_CORE"})),
                "GGShadowService" => {}
                _ if has_wildcard(subject) => unsupported.push(format!(
                    "function {}: local input topic {subject} has wildcards, which V2 PUB_SUB event sources do not allow",
                    f.function_name
                )),
                _ => event_sources.push(json!({"topic": subject, "type": "PUB_SUB"})),
            }
        }
        for subject in connector_sources
            .get(&f.function_name)
            .into_iter()
            .flatten()
        {
            if has_wildcard(subject) {
                unsupported.push(format!(
                    "function {}: local input topic {subject} (from a connector) has wildcards, which V2 PUB_SUB event sources do not allow",
                    f.function_name
                ));
            } else {
                event_sources.push(json!({"topic": subject, "type": "PUB_SUB"}));
            }
        }
        let mut seen = BTreeSet::new();
        event_sources.retain(|e| seen.insert(e.to_string()));
        let mut params = json!({
            "eventSources": event_sources,
            "maxQueueSize": 1000,
            "timeoutInSeconds": f.timeout_in_seconds,
            "pinned": f.pinned,
            "inputPayloadEncodingType": conf["EncodingType"],
            "environmentVariables": conf["Environment"]["Variables"],
        });
        if !f.pinned {
            params["maxInstancesCount"] = json!(100);
            params["maxIdleTimeInSeconds"] = json!(60);
        }
        let linux = if f.greengrass_container {
            let perm = |rw: bool| if rw { "rw" } else { "ro" };
            json!({"isolationMode": "GreengrassContainer", "containerParams": {
                "memorySizeInKB": f.memory_size_in_kb,
                "mountROSysfs": f.access_sys_fs,
                "volumes": f.local_volume_resources.iter().map(|v| json!({"sourcePath": v.source_path, "destinationPath": v.destination_path, "permission": perm(v.read_write), "addGroupOwner": true})).collect::<Vec<_>>(),
                "devices": f.local_device_resources.iter().map(|dv| json!({"path": dv.path, "permission": perm(dv.read_write), "addGroupOwner": true})).collect::<Vec<_>>(),
            }})
        } else {
            json!({"isolationMode": "NoContainer"})
        };
        params["linuxProcessParams"] = linux;
        let mut deps = serde_json::Map::new();
        if router
            .values()
            .any(|r| r["source"] == json!(format!("component:{component}")))
        {
            deps.insert(LEGACY_ROUTER.into(), hard_dependency(LEGACY_ROUTER));
        }
        if !f.connected_shadows.is_empty() {
            deps.insert(SHADOW_MANAGER.into(), hard_dependency(SHADOW_MANAGER));
        }
        if !f.local_secrets_manager_resources.is_empty() {
            deps.insert(SECRET_MANAGER.into(), hard_dependency(SECRET_MANAGER));
            for s in &f.local_secrets_manager_resources {
                secrets.insert(if s.starts_with("arn:") {
                    s.clone()
                } else {
                    format!("arn:aws:secretsmanager:{region}:{account}:secret:{s}")
                });
            }
        }
        if f.uid.is_some() || f.gid.is_some() {
            let user = f
                .uid
                .map_or_else(|| "ggc_user".to_string(), |u| u.to_string());
            let posix = match f.gid {
                Some(g) => format!("{user}:{g}"),
                None => user,
            };
            run_with.insert(component.clone(), posix);
        }
        let mut lambda = json!({
            "lambdaArn": format!("{}:{}", lambda_arn(f), match &f.existing {
                Some(e) => e.version.clone(),
                None => placeholder(&format!("LAMBDA_VERSION_{}", f.function_name)),
            }),
            "componentName": component,
            "componentPlatforms": [{"name": "Linux", "attributes": {"os": "linux"}}],
            "componentLambdaParameters": params,
        });
        if !deps.is_empty() {
            lambda["componentDependencies"] = Value::Object(deps);
        }
        let version = if has_placeholder(&lambda.to_string()) {
            placeholder(&format!("COMPONENT_VERSION_{}", f.function_name))
        } else {
            content_version(&lambda)
        };
        lambda["componentVersion"] = json!(version);
        components.push(ComponentPlan {
            function: f.function_name.clone(),
            kind: ComponentKind::Lambda,
            component_name: component,
            component_version: version,
            request: json!({"lambdaFunction": lambda}),
        });
    }

    if !unsupported.is_empty() {
        return Err(PlanError::Unsupported(format!(
            "{} V1 feature(s) have no Greengrass V2 mapping (use --target v1 only where the V1 service still answers):\n  {}",
            unsupported.len(),
            unsupported.join("\n  ")
        )));
    }

    // The deployment: every component, plus the public components the mapping needs.
    let mut deploy_components = serde_json::Map::new();
    for c in &components {
        let mut entry = json!({"componentVersion": c.component_version});
        if let Some(u) = run_with.get(&c.component_name) {
            entry["runWith"] = json!({"posixUser": u});
        }
        deploy_components.insert(c.component_name.clone(), entry);
    }
    if !router.is_empty() {
        deploy_components.insert(
            LEGACY_ROUTER.into(),
            public_entry(LEGACY_ROUTER, json!({"subscriptions": router})),
        );
    }
    // The V1 local shadow service → ShadowManager, syncing the classic shadow of every connected
    // thing with the cloud both ways (the core's own shadow only if the core syncs it in V1).
    let mut shadow_things: Vec<&str> = Vec::new();
    for t in project.functions.iter().flat_map(|f| &f.connected_shadows) {
        if !shadow_things.contains(&t.as_str()) {
            shadow_things.push(t);
        }
    }
    let other_shadow_things: Vec<&str> = shadow_things
        .iter()
        .copied()
        .filter(|t| *t != thing)
        .collect();
    if !shadow_things.is_empty() {
        let mut sync = serde_json::Map::new();
        if shadow_things.contains(&thing.as_str()) {
            sync.insert(
                "coreThing".into(),
                json!({"classic": d.sync_shadow, "namedShadows": []}),
            );
        }
        let docs: Vec<Value> = other_shadow_things
            .iter()
            .map(|t| json!({"thingName": t, "classic": true, "namedShadows": []}))
            .collect();
        if !docs.is_empty() {
            sync.insert("shadowDocuments".into(), Value::Array(docs));
        }
        sync.insert("direction".into(), json!("betweenDeviceAndCloud"));
        deploy_components.insert(
            SHADOW_MANAGER.into(),
            public_entry(SHADOW_MANAGER, json!({"synchronize": sync})),
        );
    }
    for m in &connectors {
        let mut config = m.config.clone();
        if m.cloud {
            config.insert("PubSubToIoTCore".into(), json!("true"));
        }
        deploy_components.insert(
            m.component.into(),
            public_entry(m.component, Value::Object(config)),
        );
    }
    if !secrets.is_empty() {
        let list: Vec<Value> = secrets.iter().map(|a| json!({"arn": a})).collect();
        deploy_components.insert(
            SECRET_MANAGER.into(),
            public_entry(SECRET_MANAGER, json!({"cloudSecrets": list})),
        );
    }
    if !cloud_logger_levels.is_empty() {
        let mut uploader = serde_json::Map::new();
        if let Some(level) = cloud_logger_levels.get("system") {
            uploader.insert(
                "systemLogsConfiguration".into(),
                json!({"uploadToCloudWatch": "true", "minimumLogLevel": level}),
            );
        }
        if let Some(level) = cloud_logger_levels.get("lambda") {
            let map: serde_json::Map<String, Value> = components
                .iter()
                .filter(|c| matches!(c.kind, ComponentKind::Lambda | ComponentKind::Native))
                .map(|c| (c.component_name.clone(), json!({"minimumLogLevel": level})))
                .collect();
            uploader.insert("componentLogsConfigurationMap".into(), Value::Object(map));
        }
        deploy_components.insert(
            LOG_MANAGER.into(),
            public_entry(LOG_MANAGER, json!({"logsUploaderConfiguration": uploader})),
        );
    }
    let nucleus_logging = nucleus_logging(d);
    let thing_group_arn = format!("arn:aws:iot:{region}:{account}:thinggroup/{group}");
    let deployment_request = json!({
        "targetArn": thing_group_arn,
        "deploymentName": format!("{group}-{}", d.name),
        "components": deploy_components,
        "deploymentPolicies": {"failureHandlingPolicy": "ROLLBACK"},
    });

    // IAM: the core role is the token exchange role.
    let c = &v1.iam.core_role;
    let token_exchange_role = RolePlan {
        name: c.name.clone(),
        arn: c.arn.clone(),
        managed: c.managed,
        assume_role_policy: merge_policies(
            c.assume_role_policy
                .clone()
                .into_iter()
                .chain([tes_trust()]),
        ),
        managed_policies: c.managed_policies.clone(),
        inline_policy: c.inline_policy.clone(),
        v2_inline_policy: merge_policies(std::iter::once(tes_access()).chain(
            (!natives.is_empty()).then(|| {
                let bucket = default_artifact_bucket(&account, &region);
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": format!("arn:aws:s3:::{bucket}/{}*", artifact_root_prefix(""))}]})
            }),
        )),
    };
    let lambda_names: BTreeSet<String> = recipes
        .keys()
        .chain(natives.iter())
        .map(|n| format!("{group}-{n}"))
        .collect();
    let lambda: Vec<LambdaPlan> = v1
        .lambda
        .iter()
        .filter(|l| !lambda_names.contains(&l.function_name))
        .cloned()
        .collect();
    let lambda_role = v1.iam.lambda_role.clone().filter(|_| !lambda.is_empty());
    let mut shadow_policy_note = !other_shadow_things.is_empty();
    let (policy_name, policy_managed, policy_document) = match &opts.core_policy_name {
        Some(n) => (n.clone(), false, None),
        None => {
            let doc = d.core_role.iot_policy.clone().unwrap_or_else(|| {
                if d.broad_iot_policy {
                    shadow_policy_note = false;
                    broad_v2_iot_policy()
                } else {
                    shadow_policy_note = false;
                    let mut p =
                        minimal_v2_iot_policy(&region, &account, &thing, &v1.iot.role_alias);
                    add_shadow_things(&mut p, &region, &account, &other_shadow_things);
                    p
                }
            });
            (format!("{thing}_Policy"), true, Some(doc))
        }
    };
    let iot = V2IotPlan {
        thing_name: thing.clone(),
        thing_arn: v1.iot.thing_arn.clone(),
        thing_group_name: group.clone(),
        thing_group_arn,
        certificate: opts.certificate.clone(),
        policy_name,
        policy_managed,
        policy_document,
        role_alias: v1.iot.role_alias.clone(),
        role_alias_role_arn: role_arn(&account, &c.name),
        shadow_things: other_shadow_things.iter().map(|t| t.to_string()).collect(),
    };
    let artifacts = v1
        .artifacts
        .iter()
        .filter(|a| !recipes.contains_key(&a.function))
        .cloned()
        .collect();
    warnings.splice(
        0..0,
        v1.warnings
            .iter()
            .filter(|w| !w.contains("allowFunctionsToRunAsRoot"))
            .cloned(),
    );
    if shadow_policy_note {
        warnings.push(format!(
            "ShadowManager syncs the shadows of {} over the core's connection: the core's IoT policy (not ggp's) must allow their $aws/things/<thing>/shadow/* topics",
            other_shadow_things.join(", ")
        ));
    }
    if !run_with.is_empty() {
        warnings.push("a function sets uid/gid: its component runs with runWith.posixUser (root needs runWithDefault and the nucleus's permission)".into());
    }
    Ok(V2Plan {
        group,
        deployment: d.name.clone(),
        target: Target::V2,
        account,
        region,
        files: v1.files,
        iam: V2IamPlan {
            token_exchange_role,
            lambda_role,
        },
        iot,
        lambda,
        components,
        nucleus_logging,
        deployment_request,
        artifacts,
        warnings,
        external_functions,
    })
}

impl V2Plan {
    /// The human-readable form.
    pub fn render_text(&self) -> String {
        let mut o = String::new();
        let w = &mut o;
        let _ = writeln!(
            w,
            "Plan for group {} (deployment {}, Greengrass V2, account {}, region {})",
            self.group, self.deployment, self.account, self.region
        );
        let _ = writeln!(w, "\nIAM");
        for (label, r) in [
            ("token exchange role", Some(&self.iam.token_exchange_role)),
            ("lambda role", self.iam.lambda_role.as_ref()),
        ] {
            let Some(r) = r else {
                let _ = writeln!(w, "  {label}: not needed");
                continue;
            };
            plan::render_role(w, label, r);
        }
        let i = &self.iot;
        let _ = writeln!(w, "\nIoT");
        let _ = writeln!(
            w,
            "  thing group {} (the deployment target)",
            i.thing_group_name
        );
        let _ = writeln!(w, "  thing {} in {}", i.thing_name, i.thing_group_name);
        let cert = match &i.certificate {
            CertificateSource::ExistingArn { arn } => format!("existing {arn}"),
            CertificateSource::Csr { file } => format!("from CSR {file}"),
            CertificateSource::StoredOrNew => "stored keys for this group, or new keys".into(),
            CertificateSource::ForceNew => "new keys".into(),
        };
        let _ = writeln!(w, "  certificate: {cert}");
        let how = if i.policy_managed {
            "(create or new version)"
        } else {
            "(existing, used as is)"
        };
        let _ = writeln!(w, "  policy {} {how}", i.policy_name);
        let _ = writeln!(
            w,
            "  role alias {} -> {}",
            i.role_alias, i.role_alias_role_arn
        );
        let _ = writeln!(w, "\nLambda");
        if self.lambda.is_empty() {
            let _ = writeln!(w, "  (no functions)");
        }
        for l in &self.lambda {
            let _ = writeln!(
                w,
                "  {} ({}, {}, handler {}) published version, alias {}",
                l.function_name, l.source, l.runtime, l.handler, l.alias
            );
        }
        for e in &self.external_functions {
            let _ = writeln!(w, "  external: {} (resolved at deploy time)", e.display());
        }
        let _ = writeln!(w, "\nComponents (created only when the version is absent)");
        if self.components.is_empty() {
            let _ = writeln!(w, "  (none)");
        }
        for c in &self.components {
            let _ = writeln!(
                w,
                "  {} {} ({})",
                c.component_name,
                c.component_version,
                match c.kind {
                    ComponentKind::Lambda => "Lambda function component",
                    ComponentKind::Recipe => "native component from its recipe",
                    ComponentKind::Native => "native component ggp writes for the executable",
                }
            );
            if c.kind == ComponentKind::Native {
                let m = &c.request["recipe"]["Manifests"][0];
                let run = &m["Lifecycle"]["Run"];
                let _ = writeln!(
                    w,
                    "    artifact {} (Unarchive ZIP) uploaded to S3; run {}{}",
                    c.request["package"].as_str().unwrap_or(""),
                    run["Script"].as_str().or(run.as_str()).unwrap_or(""),
                    if run["RequiresPrivilege"] == json!(true) {
                        " as root"
                    } else {
                        ""
                    }
                );
                let acl = &c.request["recipe"]["ComponentConfiguration"]["DefaultConfiguration"]
                    ["accessControl"];
                for (service, policies) in acl.as_object().into_iter().flatten() {
                    for p in policies.as_object().into_iter().flatten().map(|(_, p)| p) {
                        let _ = writeln!(
                            w,
                            "    {service} {} {}",
                            p["operations"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(|o| o.as_str())
                                .collect::<Vec<_>>()
                                .join(","),
                            p["resources"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(|o| o.as_str())
                                .collect::<Vec<_>>()
                                .join(" ")
                        );
                    }
                }
            }
            let p = &c.request["lambdaFunction"]["componentLambdaParameters"];
            if p.is_object() {
                let _ = writeln!(
                    w,
                    "    pinned={} timeout={}s isolation={} env={}",
                    p["pinned"],
                    p["timeoutInSeconds"],
                    p["linuxProcessParams"]["isolationMode"]
                        .as_str()
                        .unwrap_or(""),
                    p["environmentVariables"].as_object().map_or(0, |m| m.len())
                );
                for e in p["eventSources"].as_array().into_iter().flatten() {
                    let _ = writeln!(
                        w,
                        "    event source {} {}",
                        e["type"].as_str().unwrap_or(""),
                        e["topic"].as_str().unwrap_or("")
                    );
                }
                let cp = &p["linuxProcessParams"]["containerParams"];
                for v in cp["volumes"].as_array().into_iter().flatten() {
                    let _ = writeln!(
                        w,
                        "    volume {} -> {} {}",
                        v["sourcePath"].as_str().unwrap_or(""),
                        v["destinationPath"].as_str().unwrap_or(""),
                        v["permission"].as_str().unwrap_or("")
                    );
                }
                for v in cp["devices"].as_array().into_iter().flatten() {
                    let _ = writeln!(
                        w,
                        "    device {} {}",
                        v["path"].as_str().unwrap_or(""),
                        v["permission"].as_str().unwrap_or("")
                    );
                }
            }
        }
        let dr = &self.deployment_request;
        let _ = writeln!(
            w,
            "\nDeployment {} on {}",
            dr["deploymentName"].as_str().unwrap_or(""),
            dr["targetArn"].as_str().unwrap_or("")
        );
        for (name, c) in dr["components"].as_object().into_iter().flatten() {
            let _ = writeln!(
                w,
                "  {name} {}{}",
                c["componentVersion"].as_str().unwrap_or(""),
                if c.get("configurationUpdate").is_some() {
                    " (configuration merged)"
                } else {
                    ""
                }
            );
        }
        let _ = writeln!(
            w,
            "  then: created only if the component set changed, awaited to COMPLETED or FAILED"
        );
        if let Some(l) = &self.nucleus_logging {
            let _ = writeln!(
                w,
                "\nNucleus logging (config.yaml): level {} totalLogsSizeKB {}",
                l["level"].as_str().unwrap_or(""),
                l["totalLogsSizeKB"]
            );
        }
        plan::render_tail(w, &self.artifacts, &self.warnings);
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_version_is_stable_and_follows_content() {
        let a = json!({"lambdaArn": "arn:aws:lambda:r:1:function:g-f:3", "x": 1});
        let b = json!({"lambdaArn": "arn:aws:lambda:r:1:function:g-f:4", "x": 1});
        assert_eq!(content_version(&a), content_version(&a.clone()));
        assert_ne!(content_version(&a), content_version(&b));
        let v = content_version(&a);
        let patch: u32 = v.strip_prefix("1.0.").unwrap().parse().unwrap();
        assert!(patch <= 0xFF_FFFF, "{v}");
    }

    #[test]
    fn native_recipe_yaml_top_level_keys_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("recipe.yaml"),
            "RecipeFormatVersion: \"2020-01-25\"\ncomponentname: com.example.Hello # name\nComponentConfiguration:\n  ComponentVersion: 9.9.9\nComponentVersion: '1.2.3'\n",
        )
        .unwrap();
        let r = native_recipe(dir.path()).unwrap().unwrap();
        assert_eq!(r.component_name, "com.example.Hello");
        assert_eq!(r.component_version, "1.2.3");
        assert_eq!(r.file, "recipe.yaml");
    }

    #[test]
    fn native_recipe_json_and_missing_fields() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(native_recipe(dir.path()).unwrap(), None);
        std::fs::write(
            dir.path().join("recipe.json"),
            r#"{"ComponentName": "com.example.J", "Manifests": []}"#,
        )
        .unwrap();
        let e = native_recipe(dir.path()).unwrap_err();
        assert!(e.contains("ComponentVersion"), "{e}");
        std::fs::write(
            dir.path().join("recipe.json"),
            r#"{"ComponentName": "com.example.J", "componentVersion": "2.0.0"}"#,
        )
        .unwrap();
        let r = native_recipe(dir.path()).unwrap().unwrap();
        assert_eq!(
            (r.component_name.as_str(), r.component_version.as_str()),
            ("com.example.J", "2.0.0")
        );
    }

    #[test]
    fn minimal_policy_scopes_the_thing_and_alias() {
        let p = minimal_v2_iot_policy("eu-west-1", "123456789012", "g_Core", "alias-x");
        let s = p.to_string();
        assert!(s.contains("arn:aws:iot:eu-west-1:123456789012:client/g_Core*"));
        assert!(s.contains("arn:aws:iot:eu-west-1:123456789012:rolealias/alias-x"));
        assert!(s.contains("greengrass:ListThingGroupsForCoreDevice"));
        assert!(!s.contains("\"iot:*\""));
    }

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
    fn public_components_have_a_major_and_dependencies_follow_it() {
        for name in [
            LOG_MANAGER,
            SECRET_MANAGER,
            LEGACY_ROUTER,
            SHADOW_MANAGER,
            CLOUDWATCH,
        ] {
            assert!(public_major(name).is_some(), "{name}");
        }
        for (_, component) in CONNECTOR_COMPONENTS {
            assert!(public_major(component).is_some(), "{component}");
        }
        assert_eq!(
            hard_dependency(CLOUDWATCH),
            json!({"versionRequirement": ">=3.0.0 <4.0.0", "dependencyType": "HARD"})
        );
        assert_eq!(
            hard_dependency(SHADOW_MANAGER)["versionRequirement"],
            ">=2.0.0 <3.0.0"
        );
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

    #[test]
    fn native_artifacts_keys_versions_and_filled_recipes() {
        assert_eq!(
            artifact_key("", "g", "g-F", "1.0.7", "F.zip"),
            "ggp/g/g-F/1.0.7/F.zip"
        );
        assert_eq!(
            artifact_key("/a/b/", "g", "g-F", "1.0.7", "F.zip"),
            "a/b/ggp/g/g-F/1.0.7/F.zip"
        );
        assert_eq!(
            default_artifact_bucket("123456789012", "eu-west-1"),
            "ggp-artifacts-123456789012-eu-west-1"
        );
        assert!(has_placeholder(&default_artifact_bucket(
            &placeholder("ACCOUNT_ID"),
            "eu-west-1"
        )));
        let r = json!({"ComponentVersion": "x", "Manifests": [{"Artifacts": [{"Uri": "u", "Unarchive": "ZIP"}]}]});
        let v = native_version(&r, "aa", "s3://b/");
        assert_eq!(v, native_version(&r, "aa", "s3://b/"));
        assert_ne!(v, native_version(&r, "ab", "s3://b/"));
        assert_ne!(v, native_version(&r, "aa", "s3://c/"));
        let f = fill_native_recipe(&r, "1.0.3", "s3://b/k.zip");
        assert_eq!(f["ComponentVersion"], "1.0.3");
        assert_eq!(f["Manifests"][0]["Artifacts"][0]["Uri"], "s3://b/k.zip");
        assert_eq!(f["Manifests"][0]["Artifacts"][0]["Unarchive"], "ZIP");
    }

    #[test]
    fn wildcards() {
        assert!(has_wildcard("a/+/b"));
        assert!(has_wildcard("a/#"));
        assert!(!has_wildcard("a/b+c/d"));
    }
}
