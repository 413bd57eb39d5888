//! Deploying to Greengrass V2: the walk over the shared steps (roles ‖ the core's IoT identity;
//! role alias ‖ Lambda functions) and V2's own ([`super::greengrass`]: the thing group and the
//! core's membership, component versions, the thing-group deployment), the same walk as a dry run
//! for `ggp plan`, and the step boundaries `GGP_FAIL_AFTER` can stop at.

use serde_json::json;

use super::artifacts::{self, ArtifactLocation};
use super::greengrass::{self, ThingGroupInfo};
use super::plan::Plan;
use super::preflight;
use super::recipe::{artifact_root_prefix, default_artifact_bucket, ComponentKind};
use crate::model::{merge_policies, Role};
use crate::provision::{
    iam, iot, lambda, lambda::function_names, unresolved_refused, Action, Cloud, Ctx,
    DeployOptions, DeployReport, DeploymentOutcome, Package, ProvisionError, S3Location,
};

/// The service principal that assumes the token exchange role: the IoT credentials provider
/// (the trust of `super::policy::tes_trust`).
const TES_SERVICE: &str = "credentials.iot.amazonaws.com";

/// The step boundaries where `GGP_FAIL_AFTER` can stop a Greengrass V2 deploy of `plan`, in order.
pub fn steps(plan: &Plan) -> Vec<String> {
    let mut v: Vec<String> = [
        "after-thing-group",
        "after-roles",
        "after-service-role",
        "after-certificate",
        "after-thing",
        "after-policy",
        "after-attachments",
        "after-thing-group-membership",
        "after-role-alias",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for f in function_names(&plan.group, &plan.lambda).keys() {
        v.push(format!("after-lambda:{f}"));
    }
    v.extend(["after-components", "after-deployment"].map(String::from));
    v
}

/// Finds the thing group `<group>` (the deployment target), or creates it. Its id is `GROUP_ID`
/// in the functions' environments, so the project is loaded again after this.
pub async fn ensure_thing_group(
    cloud: &Cloud,
    group: &str,
    opts: &DeployOptions,
) -> Result<ThingGroupInfo, ProvisionError> {
    let ctx = Ctx::for_run(cloud, true, group, opts)?;
    greengrass::ensure_thing_group(&ctx).await
}

/// Converges the account to `plan` (roles, the core's IoT identity in the thing group, Lambda
/// functions, component versions) and deploys to the thing group; a failed or unfinished
/// deployment is in the report and [`DeployReport::result`] gives the error.
pub async fn deploy(
    cloud: &Cloud,
    group: &ThingGroupInfo,
    plan: &Plan,
    packages: &[Package],
    opts: &DeployOptions,
) -> Result<DeployReport, ProvisionError> {
    unresolved_refused(&plan.external_functions)?;
    let ctx = Ctx::for_run(cloud, true, &plan.group, opts)?;
    let outcome = walk(&ctx, Some(group), plan, packages, opts).await?;
    Ok(ctx.finish(Some(group.id.clone()), Some(outcome)))
}

/// What [`deploy`] would do, without a mutating call. `group` is `None` when the thing group does
/// not exist yet.
pub async fn diff(
    cloud: &Cloud,
    group: Option<&ThingGroupInfo>,
    plan: &Plan,
    packages: &[Package],
    opts: &DeployOptions,
) -> Result<DeployReport, ProvisionError> {
    unresolved_refused(&plan.external_functions)?;
    let ctx = Ctx::for_run(cloud, false, &plan.group, opts)?;
    let outcome = walk(&ctx, group, plan, packages, opts).await?;
    Ok(ctx.finish(group.map(|g| g.id.clone()), Some(outcome)))
}

/// The token exchange role as deployed: artifacts kept in a bucket of the user's (`--s3-bucket`)
/// must be readable by it, so the plan's statement on ggp's default bucket names that bucket and
/// directory instead.
fn token_exchange_role(plan: &Plan, s3: Option<&S3Location>) -> Role {
    let mut role = plan.iam.token_exchange_role.clone();
    let natives = plan
        .components
        .iter()
        .any(|c| c.kind == ComponentKind::Native);
    let Some(s3) = s3.filter(|_| natives) else {
        return role;
    };
    let default = crate::model::arn::s3_object(
        &plan.region,
        &default_artifact_bucket(&plan.account, &plan.region),
        &format!("{}*", artifact_root_prefix("")),
    );
    let ours = json!(crate::model::arn::s3_object(
        &plan.region,
        &s3.bucket,
        &format!("{}*", artifact_root_prefix(&s3.prefix)),
    ));
    let mut replaced = false;
    if let Some(doc) = role.v2_inline_policy.as_mut() {
        for st in doc["Statement"].as_array_mut().into_iter().flatten() {
            if st["Resource"] == json!(default) {
                st["Resource"] = ours.clone();
                replaced = true;
            }
        }
    }
    if !replaced {
        role.v2_inline_policy = merge_policies(role.v2_inline_policy.take().into_iter().chain([
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ours}]}),
        ]));
    }
    role
}

