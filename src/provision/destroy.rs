//! `ggp destroy -g GROUP`: reset the group's deployments, then delete what ggp created for it —
//! the group, its definitions, its Lambda functions, the core certificate (detached, deactivated,
//! deleted), its things, its IoT policy — and the role alias and roles when no other group uses
//! them. Nothing else: only what carries ggp's marks (tags `ggp:managed-by`/`ggp:group`, thing
//! attribute `ggpGroup`) is deleted, so a role, policy or certificate the user brought stays.
//!
//! It works from the account alone (a lost state file is fine) and is safe to run again after
//! an interruption: each step looks before it deletes.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_iot::types::CertificateStatus;
use serde::Serialize;

use super::error::{is_not_found, status_of, Doing, ProvisionError};
use super::greengrass::{self, delete_definition, list_definitions, GroupInfo, Kind};
use super::iot::{
    attached_policies, cert_id, describe_thing, thing_principals, ATTR_CERT, ATTR_GROUP,
};
use super::state::{CertOrigin, StateStore};
use super::{Action, Backoff, CallStats, Change, Cloud, Ctx, TAG_GROUP, TAG_MANAGED_BY};

#[derive(Debug, Clone)]
pub struct DestroyOptions {
    /// The group's state folder (default `<project>/.ggp/<group>`); removed at the end.
    pub state_dir: PathBuf,
    /// How long to wait for the deployment reset.
    pub reset_timeout: Duration,
}

