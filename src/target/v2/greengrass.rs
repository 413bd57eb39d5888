//! Greengrass V2: the thing group `<group>` (the deployment target) with the core thing in it,
//! the component versions (created only when absent), the public components' versions, and the
//! deployment on the thing group (created only when what it deploys changed), awaited.
//!
//! Component versions are immutable: a Lambda function component's version is derived from its
//! whole request, Lambda version number included, so the same content is the same version and is
//! never created twice. A native component's version is its recipe's; a recipe that changed
//! under an existing version is refused (the service would refuse it too, later and less clearly).
//! The native component ggp writes for an executable function gets its version from its recipe,
//! its package's sha256 and the artifact location; its package is uploaded to S3 (HeadObject
//! first) only when that version is created, so unchanged code means no upload and no version.
//!
//! A version the service marked FAILED is never reused: ggp deletes it and creates the same content
//! again (a FAILED version ggp did not make, or with other content, is refused, naming it).
//!
//! The deployment carries the tag `ggp:content-hash` of its request; the latest deployment of the
//! thing group with the same hash (not failed or canceled) means there is nothing to deploy.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_greengrassv2::primitives::Blob;
use aws_sdk_greengrassv2::types::{CloudComponentState, DeploymentHistoryFilter};
use serde_json::{json, Value};

use super::artifacts::{self as artifacts_v2, ArtifactLocation};
use super::convert as convert_v2;
use super::plan::Plan as V2Plan;
use super::public::public_major;
use super::recipe::{
    artifact_key, content_version, fill_native_recipe, native_version, ComponentKind,
};
use crate::config::{has_placeholder, placeholder};
use crate::model::Known;
use crate::provision::error::{is_not_found, missing, Doing, ProvisionError};
use crate::provision::iot::tag;
use crate::provision::lambda::Versions;
use crate::provision::progress::Waiting;
use crate::provision::{
    content_hash, Action, Backoff, Cloud, Ctx, DeployOptions, DeploymentOutcome, Package,
    TAG_CONTENT_HASH, TAG_GROUP, TAG_MANAGED_BY,
};

/// The thing group a V2 deployment targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThingGroupInfo {
    pub name: String,
    pub arn: String,
    pub id: String,
    /// True when this run created it.
    pub created: bool,
}

/// The thing group `name`, if it exists.
pub async fn find_thing_group(
    cloud: &Cloud,
    name: &str,
) -> Result<Option<ThingGroupInfo>, ProvisionError> {
    match cloud
        .clients
        .iot
        .describe_thing_group()
        .thing_group_name(name)
        .send()
        .await
    {
        Ok(out) => Ok(Some(ThingGroupInfo {
            name: name.to_string(),
            arn: out
                .thing_group_arn
                .ok_or_else(|| missing("reading the thing group", "thingGroupArn"))?,
            id: out
                .thing_group_id
                .ok_or_else(|| missing("reading the thing group", "thingGroupId"))?,
            created: false,
        })),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e).doing(|| format!("reading the thing group {name}")),
    }
}

/// Finds the thing group of the group, or creates it (tagged as ggp's). Its id is injected as
/// `GROUP_ID` into the functions' environments, as the V1 group id was.
pub(crate) async fn ensure_thing_group(ctx: &Ctx<'_>) -> Result<ThingGroupInfo, ProvisionError> {
    let name = ctx.group.clone();
    if let Some(g) = find_thing_group(ctx.cloud, &name).await? {
        ctx.update_state(|s| s.thing_group_arn = Some(g.arn.clone()));
        ctx.checkpoint("after-thing-group")?;
        return Ok(g);
    }
    let out = ctx
        .c()
        .iot
        .create_thing_group()
        .thing_group_name(&name)
        .tags(tag(TAG_MANAGED_BY, "ggp")?)
        .tags(tag(TAG_GROUP, &name)?)
        .send()
        .await
        .doing(|| format!("creating the thing group {name}"))?;
    let g = ThingGroupInfo {
        name: name.clone(),
        arn: out
            .thing_group_arn
            .ok_or_else(|| missing("creating the thing group", "thingGroupArn"))?,
        id: out
            .thing_group_id
            .ok_or_else(|| missing("creating the thing group", "thingGroupId"))?,
        created: true,
    };
    ctx.update_state(|s| s.thing_group_arn = Some(g.arn.clone()));
    ctx.checkpoint("after-thing-group")?;
    Ok(g)
}

