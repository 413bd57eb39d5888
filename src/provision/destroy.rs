//! Deleting what ggp created for a group that both targets have: its Lambda functions, the core
//! certificate (detached, deactivated, deleted), its things, its IoT policy, and the role alias
//! and roles when nothing else uses them. Nothing else: only what carries ggp's marks (tags
//! `ggp:managed-by`/`ggp:group`, thing attribute `ggpGroup`) is deleted, so a role, policy or
//! certificate the user brought stays. Each target's `destroy` (`target::v1::destroy`,
//! `target::v2::destroy`) deletes its own resources first and then these.
//!
//! It works from the account alone (a lost state file is fine) and is safe to run again after
//! an interruption: each step looks before it deletes.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_iot::types::CertificateStatus;
use serde::Serialize;

use super::error::{is_not_found, Doing, ProvisionError};
use super::iot::{
    attached_policies, cert_id, describe_thing, thing_principals, ATTR_CERT, ATTR_GROUP,
};
use super::state::{CertOrigin, StateStore};
use super::{Action, CallStats, Change, Cloud, Ctx, TAG_GROUP, TAG_MANAGED_BY};

#[derive(Debug, Clone)]
pub struct DestroyOptions {
    /// The group's state folder (default `<project>/.ggp/<group>`); removed at the end.
    pub state_dir: PathBuf,
    /// How long to wait for the deployment reset.
    pub reset_timeout: Duration,
    /// Where deletions and waits are shown as they happen.
    pub progress: super::Progress,
}

impl DestroyOptions {
    pub fn new(state_dir: PathBuf) -> DestroyOptions {
        DestroyOptions {
            state_dir,
            reset_timeout: Duration::from_secs(120),
            progress: super::Progress::quiet(),
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

/// A destroy run for `group`, with the state at `opts.state_dir`.
pub(crate) fn start<'a>(
    cloud: &'a Cloud,
    group: &str,
    opts: &DestroyOptions,
) -> Result<Ctx<'a>, ProvisionError> {
    let mut ctx = Ctx::new(
        cloud,
        true,
        group,
        StateStore::new(&opts.state_dir),
        None,
        Duration::from_secs(0),
    )?;
    ctx.progress = opts.progress.clone();
    Ok(ctx)
}

/// Removes the group's state and reports what the run deleted and kept.
pub(crate) fn finish(ctx: &Ctx<'_>) -> Result<DestroyReport, ProvisionError> {
    ctx.store.remove()?;
    let report = ctx.finish(None, None);
    Ok(DestroyReport {
        group: ctx.group.clone(),
        changes: report.changes,
        warnings: report.warnings,
        api_calls: report.api_calls,
    })
}

/// Deletes the group's Lambda functions; returns the roles they ran with.
pub(crate) async fn destroy_functions(ctx: &Ctx<'_>) -> Result<BTreeSet<String>, ProvisionError> {
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

pub(crate) async fn destroy_iot(ctx: &Ctx<'_>) -> Result<(), ProvisionError> {
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
                "{}:cert/{id}",
                crate::model::arn::prefix("iot", &ctx.cloud.region, &ctx.cloud.account)
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
pub(crate) async fn delete_certificate(ctx: &Ctx<'_>, arn: &str) -> Result<(), ProvisionError> {
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

pub(crate) async fn iot_tags(
    ctx: &Ctx<'_>,
    arn: &str,
) -> Result<HashMap<String, String>, ProvisionError> {
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

pub(crate) async fn destroy_policy(ctx: &Ctx<'_>, name: &str) -> Result<(), ProvisionError> {
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
pub(crate) async fn managed_role(
    ctx: &Ctx<'_>,
    arn: &str,
) -> Result<Option<String>, ProvisionError> {
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

pub(crate) async fn delete_role(ctx: &Ctx<'_>, name: &str) -> Result<(), ProvisionError> {
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

/// The core role and the role alias pointing at it, and the Lambda roles, each only when nothing
/// else uses it. `in_use`: core roles other groups still use; `lambda_roles`: the roles of the
/// group's deleted functions.
pub(crate) async fn destroy_roles(
    ctx: &Ctx<'_>,
    in_use: BTreeSet<String>,
    core_role: Option<String>,
    lambda_roles: BTreeSet<String>,
) -> Result<(), ProvisionError> {
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
    Ok(())
}