impl DestroyOptions {
    pub fn new(state_dir: PathBuf) -> DestroyOptions {
        DestroyOptions {
            state_dir,
            reset_timeout: Duration::from_secs(120),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DestroyReport {
    pub group: String,
    /// What was deleted (`delete`) and what was kept on purpose (`unchanged`, with the reason).
    pub changes: Vec<Change>,
    pub warnings: Vec<String>,
    pub api_calls: CallStats,
}

impl DestroyReport {
    pub fn render_text(&self) -> String {
        use std::fmt::Write as _;
        let mut o = String::new();
        let _ = writeln!(o, "Destroyed group {}", self.group);
        for c in &self.changes {
            let word = if c.action == Action::Delete {
                "deleted"
            } else {
                "kept"
            };
            let _ = write!(o, "  {word:<8} {:<34} {}", c.kind, c.name);
            if !c.details.is_empty() {
                let _ = write!(o, ": {}", c.details.join("; "));
            }
            let _ = writeln!(o);
        }
        if self.changes.iter().all(|c| c.action != Action::Delete) {
            let _ = writeln!(o, "nothing to delete");
        }
        for w in &self.warnings {
            let _ = writeln!(o, "warning: {w}");
        }
        let _ = writeln!(
            o,
            "API calls: {} ({} mutating)",
            self.api_calls.total, self.api_calls.mutating
        );
        o
    }
}

pub async fn destroy(
    cloud: &Cloud,
    group: &str,
    opts: &DestroyOptions,
) -> Result<DestroyReport, ProvisionError> {
    let store = StateStore::new(&opts.state_dir);
    let ctx = Ctx::new(cloud, true, group, store, None, Duration::from_secs(0))?;
    let all_groups = greengrass::list_groups(cloud).await?;
    let (mine, others): (Vec<GroupInfo>, Vec<GroupInfo>) =
        all_groups.into_iter().partition(|g| g.name == group);
    if mine.len() > 1 {
        return Err(ProvisionError::Conflict(format!(
            "{} Greengrass groups are named {group} ({}); ggp will not guess which one to delete",
            mine.len(),
            mine.iter()
                .map(|g| g.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut core_role = ctx.state(|s| s.roles.get("core").map(|r| r.arn.clone()));
    if ctx.state(|s| s.thing_group_arn.is_some()) {
        return Err(ProvisionError::Input(format!(
            "group {group} was deployed as Greengrass V2 (a thing group): destroy it with --target v2"
        )));
    }
    if let Some(g) = mine.first() {
        if let Some(r) = destroy_group(&ctx, g, opts).await? {
            core_role.get_or_insert(r);
        }
    }
    let definitions = async {
        for kind in Kind::ALL {
            destroy_definitions(&ctx, kind).await?;
        }
        Ok::<_, ProvisionError>(())
    };
    let (_, lambda_roles, _) =
        tokio::try_join!(definitions, destroy_functions(&ctx), destroy_iot(&ctx))?;
    let in_use = roles_of(&ctx, &others).await?;
    destroy_roles(&ctx, in_use, Some(&others), core_role, lambda_roles).await?;
    ctx.store.remove()?;
    let report = ctx.finish(None, None);
    Ok(DestroyReport {
        group: group.to_string(),
        changes: report.changes,
        warnings: report.warnings,
        api_calls: report.api_calls,
    })
}

/// Resets the deployments, takes the role off and deletes the group; returns its role.
async fn destroy_group(
    ctx: &Ctx<'_>,
    g: &GroupInfo,
    opts: &DestroyOptions,
) -> Result<Option<String>, ProvisionError> {
    let gg = &ctx.c().greengrass;
    let deployments = greengrass::list_deployments(ctx, g).await?;
    let deployed = deployments.first().is_some_and(|d| {
        matches!(
            d.deployment_type(),
            Some(
                aws_sdk_greengrass::types::DeploymentType::NewDeployment
                    | aws_sdk_greengrass::types::DeploymentType::Redeployment
            )
        )
    });
    if deployed {
        // Force: the core may be gone already; a teardown must not hang on it.
        let id = gg
            .reset_deployments()
            .group_id(&g.id)
            .force(true)
            .send()
            .await
            .doing(|| format!("resetting the deployments of the group {}", g.name))?
            .deployment_id;
        if let Some(id) = id {
            let mut backoff = Backoff::new(
                Duration::from_millis(100),
                Duration::from_secs(5),
                opts.reset_timeout,
            );
            loop {
                let s = gg
                    .get_deployment_status()
                    .group_id(&g.id)
                    .deployment_id(&id)
                    .send()
                    .await
                    .doing(|| format!("reading the status of the reset {id}"))?;
                match s.deployment_status() {
                    Some("Success") => break,
                    Some("Failure") => {
                        ctx.warn(format!(
                            "the reset of group {} failed ({}); deleting anyway",
                            g.name,
                            s.error_message().unwrap_or("no message")
                        ));
                        break;
                    }
                    _ => {
                        if !backoff.next().await {
                            ctx.warn(format!(
                                "the reset of group {} did not finish within {}s; deleting anyway",
                                g.name,
                                opts.reset_timeout.as_secs()
                            ));
                            break;
                        }
                    }
                }
            }
        }
        ctx.record(
            "greengrass-deployment",
            &g.name,
            Action::Delete,
            vec!["reset".into()],
        );
    }
    let role = match gg.get_associated_role().group_id(&g.id).send().await {
        Ok(out) => out.role_arn,
        Err(e) if matches!(status_of(&e), Some(400 | 404)) => None,
        Err(e) => return Err(e).doing(|| format!("reading the role of the group {}", g.name)),
    };
    if role.is_some() {
        gg.disassociate_role_from_group()
            .group_id(&g.id)
            .send()
            .await
            .doing(|| format!("taking the role off the group {}", g.name))?;
    }
    gg.delete_group()
        .group_id(&g.id)
        .send()
        .await
        .doing(|| format!("deleting the group {}", g.name))?;
    ctx.record(
        "greengrass-group",
        &g.name,
        Action::Delete,
        vec![g.id.clone()],
    );
    Ok(role)
}

async fn destroy_definitions(ctx: &Ctx<'_>, kind: Kind) -> Result<(), ProvisionError> {
    let state_id = ctx.state(|s| s.definitions.get(kind.name()).map(|d| d.id.clone()));
    let mut ids: BTreeSet<String> = list_definitions(ctx, kind)
        .await?
        .into_iter()
        .filter(|d| {
            d.tags.get(TAG_GROUP) == Some(&ctx.group) && d.tags.contains_key(TAG_MANAGED_BY)
        })
        .map(|d| d.id)
        .collect();
    if let Some(id) = state_id {
        if let Some(d) = greengrass::get_definition(ctx, kind, &id).await? {
            if d.belongs_to(kind, &ctx.group) {
                ids.insert(d.id);
            }
        }
    }
    for id in ids {
        delete_definition(ctx, kind, &id).await?;
        ctx.record(
            kind.change_kind(),
            &kind.definition_name(&ctx.group),
            Action::Delete,
            vec![id],
        );
    }
    Ok(())
}

/// Deletes the group's Lambda functions; returns the roles they ran with.
async fn destroy_functions(ctx: &Ctx<'_>) -> Result<BTreeSet<String>, ProvisionError> {
    let lambda = &ctx.c().lambda;
    let prefix = format!("{}-", ctx.group);
    let mut candidates: Vec<(String, String, String)> = Vec::new(); // name, arn, role
    let mut pages = lambda.list_functions().into_paginator().items().send();
    while let Some(f) = pages.next().await {
        let f = f.doing(|| "listing the Lambda functions".to_string())?;
        if let (Some(name), Some(arn)) = (f.function_name(), f.function_arn()) {
            if name.starts_with(&prefix) {
                candidates.push((name.into(), arn.into(), f.role().unwrap_or_default().into()));
            }
        }
    }
    let mut roles = BTreeSet::new();
    for (name, arn, role) in candidates {
        let tags = lambda
            .list_tags()
            .resource(&arn)
            .send()
            .await
            .doing(|| format!("reading the tags of the Lambda function {name}"))?
            .tags
            .unwrap_or_default();
        if tags.get(TAG_GROUP) != Some(&ctx.group) {
            continue;
        }
        match lambda.delete_function().function_name(&name).send().await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e).doing(|| format!("deleting the Lambda function {name}")),
        }
        ctx.record("lambda-function", &name, Action::Delete, vec![]);
        roles.insert(role);
    }
    Ok(roles)
}

async fn destroy_iot(ctx: &Ctx<'_>) -> Result<(), ProvisionError> {
    let iot = &ctx.c().iot;
    let core = format!("{}_Core", ctx.group);
    let policy = ctx
        .state(|s| s.policy_name.clone())
        .unwrap_or_else(|| format!("{core}_Policy"));
    let (state_cert, retired) = ctx.state(|s| {
        (
            s.certificate
                .as_ref()
                .filter(|c| matches!(c.origin, CertOrigin::Created | CertOrigin::Csr))
                .map(|c| c.id.clone()),
            s.retired_certificates.clone(),
        )
    });

    // Things of this group: the core and the connected shadows ggp made.
    let mut things: BTreeSet<String> = BTreeSet::new();
    let mut pages = iot
        .list_things()
        .attribute_name(ATTR_GROUP)
        .attribute_value(&ctx.group)
        .into_paginator()
        .items()
        .send();
    while let Some(t) = pages.next().await {
        let t = t.doing(|| format!("listing the things of the group {}", ctx.group))?;
        things.extend(t.thing_name);
    }
    let core_thing = describe_thing(ctx, &core).await?;
    let core_is_ours = core_thing
        .as_ref()
        .is_some_and(|t| t.attributes.get(ATTR_GROUP) == Some(&ctx.group));
    let mut owned: BTreeSet<String> = retired.into_iter().collect();
    owned.extend(state_cert);
    if let Some(c) = core_thing
        .as_ref()
        .and_then(|t| t.attributes.get(ATTR_CERT))
    {
        owned.insert(c.clone());
    }
    let mut certs_to_delete: BTreeSet<String> = BTreeSet::new();
    if core_thing.is_some() {
        for p in thing_principals(ctx, &core).await? {
            iot.detach_thing_principal()
                .thing_name(&core)
                .principal(&p)
                .send()
                .await
                .doing(|| format!("detaching {p} from the thing {core}"))?;
            let id = cert_id(&p).to_string();
            if owned.contains(&id) {
                certs_to_delete.insert(p);
            } else if attached_policies(ctx, &p).await?.contains(&policy) {
                iot.detach_policy()
                    .policy_name(&policy)
                    .target(&p)
                    .send()
                    .await
                    .doing(|| format!("detaching the policy {policy} from {p}"))?;
                ctx.record(
                    "iot-certificate",
                    &id,
                    Action::Unchanged,
                    vec!["not created by ggp: detached, kept".into()],
                );
            }
        }
        if !core_is_ours {
            ctx.record(
                "iot-thing",
                &core,
                Action::Unchanged,
                vec!["not created by ggp: kept".into()],
            );
        }
    }
    // Owned certificates no longer on the thing (replaced earlier): deleted too.
    for id in &owned {
        if !certs_to_delete.iter().any(|a| cert_id(a) == id) {
            certs_to_delete.insert(format!(
                "arn:aws:iot:{}:{}:cert/{id}",
                ctx.cloud.region, ctx.cloud.account
            ));
        }
    }
    for arn in certs_to_delete {
        delete_certificate(ctx, &arn).await?;
    }
    for t in things {
        if t == core && !core_is_ours {
            continue;
        }
        match iot.delete_thing().thing_name(&t).send().await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e).doing(|| format!("deleting the thing {t}")),
        }
        ctx.record("iot-thing", &t, Action::Delete, vec![]);
    }
    destroy_policy(ctx, &policy).await
}

/// Detaches every policy, deactivates and deletes one of ggp's certificates.
async fn delete_certificate(ctx: &Ctx<'_>, arn: &str) -> Result<(), ProvisionError> {
    let iot = &ctx.c().iot;
    let id = cert_id(arn).to_string();
    let status = match iot.describe_certificate().certificate_id(&id).send().await {
        Ok(out) => out
            .certificate_description
            .and_then(|d| d.status)
            .unwrap_or(CertificateStatus::Inactive),
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(e).doing(|| format!("reading the certificate {id}")),
    };
    for p in attached_policies(ctx, arn).await? {
        iot.detach_policy()
            .policy_name(&p)
            .target(arn)
            .send()
            .await
            .doing(|| format!("detaching the policy {p} from the certificate {id}"))?;
    }
    if status != CertificateStatus::Inactive {
        iot.update_certificate()
            .certificate_id(&id)
            .new_status(CertificateStatus::Inactive)
            .send()
            .await
            .doing(|| format!("deactivating the certificate {id}"))?;
    }
    iot.delete_certificate()
        .certificate_id(&id)
        .send()
        .await
        .doing(|| format!("deleting the certificate {id}"))?;
    ctx.record(
        "iot-certificate",
        &id,
        Action::Delete,
        vec!["detached, deactivated, deleted".into()],
    );
    Ok(())
}

async fn iot_tags(ctx: &Ctx<'_>, arn: &str) -> Result<HashMap<String, String>, ProvisionError> {
    let mut out = HashMap::new();
    let mut pages = ctx
        .c()
        .iot
        .list_tags_for_resource()
        .resource_arn(arn)
        .into_paginator()
        .items()
        .send();
    while let Some(t) = pages.next().await {
        let t = t.doing(|| format!("reading the tags of {arn}"))?;
        out.insert(t.key, t.value.unwrap_or_default());
    }
    Ok(out)
}

async fn destroy_policy(ctx: &Ctx<'_>, name: &str) -> Result<(), ProvisionError> {
    let iot = &ctx.c().iot;
    let arn = match iot.get_policy().policy_name(name).send().await {
        Ok(p) => p.policy_arn.unwrap_or_default(),
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(e).doing(|| format!("reading the IoT policy {name}")),
    };
    if iot_tags(ctx, &arn).await?.get(TAG_GROUP) != Some(&ctx.group) {
        ctx.record(
            "iot-policy",
            name,
            Action::Unchanged,
            vec!["not created by ggp: kept".into()],
        );
        return Ok(());
    }
    let mut targets = Vec::new();
    let mut pages = iot
        .list_targets_for_policy()
        .policy_name(name)
        .into_paginator()
        .items()
        .send();
    while let Some(t) = pages.next().await {
        targets.push(t.doing(|| format!("listing the targets of the IoT policy {name}"))?);
    }
    for t in targets {
        iot.detach_policy()
            .policy_name(name)
            .target(&t)
            .send()
            .await
            .doing(|| format!("detaching the IoT policy {name} from {t}"))?;
    }
    let versions = iot
        .list_policy_versions()
        .policy_name(name)
        .send()
        .await
        .doing(|| format!("listing the versions of the IoT policy {name}"))?
        .policy_versions
        .unwrap_or_default();
    for v in versions.iter().filter(|v| !v.is_default_version) {
        if let Some(id) = &v.version_id {
            iot.delete_policy_version()
                .policy_name(name)
                .policy_version_id(id)
                .send()
                .await
                .doing(|| format!("deleting version {id} of the IoT policy {name}"))?;
        }
    }
    iot.delete_policy()
        .policy_name(name)
        .send()
        .await
        .doing(|| format!("deleting the IoT policy {name}"))?;
    ctx.record("iot-policy", name, Action::Delete, vec![]);
    Ok(())
}

/// A role ggp created (tagged), if it exists.
async fn managed_role(ctx: &Ctx<'_>, arn: &str) -> Result<Option<String>, ProvisionError> {
    let name = arn.rsplit('/').next().unwrap_or(arn).to_string();
    match ctx.c().iam.get_role().role_name(&name).send().await {
        Ok(out) => {
            let ours = out
                .role
                .as_ref()
                .is_some_and(|r| r.tags().iter().any(|t| t.key() == TAG_MANAGED_BY));
            if !ours {
                ctx.record(
                    "iam-role",
                    &name,
                    Action::Unchanged,
                    vec!["not created by ggp: kept".into()],
                );
            }
            Ok(ours.then_some(name))
        }
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e).doing(|| format!("reading the role {name}")),
    }
}

async fn delete_role(ctx: &Ctx<'_>, name: &str) -> Result<(), ProvisionError> {
    let iam = &ctx.c().iam;
    let attached = super::iam::attached_policies(ctx, name).await?;
    for p in attached {
        iam.detach_role_policy()
            .role_name(name)
            .policy_arn(&p)
            .send()
            .await
            .doing(|| format!("detaching {p} from the role {name}"))?;
    }
    let mut inline = Vec::new();
    let mut pages = iam
        .list_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send();
    while let Some(p) = pages.next().await {
        inline.push(p.doing(|| format!("listing the inline policies of the role {name}"))?);
    }
    for p in inline {
        iam.delete_role_policy()
            .role_name(name)
            .policy_name(&p)
            .send()
            .await
            .doing(|| format!("deleting the inline policy {p} of the role {name}"))?;
    }
    iam.delete_role()
        .role_name(name)
        .send()
        .await
        .doing(|| format!("deleting the role {name}"))?;
    ctx.record("iam-role", name, Action::Delete, vec![]);
    Ok(())
}

/// The role alias, core, Lambda and service roles, each only when no other group uses it.
/// The roles of other V1 groups (kept by [`destroy_roles`]).
async fn roles_of(ctx: &Ctx<'_>, others: &[GroupInfo]) -> Result<BTreeSet<String>, ProvisionError> {
    let gg = &ctx.c().greengrass;
    let mut in_use: BTreeSet<String> = BTreeSet::new();
    for g in others {
        match gg.get_associated_role().group_id(&g.id).send().await {
            Ok(out) => in_use.extend(out.role_arn),
            Err(e) if matches!(status_of(&e), Some(400 | 404)) => {}
            Err(e) => return Err(e).doing(|| format!("reading the role of the group {}", g.name)),
        }
    }
    Ok(in_use)
}

/// `in_use`: core roles other groups still use. `v1_others`: the other V1 groups, whose number
/// decides about the account-wide service role (`None` for V2, which has none).
async fn destroy_roles(
    ctx: &Ctx<'_>,
    in_use: BTreeSet<String>,
    v1_others: Option<&[GroupInfo]>,
    core_role: Option<String>,
    lambda_roles: BTreeSet<String>,
) -> Result<(), ProvisionError> {
    let gg = &ctx.c().greengrass;
    let iot = &ctx.c().iot;

    // Core role and the role alias that points at it.
    if let Some(core) = core_role {
        if in_use.contains(&core) {
            ctx.record(
                "iam-role",
                &core,
                Action::Unchanged,
                vec!["used by another group: kept".into()],
            );
        } else {
            let mut aliases: BTreeSet<String> =
                ctx.state(|s| s.role_alias.clone()).into_iter().collect();
            let mut pages = iot.list_role_aliases().into_paginator().items().send();
            while let Some(a) = pages.next().await {
                aliases.insert(a.doing(|| "listing the role aliases".to_string())?);
            }
            for a in aliases {
                let d = match iot.describe_role_alias().role_alias(&a).send().await {
                    Ok(out) => out.role_alias_description,
                    Err(e) if is_not_found(&e) => continue,
                    Err(e) => return Err(e).doing(|| format!("reading the role alias {a}")),
                };
                let Some(d) = d.filter(|d| d.role_arn.as_deref() == Some(core.as_str())) else {
                    continue;
                };
                let arn = d.role_alias_arn.clone().unwrap_or_default();
                if iot_tags(ctx, &arn).await?.contains_key(TAG_MANAGED_BY) {
                    iot.delete_role_alias()
                        .role_alias(&a)
                        .send()
                        .await
                        .doing(|| format!("deleting the role alias {a}"))?;
                    ctx.record("iot-role-alias", &a, Action::Delete, vec![]);
                } else {
                    ctx.record(
                        "iot-role-alias",
                        &a,
                        Action::Unchanged,
                        vec!["not created by ggp: kept".into()],
                    );
                }
            }
            if let Some(name) = managed_role(ctx, &core).await? {
                delete_role(ctx, &name).await?;
            }
        }
    }

    // Lambda role: kept while any function still runs with it.
    let mut lambda_roles = lambda_roles;
    lambda_roles.extend(ctx.state(|s| s.roles.get("lambda").map(|r| r.arn.clone())));
    lambda_roles.retain(|r| !r.is_empty());
    if !lambda_roles.is_empty() {
        let mut used: BTreeSet<String> = BTreeSet::new();
        let mut pages = ctx
            .c()
            .lambda
            .list_functions()
            .into_paginator()
            .items()
            .send();
        while let Some(f) = pages.next().await {
            used.extend(f.doing(|| "listing the Lambda functions".to_string())?.role);
        }
        for r in lambda_roles {
            if used.contains(&r) {
                ctx.record(
                    "iam-role",
                    &r,
                    Action::Unchanged,
                    vec!["used by other Lambda functions: kept".into()],
                );
            } else if let Some(name) = managed_role(ctx, &r).await? {
                delete_role(ctx, &name).await?;
            }
        }
    }

    // Service role: account-wide, so kept while any other group exists.
    let Some(others) = v1_others else {
        return Ok(());
    };
    let associated = gg
        .get_service_role_for_account()
        .send()
        .await
        .doing(|| "reading the account's Greengrass service role".to_string())?
        .role_arn;
    let service = ctx
        .state(|s| s.roles.get("service").map(|r| r.arn.clone()))
        .or_else(|| associated.clone());
    if let Some(service) = service {
        if !others.is_empty() {
            ctx.record(
                "iam-role",
                &service,
                Action::Unchanged,
                vec![format!(
                    "service role; {} other group(s) in the account: kept",
                    others.len()
                )],
            );
        } else if let Some(name) = managed_role(ctx, &service).await? {
            if associated.as_deref() == Some(service.as_str()) {
                gg.disassociate_service_role_from_account()
                    .send()
                    .await
                    .doing(|| {
                        "removing the account's Greengrass service role association".to_string()
                    })?;
                ctx.record("greengrass-service-role", &service, Action::Delete, vec![]);
            }
            delete_role(ctx, &name).await?;
        }
    }
    Ok(())
}

/// `ggp destroy --target v2`: the thing group's deployments ggp made (canceled, deleted), the
/// component versions ggp made for the group, the core device record, the Lambda functions, the
/// core's IoT identity, the thing group, and the role alias and roles when no other ggp thing
/// group may use them. Like [`destroy`], only what carries ggp's marks, and safe to run again.
pub async fn destroy_v2(
    cloud: &Cloud,
    group: &str,
    opts: &DestroyOptions,
) -> Result<DestroyReport, ProvisionError> {
    let store = StateStore::new(&opts.state_dir);
    let ctx = Ctx::new(cloud, true, group, store, None, Duration::from_secs(0))?;
    let tg = super::find_thing_group(cloud, group).await?;
    if let Some(tg) = &tg {
        destroy_v2_deployments(&ctx, &tg.arn).await?;
    }
    destroy_components(&ctx).await?;
    super::artifacts_v2::destroy_group_artifacts(&ctx).await?;
    let core = format!("{group}_Core");
    let ours = describe_thing(&ctx, &core)
        .await?
        .is_some_and(|t| t.attributes.get(ATTR_GROUP).map(String::as_str) == Some(group));
    if ours {
        let gg = &ctx.c().greengrassv2;
        match gg
            .delete_core_device()
            .core_device_thing_name(&core)
            .send()
            .await
        {
            Ok(_) => ctx.record("greengrass-core-device", &core, Action::Delete, vec![]),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e).doing(|| format!("deleting the core device {core}")),
        }
    }
    let (lambda_roles, _) = tokio::try_join!(destroy_functions(&ctx), destroy_iot(&ctx))?;
    if let Some(tg) = &tg {
        if iot_tags(&ctx, &tg.arn)
            .await?
            .get(TAG_GROUP)
            .map(String::as_str)
            == Some(group)
        {
            ctx.c()
                .iot
                .delete_thing_group()
                .thing_group_name(group)
                .send()
                .await
                .doing(|| format!("deleting the thing group {group}"))?;
            ctx.record("iot-thing-group", group, Action::Delete, vec![]);
        } else {
            ctx.record(
                "iot-thing-group",
                group,
                Action::Unchanged,
                vec!["not created by ggp: kept".into()],
            );
        }
    }
    // Other ggp thing groups may share the core role and its alias (they come from the same
    // deployment defaults): then both stay.
    let core_role = ctx.state(|s| s.roles.get("core").map(|r| r.arn.clone()));
    if core_role.is_none() {
        ctx.warn("no state for this group: its roles and role alias are not known and were left in place");
    }
    let mut in_use = BTreeSet::new();
    let mut pages = ctx
        .c()
        .iot
        .list_thing_groups()
        .into_paginator()
        .items()
        .send();
    let mut others = Vec::new();
    while let Some(g) = pages.next().await {
        let g = g.doing(|| "listing the thing groups".to_string())?;
        if let (Some(name), Some(arn)) = (g.group_name, g.group_arn) {
            if name != group {
                others.push(arn);
            }
        }
    }
    for arn in others {
        if iot_tags(&ctx, &arn).await?.contains_key(TAG_MANAGED_BY) {
            in_use.extend(core_role.clone());
            break;
        }
    }
    destroy_roles(&ctx, in_use, None, core_role, lambda_roles).await?;
    ctx.store.remove()?;
    let report = ctx.finish(None, None);
    Ok(DestroyReport {
        group: group.to_string(),
        changes: report.changes,
        warnings: report.warnings,
        api_calls: report.api_calls,
    })
}

/// Cancels and deletes the deployments ggp made on the thing group.
async fn destroy_v2_deployments(ctx: &Ctx<'_>, target: &str) -> Result<(), ProvisionError> {
    let gg = &ctx.c().greengrassv2;
    let mut ids = Vec::new();
    let mut pages = gg
        .list_deployments()
        .target_arn(target)
        .history_filter(aws_sdk_greengrassv2::types::DeploymentHistoryFilter::All)
        .into_paginator()
        .items()
        .send();
    while let Some(d) = pages.next().await {
        let d = d.doing(|| format!("listing the deployments of {target}"))?;
        ids.extend(d.deployment_id);
    }
    for id in ids {
        let d = gg
            .get_deployment()
            .deployment_id(&id)
            .send()
            .await
            .doing(|| format!("reading the deployment {id}"))?;
        if d.tags().and_then(|t| t.get(TAG_GROUP)) != Some(&ctx.group) {
            ctx.record(
                "greengrassv2-deployment",
                &id,
                Action::Unchanged,
                vec!["not created by ggp: kept".into()],
            );
            continue;
        }
        if d.deployment_status().map(|s| s.as_str()) == Some("ACTIVE") {
            gg.cancel_deployment()
                .deployment_id(&id)
                .send()
                .await
                .doing(|| format!("canceling the deployment {id}"))?;
        }
        gg.delete_deployment()
            .deployment_id(&id)
            .send()
            .await
            .doing(|| format!("deleting the deployment {id}"))?;
        let name = d.deployment_name().unwrap_or(&id).to_string();
        ctx.record("greengrassv2-deployment", &name, Action::Delete, vec![id]);
    }
    Ok(())
}

/// Deletes every private component version tagged as ggp's for this group.
async fn destroy_components(ctx: &Ctx<'_>) -> Result<(), ProvisionError> {
    let gg = &ctx.c().greengrassv2;
    let mut components = Vec::new();
    let mut pages = gg
        .list_components()
        .scope(aws_sdk_greengrassv2::types::ComponentVisibilityScope::Private)
        .into_paginator()
        .items()
        .send();
    while let Some(c) = pages.next().await {
        let c = c.doing(|| "listing the components".to_string())?;
        components.extend(c.arn);
    }
    for arn in components {
        let mut versions = Vec::new();
        let mut pages = gg
            .list_component_versions()
            .arn(&arn)
            .into_paginator()
            .items()
            .send();
        while let Some(v) = pages.next().await {
            let v = v.doing(|| format!("listing the versions of {arn}"))?;
            if let (Some(n), Some(ver), Some(a)) = (v.component_name, v.component_version, v.arn) {
                versions.push((n, ver, a));
            }
        }
        for (name, version, varn) in versions {
            let tags = gg
                .list_tags_for_resource()
                .resource_arn(&varn)
                .send()
                .await
                .doing(|| format!("reading the tags of {varn}"))?
                .tags
                .unwrap_or_default();
            if tags.get(TAG_GROUP) != Some(&ctx.group) || !tags.contains_key(TAG_MANAGED_BY) {
                continue;
            }
            match gg.delete_component().arn(&varn).send().await {
                Ok(_) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(e).doing(|| format!("deleting the component {varn}")),
            }
            ctx.record(
                "greengrass-component",
                &format!("{name} {version}"),
                Action::Delete,
                vec![],
            );
        }
    }
    Ok(())
}