/// The core thing in the thing group (it may be in others too: left as it is).
pub(crate) async fn converge_membership(
    ctx: &Ctx<'_>,
    thing: &str,
    group: &str,
) -> Result<(), ProvisionError> {
    let iot = &ctx.c().iot;
    // A thing created in this dry run does not exist yet: it will not be in the group either.
    let groups: Vec<String> = match iot
        .list_thing_groups_for_thing()
        .thing_name(thing)
        .send()
        .await
    {
        Ok(out) => out
            .thing_groups
            .unwrap_or_default()
            .into_iter()
            .filter_map(|g| g.group_name)
            .collect(),
        Err(e) if is_not_found(&e) => Vec::new(),
        Err(e) => return Err(e).doing(|| format!("listing the thing groups of {thing}")),
    };
    let name = format!("{thing} in {group}");
    if groups.iter().any(|g| g == group) {
        ctx.record(
            "iot-thing-group-membership",
            &name,
            Action::Unchanged,
            vec![],
        );
    } else {
        if ctx.apply {
            iot.add_thing_to_thing_group()
                .thing_group_name(group)
                .thing_name(thing)
                .send()
                .await
                .doing(|| format!("adding the thing {thing} to the thing group {group}"))?;
        }
        ctx.record("iot-thing-group-membership", &name, Action::Create, vec![]);
    }
    ctx.checkpoint("after-thing-group-membership")
}

fn component_arn(ctx: &Ctx<'_>, name: &str, version: Option<&str>) -> String {
    let c = ctx.cloud;
    let base = format!(
        "{}:components:{name}",
        crate::model::arn::prefix("greengrass", &c.region, &c.account)
    );
    match version {
        Some(v) => format!("{base}:versions:{v}"),
        None => base,
    }
}

fn public_component_arn(ctx: &Ctx<'_>, name: &str) -> String {
    format!(
        "{}:components:{name}",
        crate::model::arn::prefix("greengrass", &ctx.cloud.region, "aws")
    )
}

/// A component version as the account holds it.
struct Existing {
    state: Option<CloudComponentState>,
    hash: Option<String>,
    message: Option<String>,
}

async fn describe_component(ctx: &Ctx<'_>, arn: &str) -> Result<Option<Existing>, ProvisionError> {
    match ctx
        .c()
        .greengrassv2
        .describe_component()
        .arn(arn)
        .send()
        .await
    {
        Ok(out) => Ok(Some(Existing {
            state: out.status().and_then(|s| s.component_state().cloned()),
            // The message, and what the service says of each artifact (status.errors, by URI).
            message: out.status().and_then(|s| {
                let mut parts: Vec<String> = s.message().map(str::to_string).into_iter().collect();
                if let Some(errors) = s.errors() {
                    let mut errors: Vec<_> = errors.iter().collect();
                    errors.sort();
                    parts.extend(errors.into_iter().map(|(uri, e)| format!("{uri}: {e}")));
                }
                (!parts.is_empty()).then(|| parts.join("; "))
            }),
            hash: out.tags().and_then(|t| t.get(TAG_CONTENT_HASH).cloned()),
        })),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e).doing(|| format!("reading the component {arn}")),
    }
}

/// Waits until a new component version is DEPLOYABLE (or failed).
async fn wait_deployable(ctx: &Ctx<'_>, arn: &str) -> Result<(), ProvisionError> {
    let mut backoff = Backoff::new(
        Duration::from_millis(100),
        Duration::from_secs(3),
        Duration::from_secs(120),
    );
    let waiting = ctx.progress.wait(format!("{arn} to be DEPLOYABLE"));
    loop {
        let e = describe_component(ctx, arn).await?;
        let state = e.as_ref().and_then(|e| e.state.clone());
        if let Some(s) = &state {
            waiting.still(s.as_str());
        }
        match state {
            Some(CloudComponentState::Deployable) => {
                waiting.done("DEPLOYABLE");
                return Ok(());
            }
            Some(CloudComponentState::Failed) => {
                return Err(ProvisionError::Call {
                    doing: format!("creating the component {arn}"),
                    message: format!(
                        "the service could not create it: {}",
                        e.and_then(|e| e.message)
                            .unwrap_or_else(|| "no message".into())
                    ),
                })
            }
            _ => {}
        }
        if !backoff.next().await {
            return Err(ProvisionError::Call {
                doing: format!("creating the component {arn}"),
                message: "not DEPLOYABLE after 120 s".into(),
            });
        }
    }
}

