//! Greengrass V1: the group (found by name; two with one name is an error), its role, the core,
//! function, subscription, resource, logger and connector definitions, the group version and the
//! deployment, awaited until Success or Failure.
//!
//! Each definition is one per group and kind, named `<group>_<Kind>_Definition` and tagged with
//! `ggp:group` and `ggp:content-hash`. A new definition version is made only when the hash of the
//! wanted content differs from the tag (the function definition's hash also covers the Lambda
//! versions its aliases point to, so new code reaches the core with a new version); the group
//! gets a new version only when a definition version changed; a deployment is made only when the
//! latest one is not a success of the current group version.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use aws_sdk_greengrass::types as gg;
use serde_json::{json, Value};

use super::convert;
use super::plan::Plan;
use crate::config::{has_placeholder, placeholder};
use crate::provision::error::{describe, is_not_found, missing, status_of, Doing, ProvisionError};
use crate::provision::iam::with_propagation;
use crate::provision::lambda::Versions;
use crate::provision::state::{DefinitionState, DeploymentState};
use crate::provision::{
    content_hash, Action, Backoff, Cloud, Ctx, DeployOptions, DeploymentOutcome, TAG_CONTENT_HASH,
    TAG_GROUP, TAG_MANAGED_BY,
};

/// A group as ListGroups shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfo {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub latest_version: Option<String>,
    pub latest_version_arn: Option<String>,
    /// True when this run created it.
    pub created: bool,
}

