//! `ggp destroy --target v2`: the thing group's deployments ggp made (canceled, deleted), the
//! component versions ggp made for the group, its artifacts, the core device record, then what
//! both targets share ([`crate::provision::destroy`]), the thing group, and the role alias and
//! roles when no other ggp thing group may use them. Only what carries ggp's marks, and safe to
//! run again.

use std::collections::BTreeSet;

use super::greengrass::find_thing_group;
use crate::provision::destroy::{
    self as shared, destroy_functions, destroy_iot, destroy_roles, iot_tags,
};
use crate::provision::destroy::{DestroyOptions, DestroyReport};
use crate::provision::error::{is_not_found, Doing, ProvisionError};
use crate::provision::iot::{describe_thing, ATTR_GROUP};
use crate::provision::{Action, Cloud, Ctx, TAG_GROUP, TAG_MANAGED_BY};

/// `ggp destroy --target v2`: the thing group's deployments ggp made (canceled, deleted), the
/// component versions ggp made for the group, the core device record, the Lambda functions, the
/// core's IoT identity, the thing group, and the role alias and roles when no other ggp thing
/// group may use them. Like [`destroy`], only what carries ggp's marks, and safe to run again.
pub async fn destroy(
    cloud: &Cloud,
    group: &str,
    opts: &DestroyOptions,
) -> Result<DestroyReport, ProvisionError> {
    let ctx = shared::start(cloud, group, opts)?;
    let tg = find_thing_group(cloud, group).await?;
    if let Some(tg) = &tg {
        destroy_v2_deployments(&ctx, &tg.arn).await?;
    }
    destroy_components(&ctx).await?;
    super::artifacts::destroy_group_artifacts(&ctx).await?;
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
    destroy_roles(&ctx, in_use, core_role, lambda_roles).await?;
    shared::finish(&ctx)
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