/// Reads the component version `arn`; a FAILED version is never deployable, so one holding the same
/// content (`hash`) is deleted to be created again (versions are immutable and the name is taken),
/// and one ggp did not make, or with other content, is refused naming it. Returns what remains and
/// why a create follows.
async fn drop_failed(
    ctx: &Ctx<'_>,
    arn: &str,
    label: &str,
    hash: &str,
) -> Result<(Option<Existing>, Vec<String>), ProvisionError> {
    let mut found = describe_component(ctx, arn).await?;
    let mut why_create = Vec::new();
    if let Some(e) = found.take_if(|e| e.state == Some(CloudComponentState::Failed)) {
        let message = e.message.unwrap_or_else(|| "no message".into());
        if e.hash.as_deref() != Some(hash) {
            return Err(ProvisionError::Conflict(format!(
                "the component version {label} is FAILED ({message}) and holds other content than ggp's: delete it (aws greengrassv2 delete-component --arn {arn}) or raise its version"
            )));
        }
        ctx.warn(format!(
            "the component version {label} is FAILED ({message}): ggp deletes it and creates it again"
        ));
        if ctx.apply {
            ctx.c()
                .greengrassv2
                .delete_component()
                .arn(arn)
                .send()
                .await
                .doing(|| format!("deleting the FAILED component version {label}"))?;
        }
        why_create.push(format!(
            "again: the existing version was FAILED ({message})"
        ));
    }
    Ok((found, why_create))
}

/// CreateComponentVersion of `body` (a `lambdaFunction` request, or a recipe's text), tagged as
/// ggp's with its content hash.
async fn create_version(
    ctx: &Ctx<'_>,
    kind: ComponentKind,
    body: &Value,
    hash: &str,
    label: &str,
) -> Result<(), ProvisionError> {
    let req = ctx
        .c()
        .greengrassv2
        .create_component_version()
        .tags(TAG_MANAGED_BY, "ggp")
        .tags(TAG_GROUP, &ctx.group)
        .tags(TAG_CONTENT_HASH, hash);
    let req = match kind {
        ComponentKind::Lambda => req.lambda_function(convert_v2::lambda_function(body)?),
        ComponentKind::Recipe | ComponentKind::Native => {
            req.inline_recipe(Blob::new(body.as_str().unwrap_or("").as_bytes().to_vec()))
        }
    };
    req.send()
        .await
        .doing(|| format!("creating the component version {label}"))?;
    Ok(())
}

/// A Lambda package with native code runs only where it was built: its component's platforms
/// name the architectures (the nucleus matches `architecture`) instead of any Linux. `None` for a
/// pure package, or when no package was built (an existing function).
fn native_platforms(
    plan: &V2Plan,
    function: &str,
    packages: &[Package],
) -> Result<Option<Value>, ProvisionError> {
    let Some(pkg) = packages.iter().find(|p| p.function == function) else {
        return Ok(None);
    };
    let native =
        crate::build::package::zip_has_native_code(&pkg.path).map_err(ProvisionError::Input)?;
    let archs: Vec<_> = plan
        .artifacts
        .iter()
        .filter(|a| a.function == function)
        .map(|a| a.arch)
        .collect();
    Ok((native && !archs.is_empty()).then(|| super::recipe::lambda_platforms(&archs)))
}

