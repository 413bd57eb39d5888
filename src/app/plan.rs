//! `ggp plan`: what a deploy would create, update or delete. Offline it is the plan of the
//! project alone (placeholders where the account is not known); with credentials it is the plan
//! with the account's real values and the difference per resource, made without a single
//! mutating call.

use std::path::PathBuf;

use serde_json::json;

use crate::config::{Injected, Project, ProjectPaths, Target};
use crate::error::Result;
use crate::model::{self, Artifact};
use crate::provision::{DeployOptions, DeployReport, GitCheckouts, Package};
use crate::target::{self, Plan};

use super::Context;

/// `ggp plan`'s inputs.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    pub group: String,
    /// `-d`: a deployment file, or `EMPTY`.
    pub deployment: String,
    /// `--target`.
    pub target: Option<Target>,
    pub model: model::Options,
    /// `--offline`: never compare with the account.
    pub offline: bool,
    pub state_dir: PathBuf,
    /// The packages to compare the functions' code with (tests); `None`: those `ggp build` left
    /// in the project's build folder, if any.
    pub packages: Option<Vec<Package>>,
}

/// The plan, and what would change in the account when it was compared with it.
#[derive(Debug, Clone)]
pub struct PlanReport {
    pub plan: Plan,
    /// `None` for an offline plan.
    pub changes: Option<DeployReport>,
    /// The configuration's warnings, for the log (stderr).
    pub warnings: Vec<String>,
}

impl PlanReport {
    pub fn render_text(&self) -> String {
        match &self.changes {
            None => self.plan.render_text(),
            Some(c) => format!("{}\n{}", self.plan.render_text(), c.render_text()),
        }
    }

    /// The plan's JSON offline; `{"plan", "changes"}` against the account.
    pub fn to_json(&self) -> serde_json::Value {
        let plan = serde_json::to_value(&self.plan).unwrap_or_default();
        match &self.changes {
            None => plan,
            Some(c) => json!({"plan": plan, "changes": c}),
        }
    }
}

/// The packages `ggp build` already made for the plan's artifacts (never built by a plan).
fn built_packages(paths: &ProjectPaths, artifacts: &[Artifact]) -> Vec<Package> {
    artifacts
        .iter()
        .filter_map(|a| {
            let path = paths.root.join(&a.package);
            path.is_file()
                .then(|| Package::from_file(&a.function, &path).ok())
                .flatten()
        })
        .collect()
}

fn warnings(project: &Project) -> Vec<String> {
    project.warnings.iter().map(ToString::to_string).collect()
}

/// Computes the plan; compares it with the account unless `--offline` or no credentials.
pub async fn plan(ctx: &Context, req: &PlanRequest) -> Result<PlanReport> {
    let source = ctx.source(&req.deployment);
    let injected = Injected::offline(&req.group, ctx.offline_region());
    let started = std::time::Instant::now();
    let mut project = ctx.load(&source, &injected)?;
    tracing::debug!(
        "loaded {} function(s) in {:?}",
        project.functions.len(),
        started.elapsed()
    );
    let state = ctx.state(&req.state_dir, &req.group)?;
    let target = target::pick(req.target, project.deployment.target, Some(&state));
    // Before the account is asked anything: a blocked runtime fails the plan either way.
    ctx.check_runtimes(&mut project, target)?;
    if !req.offline {
        if let Some(report) = online(ctx, req, target).await? {
            return Ok(report);
        }
    }
    let started = std::time::Instant::now();
    let desired = model::build(&project, &injected, &req.model);
    let plan = Plan::derive(&desired, target)?;
    tracing::debug!("planned in {:?}", started.elapsed());
    // The configuration's warnings also go to the log (not on top of --json).
    let warnings = if ctx.ui.json {
        Vec::new()
    } else {
        warnings(&project)
    };
    Ok(PlanReport {
        plan,
        changes: None,
        warnings,
    })
}

/// The plan with the account's real values and the difference per resource (a V1 group or a V2
/// thing group); `None` when there are no credentials or no region.
async fn online(ctx: &Context, req: &PlanRequest, target: Target) -> Result<Option<PlanReport>> {
    let Some(cloud) = ctx.cloud_if_any().await? else {
        return Ok(None);
    };
    let group = target::find(cloud, target, &req.group).await?;
    let injected = Injected {
        group_name: req.group.clone(),
        account_id: Some(cloud.account.clone()),
        region: Some(cloud.region.clone()),
        group_id: group.as_ref().map(|g| g.id().to_string()),
    };
    let source = ctx.source(&req.deployment);
    let mut project = ctx.load(&source, &injected)?;
    let git = GitCheckouts::clone_all(&project)?;
    crate::provision::resolve_functions(cloud, &mut project, &git, &injected, &ctx.env).await?;
    ctx.check_runtimes(&mut project, target)?;
    let mut opts = req.model.clone();
    let mut missing_secrets = Vec::new();
    if target == Target::V2 {
        let (found, missing) =
            crate::provision::resolve_secrets(cloud, &project, &Default::default()).await?;
        opts.secret_arns = found;
        missing_secrets = missing;
    }
    let desired = model::build(&project, &injected, &opts);
    let plan = Plan::derive(&desired, target)?;
    // Code is compared when a package was built already (`ggp build`); never built here.
    let packages = match &req.packages {
        Some(p) => p.clone(),
        None => built_packages(&ctx.paths, plan.artifacts()),
    };
    let mut opts = DeployOptions::new(req.state_dir.clone());
    opts.ggp_credentials = ctx.ggp_credentials(&req.group)?;
    let changes = target::diff(cloud, group.as_ref(), &plan, &packages, &opts).await?;
    let mut warnings = warnings(&project);
    warnings.extend(missing_secrets.iter().map(|m| {
        format!(
            "{m} does not exist in {}: a deploy would stop here",
            cloud.region
        )
    }));
    Ok(Some(PlanReport {
        plan,
        changes: Some(changes),
        warnings,
    }))
}
