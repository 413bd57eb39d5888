//! `ggp deploy` and GGP's flag form: the whole command sequence.
//!
//! Load and check the project; clone git functions (built like local folders); pick the target;
//! build the packages for the one architecture; connect; load the project again with the real
//! account and region, resolve functions that are not local folders and derive the plan, all
//! before any change; find or create the group (V1) or thing group (V2), whose id is `GROUP_ID`
//! (the plan is derived again when the group is new); converge and deploy; then write the offline
//! outputs that were asked for, from what provisioning stored.

use crate::arch::Arch;
use crate::build::BuildOptions;
use crate::config::{DeploymentSource, Injected, Project, Target};
use crate::error::{Error, Result};
use crate::model;
use crate::provision::{DeployOptions, DeployReport, GitCheckouts, Package};
use crate::target::{self, Plan};

use super::bundle::{BundleReport, BundleRequest};
use super::Context;

/// `ggp deploy`'s inputs.
#[derive(Debug, Clone)]
pub struct DeployRequest {
    pub group: String,
    /// `-d`: a deployment file, or `EMPTY`.
    pub deployment: String,
    pub target: Option<Target>,
    /// `-a`: one architecture (none: X86_64).
    pub archs: Vec<Arch>,
    /// Certificate source, `--core-role-name`, `--core-policy-name`, `--service-role-exists`.
    pub model: model::Options,
    pub provision: DeployOptions,
    /// The packages to deploy, when already built (tests); `None`: built here with Docker.
    pub packages: Option<Vec<Package>>,
    /// `--bundle`, `--script`, `--oem`: the offline outputs written after a successful deploy
    /// (the group, target and architecture are the deploy's).
    pub outputs: Option<BundleRequest>,
}

/// What the deploy did, and the offline outputs it wrote.
#[derive(Debug)]
pub struct DeployOutcome {
    pub report: DeployReport,
    /// `None` when none were asked for, or the deployment did not succeed.
    pub bundle: Option<Result<BundleReport>>,
}

/// The one architecture a deploy builds for.
fn one_arch(archs: &[Arch], target: Target, project: &Project) -> Result<Arch> {
    match archs {
        [] => {
            if !project.functions.is_empty() {
                tracing::warn!("no -a: the functions are built for X86_64");
            }
            Ok(Arch::X86_64)
        }
        [a] => Ok(*a),
        _ => Err(Error::Usage(target::one_architecture(target).into())),
    }
}

/// The packages of `project` for `arch`: given, or built with the engine at `DOCKER_HOST`.
async fn packages(
    ctx: &Context,
    req: &DeployRequest,
    project: &Project,
    arch: Arch,
) -> Result<Vec<Package>> {
    if let Some(p) = &req.packages {
        return Ok(p.clone());
    }
    if project.functions.is_empty() {
        return Ok(Vec::new());
    }
    let opts = BuildOptions::for_project(&ctx.paths.root, ctx.env.clone());
    let artifacts = super::build::packages(ctx, project, &[arch], &opts).await?;
    Ok(Package::from_artifacts(&ctx.paths.root, &artifacts, arch))
}

/// What every derivation of a deploy's plan takes.
#[derive(Clone, Copy)]
struct Pass<'a> {
    req: &'a DeployRequest,
    source: &'a DeploymentSource,
    git: &'a GitCheckouts,
    target: Target,
    arch: Arch,
}

