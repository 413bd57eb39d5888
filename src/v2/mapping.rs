//! The Greengrass V2 desired state of a project, computed offline: the V1 → V2 migration done the
//! way AWS documents it (move-from-v1, see greengrass-formats.md B.8).
//!
//! The V1 plan ([`crate::plan::build`]) stays the single source of the Lambda functions, their
//! environments, resources and subscription wiring; this module translates its content:
//! - each function → its Lambda function (unchanged) and a Lambda function component
//!   (`CreateComponentVersion.lambdaFunction`), named like the Lambda function (`<group>-<name>`);
//! - a function folder holding `recipe.yaml`/`recipe.json` → a native component from that recipe
//!   instead (its Lambda function is then not created);
//! - subscriptions into a function → its `eventSources` (`IOT_CORE` from the cloud, `PUB_SUB` from
//!   other functions); subscriptions out of a function → `aws.greengrass.LegacySubscriptionRouter`
//!   configuration, which the V1 Core SDK `publish()` needs;
//! - secrets → `aws.greengrass.SecretManager` (`cloudSecrets`);
//! - CloudWatch loggers → `aws.greengrass.LogManager`; FileSystem loggers → the nucleus `logging`
//!   configuration (written by the V2 bundle);
//! - the group → thing group `<group>` holding thing `<group>_Core`, the deployment target;
//! - the core role → the token exchange role (trusted by `credentials.iot.amazonaws.com`) behind
//!   the role alias, with the minimal V2 core IoT policy.
//!
//! V1 features with no V2 mapping in ggp are one error naming each of them (connectors,
//! executable Lambdas without a recipe, machine-learning resources, local shadows, wildcard local
//! topics, functions that are not local folders).
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

use crate::config::{has_placeholder, Injected, Target};
use crate::config::{placeholder, FunctionConf, FunctionRef, LoggerComponent, LoggerType, Project};
use crate::language::Family;
use crate::plan::{self, ArtifactPlan, CertificateSource, LambdaPlan, PlanError, PlanOptions};
use crate::plan::{merge_policies, role_arn, RolePlan};

/// Public components ggp adds to a deployment when the project needs them.
pub const LOG_MANAGER: &str = "aws.greengrass.LogManager";
pub const SECRET_MANAGER: &str = "aws.greengrass.SecretManager";
pub const LEGACY_ROUTER: &str = "aws.greengrass.LegacySubscriptionRouter";

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
}

/// How a component is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ComponentKind {
    /// `CreateComponentVersion.lambdaFunction`.
    Lambda,
    /// `CreateComponentVersion.inlineRecipe` from the function folder.
    Recipe,
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

/// The version of a public component, resolved at deploy time (latest 2.x).
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

