//! The Greengrass V2 plan: the V1 → V2 migration done the way AWS documents it (move-from-v1, see
//! greengrass-formats.md B.8), derived from the desired state.
//!
//! - each function → its Lambda function (unchanged) and a Lambda function component
//!   (`CreateComponentVersion.lambdaFunction`, [`super::recipe::lambda_component`]), named like
//!   the Lambda function (`<group>-<name>`);
//! - a function folder holding `recipe.yaml`/`recipe.json` → a native component from that recipe
//!   instead (its Lambda function is then not created);
//! - an executable (C/C++) function without a recipe → a native component ggp writes the recipe of
//!   ([`super::recipe::native_recipe_for`]): its package zip as the one artifact (`Unarchive:
//!   ZIP`, uploaded to S3 at deploy time; one manifest per built architecture, with the nucleus's
//!   `architecture`), its handler run from the unarchived folder, its
//!   environment as `Setenv`, its topics allowed through IPC `accessControl` (its Lambda function
//!   is not created either);
//! - routes into a function → its `eventSources` (`IOT_CORE` from the cloud, `PUB_SUB` from
//!   other functions); routes out of a function → `aws.greengrass.LegacySubscriptionRouter`
//!   configuration, which the V1 Core SDK `publish()` needs;
//! - connected shadows (the V1 local shadow service) → `aws.greengrass.ShadowManager`, syncing the
//!   classic shadow of each connected thing with the cloud (`synchronize.coreThing` for the core's
//!   own thing, as its V1 `syncShadow` says; `synchronize.shadowDocuments` for the others;
//!   `direction: betweenDeviceAndCloud`), the function ↔ shadow service routes becoming router
//!   entries from/to `component:aws.greengrass.ShadowManager`, and a HARD dependency of the
//!   function's component on it;
//! - connectors with a documented replacement ([`super::connectors`]) → that public component;
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
//! placeholders.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;
use serde_json::{json, Value};

use super::connectors::{self, MappedConnector};
use super::policy::{
    add_cloud_topics, add_shadow_things, broad_v2_iot_policy, iot_policy_size,
    minimal_v2_iot_policy, tes_access, tes_trust, CloudTopics, IOT_POLICY_MAX_CHARS,
};
use super::public::{public_entry, LEGACY_ROUTER, LOG_MANAGER, SECRET_MANAGER, SHADOW_MANAGER};
use super::recipe::{
    self, artifact_root_prefix, default_artifact_bucket, ComponentKind, ComponentPlan,
    LambdaInputs, NativeTopics, RunWith,
};
use crate::arch::Arch;
use crate::config::{
    placeholder, FunctionRef, LoggerComponent, LoggerConf, LoggerLevel, LoggerType, Target,
};
use crate::language::Family;
use crate::model::functions::lambda_name;
use crate::model::{
    merge_policies, Artifact, CertificateSource, CoreIot, CorePolicy, Desired, Endpoint, Function,
    LambdaFunction, NativeRecipe, Role,
};
use crate::target::PlanError;

/// The V2 core's IAM roles.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IamPlan {
    /// The configured core role, used as the token exchange role.
    pub token_exchange_role: Role,
    /// The role of the cloud copies of the Lambda functions.
    pub lambda_role: Option<Role>,
}

/// The core device's IoT resources: the core's identity ([`CoreIot`]) in its thing group.
#[derive(Debug, Clone, PartialEq)]
pub struct IotPlan {
    pub core: CoreIot,
    pub thing_group_name: String,
    pub thing_group_arn: String,
    /// What the core does on AWS IoT Core for its components (in the derived policy; checked by
    /// the preflight whatever policy the core has).
    pub cloud_topics: CloudTopics,
}

impl Serialize for IotPlan {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        /// The field order plans have always had.
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Shape<'a> {
            thing_name: &'a str,
            thing_arn: &'a str,
            thing_group_name: &'a str,
            thing_group_arn: &'a str,
            certificate: &'a CertificateSource,
            policy_name: &'a str,
            policy_managed: bool,
            policy_document: &'a Option<Value>,
            role_alias: &'a str,
            role_alias_role_arn: &'a str,
            shadow_things: &'a [String],
        }
        let c = &self.core;
        Shape {
            thing_name: &c.thing_name,
            thing_arn: &c.thing_arn,
            thing_group_name: &self.thing_group_name,
            thing_group_arn: &self.thing_group_arn,
            certificate: &c.certificate,
            policy_name: &c.policy_name,
            policy_managed: c.policy_managed,
            policy_document: &c.policy_document,
            role_alias: &c.role_alias,
            role_alias_role_arn: &c.role_alias_role_arn,
            shadow_things: &c.shadow_things,
        }
        .serialize(s)
    }
}