/// Creates every component version of the plan that the account does not hold; returns component
/// name → version. Lambda function components get the version number their alias points to.
/// Native components of executables get a version from their recipe and package; their package
/// is uploaded to S3 (see [`artifacts_v2`]) only when the version is created.
pub(crate) async fn converge_components(
    ctx: &Ctx<'_>,
    plan: &V2Plan,
    lambda_versions: &Versions,
    packages: &[Package],
    opts: &DeployOptions,
) -> Result<BTreeMap<String, String>, ProvisionError> {
    let mut out = BTreeMap::new();
    let location = ArtifactLocation::of(ctx, opts);
    for c in &plan.components {
        let mut artifact: Option<(String, &Package)> = None;
        let (version, hash, body) = match c.kind {
            ComponentKind::Lambda => {
                let mut lf = c.request["lambdaFunction"].clone();
                let imported = c.lambda.as_ref().ok_or_else(|| {
                    ProvisionError::Input(format!(
                        "internal: the component of {} names no Lambda version",
                        c.function
                    ))
                })?;
                // An existing function's version is in the plan; ggp's own is published now.
                let number = match &imported.version {
                    Known::Is(v) => v.clone(),
                    Known::Unknown(_) => lambda_versions
                        .get(&c.function)
                        .cloned()
                        .unwrap_or_default(),
                };
                lf["lambdaArn"] = json!(format!("{}:{number}", imported.function_arn));
                if let Some(platforms) = native_platforms(plan, &c.function, packages)? {
                    lf["componentPlatforms"] = platforms;
                }
                if let Some(o) = lf.as_object_mut() {
                    o.remove("componentVersion");
                }
                if has_placeholder(&lf.to_string()) || number.is_empty() {
                    // Dry run of a function that does not exist yet or whose code changes.
                    ctx.record(
                        "greengrass-component",
                        &c.component_name,
                        Action::Create,
                        vec!["a new version for the function's new Lambda version".into()],
                    );
                    out.insert(c.component_name.clone(), placeholder("COMPONENT_VERSION"));
                    continue;
                }
                let version = content_version(&lf);
                lf["componentVersion"] = json!(version);
                (version, content_hash(&lf), lf)
            }
            ComponentKind::Recipe => {
                let text = c.request["inlineRecipe"].as_str().unwrap_or("");
                (
                    c.component_version.clone(),
                    content_hash(&json!(text)),
                    json!(text),
                )
            }
            ComponentKind::Native => {
                let Some(pkg) = packages.iter().find(|p| p.function == c.function) else {
                    if ctx.apply {
                        return Err(ProvisionError::Input(format!(
                            "no package was built for the function {}",
                            c.function
                        )));
                    }
                    ctx.record(
                        "greengrass-component",
                        &c.component_name,
                        Action::Create,
                        vec!["a version for the executable's package (not built yet)".into()],
                    );
                    out.insert(c.component_name.clone(), placeholder("COMPONENT_VERSION"));
                    continue;
                };
                let recipe = &c.request["recipe"];
                let zip = c.request["package"].as_str().unwrap_or("package.zip");
                let version = native_version(recipe, &pkg.sha256, &location.label());
                let key = artifact_key(
                    &location.prefix,
                    &ctx.group,
                    &c.component_name,
                    &version,
                    zip,
                );
                let uri = format!("s3://{}/{key}", location.bucket);
                let text =
                    serde_json::to_string_pretty(&fill_native_recipe(recipe, &version, &uri))
                        .unwrap_or_default();
                artifact = Some((key, pkg));
                (version, content_hash(&json!(text)), json!(text))
            }
        };
        let arn = component_arn(ctx, &c.component_name, Some(&version));
        let label = format!("{} {version}", c.component_name);
        let (found, why_create) = drop_failed(ctx, &arn, &label, &hash).await?;
        match found {
            Some(e) if e.hash.as_deref() == Some(hash.as_str()) || e.hash.is_none() => {
                if e.hash.is_none() && c.kind == ComponentKind::Recipe {
                    ctx.warn(format!(
                        "the component {label} exists and was not made by ggp: used as is"
                    ));
                }
                ctx.record("greengrass-component", &label, Action::Unchanged, vec![]);
            }
            Some(_) if c.kind == ComponentKind::Native => {
                return Err(ProvisionError::Conflict(format!(
                    "the component version {label} already exists with another recipe than the one ggp writes for the function {}: delete that version or change the function's code",
                    c.function
                )));
            }
            Some(_) => {
                let file = c.request["recipeFile"].as_str().unwrap_or("its recipe");
                return Err(ProvisionError::Conflict(format!(
                    "{file} changed but the component version {label} already exists with other content; component versions cannot change: raise ComponentVersion in {file}"
                )));
            }
            None => {
                if let Some((key, pkg)) = artifact {
                    artifacts_v2::ensure_object(ctx, &location, &key, pkg).await?;
                }
                if ctx.apply {
                    create_version(ctx, c.kind, &body, &hash, &label).await?;
                    wait_deployable(ctx, &arn).await?;
                }
                ctx.record("greengrass-component", &label, Action::Create, why_create);
            }
        }
        out.insert(c.component_name.clone(), version);
    }
    ctx.checkpoint("after-components")?;
    Ok(out)
}

