//! What a run would do, computed from the project alone: no network, no Docker.
//!
//! [`build`] turns a loaded [`Project`] into the desired state of every cloud resource of a
//! Greengrass V1 group (roles and policies, role alias, thing, certificate source, IoT policy,
//! Lambda functions and aliases, and the group's definitions with their full content) and the
//! artifacts a build would produce per architecture. Provisioning converges the account to this
//! same desired state, so `plan` and `deploy` cannot disagree. Definition contents use the AWS
//! API's field names, so the JSON is what would be sent.
//!
//! Values not known offline (account, group id, certificate ARN) are explicit placeholders.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::{json, Value};

use crate::arch::Arch;
use crate::config::validate::env_suffix;
use crate::config::{
    has_placeholder, placeholder, FunctionConf, FunctionRef, Injected, LoggerType, Project, Target,
    Warning,
};
use crate::language::{Family, Language};
use crate::topics;

/// Where the core certificate will come from (first match wins, as in GGP).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "kebab-case")]
pub enum CertificateSource {
    /// `--certificate-arn`: used as given; no private key in any output.
    ExistingArn { arn: String },
    /// `--csr FILE`: CreateCertificateFromCsr; the key stays on the device.
    Csr { file: String },
    /// Keys stored for this group are reused; a new group gets new keys.
    StoredOrNew,
    /// `--force-create-new-keys`: new keys; the old certificate is detached and deactivated.
    ForceNew,
}

/// Inputs of a plan besides the project.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub archs: Vec<Arch>,
    pub target: Target,
    pub certificate: CertificateSource,
    pub core_role_name: Option<String>,
    pub core_policy_name: Option<String>,
    pub service_role_exists: bool,
    /// Where build outputs go, relative to the project (GGP: `build/`).
    pub build_dir: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolePlan {
    pub name: String,
    pub arn: String,
    /// False when an existing role is used as is (`--core-role-name`).
    pub managed: bool,
    pub assume_role_policy: Option<Value>,
    pub managed_policies: Vec<String>,
    /// Written as the inline policy `inline-by-ggp`.
    pub inline_policy: Option<Value>,
    /// Greengrass V2 only: what the token exchange role needs besides the configured policy,
    /// written as its own inline policy `greengrass-v2-by-ggp`, so a V1 group and a V2 group that
    /// share the core role (one project's defaults) do not rewrite each other's `inline-by-ggp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v2_inline_policy: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IamPlan {
    pub core_role: RolePlan,
    /// Absent when the deployment has no functions (GGP created it only then).
    pub lambda_role: Option<RolePlan>,
    /// Absent with `--service-role-exists`.
    pub service_role: Option<RolePlan>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IotPlan {
    pub thing_name: String,
    pub thing_arn: String,
    pub certificate: CertificateSource,
    pub policy_name: String,
    /// False when an existing policy is used as is (`--core-policy-name`).
    pub policy_managed: bool,
    pub policy_document: Option<Value>,
    pub role_alias: String,
    pub role_alias_role_arn: String,
    /// Things created for `connectedShadows`.
    pub shadow_things: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LambdaPlan {
    pub function_name: String,
    pub source: String,
    pub runtime: String,
    pub handler: String,
    pub role_arn: String,
    pub memory_size_mb: u64,
    pub timeout_seconds: u64,
    pub alias: String,
    pub alias_arn: String,
    pub environment: BTreeMap<String, String>,
}

/// The content of each Greengrass definition version, as the API takes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupPlan {
    pub group_name: String,
    pub core_definition: Value,
    pub function_definition: Value,
    pub subscription_definition: Value,
    pub resource_definition: Value,
    pub logger_definition: Value,
    pub connector_definition: Option<Value>,
    /// `allowFunctionsToRunAsRoot` in the core's config.json.
    pub allow_functions_to_run_as_root: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactPlan {
    pub function: String,
    pub arch: Arch,
    pub platform: &'static str,
    pub builder: String,
    pub image_repository: String,
    pub package: String,
}

/// Everything a run would do.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub group: String,
    pub deployment: String,
    pub target: Target,
    pub account: String,
    pub region: String,
    pub files: Vec<String>,
    /// `conf.functions` entries not resolved yet (git URLs, alias ARNs, `~wildcards~`): a deploy
    /// resolves them first; an offline plan lists them.
    pub external_functions: Vec<FunctionRef>,
    /// Existing Lambda functions used as is (resolved alias ARNs and wildcards): function name →
    /// the version its alias points to. Not created, changed or deleted by ggp.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub existing_versions: BTreeMap<String, String>,
    pub iam: IamPlan,
    pub iot: IotPlan,
    pub lambda: Vec<LambdaPlan>,
    pub greengrass: GroupPlan,
    pub artifacts: Vec<ArtifactPlan>,
    pub warnings: Vec<String>,
}

/// A plan that cannot be made (e.g. a runtime Greengrass V1 cannot run).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("{0}")]
    Unsupported(String),
}