/// Everything a V2 run would do.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub group: String,
    pub deployment: String,
    pub target: Target,
    pub account: String,
    pub region: String,
    pub files: Vec<String>,
    pub iam: IamPlan,
    pub iot: IotPlan,
    pub lambda: Vec<LambdaFunction>,
    pub components: Vec<ComponentPlan>,
    /// Nucleus `logging` configuration from the FileSystem loggers (written into config.yaml).
    pub nucleus_logging: Option<Value>,
    /// The `CreateDeployment` request, API field names.
    pub deployment_request: Value,
    pub artifacts: Vec<Artifact>,
    pub warnings: Vec<String>,
    /// `conf.functions` entries not resolved yet (git URLs, alias ARNs, `~wildcards~`): a deploy
    /// resolves them first; an offline plan lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_functions: Vec<FunctionRef>,
    /// The secrets SecretManager reads for the functions (ARNs; in the deployment request too).
    #[serde(skip)]
    pub secrets: Vec<String>,
    /// The compose files (`s3://bucket/key`) of the components that replace Docker application
    /// deployment connectors: artifacts the core downloads with the token exchange role.
    #[serde(skip)]
    pub compose_files: Vec<String>,
}

/// What the mapping found so far: what has no V2 mapping, warnings, and how each function is
/// deployed.
pub(super) struct Mapping<'a> {
    pub desired: &'a Desired,
    pub unsupported: Vec<String>,
    pub warnings: Vec<String>,
    /// Functions whose folder brings a native recipe.
    pub recipes: BTreeMap<String, &'a NativeRecipe>,
    /// Executable functions without a recipe: native components ggp writes.
    pub natives: BTreeSet<String>,
}

impl Mapping<'_> {
    /// The component a function becomes.
    pub fn component_of(&self, f: &Function) -> String {
        self.recipes.get(f.name()).map_or_else(
            || lambda_name(&self.desired.group, f.name()),
            |r| r.component_name.clone(),
        )
    }

    fn component_named(&self, name: &str) -> String {
        match self.desired.function(name) {
            Some(f) => self.component_of(f),
            None => lambda_name(&self.desired.group, name),
        }
    }
}

/// A V1 logger level as Greengrass V2 takes it. The nucleus `logging.level` and LogManager's
/// `minimumLogLevel` accept TRACE, DEBUG, INFO, WARN and ERROR only (AWS: "Greengrass nucleus"
/// and "Log manager" component configuration); V1's FATAL becomes ERROR, the nearest level that
/// still logs fatal errors ([`fatal_level_warnings`] says so).
fn v2_level(level: LoggerLevel) -> Value {
    match level {
        LoggerLevel::Fatal => json!("ERROR"),
        other => serde_json::to_value(other).unwrap_or_default(),
    }
}

/// The FileSystem logger whose level the nucleus takes: the system logger's, else the first one.
fn nucleus_logger(loggers: &[LoggerConf]) -> Option<&LoggerConf> {
    let mut fs = loggers
        .iter()
        .filter(|l| l.logger_type == LoggerType::FileSystem);
    fs.clone()
        .find(|l| l.component == LoggerComponent::GreengrassSystem)
        .or_else(|| fs.next())
}

/// The nucleus `logging` configuration (config.yaml) from the deployment's FileSystem loggers:
/// the system logger's level (else the first one's; FATAL as ERROR, see [`v2_level`]) and their
/// space summed.
pub fn nucleus_logging(loggers: &[LoggerConf]) -> Option<Value> {
    let logger = nucleus_logger(loggers)?;
    let total: u64 = loggers
        .iter()
        .filter(|l| l.logger_type == LoggerType::FileSystem)
        .filter_map(|l| l.space)
        .sum();
    Some(json!({"level": v2_level(logger.logger_level), "totalLogsSizeKB": total}))
}