/// `1.2.3` → (1, 2, 3); anything after a `-` or `+` ignored, missing parts 0.
fn semver(v: &str) -> (u64, u64, u64) {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let mut it = core.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    (
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
    )
}

/// The version of each public component the deployment names: the one the thing group's current
/// deployment already uses when it has the right major version (a re-run changes nothing), else
/// the newest the service offers in that major version.
async fn resolve_public(
    ctx: &Ctx<'_>,
    names: &[String],
    deployed: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ProvisionError> {
    let mut out = BTreeMap::new();
    for name in names {
        let major = public_major(name);
        if let Some(v) = deployed.get(name) {
            if major.is_none_or(|m| semver(v).0 == m) {
                out.insert(name.clone(), v.clone());
                continue;
            }
        }
        let arn = public_component_arn(ctx, name);
        let mut versions: Vec<String> = Vec::new();
        let mut pages = ctx
            .c()
            .greengrassv2
            .list_component_versions()
            .arn(&arn)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let item = item.doing(|| format!("listing the versions of {name}"))?;
            versions.extend(item.component_version);
        }
        let best = versions
            .into_iter()
            .filter(|v| major.is_none_or(|m| semver(v).0 == m))
            .max_by_key(|v| semver(v))
            .ok_or_else(|| {
                ProvisionError::Input(format!(
                    "the service offers no version {} of the public component {name} in {}",
                    major.map_or_else(|| "at all".into(), |m| format!("{m}.x")),
                    ctx.cloud.region
                ))
            })?;
        out.insert(name.clone(), best);
    }
    Ok(out)
}

/// The thing group's latest deployment, with its components and tags.
struct Current {
    id: String,
    status: String,
    hash: Option<String>,
    components: BTreeMap<String, String>,
}

/// The thing group's latest deployment. A thing-group deployment stays ACTIVE on the service
/// whatever its devices make of it (it is continuous), so its status here is the core device's
/// execution when that ended in failure: a deployment the device failed is not one to keep.
async fn current_deployment(
    ctx: &Ctx<'_>,
    target: &str,
    thing: &str,
) -> Result<Option<Current>, ProvisionError> {
    let gg = &ctx.c().greengrassv2;
    let list = gg
        .list_deployments()
        .target_arn(target)
        .history_filter(DeploymentHistoryFilter::LatestOnly)
        .send()
        .await
        .doing(|| format!("listing the deployments of {target}"))?;
    let Some(id) = list
        .deployments()
        .iter()
        .filter(|d| d.is_latest_for_target())
        .find_map(|d| d.deployment_id().map(str::to_string))
    else {
        return Ok(None);
    };
    let d = gg
        .get_deployment()
        .deployment_id(&id)
        .send()
        .await
        .doing(|| format!("reading the deployment {id}"))?;
    let mut status = d
        .deployment_status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    if status == "ACTIVE" {
        let device = core_device_exists(ctx, thing).await?;
        if let Some((exec, _)) = execution(ctx, thing, &id, device).await? {
            if matches!(
                exec.as_str(),
                "FAILED" | "REJECTED" | "TIMED_OUT" | "CANCELED"
            ) {
                status = format!("{exec} on the core device {thing}");
            }
        }
    }
    Ok(Some(Current {
        status,
        hash: d.tags().and_then(|t| t.get(TAG_CONTENT_HASH).cloned()),
        components: d
            .components()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.component_version().to_string()))
                    .collect()
            })
            .unwrap_or_default(),
        id,
    }))
}