/// The default builder image for an architecture (its home is the build stage).
pub use crate::build::default_builder_image;

pub(crate) fn role_arn(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{name}")
}

/// Merges IAM policy documents: statements concatenated in order, exact duplicates dropped.
pub(crate) fn merge_policies(docs: impl IntoIterator<Item = Value>) -> Option<Value> {
    let mut statements: Vec<Value> = Vec::new();
    let mut any = false;
    for d in docs {
        any = true;
        let list = match d.get("Statement") {
            Some(Value::Array(a)) => a.clone(),
            Some(v @ Value::Object(_)) => vec![v.clone()],
            _ => Vec::new(),
        };
        for s in list {
            if !statements.contains(&s) {
                statements.push(s);
            }
        }
    }
    any.then(|| json!({"Version": "2012-10-17", "Statement": statements}))
}

fn dedup(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items
        .into_iter()
        .filter(|s| seen.insert(s.clone()))
        .collect()
}

/// The least-privilege V1 core policy: its own client id, its own and Greengrass's topics, its
/// own shadow, discovery, and credentials through its role alias.
pub fn least_privilege_iot_policy(
    region: &str,
    account: &str,
    thing: &str,
    role_alias: &str,
) -> Value {
    let p = format!("arn:aws:iot:{region}:{account}");
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

/// Greengrass resource names: `[^a-zA-Z0-9:_-]` → `-`, as GGP derived them from paths.
fn resource_id(prefix: &str, path: &str) -> String {
    crate::config::model::sanitize_id(&format!("{prefix}{}", path.trim_start_matches('/')))
}

/// Computes the plan. Fails only for things no deploy could do.
pub fn build(
    project: &Project,
    injected: &Injected,
    opts: &PlanOptions,
) -> Result<Plan, PlanError> {
    let d = &project.deployment;
    let account = injected.account();
    let region = injected.region();
    let group = injected.group_name.clone();
    let thing = injected.thing_name();
    let thing_arn = injected.thing_arn();

    if opts.target == Target::V1 {
        for f in &project.functions {
            if let Language::Python(3, m) = f.language {
                if m > 8 {
                    return Err(PlanError::Unsupported(format!(
                        "function {}: {} cannot run on a Greengrass V1 core (1.11 runs python2.7, python3.7 and python3.8); use --target v2",
                        f.function_name, f.language
                    )));
                }
            }
        }
    }

    // IAM: the core and service roles also carry what functions and connectors ask for.
    let core_role_name = opts
        .core_role_name
        .clone()
        .unwrap_or_else(|| d.core_role.name.clone());
    let core_inline = merge_policies(
        d.core_role
            .iam_policy
            .iter()
            .cloned()
            .chain(
                project
                    .functions
                    .iter()
                    .filter_map(|f| f.core_role_iam_policy.clone()),
            )
            .chain(
                project
                    .connectors
                    .iter()
                    .filter_map(|c| c.core_role_iam_policy.clone()),
            ),
    );
    let core_role = RolePlan {
        arn: role_arn(&account, &core_role_name),
        name: core_role_name.clone(),
        managed: opts.core_role_name.is_none(),
        assume_role_policy: d.core_role.assume_role_policy.clone(),
        managed_policies: dedup(
            d.core_role
                .iam_managed_policies
                .iter()
                .cloned()
                .chain(
                    project
                        .functions
                        .iter()
                        .flat_map(|f| f.core_role_iam_managed_policies.clone()),
                )
                .chain(
                    project
                        .connectors
                        .iter()
                        .flat_map(|c| c.core_role_iam_managed_policies.clone()),
                ),
        ),
        inline_policy: core_inline,
        v2_inline_policy: None,
    };
    let lambda_role = (!d.functions.is_empty()).then(|| RolePlan {
        arn: role_arn(&account, &d.lambda_role.name),
        name: d.lambda_role.name.clone(),
        managed: true,
        assume_role_policy: d.lambda_role.assume_role_policy.clone(),
        managed_policies: d.lambda_role.iam_managed_policies.clone(),
        inline_policy: d.lambda_role.iam_policy.clone(),
        v2_inline_policy: None,
    });
    let service_role = (!opts.service_role_exists).then(|| RolePlan {
        arn: role_arn(&account, &d.service_role.name),
        name: d.service_role.name.clone(),
        managed: true,
        assume_role_policy: d.service_role.assume_role_policy.clone(),
        managed_policies: dedup(
            d.service_role
                .iam_managed_policies
                .iter()
                .cloned()
                .chain(
                    project
                        .functions
                        .iter()
                        .flat_map(|f| f.service_role_iam_managed_policies.clone()),
                )
                .chain(
                    project
                        .connectors
                        .iter()
                        .flat_map(|c| c.service_role_iam_managed_policies.clone()),
                ),
        ),
        inline_policy: merge_policies(
            d.service_role
                .iam_policy
                .iter()
                .cloned()
                .chain(
                    project
                        .functions
                        .iter()
                        .filter_map(|f| f.service_role_iam_policy.clone()),
                )
                .chain(
                    project
                        .connectors
                        .iter()
                        .filter_map(|c| c.service_role_iam_policy.clone()),
                ),
        ),
        v2_inline_policy: None,
    });

    // IoT.
    let role_alias = d.core_role.alias.clone().unwrap_or_default();
    let (policy_name, policy_managed, policy_document) = match &opts.core_policy_name {
        Some(n) => (n.clone(), false, None),
        None => {
            let doc = d.core_role.iot_policy.clone().unwrap_or_else(|| {
                if d.broad_iot_policy {
                    broad_iot_policy()
                } else {
                    least_privilege_iot_policy(&region, &account, &thing, &role_alias)
                }
            });
            (format!("{thing}_Policy"), true, Some(doc))
        }
    };
    let shadow_things = dedup(
        project
            .functions
            .iter()
            .flat_map(|f| f.connected_shadows.clone()),
    );
    let iot = IotPlan {
        thing_name: thing.clone(),
        thing_arn: thing_arn.clone(),
        certificate: opts.certificate.clone(),
        policy_name,
        policy_managed,
        policy_document,
        role_alias: role_alias.clone(),
        role_alias_role_arn: role_arn(&account, &core_role_name),
        shadow_things: shadow_things.clone(),
    };

    // Lambda functions.
    let lambda_role_arn = role_arn(&account, &d.lambda_role.name);
    let alias_arn = |f: &FunctionConf| match &f.existing {
        Some(e) => e.alias_arn.clone(),
        None => format!(
            "arn:aws:lambda:{region}:{account}:function:{group}-{}:{}",
            f.function_name, f.alias_name
        ),
    };
    let mut function_arns: Vec<(String, String)> = project
        .functions
        .iter()
        .map(|f| (f.function_name.clone(), alias_arn(f)))
        .collect();
    for r in &d.functions {
        // Not resolved yet (offline): named after the Lambda function.
        if let FunctionRef::ExistingAlias { arn } = r {
            if !function_arns.iter().any(|(_, a)| a == arn) {
                let name = arn.split(':').nth(6).unwrap_or(arn).to_string();
                function_arns.push((name, arn.clone()));
            }
        }
    }
    let lambda: Vec<LambdaPlan> = project
        .functions
        .iter()
        .filter(|f| f.existing.is_none())
        .map(|f| LambdaPlan {
            function_name: format!("{group}-{}", f.function_name),
            source: match &f.resolved_from {
                Some(r) => r.display(),
                None => format!("functions/{}", f.dir_name),
            },
            runtime: f.language.lambda_runtime(),
            handler: f.handler_name.clone(),
            role_arn: lambda_role_arn.clone(),
            // Lambda takes MB (128..10240); Greengrass takes KB. The cloud copy only needs to exist.
            memory_size_mb: (f.memory_size_in_kb / 1024).clamp(128, 10240),
            timeout_seconds: f.timeout_in_seconds.clamp(1, 900),
            alias: f.alias_name.clone(),
            alias_arn: alias_arn(f),
            environment: f.environment_variables.clone(),
        })
        .collect();

    // Resources (group-wide), and each function's access to them.
    let mut resources: BTreeMap<String, Value> = BTreeMap::new();
    let mut access: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for f in &project.functions {
        let acc = access.entry(f.function_name.clone()).or_default();
        let perm = |rw: bool| if rw { "rw" } else { "ro" };
        if f.greengrass_container {
            for dv in &f.local_device_resources {
                let id = resource_id("device-", &dv.path);
                resources.entry(id.clone()).or_insert_with(|| json!({"Id": id, "Name": id, "ResourceDataContainer": {"LocalDeviceResourceData": {"SourcePath": dv.path, "GroupOwnerSetting": {"AutoAddGroupOwner": true}}}}));
                acc.push(json!({"ResourceId": id, "Permission": perm(dv.read_write)}));
            }
            for v in &f.local_volume_resources {
                let id = resource_id("volume-", &v.source_path);
                resources.entry(id.clone()).or_insert_with(|| json!({"Id": id, "Name": id, "ResourceDataContainer": {"LocalVolumeResourceData": {"SourcePath": v.source_path, "DestinationPath": v.destination_path, "GroupOwnerSetting": {"AutoAddGroupOwner": true}}}}));
                acc.push(json!({"ResourceId": id, "Permission": perm(v.read_write)}));
            }
            for s in &f.local_s3_resources {
                let id = resource_id("s3-", &s.path);
                resources.entry(id.clone()).or_insert_with(|| json!({"Id": id, "Name": id, "ResourceDataContainer": {"S3MachineLearningModelResourceData": {"DestinationPath": s.path, "S3Uri": s.uri}}}));
                acc.push(json!({"ResourceId": id, "Permission": "ro"}));
            }
            for s in &f.local_sage_maker_resources {
                let id = resource_id("sagemaker-", &s.path);
                resources.entry(id.clone()).or_insert_with(|| json!({"Id": id, "Name": id, "ResourceDataContainer": {"SageMakerMachineLearningModelResourceData": {"DestinationPath": s.path, "SageMakerJobArn": s.arn}}}));
                acc.push(json!({"ResourceId": id, "Permission": "ro"}));
            }
        }
        for secret in &f.local_secrets_manager_resources {
            let name = secret.rsplit(':').next().unwrap_or(secret);
            let id = resource_id("secret-", name);
            let arn = if secret.starts_with("arn:") {
                secret.clone()
            } else {
                format!("arn:aws:secretsmanager:{region}:{account}:secret:{secret}")
            };
            resources.entry(id.clone()).or_insert_with(|| json!({"Id": id, "Name": id, "ResourceDataContainer": {"SecretsManagerSecretResourceData": {"ARN": arn}}}));
            acc.push(json!({"ResourceId": id, "Permission": "ro"}));
        }
    }

    // Functions: GGIPDetector first, then each function with its environment.
    let default_isolation = if project.functions.iter().all(|f| !f.greengrass_container)
        && !project.functions.is_empty()
    {
        "NoContainer"
    } else {
        "GreengrassContainer"
    };
    let mut functions = vec![json!({
        "Id": "GGIPDetector",
        "FunctionArn": "arn:aws:lambda:::function:GGIPDetector:1",
        "FunctionConfiguration": {"MemorySize": 32768, "Pinned": true, "Timeout": 3}
    })];
    // Every function sees every function's alias ARN (GGP's LOCAL_LAMBDA_*): built once.
    // Built as JSON once and cloned per function: with N functions this map is N² entries in all.
    let local_lambdas: serde_json::Map<String, Value> = function_arns
        .iter()
        .map(|(name, arn)| {
            (
                format!("LOCAL_LAMBDA_{}", env_suffix(name)),
                Value::String(arn.clone()),
            )
        })
        .collect();
    for f in &project.functions {
        let mut env = local_lambdas.clone();
        for (i, s) in f.local_secrets_manager_resources.iter().enumerate() {
            env.insert(format!("SECRET_{i}"), Value::String(s.clone()));
        }
        for (i, s) in f.connected_shadows.iter().enumerate() {
            env.insert(format!("CONNECTED_SHADOW_{i}"), Value::String(s.clone()));
        }
        // The function's own values win over the deployment's, which win over the generated ones.
        for (k, v) in d
            .environment_variables
            .iter()
            .chain(&f.environment_variables)
        {
            env.insert(k.clone(), Value::String(v.clone()));
        }
        env.sort_keys();
        let isolation = if f.greengrass_container {
            "GreengrassContainer"
        } else {
            "NoContainer"
        };
        let mut execution = json!({"IsolationMode": isolation});
        if f.uid.is_some() || f.gid.is_some() {
            let mut run_as = serde_json::Map::new();
            if let Some(u) = f.uid {
                run_as.insert("Uid".into(), json!(u));
            }
            if let Some(g) = f.gid {
                run_as.insert("Gid".into(), json!(g));
            }
            execution["RunAs"] = Value::Object(run_as);
        }
        // Built by moving values in: `json!` would copy each N-entry environment through serde.
        let mut environment = object([("Execution", execution), ("Variables", Value::Object(env))]);
        let mut config = json!({
            "EncodingType": match f.encoding_type { crate::config::EncodingType::Json => "json", crate::config::EncodingType::Binary => "binary" },
            "Pinned": f.pinned,
            "Timeout": f.timeout_in_seconds,
        });
        if f.greengrass_container {
            // NoContainer functions have MemorySize and AccessSysfs scrubbed, as GGP did (the API rejects them).
            config["MemorySize"] = json!(f.memory_size_in_kb);
            environment["AccessSysfs"] = json!(f.access_sys_fs);
            let acc = access.get(&f.function_name).cloned().unwrap_or_default();
            if !acc.is_empty() {
                environment["ResourceAccessPolicies"] = Value::Array(acc);
            }
        } else if let Some(acc) = access.get(&f.function_name).filter(|a| !a.is_empty()) {
            // Secrets are available to NoContainer functions too.
            environment["ResourceAccessPolicies"] = Value::Array(acc.clone());
        }
        if f.language.family() == Family::Executable {
            config["Executable"] = json!(f.handler_name);
        }
        config["Environment"] = environment;
        functions.push(object([
            (
                "Id",
                Value::String(crate::config::model::sanitize_id(&f.function_name)),
            ),
            ("FunctionArn", Value::String(alias_arn(f))),
            ("FunctionConfiguration", config),
        ]));
    }
    let function_definition = object([
        (
            "DefaultConfig",
            json!({"Execution": {"IsolationMode": default_isolation}}),
        ),
        ("Functions", Value::Array(functions)),
    ]);

    // Subscriptions: cloud ↔ function, shadows, function → function where topics intersect.
    let arns: Vec<String> = project.functions.iter().map(alias_arn).collect();
    let mut subs: BTreeSet<(String, String, String)> = BTreeSet::new();
    for (fi, f) in project.functions.iter().enumerate() {
        let me = &arns[fi];
        for t in &f.to_cloud_subscriptions {
            subs.insert((me.clone(), t.clone(), "cloud".into()));
        }
        for t in &f.from_cloud_subscriptions {
            subs.insert(("cloud".into(), t.clone(), me.clone()));
        }
        for s in &f.connected_shadows {
            let subject = format!("$aws/things/{s}/shadow/#");
            subs.insert((me.clone(), subject.clone(), "GGShadowService".into()));
            subs.insert(("GGShadowService".into(), subject, me.clone()));
        }
    }
    // Index input topics by their first level so the wiring is not a full cross product.
    let mut inputs_by_head: BTreeMap<&str, Vec<(usize, &str)>> = BTreeMap::new();
    for (gi, g) in project.functions.iter().enumerate() {
        for i in &g.input_topics {
            inputs_by_head
                .entry(topic_head(i))
                .or_default()
                .push((gi, i));
        }
    }
    for (fi, f) in project.functions.iter().enumerate() {
        for o in &f.output_topics {
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
                if let Some(subject) = topics::intersect(o, i) {
                    subs.insert((arns[fi].clone(), subject, arns[gi].clone()));
                }
            }
        }
    }
    let subscriptions: Vec<Value> = subs
        .iter()
        .map(|(source, subject, target)| {
            json!({"Id": crate::config::model::sanitize_id(&short_hash(&format!("{source}|{subject}|{target}"))), "Source": source, "Subject": subject, "Target": target})
        })
        .collect();

    let loggers: Vec<Value> = d
        .effective_loggers()
        .iter()
        .map(|l| {
            let component = serde_json::to_value(l.component).unwrap_or_default();
            let level = serde_json::to_value(l.logger_level).unwrap_or_default();
            let ty = serde_json::to_value(l.logger_type).unwrap_or_default();
            let id = format!(
                "{}-{}-{}",
                component.as_str().unwrap_or(""),
                ty.as_str().unwrap_or(""),
                level.as_str().unwrap_or("")
            );
            let mut v = json!({"Id": id, "Component": component, "Level": level, "Type": ty});
            if l.logger_type == LoggerType::FileSystem {
                v["Space"] = json!(l.space);
            }
            v
        })
        .collect();

    let connector_definition = (!project.connectors.is_empty()).then(|| {
        json!({"Connectors": project.connectors.iter().map(|c| json!({"Id": c.id, "ConnectorArn": c.connector_arn, "Parameters": c.parameters})).collect::<Vec<_>>()})
    });

    let cert_arn = match &opts.certificate {
        CertificateSource::ExistingArn { arn } => arn.clone(),
        _ => placeholder("CERTIFICATE_ARN"),
    };
    let greengrass = GroupPlan {
        group_name: group.clone(),
        core_definition: json!({"Cores": [{"Id": crate::config::model::sanitize_id(&thing), "CertificateArn": cert_arn, "ThingArn": thing_arn, "SyncShadow": d.sync_shadow}]}),
        function_definition,
        subscription_definition: json!({"Subscriptions": subscriptions}),
        resource_definition: json!({"Resources": resources.into_values().collect::<Vec<_>>()}),
        logger_definition: json!({"Loggers": loggers}),
        connector_definition,
        allow_functions_to_run_as_root: project.functions.iter().any(|f| f.runs_as_root()),
    };

    let mut artifacts = Vec::new();
    for f in project.functions.iter().filter(|f| f.existing.is_none()) {
        for &arch in &opts.archs {
            artifacts.push(ArtifactPlan {
                function: f.function_name.clone(),
                arch,
                platform: arch.docker_platform(),
                builder: f
                    .build_image
                    .clone()
                    .unwrap_or_else(|| default_builder_image(arch)),
                image_repository: format!("ggp/{}", f.function_name.to_ascii_lowercase()),
                package: opts
                    .build_dir
                    .join("functions")
                    .join(arch.name())
                    .join(format!("{}.zip", f.function_name))
                    .display()
                    .to_string(),
            });
        }
    }

    let mut warnings: Vec<String> = project.warnings.iter().map(Warning::to_string).collect();
    if greengrass.allow_functions_to_run_as_root {
        warnings.push(
            "a function runs as root: config.json will set allowFunctionsToRunAsRoot = yes".into(),
        );
    }
    let external_functions: Vec<FunctionRef> = unresolved(project);
    let existing_versions: BTreeMap<String, String> = project
        .functions
        .iter()
        .filter_map(|f| {
            f.existing
                .as_ref()
                .map(|e| (f.function_name.clone(), e.version.clone()))
        })
        .collect();
    if !external_functions.is_empty() {
        warnings.push(format!("{} function(s) are not local folders (git URLs, existing aliases or ~wildcards~); they are resolved at deploy time", external_functions.len()));
    }
    Ok(Plan {
        group,
        deployment: d.name.clone(),
        target: opts.target,
        account,
        region,
        files: project.files.clone(),
        external_functions,
        existing_versions,
        iam: IamPlan {
            core_role,
            lambda_role,
            service_role,
        },
        iot,
        lambda,
        greengrass,
        artifacts,
        warnings,
    })
}