/// A warning naming each FATAL logger whose level goes into the nucleus or LogManager
/// configuration as ERROR.
fn fatal_level_warnings(loggers: &[LoggerConf]) -> Vec<String> {
    let nucleus = nucleus_logger(loggers);
    loggers
        .iter()
        .filter(|l| l.logger_level == LoggerLevel::Fatal)
        .filter_map(|l| {
            let (kind, config) = match l.logger_type {
                LoggerType::FileSystem if nucleus.is_some_and(|n| std::ptr::eq(n, l)) => {
                    ("FileSystem", "the nucleus logging.level")
                }
                LoggerType::FileSystem => return None,
                LoggerType::AWSCloudWatch => ("AWSCloudWatch", "LogManager's minimumLogLevel"),
            };
            let component = match l.component {
                LoggerComponent::GreengrassSystem => "GreengrassSystem",
                LoggerComponent::Lambda => "Lambda",
            };
            Some(format!(
                "logger {{ component = {component}, loggerType = {kind} }}: loggerLevel FATAL has no Greengrass V2 equivalent ({config} accepts TRACE, DEBUG, INFO, WARN, ERROR): ERROR is used, which also logs errors that are not fatal; set loggerLevel = ERROR to silence this"
            ))
        })
        .collect()
}

/// Functions' recipes, and the V1 features of functions that V2 cannot run.
fn check_functions<'a>(m: &mut Mapping<'a>) {
    let desired = m.desired;
    for f in &desired.functions {
        let name = f.name();
        match &f.recipe {
            Err(e) => m.unsupported.push(format!("function {name}: {e}")),
            Ok(Some(r)) => {
                m.recipes.insert(name.to_string(), r);
                continue;
            }
            Ok(None) => {}
        }
        let c = &f.conf;
        if let Some(e) = c.existing.as_ref().filter(|e| e.version == "$LATEST") {
            // CreateComponentVersion imports a published version: a lambdaArn qualified with
            // $LATEST is refused (LambdaFunctionRecipeSource.lambdaArn, Greengrass V2 API).
            m.unsupported.push(format!("function {name}: {} points at $LATEST, and a Lambda function component imports a published version only: publish one and point the alias at it (aws lambda publish-version --function-name {}; aws lambda update-alias --function-name {} --name {} --function-version N)", e.alias_arn, e.function_arn, e.function_arn, c.alias_name));
        }
        if c.language.family() == Family::Executable {
            // A native component runs outside any container: volumes are seen at their source path.
            for v in &c.local_volume_resources {
                if c.greengrass_container && v.source_path != v.destination_path {
                    m.unsupported.push(format!("function {name}: executable with the volume {} mounted at {}; its native component runs outside any container and sees the volume at its source path only (or add functions/{}/recipe.yaml)", v.source_path, v.destination_path, c.dir_name));
                }
            }
        }
        if !c.local_s3_resources.is_empty() || !c.local_sage_maker_resources.is_empty() {
            m.unsupported.push(format!("function {name}: machine-learning resources (localS3Resources, localSageMakerResources) have no V2 equivalent for Lambda components"));
        }
    }
    m.natives = desired
        .functions
        .iter()
        .filter(|f| {
            f.conf.language.family() == Family::Executable
                && !m.recipes.contains_key(f.name())
                && f.conf.existing.is_none()
        })
        .map(|f| f.name().to_string())
        .collect();
}

/// The legacy subscription router's entries: every route out of a function or the shadow service
/// (the V1 Core SDK's publish() and shadow calls). Routes out of the natives are left out later
/// ([`without_natives`]).
fn router(m: &Mapping) -> BTreeMap<String, Value> {
    let endpoint = |e: &Endpoint| match e {
        Endpoint::Cloud => "cloud".to_string(),
        // The V1 local shadow service: ShadowManager, reached through the router.
        Endpoint::ShadowService => format!("component:{SHADOW_MANAGER}"),
        Endpoint::Function(n) => format!("component:{}", m.component_named(n)),
    };
    let mut router = BTreeMap::new();
    for r in &m.desired.routes {
        if r.source == Endpoint::Cloud {
            continue;
        }
        router.insert(
            r.id.clone(),
            json!({"id": r.id, "source": endpoint(&r.source), "subject": r.topic, "target": endpoint(&r.target)}),
        );
    }
    router
}