/// The deployment: created when the thing group's latest one deploys something else (or failed),
/// then awaited as [`await_deployment`] says.
pub(crate) async fn converge_deployment(
    ctx: &Ctx<'_>,
    plan: &V2Plan,
    target: &str,
    versions: &BTreeMap<String, String>,
    opts: &DeployOptions,
) -> Result<DeploymentOutcome, ProvisionError> {
    let thing = &plan.iot.core.thing_name;
    let current = if has_placeholder(target) {
        None
    } else {
        current_deployment(ctx, target, thing).await?
    };
    // The request with every version filled in.
    let mut request = plan.deployment_request.clone();
    request["targetArn"] = json!(target);
    let public: Vec<String> = request["components"]
        .as_object()
        .map(|m| {
            m.keys()
                .filter(|k| !versions.contains_key(*k))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let deployed = current
        .as_ref()
        .map(|c| c.components.clone())
        .unwrap_or_default();
    let public = resolve_public(ctx, &public, &deployed).await?;
    if let Some(m) = request["components"].as_object_mut() {
        for (name, entry) in m.iter_mut() {
            if let Some(v) = versions.get(name).or_else(|| public.get(name)) {
                entry["componentVersion"] = json!(v);
            }
        }
    }
    let hash = content_hash(&request);
    let label = request["deploymentName"].as_str().unwrap_or("").to_string();
    let reusable = current.as_ref().filter(|c| {
        c.hash.as_deref() == Some(hash.as_str())
            && !matches!(c.status.as_str(), "FAILED" | "CANCELED" | "INACTIVE")
            && !c.status.contains(" on the core device ")
    });
    if let Some(c) = reusable {
        ctx.record(
            "greengrassv2-deployment",
            &label,
            Action::Unchanged,
            vec![c.id.clone()],
        );
        if !ctx.apply {
            return Ok(outcome(Some(c.id.clone()), "deployed", false, None, 0));
        }
        return await_deployment(ctx, &c.id, thing, false, opts).await;
    }
    let why = match &current {
        None => "first deployment of the thing group".to_string(),
        Some(c) if c.hash.as_deref() == Some(hash.as_str()) => {
            format!("the last one ({}) is {}", c.id, c.status)
        }
        Some(c) => {
            let mut changed: Vec<String> = Vec::new();
            let want: BTreeMap<String, String> = request["components"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v["componentVersion"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect();
            for (k, v) in &want {
                match c.components.get(k) {
                    None => changed.push(format!("+{k} {v}")),
                    Some(old) if old != v => changed.push(format!("{k} {old} → {v}")),
                    Some(_) => {}
                }
            }
            for k in c.components.keys().filter(|k| !want.contains_key(*k)) {
                changed.push(format!("-{k}"));
            }
            if changed.is_empty() {
                "configuration changed".to_string()
            } else {
                changed.join(", ")
            }
        }
    };
    ctx.record("greengrassv2-deployment", &label, Action::Create, vec![why]);
    if !ctx.apply {
        return Ok(outcome(None, "would-deploy", false, None, 0));
    }
    let gg = &ctx.c().greengrassv2;
    let created = gg
        .create_deployment()
        .target_arn(target)
        .deployment_name(&label)
        .set_components(Some(convert_v2::deployment_components(
            &request["components"],
        )?))
        .deployment_policies(convert_v2::deployment_policies(
            &request["deploymentPolicies"],
        )?)
        .tags(TAG_MANAGED_BY, "ggp")
        .tags(TAG_GROUP, &ctx.group)
        .tags(TAG_CONTENT_HASH, &hash)
        .send()
        .await
        .doing(|| format!("creating the deployment {label} on {target}"))?;
    let id = created
        .deployment_id
        .ok_or_else(|| missing("creating the deployment", "deploymentId"))?;
    await_deployment(ctx, &id, thing, true, opts).await
}

fn outcome(
    id: Option<String>,
    status: &str,
    created: bool,
    error_message: Option<String>,
    waited: u64,
) -> DeploymentOutcome {
    DeploymentOutcome {
        id,
        status: status.to_string(),
        created,
        error_message,
        waited_seconds: waited,
        pending_device: None,
    }
}

/// Follows a deployment until it is done. A thing-group deployment is done for ggp when the
/// service says COMPLETED, FAILED or CANCELED, or when the core device's own execution of it
/// ends (SUCCEEDED, FAILED, REJECTED, TIMED_OUT…). When no core device `thing` has ever connected
/// there is nothing to wait for: the deployment stays ACTIVE on the thing group and the device
/// applies it when it first connects; that is reported as such, not as a failure.
async fn await_deployment(
    ctx: &Ctx<'_>,
    id: &str,
    thing: &str,
    created: bool,
    opts: &DeployOptions,
) -> Result<DeploymentOutcome, ProvisionError> {
    let waiting = ctx
        .progress
        .wait(format!("deployment {id} on the core device {thing}"));
    let o = poll_deployment(ctx, id, thing, created, opts, &waiting).await?;
    waiting.done(match &o.pending_device {
        Some(_) => "not awaited (the device has not connected yet)",
        None => &o.status,
    });
    Ok(o)
}

/// Polls deployment `id` until the core device `thing` ends it (or is not there to), or the
/// deadline passes.
async fn poll_deployment(
    ctx: &Ctx<'_>,
    id: &str,
    thing: &str,
    created: bool,
    opts: &DeployOptions,
    waiting: &Waiting,
) -> Result<DeploymentOutcome, ProvisionError> {
    let gg = &ctx.c().greengrassv2;
    let started = std::time::Instant::now();
    let device = core_device_exists(ctx, thing).await?;
    let mut backoff = Backoff::new(
        Duration::from_millis(200),
        Duration::from_secs(5),
        opts.deployment_timeout,
    );
    loop {
        let waited = started.elapsed().as_secs();
        let d = gg
            .get_deployment()
            .deployment_id(id)
            .send()
            .await
            .doing(|| format!("reading the deployment {id}"))?;
        let status = d
            .deployment_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        match status.as_str() {
            "COMPLETED" => return Ok(outcome(Some(id.into()), &status, created, None, waited)),
            "FAILED" | "CANCELED" | "INACTIVE" => {
                let why = execution(ctx, thing, id, device)
                    .await?
                    .and_then(|e| e.1)
                    .unwrap_or_else(|| match status.as_str() {
                        "INACTIVE" => "replaced by a newer deployment of the thing group".into(),
                        _ => format!("the deployment is {status}"),
                    });
                return Ok(outcome(
                    Some(id.into()),
                    &status,
                    created,
                    Some(why),
                    waited,
                ));
            }
            _ => {}
        }
        if !device {
            let mut o = outcome(Some(id.into()), &status, created, None, waited);
            o.pending_device = Some(thing.to_string());
            return Ok(o);
        }
        if let Some((exec, reason)) = execution(ctx, thing, id, device).await? {
            match exec.as_str() {
                "SUCCEEDED" | "COMPLETED" => {
                    return Ok(outcome(Some(id.into()), &exec, created, None, waited))
                }
                "FAILED" | "REJECTED" | "TIMED_OUT" | "CANCELED" => {
                    return Ok(outcome(Some(id.into()), &exec, created, reason, waited))
                }
                _ => {}
            }
        }
        waiting.still(&status);
        if !backoff.next().await {
            return Ok(outcome(
                Some(id.into()),
                &status,
                created,
                None,
                started.elapsed().as_secs(),
            ));
        }
    }
}

/// True when the core device `thing` has registered (connected at least once).
async fn core_device_exists(ctx: &Ctx<'_>, thing: &str) -> Result<bool, ProvisionError> {
    match ctx
        .c()
        .greengrassv2
        .get_core_device()
        .core_device_thing_name(thing)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => Err(e).doing(|| format!("reading the core device {thing}")),
    }
}

/// The core device's execution of deployment `id`: its status and, when it failed, why.
async fn execution(
    ctx: &Ctx<'_>,
    thing: &str,
    id: &str,
    device: bool,
) -> Result<Option<(String, Option<String>)>, ProvisionError> {
    if !device {
        return Ok(None);
    }
    let mut pages = ctx
        .c()
        .greengrassv2
        .list_effective_deployments()
        .core_device_thing_name(thing)
        .into_paginator()
        .items()
        .send();
    while let Some(e) = pages.next().await {
        let e = e.doing(|| format!("listing the deployments of the core device {thing}"))?;
        if e.deployment_id() != id {
            continue;
        }
        let mut why: Vec<String> = e.reason().map(str::to_string).into_iter().collect();
        if let Some(s) = e.status_details() {
            if !s.error_stack().is_empty() {
                why.push(s.error_stack().join(" > "));
            }
        }
        let status = e.core_device_execution_status().as_str().to_string();
        return Ok(Some((status, (!why.is_empty()).then(|| why.join(": ")))));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_orders_numerically() {
        assert!(semver("2.10.0") > semver("2.9.9"));
        assert_eq!(semver("2.3.7-rc1"), (2, 3, 7));
        assert_eq!(semver("3"), (3, 0, 0));
    }
}