/// The `conf.functions` entries that are not local folders and were not resolved into functions
/// (offline: all of them; after [`crate::provision::resolve_functions`]: none).
pub fn unresolved(project: &Project) -> Vec<FunctionRef> {
    project
        .deployment
        .functions
        .iter()
        .filter(|r| !matches!(r, FunctionRef::Local { .. }))
        .filter(|r| {
            !project
                .functions
                .iter()
                .any(|f| f.resolved_from.as_ref() == Some(*r))
        })
        .cloned()
        .collect()
}

/// A JSON object from owned values, without the copy `json!` makes of interpolated values.
fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Object(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

fn topic_head(t: &str) -> &str {
    t.split('/').next().unwrap_or("")
}

fn is_wildcard(level: &str) -> bool {
    level == "+" || level == "#"
}

/// A short stable id from content (subscription ids must be stable for content hashing).
fn short_hash(s: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(s.as_bytes());
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// One role's lines of a rendered plan (shared with the V2 plan).
pub(crate) fn render_role(w: &mut String, label: &str, r: &RolePlan) {
    let how = if r.managed {
        "(create or converge)"
    } else {
        "(existing, used as is)"
    };
    let _ = writeln!(w, "  {label} {} {how}", r.name);
    for p in &r.managed_policies {
        let _ = writeln!(w, "    attach {p}");
    }
    if let Some(p) = &r.inline_policy {
        let n = p["Statement"].as_array().map_or(0, Vec::len);
        let _ = writeln!(w, "    inline policy inline-by-ggp: {n} statement(s)");
    }
    if let Some(p) = &r.v2_inline_policy {
        let n = p["Statement"].as_array().map_or(0, Vec::len);
        let _ = writeln!(
            w,
            "    inline policy greengrass-v2-by-ggp: {n} statement(s)"
        );
    }
}

/// The `Artifacts` and `Warnings` sections of a rendered plan (shared with the V2 plan).
pub(crate) fn render_tail(w: &mut String, artifacts: &[ArtifactPlan], warnings: &[String]) {
    let _ = writeln!(w, "\nArtifacts");
    if artifacts.is_empty() {
        let _ = writeln!(w, "  (none)");
    }
    for a in artifacts {
        let _ = writeln!(
            w,
            "  {} {} ({}) -> {} [builder {}]",
            a.function, a.arch, a.platform, a.package, a.builder
        );
    }
    if !warnings.is_empty() {
        let _ = writeln!(w, "\nWarnings");
        for x in warnings {
            let _ = writeln!(w, "  {x}");
        }
    }
}

impl Plan {
    /// True when some value is still a placeholder (fine for `plan`, fatal for `deploy`).
    pub fn has_placeholders(&self) -> bool {
        serde_json::to_string(self)
            .map(|s| has_placeholder(&s))
            .unwrap_or(false)
    }

    /// The human-readable form.
    pub fn render_text(&self) -> String {
        let mut o = String::new();
        let w = &mut o;
        let _ = writeln!(
            w,
            "Plan for group {} (deployment {}, Greengrass {:?}, account {}, region {})",
            self.group, self.deployment, self.target, self.account, self.region
        );
        let _ = writeln!(w, "\nIAM");
        for (label, r) in [
            ("core role", Some(&self.iam.core_role)),
            ("lambda role", self.iam.lambda_role.as_ref()),
            ("service role", self.iam.service_role.as_ref()),
        ] {
            match r {
                None => {
                    let _ = writeln!(w, "  {label}: not managed");
                }
                Some(r) => render_role(w, label, r),
            }
        }
        if self.iam.service_role.is_some() {
            let _ = writeln!(
                w,
                "    associate to the account's Greengrass service (only if not already this role)"
            );
        }
        let _ = writeln!(w, "\nIoT");
        let _ = writeln!(
            w,
            "  thing {} ({})",
            self.iot.thing_name, self.iot.thing_arn
        );
        let cert = match &self.iot.certificate {
            CertificateSource::ExistingArn { arn } => format!("existing {arn}"),
            CertificateSource::Csr { file } => {
                format!("from CSR {file} (private key stays on the device)")
            }
            CertificateSource::StoredOrNew => "stored keys for this group, or new keys".into(),
            CertificateSource::ForceNew => {
                "new keys; the old certificate is detached and deactivated".into()
            }
        };
        let _ = writeln!(w, "  certificate: {cert}");
        let _ = writeln!(
            w,
            "  policy {} {}",
            self.iot.policy_name,
            if self.iot.policy_managed {
                "(create or new version)"
            } else {
                "(existing, used as is)"
            }
        );
        let _ = writeln!(
            w,
            "  role alias {} -> {}",
            self.iot.role_alias, self.iot.role_alias_role_arn
        );
        for t in &self.iot.shadow_things {
            let _ = writeln!(w, "  shadow thing {t}");
        }
        let _ = writeln!(w, "\nLambda");
        if self.lambda.is_empty() {
            let _ = writeln!(w, "  (no functions)");
        }
        for l in &self.lambda {
            let _ = writeln!(
                w,
                "  {} ({}, {}, handler {}) alias {}",
                l.function_name, l.source, l.runtime, l.handler, l.alias
            );
        }
        for (name, version) in &self.existing_versions {
            let _ = writeln!(w, "  {name} (existing, used as is) version {version}");
        }
        for e in &self.external_functions {
            let _ = writeln!(w, "  external: {} (resolved at deploy time)", e.display());
        }
        let g = &self.greengrass;
        let _ = writeln!(w, "\nGreengrass group {}", g.group_name);
        let count = |v: &Value, k: &str| v[k].as_array().map_or(0, Vec::len);
        let _ = writeln!(
            w,
            "  core definition: 1 core, syncShadow {}",
            g.core_definition["Cores"][0]["SyncShadow"]
        );
        let _ = writeln!(
            w,
            "  function definition: {} function(s), default isolation {}",
            count(&g.function_definition, "Functions"),
            g.function_definition["DefaultConfig"]["Execution"]["IsolationMode"]
                .as_str()
                .unwrap_or("")
        );
        for f in g.function_definition["Functions"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let c = &f["FunctionConfiguration"];
            let iso = c["Environment"]["Execution"]["IsolationMode"]
                .as_str()
                .unwrap_or("default");
            let vars = c["Environment"]["Variables"]
                .as_object()
                .map_or(0, |m| m.len());
            let _ = writeln!(
                w,
                "    {} pinned={} timeout={}s isolation={iso} env={vars}",
                f["Id"].as_str().unwrap_or(""),
                c["Pinned"],
                c["Timeout"]
            );
        }
        let _ = writeln!(
            w,
            "  subscription definition: {} subscription(s)",
            count(&g.subscription_definition, "Subscriptions")
        );
        for s in g.subscription_definition["Subscriptions"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let short = |v: &Value| {
                v.as_str()
                    .map(|s| {
                        s.rsplit(':')
                            .nth(1)
                            .filter(|_| s.starts_with("arn:aws:lambda"))
                            .map_or(s.to_string(), str::to_string)
                    })
                    .unwrap_or_default()
            };
            let _ = writeln!(
                w,
                "    {} -> {} on {}",
                short(&s["Source"]),
                short(&s["Target"]),
                s["Subject"].as_str().unwrap_or("")
            );
        }
        let _ = writeln!(
            w,
            "  resource definition: {} resource(s)",
            count(&g.resource_definition, "Resources")
        );
        for r in g.resource_definition["Resources"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let _ = writeln!(w, "    {}", r["Id"].as_str().unwrap_or(""));
        }
        let _ = writeln!(
            w,
            "  logger definition: {} logger(s)",
            count(&g.logger_definition, "Loggers")
        );
        match &g.connector_definition {
            Some(c) => {
                let _ = writeln!(
                    w,
                    "  connector definition: {} connector(s)",
                    count(c, "Connectors")
                );
            }
            None => {
                let _ = writeln!(w, "  connector definition: none");
            }
        }
        let _ = writeln!(w, "  then: a group version if anything changed, and a deployment awaited to Success or Failure");
        render_tail(w, &self.artifacts, &self.warnings);
        o
    }
}