/// Executables without a recipe run as native components that reach their topics over IPC
/// themselves: the router (V1 Core SDK publish() of Lambda components) has nothing to do for them.
fn without_natives(m: &Mapping, router: &mut BTreeMap<String, Value>) {
    let sources: BTreeSet<String> = m
        .natives
        .iter()
        .map(|n| format!("component:{}", lambda_name(&m.desired.group, n)))
        .collect();
    router.retain(|_, r| !sources.contains(r["source"].as_str().unwrap_or("")));
}

/// The topics an executable's native component uses: its routes, and its links to connectors.
fn native_topics(
    m: &Mapping,
    f: &Function,
    connectors: &[MappedConnector],
    connector_sources: &BTreeMap<String, Vec<String>>,
) -> NativeTopics {
    let me = Endpoint::Function(f.name().to_string());
    let mut topics = NativeTopics::default();
    for r in &m.desired.routes {
        let t = r.topic.clone();
        if r.source == me {
            match r.target {
                Endpoint::Cloud => topics.cloud_publish.insert(t),
                Endpoint::ShadowService => false,
                Endpoint::Function(_) => topics.local_publish.insert(t),
            };
        } else if r.target == me {
            match r.source {
                Endpoint::Cloud => topics.cloud_subscribe.insert(t),
                Endpoint::ShadowService => false,
                Endpoint::Function(_) => topics.local_subscribe.insert(t),
            };
        }
    }
    for c in connectors {
        for o in &f.conf.output_topics {
            for i in &c.input_topics {
                topics.local_publish.extend(crate::topics::intersect(o, i));
            }
        }
    }
    topics.local_subscribe.extend(
        connector_sources
            .get(f.name())
            .into_iter()
            .flatten()
            .cloned(),
    );
    topics
}

/// The function components, in function order; secrets the functions read, and each component's
/// `runWith`.
struct Components {
    list: Vec<ComponentPlan>,
    secrets: BTreeSet<String>,
    /// Component → the secrets (ARNs) it may read through SecretManager.
    secret_access: BTreeMap<String, Vec<String>>,
    run_with: RunWith,
}

fn native_component(
    m: &mut Mapping,
    f: &Function,
    env: Value,
    topics: &NativeTopics,
    run_with: &mut RunWith,
) -> ComponentPlan {
    let component = m.component_of(f);
    let zip = m
        .desired
        .artifacts
        .iter()
        .find(|a| a.function == f.name())
        .and_then(|a| Path::new(&a.package).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| format!("{}.zip", f.name()));
    let archs: Vec<Arch> = m
        .desired
        .artifacts
        .iter()
        .filter(|a| a.function == f.name())
        .map(|a| a.arch)
        .collect();
    let recipe = recipe::native_recipe_for(
        &m.desired.group,
        &archs,
        &f.conf,
        &component,
        &zip,
        &env,
        topics,
    );
    if !f.conf.pinned {
        m.warnings.push(format!("function {}: its native component runs the executable once, for as long as it runs (pinned = false and timeoutInSeconds do not apply)", f.name()));
    }
    // Root is RequiresPrivilege in the recipe; another uid/gid is the deployment's runWith.
    if !f.conf.runs_as_root() {
        if let Some(u) = recipe::posix_user(&f.conf) {
            run_with.insert(component.clone(), u);
        }
    }
    ComponentPlan {
        function: f.name().to_string(),
        kind: ComponentKind::Native,
        component_name: component,
        component_version: placeholder(&format!("COMPONENT_VERSION_{}", f.name())),
        request: json!({"recipe": recipe, "package": zip}),
        lambda: None,
    }
}

