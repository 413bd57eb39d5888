//! Deploying a Greengrass V1 group: the walk over the shared steps (roles ‖ the core's IoT
//! identity; role alias ‖ group role ‖ Lambda functions) and the group's own ([`super::greengrass`]:
//! definitions, group version, deployment), the same walk as a dry run for `ggp plan`, and the
//! step boundaries `GGP_FAIL_AFTER` can stop at.

use super::greengrass::{self, GroupInfo};
use super::plan::Plan;
use crate::provision::{
    iam, iot, lambda, unresolved_refused, Action, Cloud, Ctx, DeployOptions, DeployReport,
    DeploymentOutcome, Package, ProvisionError,
};

/// The step boundaries where `GGP_FAIL_AFTER` can stop a deploy of `plan`, in order.
pub fn steps(plan: &Plan) -> Vec<String> {
    let mut v: Vec<String> = [
        "after-group",
        "after-roles",
        "after-service-role",
        "after-certificate",
        "after-thing",
        "after-policy",
        "after-attachments",
        "after-role-alias",
        "after-group-role",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let prefix = format!("{}-", plan.group);
    for l in &plan.lambda {
        let f = l
            .function_name
            .strip_prefix(&prefix)
            .unwrap_or(&l.function_name);
        v.push(format!("after-lambda:{f}"));
    }
    v.extend(
        [
            "after-definitions",
            "after-group-version",
            "after-deployment",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    v
}

fn check_plan(plan: &Plan) -> Result<(), ProvisionError> {
    unresolved_refused(&plan.external_functions)
}

/// Finds the group by name, or creates it (tagged as ggp's). Its id is known from here on, so the
/// project can be loaded with `GROUP_ID` injected before the rest of the deploy.
pub async fn ensure_group(
    cloud: &Cloud,
    group: &str,
    opts: &DeployOptions,
) -> Result<GroupInfo, ProvisionError> {
    let ctx = Ctx::for_run(cloud, true, group, opts)?;
    greengrass::ensure_group(&ctx).await
}

/// Converges the account to `plan` and deploys the group; returns what changed and how the
/// deployment ended. `group` comes from [`ensure_group`]. A deployment that ends in `Failure` or
/// is still running at the deadline is reported, not returned as an error: the caller prints the
/// report, then [`DeployReport::result`] gives the error (exit 31 or 32).
pub async fn deploy(
    cloud: &Cloud,
    group: &GroupInfo,
    plan: &Plan,
    packages: &[Package],
    opts: &DeployOptions,
) -> Result<DeployReport, ProvisionError> {
    check_plan(plan)?;
    let ctx = Ctx::for_run(cloud, true, &plan.group, opts)?;
    let outcome = walk(&ctx, Some(group), plan, packages, opts).await?;
    Ok(ctx.finish(Some(group.id.clone()), Some(outcome)))
}

/// What [`deploy`] would do, without a single mutating call. `group` is `None` when the group
/// does not exist yet. Packages are optional: a function without one has its code reported as
/// unknown.
pub async fn diff(
    cloud: &Cloud,
    group: Option<&GroupInfo>,
    plan: &Plan,
    packages: &[Package],
    opts: &DeployOptions,
) -> Result<DeployReport, ProvisionError> {
    check_plan(plan)?;
    let ctx = Ctx::for_run(cloud, false, &plan.group, opts)?;
    let outcome = walk(&ctx, group, plan, packages, opts).await?;
    Ok(ctx.finish(group.map(|g| g.id.clone()), Some(outcome)))
}

/// The deploy, step by step. In a dry run (`ctx.apply == false`) every step only reads.
async fn walk(
    ctx: &Ctx<'_>,
    group: Option<&GroupInfo>,
    plan: &Plan,
    packages: &[Package],
    opts: &DeployOptions,
) -> Result<DeploymentOutcome, ProvisionError> {
    match group {
        Some(g) => {
            ctx.record(
                "greengrass-group",
                &g.name,
                if g.created {
                    Action::Create
                } else {
                    Action::Unchanged
                },
                vec![],
            );
            ctx.update_state(|s| {
                s.group_id = Some(g.id.clone());
                s.group_arn = Some(g.arn.clone());
            });
        }
        None => ctx.record("greengrass-group", &plan.group, Action::Create, vec![]),
    }

    // Roles ‖ the core's IoT identity (thing, certificate, policy, attachments). Branches run to
    // their end even when a sibling fails, so no create is abandoned in flight.
    let i = &plan.iam;
    let (roles, core) = tokio::join!(
        iam::converge(
            ctx,
            &i.core_role,
            i.lambda_role.as_ref(),
            i.service_role.as_ref()
        ),
        iot::converge_core(ctx, &plan.iot, opts)
    );
    let (roles, core) = (roles?, core?);

    // Role alias (needs the core role) ‖ group role ‖ Lambda functions (need the Lambda role).
    let (alias, group_role, versions, endpoints) = tokio::join!(
        iot::converge_role_alias(ctx, &plan.iot, &roles.core_arn),
        greengrass::converge_group_role(ctx, group, &roles.core_arn),
        lambda::converge_all(ctx, &plan.lambda, packages, opts),
        iot::remember_endpoints(ctx)
    );
    alias?;
    group_role?;
    endpoints?;
    let mut versions = versions?;
    // Existing functions are used as is; the versions their aliases point to are deployed too.
    versions.extend(plan.existing_versions.clone());

    let defs = greengrass::converge_definitions(ctx, group, plan, &core.certificate_arn, &versions)
        .await?;
    ctx.checkpoint("after-definitions")?;
    let gv = greengrass::converge_group_version(ctx, group, &defs).await?;
    ctx.checkpoint("after-group-version")?;
    let outcome = greengrass::converge_deployment(ctx, group, &gv, opts).await?;
    ctx.checkpoint("after-deployment")?;
    // What the config no longer has goes once nothing deployed refers to it.
    if outcome.status == "Success" || !ctx.apply {
        lambda::remove_stale(ctx, &plan.lambda).await?;
        greengrass::remove_stale_definitions(ctx, plan).await?;
        ctx.save_state()?;
    }
    Ok(outcome)
}
