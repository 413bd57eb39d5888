//! Greengrass V2 component recipes: the Lambda function component of a function
//! (`CreateComponentVersion.lambdaFunction`) and the native component recipe ggp writes for an
//! executable function, with how their versions follow from their content and where their
//! artifacts are kept in S3.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{json, Value};

use super::connectors::has_wildcard;
use super::public::{hard_dependency, LEGACY_ROUTER, SECRET_MANAGER, SHADOW_MANAGER};
use crate::arch::Arch;
use crate::config::{has_placeholder, placeholder, EncodingType, FunctionConf};
use crate::model::{Function, Known};

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
    /// A Lambda function component's function version: the existing function's, or unknown until
    /// ggp publishes one (the request shows its placeholder).
    #[serde(skip)]
    pub lambda: Option<LambdaVersion>,
}

/// The Lambda function version a Lambda function component imports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaVersion {
    /// The function's ARN without qualifier.
    pub function_arn: String,
    pub version: Known<String>,
}

/// `1.0.<n>`: `n` from the sha256 of the content (first 3 bytes, so at most 16777215).
pub fn content_version(content: &Value) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(content.to_string().as_bytes());
    let n = (u32::from(d[0]) << 16) | (u32::from(d[1]) << 8) | u32::from(d[2]);
    format!("1.0.{n}")
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
    format!("{}{group}/", artifact_root_prefix(prefix))
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

/// The recipe of a native component with its version and artifact URI filled in. A deploy is for
/// one architecture (`-a`), so its recipe has one manifest, whose artifact is that package.
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
pub(super) struct NativeTopics {
    pub local_publish: BTreeSet<String>,
    pub local_subscribe: BTreeSet<String>,
    pub cloud_publish: BTreeSet<String>,
    pub cloud_subscribe: BTreeSet<String>,
}

/// The `posixUser` a function's component runs with (`runWith`), when it sets a uid or gid other
/// than root's (root is `RequiresPrivilege` in a recipe).
pub(super) fn posix_user(f: &FunctionConf) -> Option<String> {
    if f.uid.is_none() && f.gid.is_none() {
        return None;
    }
    let user = f
        .uid
        .map_or_else(|| "ggc_user".to_string(), |u| u.to_string());
    Some(match f.gid {
        Some(g) => format!("{user}:{g}"),
        None => user,
    })
}

/// One `accessControl` policy of the recipe ggp writes for the executable `f`.
fn access_policy(
    f: &FunctionConf,
    component: &str,
    n: usize,
    what: &str,
    ops: &[&str],
    topics: &BTreeSet<String>,
) -> (String, Value) {
    (
        format!("{component}:{what}:{n}"),
        json!({"policyDescription": format!("{what} topics of the V1 function {}", f.function_name), "operations": ops, "resources": topics}),
    )
}

/// The IPC access control of the executable's native component: its local and cloud topics and
/// its connected shadows.
fn native_access(
    f: &FunctionConf,
    component: &str,
    topics: &NativeTopics,
) -> serde_json::Map<String, Value> {
    let mut access = serde_json::Map::new();
    for (service, what, entries) in [
        (
            "aws.greengrass.ipc.pubsub",
            "pubsub",
            [
                ("aws.greengrass#PublishToTopic", &topics.local_publish),
                ("aws.greengrass#SubscribeToTopic", &topics.local_subscribe),
            ],
        ),
        (
            "aws.greengrass.ipc.mqttproxy",
            "mqttproxy",
            [
                ("aws.greengrass#PublishToIoTCore", &topics.cloud_publish),
                ("aws.greengrass#SubscribeToIoTCore", &topics.cloud_subscribe),
            ],
        ),
    ] {
        let mut policies = serde_json::Map::new();
        for (n, (op, t)) in entries.into_iter().enumerate() {
            if !t.is_empty() {
                let (k, v) = access_policy(f, component, n + 1, what, &[op], t);
                policies.insert(k, v);
            }
        }
        if !policies.is_empty() {
            access.insert(service.into(), Value::Object(policies));
        }
    }
    if !f.connected_shadows.is_empty() {
        let resources: Vec<String> = f
            .connected_shadows
            .iter()
            .map(|t| format!("$aws/things/{t}/shadow"))
            .collect();
        access.insert(
            SHADOW_MANAGER.into(),
            json!({format!("{component}:shadow:1"): {"policyDescription": format!("connectedShadows of the V1 function {}", f.function_name), "operations": ["aws.greengrass#GetThingShadow", "aws.greengrass#UpdateThingShadow", "aws.greengrass#DeleteThingShadow"], "resources": resources}}),
        );
    }
    access
}

/// The recipe ggp writes for an executable function built for `archs` (ComponentVersion and the
/// artifact URIs are placeholders until deploy time).
pub(super) fn native_recipe_for(
    group: &str,
    archs: &[Arch],
    f: &FunctionConf,
    component: &str,
    zip: &str,
    env: &Value,
    topics: &NativeTopics,
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
    let access = native_access(f, component, topics);
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
    if !f.connected_shadows.is_empty() {
        let d = hard_dependency(SHADOW_MANAGER);
        recipe["ComponentDependencies"] = json!({SHADOW_MANAGER: {"VersionRequirement": d["versionRequirement"], "DependencyType": "HARD"}});
    }
    // Compiled code runs on the architecture it was built for only: one manifest per built
    // architecture, matched by the nucleus's `architecture`, each with its own package.
    let manifest = |platform: Value, uri: String| {
        json!({
            "Platform": platform,
            "Lifecycle": lifecycle,
            "Artifacts": [{
                "Uri": placeholder(&uri),
                "Unarchive": "ZIP",
                "Permission": {"Read": "OWNER", "Execute": "OWNER"},
            }],
        })
    };
    let manifests: Vec<Value> = if archs.is_empty() {
        vec![manifest(
            json!({"os": "linux"}),
            format!("ARTIFACT_URI_{}", f.function_name),
        )]
    } else {
        archs
            .iter()
            .map(|a| {
                manifest(
                    json!({"os": "linux", "architecture": a.greengrass_architecture()}),
                    format!("ARTIFACT_URI_{}_{}", f.function_name, a.name()),
                )
            })
            .collect()
    };
    recipe["Manifests"] = Value::Array(manifests);
    recipe
}