fn has_wildcard(topic: &str) -> bool {
    topic.split('/').any(|l| l == "+" || l == "#")
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
    for c in &project.connectors {
        let kind = c
            .connector_arn
            .split('/')
            .nth(2)
            .unwrap_or(&c.connector_arn);
        unsupported.push(format!(
            "connector {} ({kind}): Greengrass V2 has no connectors and ggp does not map it; deploy the AWS-provided component that replaces it",
            c.name
        ));
    }
    for r in &d.functions {
        if !matches!(r, FunctionRef::Local { .. }) {
            unsupported.push(format!(
                "function {}: only functions in local folders are mapped to V2 components",
                serde_json::to_string(r).unwrap_or_default()
            ));
        }
    }
    let mut recipes: BTreeMap<String, NativeRecipe> = BTreeMap::new();
    for f in &project.functions {
        let dir = project.paths.function_dir(&f.dir_name);
        match native_recipe(&dir) {
            Err(e) => unsupported.push(format!("function {}: {e}", f.function_name)),
            Ok(Some(r)) => {
                recipes.insert(f.function_name.clone(), r);
                continue;
            }
            Ok(None) => {}
        }
        let name = &f.function_name;
        if f.language.family() == Family::Executable {
            unsupported.push(format!("function {name}: executable (C/C++) Lambdas do not run on Greengrass V2; add functions/{}/recipe.yaml to run it as a native component", f.dir_name));
        }
        if !f.local_s3_resources.is_empty() || !f.local_sage_maker_resources.is_empty() {
            unsupported.push(format!("function {name}: machine-learning resources (localS3Resources, localSageMakerResources) have no V2 equivalent for Lambda components"));
        }
        if !f.connected_shadows.is_empty() {
            unsupported.push(format!("function {name}: connectedShadows (the V1 local shadow service) is not mapped to aws.greengrass.ShadowManager by ggp"));
        }
    }

    let lambda_arn = |f: &FunctionConf| {
        format!(
            "arn:aws:lambda:{region}:{account}:function:{group}-{}",
            f.function_name
        )
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
            _ => alias_to_component.get(s).map(|c| format!("component:{c}")),
        }
    };
    // Out of a function: the legacy subscription router (V1 Core SDK publish()).
    let mut router: BTreeMap<String, Value> = BTreeMap::new();
    for s in &subs {
        let (src, subject, dst) = (
            s["Source"].as_str().unwrap_or(""),
            s["Subject"].as_str().unwrap_or(""),
            s["Target"].as_str().unwrap_or(""),
        );
        if src == "cloud" || src == "GGShadowService" || dst == "GGShadowService" {
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
            deps.insert(
                LEGACY_ROUTER.into(),
                json!({"versionRequirement": ">=2.0.0 <3.0.0", "dependencyType": "HARD"}),
            );
        }
        if !f.local_secrets_manager_resources.is_empty() {
            deps.insert(
                SECRET_MANAGER.into(),
                json!({"versionRequirement": ">=2.0.0 <3.0.0", "dependencyType": "HARD"}),
            );
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
            "lambdaArn": format!("{}:{}", lambda_arn(f), placeholder(&format!("LAMBDA_VERSION_{}", f.function_name))),
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
                .filter(|c| c.kind == ComponentKind::Lambda)
                .map(|c| (c.component_name.clone(), json!({"minimumLogLevel": level})))
                .collect();
            uploader.insert("componentLogsConfigurationMap".into(), Value::Object(map));
        }
        deploy_components.insert(
            LOG_MANAGER.into(),
            public_entry(LOG_MANAGER, json!({"logsUploaderConfiguration": uploader})),
        );
    }
    let fs_loggers: Vec<_> = d
        .effective_loggers()
        .into_iter()
        .filter(|l| l.logger_type == LoggerType::FileSystem)
        .collect();
    let nucleus_logging = (!fs_loggers.is_empty()).then(|| {
        let level = fs_loggers
            .iter()
            .find(|l| l.component == LoggerComponent::GreengrassSystem)
            .or(fs_loggers.first())
            .map(|l| serde_json::to_value(l.logger_level).unwrap_or_default());
        let total: u64 = fs_loggers.iter().filter_map(|l| l.space).sum();
        json!({"level": level, "totalLogsSizeKB": total})
    });
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
        inline_policy: merge_policies(c.inline_policy.clone().into_iter().chain([tes_access()])),
    };
    let lambda_names: BTreeSet<String> = recipes.keys().map(|n| format!("{group}-{n}")).collect();
    let lambda: Vec<LambdaPlan> = v1
        .lambda
        .iter()
        .filter(|l| !lambda_names.contains(&l.function_name))
        .cloned()
        .collect();
    let lambda_role = v1.iam.lambda_role.clone().filter(|_| !lambda.is_empty());
    let (policy_name, policy_managed, policy_document) = match &opts.core_policy_name {
        Some(n) => (n.clone(), false, None),
        None => {
            let doc = d.core_role.iot_policy.clone().unwrap_or_else(|| {
                if d.broad_iot_policy {
                    broad_v2_iot_policy()
                } else {
                    minimal_v2_iot_policy(&region, &account, &thing, &v1.iot.role_alias)
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
    };
    let artifacts = v1
        .artifacts
        .iter()
        .filter(|a| !recipes.contains_key(&a.function))
        .cloned()
        .collect();
    let mut warnings: Vec<String> = v1
        .warnings
        .iter()
        .filter(|w| !w.contains("allowFunctionsToRunAsRoot"))
        .cloned()
        .collect();
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
                }
            );
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

    #[test]
    fn wildcards() {
        assert!(has_wildcard("a/+/b"));
        assert!(has_wildcard("a/#"));
        assert!(!has_wildcard("a/b+c/d"));
    }
}