/// True when the answer to ListGroups says the endpoint has no Greengrass V1 API at all: a listing
/// has nothing to be "not found", so a 404 or 410 (or an unknown-operation code) means V1 is gone.
fn v1_unserved<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(
    e: &aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> bool {
    matches!(status_of(e), Some(404 | 410))
        || matches!(
            crate::provision::error::code_of(e),
            Some("UnknownOperationException" | "UnknownOperation")
        )
}

/// Every group in the account (ListGroups, all pages).
pub(crate) async fn list_groups(cloud: &Cloud) -> Result<Vec<GroupInfo>, ProvisionError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let doing = || "listing the Greengrass groups".to_string();
        let page = match cloud
            .clients
            .greengrass
            .list_groups()
            .set_next_token(token.clone())
            .send()
            .await
        {
            Err(e) if v1_unserved(&e) => {
                return Err(ProvisionError::Call {
                    doing: doing(),
                    message: format!("{}: this endpoint no longer serves Greengrass V1 (AWS discontinued the V1 cloud service on 2026-10-07); deploy to Greengrass V2 with --target v2", describe(&e)),
                })
            }
            r => r.doing(doing)?,
        };
        for g in page.groups() {
            out.push(GroupInfo {
                id: g.id().unwrap_or_default().to_string(),
                arn: g.arn().unwrap_or_default().to_string(),
                name: g.name().unwrap_or_default().to_string(),
                latest_version: g.latest_version().map(str::to_string),
                latest_version_arn: g.latest_version_arn().map(str::to_string),
                created: false,
            });
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
}

/// The group named `name`, if there is exactly one; two or more is an error, not "first match".
pub async fn find_group(cloud: &Cloud, name: &str) -> Result<Option<GroupInfo>, ProvisionError> {
    let mut found: Vec<GroupInfo> = list_groups(cloud)
        .await?
        .into_iter()
        .filter(|g| g.name == name)
        .collect();
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => Err(ProvisionError::Conflict(format!(
            "{} Greengrass groups are named {name} ({}); ggp will not guess which one is meant",
            found.len(),
            found
                .iter()
                .map(|g| g.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

pub(crate) async fn ensure_group(ctx: &Ctx<'_>) -> Result<GroupInfo, ProvisionError> {
    let name = ctx.group.clone();
    let group = match find_group(ctx.cloud, &name).await? {
        Some(g) => g,
        None => {
            let out = ctx
                .c()
                .greengrass
                .create_group()
                .name(&name)
                .tags(TAG_MANAGED_BY, "ggp")
                .tags(TAG_GROUP, &name)
                .send()
                .await
                .doing(|| format!("creating the Greengrass group {name}"))?;
            GroupInfo {
                id: out.id.ok_or_else(|| missing("creating a group", "Id"))?,
                arn: out.arn.unwrap_or_default(),
                name: name.clone(),
                latest_version: None,
                latest_version_arn: None,
                created: true,
            }
        }
    };
    ctx.update_state(|s| {
        s.group_id = Some(group.id.clone());
        s.group_arn = Some(group.arn.clone());
    });
    ctx.checkpoint("after-group")?;
    Ok(group)
}

/// The core role associated to the group (only when it is not already).
pub(crate) async fn converge_group_role(
    ctx: &Ctx<'_>,
    group: Option<&GroupInfo>,
    role_arn: &str,
) -> Result<(), ProvisionError> {
    let gg = &ctx.c().greengrass;
    let Some(group) = group else {
        ctx.record("greengrass-group-role", role_arn, Action::Create, vec![]);
        return Ok(());
    };
    let current = match gg.get_associated_role().group_id(&group.id).send().await {
        Ok(out) => out.role_arn,
        // No role yet: BadRequest "You need to attach an IAM role to this deployment group".
        Err(e) if matches!(status_of(&e), Some(400 | 404)) => None,
        Err(e) => return Err(e).doing(|| format!("reading the role of the group {}", group.name)),
    };
    if current.as_deref() == Some(role_arn) {
        ctx.record("greengrass-group-role", role_arn, Action::Unchanged, vec![]);
    } else {
        if ctx.apply {
            with_propagation(ctx, "associating the group role", || async {
                gg.associate_role_to_group()
                    .group_id(&group.id)
                    .role_arn(role_arn)
                    .send()
                    .await
                    .map(|_| ())
                    .doing(|| format!("associating {role_arn} to the group {}", group.name))
            })
            .await?;
        }
        ctx.record(
            "greengrass-group-role",
            role_arn,
            if current.is_some() {
                Action::Update
            } else {
                Action::Create
            },
            current
                .map(|c| vec![format!("was {c}")])
                .unwrap_or_default(),
        );
    }
    ctx.checkpoint("after-group-role")
}

/// The six definition kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    Core,
    Function,
    Subscription,
    Resource,
    Logger,
    Connector,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Core,
        Kind::Function,
        Kind::Subscription,
        Kind::Resource,
        Kind::Logger,
        Kind::Connector,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Core => "Core",
            Kind::Function => "Function",
            Kind::Subscription => "Subscription",
            Kind::Resource => "Resource",
            Kind::Logger => "Logger",
            Kind::Connector => "Connector",
        }
    }

    pub fn change_kind(self) -> &'static str {
        match self {
            Kind::Core => "greengrass-core-definition",
            Kind::Function => "greengrass-function-definition",
            Kind::Subscription => "greengrass-subscription-definition",
            Kind::Resource => "greengrass-resource-definition",
            Kind::Logger => "greengrass-logger-definition",
            Kind::Connector => "greengrass-connector-definition",
        }
    }

    pub fn definition_name(self, group: &str) -> String {
        format!("{group}_{}_Definition", self.name())
    }
}

/// A definition as Get/List show it.
#[derive(Debug, Clone)]
pub(crate) struct DefInfo {
    pub id: String,
    pub arn: String,
    pub name: Option<String>,
    pub latest_version_arn: Option<String>,
    pub tags: HashMap<String, String>,
}

impl DefInfo {
    pub fn belongs_to(&self, kind: Kind, group: &str) -> bool {
        self.tags.get(TAG_GROUP).map(String::as_str) == Some(group)
            && self.name.as_deref() == Some(kind.definition_name(group).as_str())
    }
}

/// A definition's content as the SDK takes it.
enum Content {
    Core(Vec<gg::Core>),
    Function(Vec<gg::Function>, Option<gg::FunctionDefaultConfig>),
    Subscription(Vec<gg::Subscription>),
    Resource(Vec<gg::Resource>),
    Logger(Vec<gg::Logger>),
    Connector(Vec<gg::Connector>),
}

fn content(kind: Kind, v: &Value) -> Result<Content, ProvisionError> {
    Ok(match kind {
        Kind::Core => Content::Core(convert::cores(v)?),
        Kind::Function => Content::Function(convert::functions(v)?, convert::default_config(v)?),
        Kind::Subscription => Content::Subscription(convert::subscriptions(v)?),
        Kind::Resource => Content::Resource(convert::resources(v)?),
        Kind::Logger => Content::Logger(convert::loggers(v)?),
        Kind::Connector => Content::Connector(convert::connectors(v)?),
    })
}

macro_rules! def_info {
    ($o:expr, $tags:expr) => {
        DefInfo {
            id: $o.id().unwrap_or_default().to_string(),
            arn: $o.arn().unwrap_or_default().to_string(),
            name: $o.name().map(str::to_string),
            latest_version_arn: $o.latest_version_arn().map(str::to_string),
            tags: $tags,
        }
    };
}

/// Get*Definition; `None` when it does not exist.
pub(crate) async fn get_definition(
    ctx: &Ctx<'_>,
    kind: Kind,
    id: &str,
) -> Result<Option<DefInfo>, ProvisionError> {
    let gg = &ctx.c().greengrass;
    macro_rules! get {
        ($op:ident, $setter:ident) => {
            match gg.$op().$setter(id).send().await {
                Ok(o) => Ok(Some(def_info!(o, o.tags().cloned().unwrap_or_default()))),
                Err(e) if is_not_found(&e) || status_of(&e) == Some(404) => Ok(None),
                Err(e) => Err(e).doing(|| format!("reading the {} definition {id}", kind.name())),
            }
        };
    }
    match kind {
        Kind::Core => get!(get_core_definition, core_definition_id),
        Kind::Function => get!(get_function_definition, function_definition_id),
        Kind::Subscription => get!(get_subscription_definition, subscription_definition_id),
        Kind::Resource => get!(get_resource_definition, resource_definition_id),
        Kind::Logger => get!(get_logger_definition, logger_definition_id),
        Kind::Connector => get!(get_connector_definition, connector_definition_id),
    }
}

/// List*Definitions, all pages.
pub(crate) async fn list_definitions(
    ctx: &Ctx<'_>,
    kind: Kind,
) -> Result<Vec<DefInfo>, ProvisionError> {
    let gg = &ctx.c().greengrass;
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    macro_rules! page {
        ($op:ident) => {{
            let p = gg
                .$op()
                .set_next_token(token.clone())
                .send()
                .await
                .doing(|| format!("listing the {} definitions", kind.name()))?;
            for d in p.definitions() {
                out.push(def_info!(d, d.tags().cloned().unwrap_or_default()));
            }
            p.next_token().map(str::to_string)
        }};
    }
    loop {
        let next = match kind {
            Kind::Core => page!(list_core_definitions),
            Kind::Function => page!(list_function_definitions),
            Kind::Subscription => page!(list_subscription_definitions),
            Kind::Resource => page!(list_resource_definitions),
            Kind::Logger => page!(list_logger_definitions),
            Kind::Connector => page!(list_connector_definitions),
        };
        match next {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => return Ok(out),
        }
    }
}

/// Create*Definition with its initial version and tags, in one call.
async fn create_definition(
    ctx: &Ctx<'_>,
    kind: Kind,
    c: Content,
    tags: HashMap<String, String>,
) -> Result<DefInfo, ProvisionError> {
    let gg = &ctx.c().greengrass;
    let name = kind.definition_name(&ctx.group);
    let what = || format!("creating the {} definition {name}", kind.name());
    macro_rules! create {
        ($op:ident, $version:expr) => {{
            let o = gg
                .$op()
                .name(&name)
                .initial_version($version)
                .set_tags(Some(tags.clone()))
                .send()
                .await
                .doing(what)?;
            def_info!(o, tags.clone())
        }};
    }
    Ok(match c {
        Content::Core(v) => create!(
            create_core_definition,
            gg::CoreDefinitionVersion::builder()
                .set_cores(Some(v))
                .build()
        ),
        Content::Function(v, dc) => create!(
            create_function_definition,
            gg::FunctionDefinitionVersion::builder()
                .set_functions(Some(v))
                .set_default_config(dc)
                .build()
        ),
        Content::Subscription(v) => create!(
            create_subscription_definition,
            gg::SubscriptionDefinitionVersion::builder()
                .set_subscriptions(Some(v))
                .build()
        ),
        Content::Resource(v) => create!(
            create_resource_definition,
            gg::ResourceDefinitionVersion::builder()
                .set_resources(Some(v))
                .build()
        ),
        Content::Logger(v) => create!(
            create_logger_definition,
            gg::LoggerDefinitionVersion::builder()
                .set_loggers(Some(v))
                .build()
        ),
        Content::Connector(v) => create!(
            create_connector_definition,
            gg::ConnectorDefinitionVersion::builder()
                .set_connectors(Some(v))
                .build()
        ),
    })
}

/// Create*DefinitionVersion; returns the version ARN.
async fn create_definition_version(
    ctx: &Ctx<'_>,
    kind: Kind,
    id: &str,
    c: Content,
) -> Result<String, ProvisionError> {
    let gg = &ctx.c().greengrass;
    let what = || format!("adding a version to the {} definition {id}", kind.name());
    let out = match c {
        Content::Core(v) => {
            gg.create_core_definition_version()
                .core_definition_id(id)
                .set_cores(Some(v))
                .send()
                .await
                .doing(what)?
                .arn
        }
        Content::Function(v, dc) => {
            gg.create_function_definition_version()
                .function_definition_id(id)
                .set_functions(Some(v))
                .set_default_config(dc)
                .send()
                .await
                .doing(what)?
                .arn
        }
        Content::Subscription(v) => {
            gg.create_subscription_definition_version()
                .subscription_definition_id(id)
                .set_subscriptions(Some(v))
                .send()
                .await
                .doing(what)?
                .arn
        }
        Content::Resource(v) => {
            gg.create_resource_definition_version()
                .resource_definition_id(id)
                .set_resources(Some(v))
                .send()
                .await
                .doing(what)?
                .arn
        }
        Content::Logger(v) => {
            gg.create_logger_definition_version()
                .logger_definition_id(id)
                .set_loggers(Some(v))
                .send()
                .await
                .doing(what)?
                .arn
        }
        Content::Connector(v) => {
            gg.create_connector_definition_version()
                .connector_definition_id(id)
                .set_connectors(Some(v))
                .send()
                .await
                .doing(what)?
                .arn
        }
    };
    out.ok_or_else(|| missing("adding a definition version", "Arn"))
}

pub(crate) async fn delete_definition(
    ctx: &Ctx<'_>,
    kind: Kind,
    id: &str,
) -> Result<(), ProvisionError> {
    let gg = &ctx.c().greengrass;
    let what = || format!("deleting the {} definition {id}", kind.name());
    macro_rules! del {
        ($op:ident, $setter:ident) => {
            match gg.$op().$setter(id).send().await {
                Ok(_) => Ok(()),
                Err(e) if is_not_found(&e) || status_of(&e) == Some(404) => Ok(()),
                Err(e) => Err(e).doing(what),
            }
        };
    }
    match kind {
        Kind::Core => del!(delete_core_definition, core_definition_id),
        Kind::Function => del!(delete_function_definition, function_definition_id),
        Kind::Subscription => del!(delete_subscription_definition, subscription_definition_id),
        Kind::Resource => del!(delete_resource_definition, resource_definition_id),
        Kind::Logger => del!(delete_logger_definition, logger_definition_id),
        Kind::Connector => del!(delete_connector_definition, connector_definition_id),
    }
}

/// This group's definition of `kind`: the one in the state file if it still exists and is
/// ours, else the one found by name and tag (the newest, if there were several).
pub(crate) async fn find_definition(
    ctx: &Ctx<'_>,
    kind: Kind,
    current_group_version: &[String],
) -> Result<Option<DefInfo>, ProvisionError> {
    if let Some(id) = ctx.state(|s| s.definitions.get(kind.name()).map(|d| d.id.clone())) {
        if let Some(d) = get_definition(ctx, kind, &id).await? {
            if d.belongs_to(kind, &ctx.group) {
                return Ok(Some(d));
            }
        }
    }
    let mut mine: Vec<DefInfo> = list_definitions(ctx, kind)
        .await?
        .into_iter()
        .filter(|d| d.belongs_to(kind, &ctx.group))
        .collect();
    if mine.len() > 1 {
        ctx.warn(format!(
            "{} {} definitions of group {} were found ({}); using the one the group uses",
            mine.len(),
            kind.name(),
            ctx.group,
            mine.iter()
                .map(|d| d.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        mine.sort_by_key(|d| {
            !d.latest_version_arn
                .as_ref()
                .is_some_and(|a| current_group_version.contains(a))
        });
    }
    Ok(mine.into_iter().next())
}

/// The version ARN of each definition the group version references.
pub struct DefinitionArns {
    pub(crate) arns: BTreeMap<Kind, String>,
}

/// The current group version's definition ARNs (empty for a group without versions).
async fn current_group_version(
    ctx: &Ctx<'_>,
    group: Option<&GroupInfo>,
) -> Result<Option<gg::GroupVersion>, ProvisionError> {
    let Some((g, v)) = group.and_then(|g| g.latest_version.as_ref().map(|v| (g, v))) else {
        return Ok(None);
    };
    let out = ctx
        .c()
        .greengrass
        .get_group_version()
        .group_id(&g.id)
        .group_version_id(v)
        .send()
        .await
        .doing(|| format!("reading version {v} of the group {}", g.name))?;
    Ok(out.definition)
}

fn group_version_arns(v: &gg::GroupVersion) -> Vec<String> {
    [
        v.core_definition_version_arn(),
        v.function_definition_version_arn(),
        v.subscription_definition_version_arn(),
        v.resource_definition_version_arn(),
        v.logger_definition_version_arn(),
        v.connector_definition_version_arn(),
        v.device_definition_version_arn(),
    ]
    .into_iter()
    .flatten()
    .map(str::to_string)
    .collect()
}

/// The wanted content of every definition kind (`None` for no connectors): the plan's, with the
/// core's certificate once it is known.
fn wanted(
    plan: &Plan,
    certificate_arn: &str,
) -> Result<BTreeMap<Kind, Option<Value>>, ProvisionError> {
    let g = &plan.greengrass;
    let core = g.core_definition_with(certificate_arn);
    Ok(BTreeMap::from([
        (Kind::Core, Some(core)),
        (Kind::Function, Some(g.function_definition.clone())),
        (Kind::Subscription, Some(g.subscription_definition.clone())),
        (Kind::Resource, Some(g.resource_definition.clone())),
        (Kind::Logger, Some(g.logger_definition.clone())),
        (Kind::Connector, g.connector_definition.clone()),
    ]))
}

pub(crate) async fn converge_definitions(
    ctx: &Ctx<'_>,
    group: Option<&GroupInfo>,
    plan: &Plan,
    certificate_arn: &str,
    versions: &Versions,
) -> Result<(DefinitionArns, Option<gg::GroupVersion>), ProvisionError> {
    let current = current_group_version(ctx, group).await?;
    let current_arns = current.as_ref().map(group_version_arns).unwrap_or_default();
    let wanted = wanted(plan, certificate_arn)?;
    let jobs = wanted
        .into_iter()
        .filter_map(|(kind, v)| v.map(|v| (kind, v)))
        .map(|(kind, v)| {
            let current_arns = &current_arns;
            async move {
                // The function definition refers to aliases; the versions behind them are part of
                // what is deployed, so they are part of its hash.
                let hashed = if kind == Kind::Function {
                    json!({"definition": v, "versions": versions})
                } else {
                    v.clone()
                };
                let arn = converge_definition(ctx, group, kind, &v, &hashed, current_arns).await?;
                Ok::<_, ProvisionError>((kind, arn))
            }
        });
    // All run to their end even when one fails: nothing is abandoned in flight.
    let arns: BTreeMap<Kind, String> = futures_util::future::join_all(jobs)
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    Ok((DefinitionArns { arns }, current))
}

async fn converge_definition(
    ctx: &Ctx<'_>,
    group: Option<&GroupInfo>,
    kind: Kind,
    v: &Value,
    hashed: &Value,
    current_arns: &[String],
) -> Result<String, ProvisionError> {
    let name = kind.definition_name(&ctx.group);
    let hash = content_hash(hashed);
    if ctx.apply && has_placeholder(&v.to_string()) {
        return Err(ProvisionError::Input(format!(
            "internal: the {} definition still has an unknown value: {v}",
            kind.name()
        )));
    }
    // Content is converted even in a dry run, so `plan` fails where `deploy` would.
    let c = content(kind, v)?;
    let existing = match group {
        Some(_) => find_definition(ctx, kind, current_arns).await?,
        None => None,
    };
    let remember = |d: &DefInfo, version_arn: &str| {
        ctx.update_state(|s| {
            s.definitions.insert(
                kind.name().to_string(),
                DefinitionState {
                    id: d.id.clone(),
                    arn: d.arn.clone(),
                    version_arn: version_arn.to_string(),
                    hash: hash.clone(),
                },
            );
        })
    };
    match existing {
        Some(d)
            if d.tags.get(TAG_CONTENT_HASH) == Some(&hash) && d.latest_version_arn.is_some() =>
        {
            let arn = d.latest_version_arn.clone().unwrap_or_default();
            ctx.record(kind.change_kind(), &name, Action::Unchanged, vec![]);
            remember(&d, &arn);
            Ok(arn)
        }
        Some(d) => {
            if !ctx.apply {
                ctx.record(
                    kind.change_kind(),
                    &name,
                    Action::Update,
                    vec!["new version".into()],
                );
                return Ok(placeholder("DEFINITION_VERSION"));
            }
            let arn = create_definition_version(ctx, kind, &d.id, c).await?;
            ctx.c()
                .greengrass
                .tag_resource()
                .resource_arn(&d.arn)
                .tags(TAG_CONTENT_HASH, &hash)
                .send()
                .await
                .doing(|| format!("tagging the {} definition {name}", kind.name()))?;
            ctx.record(
                kind.change_kind(),
                &name,
                Action::Update,
                vec!["new version".into()],
            );
            remember(&d, &arn);
            Ok(arn)
        }
        None => {
            if !ctx.apply {
                ctx.record(kind.change_kind(), &name, Action::Create, vec![]);
                return Ok(placeholder("DEFINITION_VERSION"));
            }
            let tags = HashMap::from([
                (TAG_MANAGED_BY.to_string(), "ggp".to_string()),
                (TAG_GROUP.to_string(), ctx.group.clone()),
                (TAG_CONTENT_HASH.to_string(), hash.clone()),
            ]);
            let d = create_definition(ctx, kind, c, tags).await?;
            let arn = d
                .latest_version_arn
                .clone()
                .ok_or_else(|| missing("creating a definition", "LatestVersionArn"))?;
            ctx.record(kind.change_kind(), &name, Action::Create, vec![]);
            remember(&d, &arn);
            Ok(arn)
        }
    }
}

/// The group version to deploy.
pub struct GroupVersionRef {
    pub arn: String,
    pub id: String,
}

pub(crate) async fn converge_group_version(
    ctx: &Ctx<'_>,
    group: Option<&GroupInfo>,
    defs: &(DefinitionArns, Option<gg::GroupVersion>),
) -> Result<GroupVersionRef, ProvisionError> {
    let (defs, current) = defs;
    let a = |k: Kind| defs.arns.get(&k).cloned();
    let wanted = gg::GroupVersion::builder()
        .set_core_definition_version_arn(a(Kind::Core))
        .set_function_definition_version_arn(a(Kind::Function))
        .set_subscription_definition_version_arn(a(Kind::Subscription))
        .set_resource_definition_version_arn(a(Kind::Resource))
        .set_logger_definition_version_arn(a(Kind::Logger))
        .set_connector_definition_version_arn(a(Kind::Connector))
        // Devices are not ggp's: whatever the group has is carried forward.
        .set_device_definition_version_arn(
            current
                .as_ref()
                .and_then(|c| c.device_definition_version_arn().map(str::to_string)),
        )
        .build();
    let label = format!("{} (version)", ctx.group);
    let Some(group) = group else {
        ctx.record("greengrass-group-version", &label, Action::Create, vec![]);
        return Ok(GroupVersionRef {
            arn: placeholder("GROUP_VERSION"),
            id: placeholder("GROUP_VERSION"),
        });
    };
    if current.as_ref() == Some(&wanted) {
        ctx.record(
            "greengrass-group-version",
            &label,
            Action::Unchanged,
            vec![],
        );
        let (arn, id) = (
            group.latest_version_arn.clone().unwrap_or_default(),
            group.latest_version.clone().unwrap_or_default(),
        );
        ctx.update_state(|s| s.group_version_arn = Some(arn.clone()));
        return Ok(GroupVersionRef { arn, id });
    }
    let changed: Vec<String> = Kind::ALL
        .iter()
        .filter(|k| {
            let cur = current.as_ref().and_then(|c| match k {
                Kind::Core => c.core_definition_version_arn(),
                Kind::Function => c.function_definition_version_arn(),
                Kind::Subscription => c.subscription_definition_version_arn(),
                Kind::Resource => c.resource_definition_version_arn(),
                Kind::Logger => c.logger_definition_version_arn(),
                Kind::Connector => c.connector_definition_version_arn(),
            });
            cur.map(str::to_string) != a(**k)
        })
        .map(|k| k.name().to_lowercase())
        .collect();
    let details = vec![format!("new {}", changed.join(", "))];
    if !ctx.apply {
        ctx.record("greengrass-group-version", &label, Action::Create, details);
        return Ok(GroupVersionRef {
            arn: placeholder("GROUP_VERSION"),
            id: placeholder("GROUP_VERSION"),
        });
    }
    let out = ctx
        .c()
        .greengrass
        .create_group_version()
        .group_id(&group.id)
        .set_core_definition_version_arn(wanted.core_definition_version_arn.clone())
        .set_function_definition_version_arn(wanted.function_definition_version_arn.clone())
        .set_subscription_definition_version_arn(wanted.subscription_definition_version_arn.clone())
        .set_resource_definition_version_arn(wanted.resource_definition_version_arn.clone())
        .set_logger_definition_version_arn(wanted.logger_definition_version_arn.clone())
        .set_connector_definition_version_arn(wanted.connector_definition_version_arn.clone())
        .set_device_definition_version_arn(wanted.device_definition_version_arn.clone())
        .send()
        .await
        .doing(|| format!("creating a version of the group {}", group.name))?;
    let arn = out
        .arn
        .ok_or_else(|| missing("creating a group version", "Arn"))?;
    let id = out
        .version
        .ok_or_else(|| missing("creating a group version", "Version"))?;
    ctx.record("greengrass-group-version", &label, Action::Create, details);
    ctx.update_state(|s| s.group_version_arn = Some(arn.clone()));
    Ok(GroupVersionRef { arn, id })
}

/// The group's deployments, newest first.
pub(crate) async fn list_deployments(
    ctx: &Ctx<'_>,
    group: &GroupInfo,
) -> Result<Vec<gg::Deployment>, ProvisionError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let p = ctx
            .c()
            .greengrass
            .list_deployments()
            .group_id(&group.id)
            .set_next_token(token.clone())
            .send()
            .await
            .doing(|| format!("listing the deployments of the group {}", group.name))?;
        out.extend(p.deployments().iter().cloned());
        match p.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    // ISO 8601 timestamps sort as text; the stable sort keeps the service's order for ties.
    out.sort_by(|a, b| b.created_at().cmp(&a.created_at()));
    Ok(out)
}

struct Status {
    status: String,
    error: Option<String>,
}

async fn deployment_status(
    ctx: &Ctx<'_>,
    group: &GroupInfo,
    id: &str,
) -> Result<Status, ProvisionError> {
    let out = ctx
        .c()
        .greengrass
        .get_deployment_status()
        .group_id(&group.id)
        .deployment_id(id)
        .send()
        .await
        .doing(|| format!("reading the status of deployment {id}"))?;
    let mut error = out.error_message().map(str::to_string);
    let details: Vec<String> = out
        .error_details()
        .iter()
        .filter_map(|d| {
            let m = d.detailed_error_message()?;
            Some(match d.detailed_error_code() {
                Some(c) => format!("{c}: {m}"),
                None => m.to_string(),
            })
        })
        .filter(|m| Some(m) != error.as_ref())
        .collect();
    if !details.is_empty() {
        error = Some(match error {
            Some(e) => format!("{e} ({})", details.join("; ")),
            None => details.join("; "),
        });
    }
    Ok(Status {
        status: out
            .deployment_status
            .ok_or_else(|| missing("reading a deployment status", "DeploymentStatus"))?,
        error,
    })
}

/// Deploys the group version unless its latest deployment already succeeded (or is still
/// running, which is awaited), then polls until Success, Failure or the timeout.
pub(crate) async fn converge_deployment(
    ctx: &Ctx<'_>,
    group: Option<&GroupInfo>,
    gv: &GroupVersionRef,
    opts: &DeployOptions,
) -> Result<DeploymentOutcome, ProvisionError> {
    let would = |status: &str, created: bool| DeploymentOutcome {
        id: None,
        status: status.to_string(),
        created,
        error_message: None,
        waited_seconds: 0,
        pending_device: None,
    };
    let Some(group) = group.filter(|_| !has_placeholder(&gv.arn)) else {
        return Ok(would("would-deploy", true));
    };
    let latest = list_deployments(ctx, group).await?.into_iter().next();
    let mut existing: Option<String> = None;
    if let Some(d) = latest.as_ref().filter(|d| {
        d.group_arn() == Some(gv.arn.as_str())
            && matches!(
                d.deployment_type(),
                Some(gg::DeploymentType::NewDeployment | gg::DeploymentType::Redeployment)
            )
    }) {
        let id = d.deployment_id().unwrap_or_default().to_string();
        let s = deployment_status(ctx, group, &id).await?;
        match s.status.as_str() {
            "Success" => {
                ctx.update_state(|st| {
                    st.deployment = Some(DeploymentState {
                        id: id.clone(),
                        group_version_arn: gv.arn.clone(),
                        status: s.status.clone(),
                    })
                });
                return Ok(DeploymentOutcome {
                    id: Some(id),
                    status: s.status,
                    created: false,
                    error_message: None,
                    waited_seconds: 0,
                    pending_device: None,
                });
            }
            "Failure" => {}
            _ => existing = Some(id),
        }
    }
    if !ctx.apply {
        return Ok(match existing {
            Some(id) => DeploymentOutcome {
                id: Some(id),
                status: "in-progress".into(),
                created: false,
                error_message: None,
                waited_seconds: 0,
                pending_device: None,
            },
            None => would("would-deploy", true),
        });
    }
    let created = existing.is_none();
    let id = match existing {
        Some(id) => id,
        None => ctx
            .c()
            .greengrass
            .create_deployment()
            .group_id(&group.id)
            .group_version_id(&gv.id)
            .deployment_type(gg::DeploymentType::NewDeployment)
            .send()
            .await
            .doing(|| format!("deploying version {} of the group {}", gv.id, group.name))?
            .deployment_id
            .ok_or_else(|| missing("creating a deployment", "DeploymentId"))?,
    };
    ctx.update_state(|s| {
        s.deployment = Some(DeploymentState {
            id: id.clone(),
            group_version_arn: gv.arn.clone(),
            status: "InProgress".into(),
        })
    });
    ctx.save_state()?;
    let start = Instant::now();
    let mut backoff = Backoff::new(
        Duration::from_millis(100),
        Duration::from_secs(5),
        opts.deployment_timeout,
    );
    let waiting = ctx
        .progress
        .wait(format!("deployment {id} of group {}", ctx.group));
    let last = loop {
        let s = deployment_status(ctx, group, &id).await?;
        match s.status.as_str() {
            "Success" | "Failure" => break s,
            _ => {
                waiting.still(&s.status);
                if !backoff.next().await {
                    break s;
                }
            }
        }
    };
    waiting.done(&last.status);
    ctx.update_state(|s| {
        if let Some(d) = s.deployment.as_mut() {
            d.status = last.status.clone();
        }
    });
    Ok(DeploymentOutcome {
        id: Some(id),
        status: last.status,
        created,
        error_message: last.error,
        waited_seconds: start.elapsed().as_secs(),
        pending_device: None,
    })
}

/// A connector definition of this group that the config no longer has (no connectors at all):
/// deleted after the new deployment succeeded.
pub(crate) async fn remove_stale_definitions(
    ctx: &Ctx<'_>,
    plan: &Plan,
) -> Result<(), ProvisionError> {
    if plan.greengrass.connector_definition.is_some() {
        return Ok(());
    }
    let Some(id) = ctx.state(|s| {
        s.definitions
            .get(Kind::Connector.name())
            .map(|d| d.id.clone())
    }) else {
        return Ok(());
    };
    if let Some(d) = get_definition(ctx, Kind::Connector, &id).await? {
        if d.belongs_to(Kind::Connector, &ctx.group) {
            if ctx.apply {
                delete_definition(ctx, Kind::Connector, &id).await?;
            }
            ctx.record(
                Kind::Connector.change_kind(),
                &Kind::Connector.definition_name(&ctx.group),
                Action::Delete,
                vec!["no connectors in the deployment".into()],
            );
        }
    }
    ctx.update_state(|s| {
        s.definitions.remove(Kind::Connector.name());
    });
    Ok(())
}