/// `componentPlatforms` of a Lambda function component whose package has native code built for
/// `archs`: Linux on those architectures only (`architecture` as the nucleus detects it, and
/// `architecture.detail` for 32-bit ARM, which `arm` alone does not tell apart).
pub fn lambda_platforms(archs: &[Arch]) -> Value {
    Value::Array(
        archs
            .iter()
            .map(|a| {
                let mut attributes =
                    json!({"os": "linux", "architecture": a.greengrass_architecture()});
                if let Some(d) = a.greengrass_architecture_detail() {
                    attributes["architecture.detail"] = json!(d);
                }
                json!({"name": format!("Linux {}", a.name()), "attributes": attributes})
            })
            .collect(),
    )
}

/// What a Lambda function component needs besides its function.
pub(super) struct LambdaInputs<'a> {
    pub component: &'a str,
    pub event_sources: Vec<Value>,
    pub env: Value,
    /// The component publishes through the legacy subscription router.
    pub routed: bool,
}

/// `componentLambdaParameters` of a function.
fn lambda_parameters(f: &FunctionConf, event_sources: Vec<Value>, env: Value) -> Value {
    let mut params = json!({
        "eventSources": event_sources,
        "maxQueueSize": 1000,
        "timeoutInSeconds": f.timeout_in_seconds,
        "pinned": f.pinned,
        "inputPayloadEncodingType": match f.encoding_type { EncodingType::Json => "json", EncodingType::Binary => "binary" },
        "environmentVariables": env,
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
    params
}

/// The `lambdaFunction` request of a function's Lambda function component, with its version
/// (a placeholder while the Lambda version is not known) and the Lambda version it imports.
pub(super) fn lambda_component(f: &Function, i: LambdaInputs) -> (Value, String, LambdaVersion) {
    let c = &f.conf;
    let params = lambda_parameters(c, i.event_sources, i.env);
    let mut deps = serde_json::Map::new();
    if i.routed {
        deps.insert(LEGACY_ROUTER.into(), hard_dependency(LEGACY_ROUTER));
    }
    if !c.connected_shadows.is_empty() {
        deps.insert(SHADOW_MANAGER.into(), hard_dependency(SHADOW_MANAGER));
    }
    if !c.local_secrets_manager_resources.is_empty() {
        deps.insert(SECRET_MANAGER.into(), hard_dependency(SECRET_MANAGER));
    }
    let imported = LambdaVersion {
        function_arn: f.function_arn.clone(),
        version: match &c.existing {
            Some(e) => Known::Is(e.version.clone()),
            None => Known::unknown(format!("LAMBDA_VERSION_{}", c.function_name)),
        },
    };
    let mut lambda = json!({
        "lambdaArn": format!("{}:{}", imported.function_arn, imported.version),
        "componentName": i.component,
        "componentPlatforms": [{"name": "Linux", "attributes": {"os": "linux"}}],
        "componentLambdaParameters": params,
    });
    if !deps.is_empty() {
        lambda["componentDependencies"] = Value::Object(deps);
    }
    let version = if has_placeholder(&lambda.to_string()) {
        placeholder(&format!("COMPONENT_VERSION_{}", c.function_name))
    } else {
        content_version(&lambda)
    };
    lambda["componentVersion"] = json!(version);
    (lambda, version, imported)
}

/// Event sources of a Lambda function component: routes into it from the cloud (`IOT_CORE`) and
/// from other functions (`PUB_SUB`; wildcards are not allowed there), and a connector's outputs.
pub(super) fn event_sources(
    f: &Function,
    from_routes: &[(bool, &str)],
    from_connectors: &[String],
    unsupported: &mut Vec<String>,
) -> Vec<Value> {
    let mut sources: Vec<Value> = Vec::new();
    for &(cloud, topic) in from_routes {
        if cloud {
            sources.push(json!({"topic": topic, "type": "IOT_CORE"}));
        } else if has_wildcard(topic) {
            unsupported.push(format!(
                "function {}: local input topic {topic} has wildcards, which V2 PUB_SUB event sources do not allow",
                f.name()
            ));
        } else {
            sources.push(json!({"topic": topic, "type": "PUB_SUB"}));
        }
    }
    for topic in from_connectors {
        if has_wildcard(topic) {
            unsupported.push(format!(
                "function {}: local input topic {topic} (from a connector) has wildcards, which V2 PUB_SUB event sources do not allow",
                f.name()
            ));
        } else {
            sources.push(json!({"topic": topic, "type": "PUB_SUB"}));
        }
    }
    let mut seen = BTreeSet::new();
    sources.retain(|e| seen.insert(e.to_string()));
    sources
}

/// Component name → its `runWith.posixUser`.
pub(super) type RunWith = BTreeMap<String, String>;

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
}