async fn walk(
    ctx: &Ctx<'_>,
    group: Option<&ThingGroupInfo>,
    plan: &Plan,
    packages: &[Package],
    opts: &DeployOptions,
) -> Result<DeploymentOutcome, ProvisionError> {
    // An existing role the user named must already be a token exchange role: checked before any
    // change of this walk.
    iam::check_existing_trust(ctx, &plan.iam.token_exchange_role, TES_SERVICE).await?;
    // So is the Region of the bucket the artifacts go to, when there are any.
    if plan
        .components
        .iter()
        .any(|c| c.kind == ComponentKind::Native)
    {
        artifacts::check_bucket_region(ctx, &ArtifactLocation::of(ctx, opts)).await?;
    }
    let action = match group {
        Some(g) if !g.created => Action::Unchanged,
        _ => Action::Create,
    };
    ctx.record(
        "iot-thing-group",
        &plan.iot.thing_group_name,
        action,
        vec![],
    );
    let tes = token_exchange_role(plan, opts.s3.as_ref());
    let core = &plan.iot.core;
    let (roles, identity) = tokio::join!(
        iam::converge(ctx, &tes, plan.iam.lambda_role.as_ref(), None),
        iot::converge_core(ctx, core, opts)
    );
    let (roles, identity) = (roles?, identity?);
    greengrass::converge_membership(ctx, &core.thing_name, &plan.iot.thing_group_name).await?;
    let (alias, versions, endpoints) = tokio::join!(
        iot::converge_role_alias(ctx, core, &roles.core_arn),
        lambda::converge_all(ctx, &plan.lambda, packages, opts),
        iot::remember_endpoints(ctx)
    );
    alias?;
    endpoints?;
    let versions = versions?;
    let components = greengrass::converge_components(ctx, plan, &versions, packages, opts).await?;
    // Before the deployment: may the core do what its components need? (A dry run reports it.)
    let location = ArtifactLocation::of(ctx, opts);
    let objects = preflight::ArtifactObjects {
        bucket: &location.bucket,
        prefix: &location.prefix,
        versions: &components,
    };
    let checked = preflight::run(
        ctx,
        plan,
        &identity.certificate_arn,
        &roles.core_arn,
        Some(&objects),
    )
    .await?;
    if ctx.apply {
        checked.result()?;
    }
    let target = group
        .map(|g| g.arn.clone())
        .unwrap_or_else(|| plan.iot.thing_group_arn.clone());
    let outcome = greengrass::converge_deployment(ctx, plan, &target, &components, opts).await?;
    ctx.checkpoint("after-deployment")?;
    // Lambda functions the configuration no longer has: the new deployment does not use them.
    if !ctx.apply || outcome.created && outcome.error_message.is_none() {
        lambda::remove_stale(ctx, &plan.lambda).await?;
        ctx.save_state()?;
    }
    Ok(outcome)
}
