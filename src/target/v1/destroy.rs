//! `ggp destroy -g GROUP` of a Greengrass V1 group: reset the group's deployments, then delete
//! the group and its definitions, then what both targets share ([`crate::provision::destroy`]),
//! the service role last and only when no other V1 group exists.

use std::collections::BTreeSet;
use std::time::Duration;

use super::greengrass::{self, delete_definition, list_definitions, GroupInfo, Kind};
use crate::provision::destroy::{self as shared, destroy_functions, destroy_iot, destroy_roles};
use crate::provision::destroy::{delete_role, managed_role, DestroyOptions, DestroyReport};
use crate::provision::error::{status_of, Doing, ProvisionError};
use crate::provision::{Action, Backoff, Cloud, Ctx, TAG_GROUP, TAG_MANAGED_BY};

/// Deletes what ggp made for the V1 group `group`, and nothing else.
pub async fn destroy(
    cloud: &Cloud,
    group: &str,
    opts: &DestroyOptions,
) -> Result<DestroyReport, ProvisionError> {
    let ctx = shared::start(cloud, group, opts)?;
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
    destroy_roles(&ctx, in_use, core_role, lambda_roles).await?;
    destroy_service_role(&ctx, &others).await?;
    shared::finish(&ctx)
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
            await_reset(ctx, g, &id, opts).await?;
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

/// Waits for the reset `id` of group `g`; deletes anyway (with a warning) when it fails or does
/// not finish in time.
async fn await_reset(
    ctx: &Ctx<'_>,
    g: &GroupInfo,
    id: &str,
    opts: &DestroyOptions,
) -> Result<(), ProvisionError> {
    let gg = &ctx.c().greengrass;
    let mut backoff = Backoff::new(
        Duration::from_millis(100),
        Duration::from_secs(5),
        opts.reset_timeout,
    );
    let waiting = ctx.progress.wait(format!("the reset of group {}", g.name));
    loop {
        let s = gg
            .get_deployment_status()
            .group_id(&g.id)
            .deployment_id(id)
            .send()
            .await
            .doing(|| format!("reading the status of the reset {id}"))?;
        let status = s.deployment_status().unwrap_or("").to_string();
        match status.as_str() {
            "Success" => {}
            "Failure" => ctx.warn(format!(
                "the reset of group {} failed ({}); deleting anyway",
                g.name,
                s.error_message().unwrap_or("no message")
            )),
            _ => {
                waiting.still(&status);
                if backoff.next().await {
                    continue;
                }
                ctx.warn(format!(
                    "the reset of group {} did not finish within {}s; deleting anyway",
                    g.name,
                    opts.reset_timeout.as_secs()
                ));
            }
        }
        waiting.done(&status);
        return Ok(());
    }
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

/// The account-wide Greengrass service role: kept while any other V1 group exists.
pub(super) async fn destroy_service_role(
    ctx: &Ctx<'_>,
    others: &[GroupInfo],
) -> Result<(), ProvisionError> {
    let gg = &ctx.c().greengrass;
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