/// The plan of the project for `arch`, loaded with the account, region and `group_id` (GROUP_ID
/// in environments; a placeholder when `None`), its functions resolved and runtimes checked.
/// `secrets` holds the secrets' ARNs resolved so far (a second pass reads only new ones).
async fn derive(
    ctx: &Context,
    p: &Pass<'_>,
    group_id: Option<String>,
    secrets: &mut std::collections::BTreeMap<String, String>,
) -> Result<Plan> {
    let Pass {
        req,
        source,
        git,
        target,
        arch,
    } = *p;
    let cloud = ctx.cloud().await?;
    let injected = Injected {
        group_name: req.group.clone(),
        account_id: Some(cloud.account.clone()),
        region: Some(cloud.region.clone()),
        group_id,
    };
    let mut project = ctx.load(source, &injected)?;
    crate::provision::resolve_functions(cloud, &mut project, git, &injected, &ctx.env).await?;
    ctx.check_runtimes(&mut project, target)?;
    let mut opts = req.model.clone();
    opts.archs = vec![arch];
    if target == Target::V2 {
        // SecretManager reads each secret by its full ARN: a missing one stops the deploy here.
        let (found, missing) = crate::provision::resolve_secrets(cloud, &project, secrets).await?;
        if !missing.is_empty() {
            return Err(crate::provision::ProvisionError::Input(format!(
                "{} do(es) not exist in {} (localSecretsManagerResources); nothing was changed: create the secret (aws secretsmanager create-secret --name NAME) or fix the name",
                missing.join(", "),
                cloud.region
            ))
            .into());
        }
        *secrets = found;
        opts.secret_arns = secrets.clone();
    }
    Ok(Plan::derive(
        &model::build(&project, &injected, &opts),
        target,
    )?)
}

/// Builds, provisions and deploys the group, then writes the outputs asked for.
pub async fn deploy(ctx: &Context, req: &DeployRequest) -> Result<DeployOutcome> {
    let source = ctx.source(&req.deployment);
    // The project is checked and its packages built before anything touches AWS.
    let offline = Injected::offline(&req.group, ctx.offline_region());
    let mut project = ctx.load(&source, &offline)?;
    // Git functions are cloned once and built like local folders; existing Lambda functions are
    // resolved once the account is known.
    let git = GitCheckouts::clone_all(&project)?;
    git.add_to(&mut project, &offline, &ctx.env)?;
    let state = ctx.state(&req.provision.state_dir, &req.group)?;
    let target = target::pick(req.target, project.deployment.target, Some(&state));
    // A blocked Lambda runtime stops the deploy here, before anything is built or changed; an
    // upgraded one is what gets built.
    ctx.check_runtimes(&mut project, target)?;
    // What `ggp plan` shows as warnings (unknown keys, a function.cf.yaml ggp does not deploy,
    // upgraded runtimes).
    for w in &project.warnings {
        tracing::warn!("{w}");
    }
    let arch = one_arch(&req.archs, target, &project)?;
    let packages = packages(ctx, req, &project, arch).await?;

    let cloud = ctx.cloud().await?;
    // The plan is derived and checked before anything is made, so a plan the target refuses
    // (a mapping error, an alias on $LATEST, a blocked runtime) leaves the account as it was.
    // GROUP_ID is the existing group's, or a placeholder until the group is made.
    let found = target::find(cloud, target, &req.group).await?;
    let found_id = found.as_ref().map(|g| g.id().to_string());
    let pass = Pass {
        req,
        source: &source,
        git: &git,
        target,
        arch,
    };
    let mut secrets = std::collections::BTreeMap::new();
    let mut plan = derive(ctx, &pass, found_id.clone(), &mut secrets).await?;
    let group = target::ensure(cloud, target, &req.group, &req.provision).await?;
    if found_id.as_deref() != Some(group.id()) {
        // Derived again with the id of the group just made (GROUP_ID in environments).
        plan = derive(ctx, &pass, Some(group.id().to_string()), &mut secrets).await?;
    }
    // GGP's credentials of the group, adopted on a first run (no certificate stored yet).
    let mut provision = req.provision.clone();
    provision.ggp_credentials = ctx.ggp_credentials(&req.group)?;
    let report = target::deploy(cloud, &group, &plan, &packages, &provision).await?;

    let bundle = match &req.outputs {
        Some(b) if report.result().is_ok() => {
            let mut b = b.clone();
            b.group = req.group.clone();
            b.target = Some(target);
            b.archs = vec![arch];
            b.state_dir = req.provision.state_dir.clone();
            Some(super::bundle::bundle(ctx, &b).await)
        }
        _ => None,
    };
    Ok(DeployOutcome { report, bundle })
}