fn components(
    m: &mut Mapping,
    router: &BTreeMap<String, Value>,
    connectors: &[MappedConnector],
    connector_sources: &BTreeMap<String, Vec<String>>,
) -> Components {
    let desired = m.desired;
    let local_lambdas = desired.local_lambda_map();
    let mut out = Components {
        list: Vec::new(),
        secrets: BTreeSet::new(),
        secret_access: BTreeMap::new(),
        run_with: RunWith::new(),
    };
    for f in &desired.functions {
        if let Some(r) = m.recipes.get(f.name()) {
            out.list.push(ComponentPlan {
                function: f.name().to_string(),
                kind: ComponentKind::Recipe,
                component_name: r.component_name.clone(),
                component_version: r.component_version.clone(),
                request: json!({"inlineRecipe": r.text, "recipeFile": format!("functions/{}/{}", f.conf.dir_name, r.file)}),
                lambda: None,
            });
            continue;
        }
        let env = Value::Object(f.environment_with(&local_lambdas));
        if m.natives.contains(f.name()) {
            let topics = native_topics(m, f, connectors, connector_sources);
            let c = native_component(m, f, env, &topics, &mut out.run_with);
            out.list.push(c);
            continue;
        }
        let component = m.component_of(f);
        let me = Endpoint::Function(f.name().to_string());
        let from_routes: Vec<(bool, &str)> = desired
            .routes
            .iter()
            .filter(|r| r.target == me && r.source != Endpoint::ShadowService)
            .map(|r| (r.source == Endpoint::Cloud, r.topic.as_str()))
            .collect();
        let event_sources = recipe::event_sources(
            f,
            &from_routes,
            connector_sources
                .get(f.name())
                .map_or(&[][..], Vec::as_slice),
            &mut m.unsupported,
        );
        let routed_from = json!(format!("component:{component}"));
        let (lambda, version, imported) = recipe::lambda_component(
            f,
            LambdaInputs {
                component: &component,
                event_sources,
                env,
                routed: router.values().any(|r| r["source"] == routed_from),
            },
        );
        for s in &f.conf.local_secrets_manager_resources {
            let arn = desired.secret_arn(s);
            out.secrets.insert(arn.clone());
            out.secret_access
                .entry(component.clone())
                .or_default()
                .push(arn);
        }
        if let Some(u) = recipe::posix_user(&f.conf) {
            out.run_with.insert(component.clone(), u);
        }
        out.list.push(ComponentPlan {
            function: f.name().to_string(),
            kind: ComponentKind::Lambda,
            component_name: component,
            component_version: version,
            request: json!({"lambdaFunction": lambda}),
            lambda: Some(imported),
        });
    }
    out
}

/// The thing of each connected shadow, the core's own first if it is one of them.
fn shadow_things(desired: &Desired) -> (bool, Vec<&str>) {
    let core = &desired.core.thing_name;
    let mut core_too = false;
    let mut others = Vec::new();
    for t in &desired.core.shadow_things {
        if t == core {
            core_too = true;
        } else {
            others.push(t.as_str());
        }
    }
    (core_too, others)
}

/// ShadowManager's configuration: the V1 local shadow service, syncing the classic shadow of every
/// connected thing with the cloud both ways (the core's own shadow only if the core syncs it in V1).
fn shadow_manager(desired: &Desired) -> Option<Value> {
    let (core_too, others) = shadow_things(desired);
    if !core_too && others.is_empty() {
        return None;
    }
    let mut sync = serde_json::Map::new();
    if core_too {
        sync.insert(
            "coreThing".into(),
            json!({"classic": desired.core.sync_shadow, "namedShadows": []}),
        );
    }
    let docs: Vec<Value> = others
        .iter()
        .map(|t| json!({"thingName": t, "classic": true, "namedShadows": []}))
        .collect();
    if !docs.is_empty() {
        sync.insert("shadowDocuments".into(), Value::Array(docs));
    }
    sync.insert("direction".into(), json!("betweenDeviceAndCloud"));
    Some(json!({"synchronize": sync}))
}

/// LogManager's configuration from the CloudWatch loggers.
fn log_manager(desired: &Desired, components: &[ComponentPlan]) -> Option<Value> {
    let levels: BTreeMap<&str, Value> = desired
        .loggers
        .iter()
        .filter(|l| l.logger_type == LoggerType::AWSCloudWatch)
        .map(|l| {
            let c = match l.component {
                LoggerComponent::GreengrassSystem => "system",
                LoggerComponent::Lambda => "lambda",
            };
            (c, v2_level(l.logger_level))
        })
        .collect();
    if levels.is_empty() {
        return None;
    }
    let mut uploader = serde_json::Map::new();
    if let Some(level) = levels.get("system") {
        uploader.insert(
            "systemLogsConfiguration".into(),
            json!({"uploadToCloudWatch": "true", "minimumLogLevel": level}),
        );
    }
    if let Some(level) = levels.get("lambda") {
        let map: serde_json::Map<String, Value> = components
            .iter()
            .filter(|c| matches!(c.kind, ComponentKind::Lambda | ComponentKind::Native))
            .map(|c| (c.component_name.clone(), json!({"minimumLogLevel": level})))
            .collect();
        uploader.insert("componentLogsConfigurationMap".into(), Value::Object(map));
    }
    Some(json!({"logsUploaderConfiguration": uploader}))
}

/// The authorization a component needs to read `arns` from SecretManager: without it the secret
/// manager answers the component's GetSecretValue with an authorization error (Greengrass V2
/// Developer Guide, "Retrieve secret values", Authorization: operation
/// `aws.greengrass#GetSecretValue`, resources the secrets' ARNs; Lambda function components too).
fn secret_access_control(component: &str, arns: &[String]) -> Value {
    // The secret manager matches the ARN it resolved, with Secrets Manager's random suffix; an
    // ARN ggp built from a name has none, so the suffixed form is allowed too (IPC
    // authorization resources take `*`).
    let arns: Vec<String> = arns
        .iter()
        .flat_map(|a| {
            let suffixed =
                (!crate::model::resources::secret_has_suffix(a)).then(|| format!("{a}-*"));
            std::iter::once(a.clone()).chain(suffixed)
        })
        .collect();
    json!({"accessControl": {SECRET_MANAGER: {format!("{component}:secrets:1"): {
        "policyDescription": "the function's secrets (its function.conf localSecretsManagerResources)",
        "operations": ["aws.greengrass#GetSecretValue"],
        "resources": arns,
    }}}})
}

/// The `CreateDeployment` request: every component, plus the public components the mapping needs.
fn deployment_request(
    desired: &Desired,
    thing_group_arn: &str,
    c: &Components,
    router: BTreeMap<String, Value>,
    connectors: &[MappedConnector],
) -> Value {
    let mut deploy = serde_json::Map::new();
    for p in &c.list {
        let mut entry = json!({"componentVersion": p.component_version});
        if let Some(u) = c.run_with.get(&p.component_name) {
            entry["runWith"] = json!({"posixUser": u});
        }
        if let Some(arns) = c.secret_access.get(&p.component_name) {
            entry["configurationUpdate"] =
                json!({"merge": secret_access_control(&p.component_name, arns).to_string()});
        }
        deploy.insert(p.component_name.clone(), entry);
    }
    if !router.is_empty() {
        deploy.insert(
            LEGACY_ROUTER.into(),
            public_entry(LEGACY_ROUTER, json!({"subscriptions": router})),
        );
    }
    if let Some(config) = shadow_manager(desired) {
        deploy.insert(SHADOW_MANAGER.into(), public_entry(SHADOW_MANAGER, config));
    }
    for m in connectors {
        let mut config = m.config.clone();
        if m.cloud {
            config.insert("PubSubToIoTCore".into(), json!("true"));
        }
        deploy.insert(
            m.component.into(),
            public_entry(m.component, Value::Object(config)),
        );
    }
    if !c.secrets.is_empty() {
        let list: Vec<Value> = c.secrets.iter().map(|a| json!({"arn": a})).collect();
        deploy.insert(
            SECRET_MANAGER.into(),
            public_entry(SECRET_MANAGER, json!({"cloudSecrets": list})),
        );
    }
    if let Some(config) = log_manager(desired, &c.list) {
        deploy.insert(LOG_MANAGER.into(), public_entry(LOG_MANAGER, config));
    }
    json!({
        "targetArn": thing_group_arn,
        "deploymentName": format!("{}-{}", desired.group, desired.deployment),
        "components": deploy,
        "deploymentPolicies": {"failureHandlingPolicy": "ROLLBACK"},
    })
}

/// What SecretManager needs of the token exchange role to read `secrets` (its "Requirements":
/// `secretsmanager:GetSecretValue` on each). A secret named without its ARN's random suffix is
/// matched with `-??????`, as Secrets Manager's IAM examples do ("Permissions policy examples").
/// A name that itself ends like a suffix (`db-backup`) is allowed both ways.
fn secrets_access(secrets: &[String]) -> Value {
    let resources: Vec<String> = secrets
        .iter()
        .flat_map(|a| {
            let whole = crate::model::resources::secret_has_suffix(a).then(|| a.clone());
            whole.into_iter().chain([format!("{a}-??????")])
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": resources}]})
}

/// The token exchange role: the core role, trusted by the credentials provider, with the access
/// the nucleus needs (and the artifacts of native components, and the compose files `objects`).
fn token_exchange_role(
    desired: &Desired,
    natives: bool,
    secrets: &[String],
    objects: &[String],
) -> Role {
    let c = &desired.roles.core;
    let mut role = c.clone();
    role.assume_role_policy = merge_policies(
        c.assume_role_policy
            .clone()
            .into_iter()
            .chain([tes_trust()]),
    );
    role.v2_inline_policy = merge_policies(std::iter::once(tes_access()).chain(natives.then(|| {
        let bucket = default_artifact_bucket(&desired.account(), &desired.region());
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": crate::model::arn::s3_object(&desired.region(), &bucket, &format!("{}*", artifact_root_prefix("")))}]})
    })).chain((!secrets.is_empty()).then(|| secrets_access(secrets))).chain((!objects.is_empty()).then(|| {
        let arns: Vec<String> = objects
            .iter()
            .filter_map(|u| u.strip_prefix("s3://")?.split_once('/'))
            .map(|(bucket, key)| crate::model::arn::s3_object(&desired.region(), bucket, key))
            .collect();
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": arns}]})
    })));
    role
}

/// What the core's components do on AWS IoT Core: routes from the cloud to a function are its
/// IOT_CORE event sources (the core subscribes), routes to the cloud are published by the legacy
/// subscription router or by the native component itself; a connector with cloud subscriptions
/// (and no local ones) reads its input topics and writes its output topics on IoT Core
/// (`PubSubToIoTCore`).
fn cloud_topics(desired: &Desired, connectors: &[connectors::MappedConnector]) -> CloudTopics {
    let mut t = CloudTopics::default();
    for r in &desired.routes {
        match (&r.source, &r.target) {
            (Endpoint::Cloud, Endpoint::Function(_)) => t.subscribe.insert(r.topic.clone()),
            (Endpoint::Function(_) | Endpoint::ShadowService, Endpoint::Cloud) => {
                t.publish.insert(r.topic.clone())
            }
            _ => false,
        };
    }
    for c in connectors.iter().filter(|c| c.cloud && c.iot_core) {
        t.subscribe.extend(c.input_topics.iter().cloned());
        t.publish.extend(c.output_topics.iter().cloned());
    }
    t
}

/// The core's identity in its thing group, with the V2 policy; and whether the user must allow
/// other things' shadow topics themselves (a policy ggp does not write).
fn iot(
    desired: &Desired,
    thing_group_arn: &str,
    cloud_topics: CloudTopics,
) -> Result<(IotPlan, bool), PlanError> {
    let (_, others) = shadow_things(desired);
    let c = &desired.core;
    let (region, account) = (desired.region(), desired.account());
    let document = match &c.policy {
        CorePolicy::Existing(_) => None,
        CorePolicy::Configured(doc) => Some(doc.clone()),
        CorePolicy::Broad => Some(broad_v2_iot_policy(&region, &account, &c.role_alias)),
        CorePolicy::Derived => {
            let mut p = minimal_v2_iot_policy(&region, &account, &c.thing_name, &c.role_alias);
            add_shadow_things(&mut p, &region, &account, &others);
            add_cloud_topics(&mut p, &region, &account, &cloud_topics);
            let size = iot_policy_size(&p);
            if size > IOT_POLICY_MAX_CHARS {
                return Err(PlanError::PolicyTooLarge {
                    policy: c.policy_name.clone(),
                    size,
                });
            }
            Some(p)
        }
    };
    // A policy the user brings (named or configured) is theirs to extend.
    let note = !others.is_empty()
        && matches!(
            c.policy,
            CorePolicy::Existing(_) | CorePolicy::Configured(_)
        );
    let plan = IotPlan {
        core: c.iot(document, others.iter().map(|t| t.to_string()).collect()),
        thing_group_name: desired.group.clone(),
        thing_group_arn: thing_group_arn.to_string(),
        cloud_topics,
    };
    Ok((plan, note))
}

/// The V2 plan of `desired`. Every V1 feature without a V2 mapping is named in one error.
pub fn derive(desired: &Desired) -> Result<Plan, PlanError> {
    let mut m = Mapping {
        desired,
        unsupported: Vec::new(),
        warnings: Vec::new(),
        recipes: BTreeMap::new(),
        natives: BTreeSet::new(),
    };
    let mut connectors = connectors::map(desired, &mut m);
    check_functions(&mut m);
    let mut router = router(&m);
    let connector_sources = connectors::wire(desired, &mut connectors, &mut router, &mut m);
    without_natives(&m, &mut router);
    let mut components = components(&mut m, &router, &connectors, &connector_sources);
    let docker = connectors::docker_apps(desired, &mut m);
    for d in &docker {
        if let Some(u) = &d.posix_user {
            components
                .run_with
                .insert(d.component.component_name.clone(), u.clone());
        }
        components.list.push(d.component.clone());
    }
    let compose_files: Vec<String> = docker.iter().map(|d| d.compose_uri.clone()).collect();
    if !m.unsupported.is_empty() {
        return Err(PlanError::Unsupported(format!(
            "{} V1 feature(s) have no Greengrass V2 mapping (use --target v1 only where the V1 service still answers):\n  {}",
            m.unsupported.len(),
            m.unsupported.join("\n  ")
        )));
    }
    let (account, region) = (desired.account(), desired.region());
    let thing_group_arn = format!(
        "{}:thinggroup/{}",
        crate::model::arn::prefix("iot", &region, &account),
        desired.group
    );
    let deployment_request =
        deployment_request(desired, &thing_group_arn, &components, router, &connectors);
    let not_lambda: BTreeSet<String> = m
        .recipes
        .keys()
        .chain(m.natives.iter())
        .map(|n| lambda_name(&desired.group, n))
        .collect();
    let lambda: Vec<LambdaFunction> = desired
        .lambdas()
        .filter(|l| !not_lambda.contains(&l.function_name))
        .cloned()
        .collect();
    let lambda_role = desired.roles.lambda.clone().filter(|_| !lambda.is_empty());
    let secrets: Vec<String> = components.secrets.iter().cloned().collect();
    let (iot, shadow_policy_note) = iot(
        desired,
        &thing_group_arn,
        cloud_topics(desired, &connectors),
    )?;
    let mut warnings: Vec<String> = desired
        .config_warnings
        .iter()
        .map(ToString::to_string)
        .chain(desired.external_note())
        .collect();
    warnings.append(&mut m.warnings);
    warnings.extend(fatal_level_warnings(&desired.loggers));
    if shadow_policy_note {
        warnings.push(format!(
            "ShadowManager syncs the shadows of {} over the core's connection: the core's IoT policy (not ggp's) must allow their $aws/things/<thing>/shadow/* topics",
            iot.core.shadow_things.join(", ")
        ));
    }
    if !components.run_with.is_empty() {
        warnings.push("a function sets uid/gid: its component runs with runWith.posixUser (root needs runWithDefault and the nucleus's permission)".into());
    }
    Ok(Plan {
        group: desired.group.clone(),
        deployment: desired.deployment.clone(),
        target: Target::V2,
        account,
        region,
        files: desired.files.clone(),
        iam: IamPlan {
            token_exchange_role: token_exchange_role(
                desired,
                !m.natives.is_empty(),
                &secrets,
                &compose_files,
            ),
            lambda_role,
        },
        iot,
        lambda,
        components: components.list,
        nucleus_logging: nucleus_logging(&desired.loggers),
        deployment_request,
        artifacts: desired
            .artifacts
            .iter()
            .filter(|a| !m.recipes.contains_key(&a.function))
            .cloned()
            .collect(),
        warnings,
        external_functions: desired.external_functions.clone(),
        secrets,
        compose_files,
    })
}
