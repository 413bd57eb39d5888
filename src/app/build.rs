//! `ggp build`: the function packages of a deployment, per architecture, built in Docker without
//! touching AWS. Git functions are cloned and built like local folders.

use std::path::PathBuf;

use crate::arch::Arch;
use crate::build::{Artifact, BuildError, BuildOptions, JobFailure, Progress};
use crate::config::{Injected, Project};
use crate::docker::DockerLazy;
use crate::error::Result;
use crate::provision::GitCheckouts;

use super::Context;

/// `ggp build`'s inputs.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// The group name the configuration sees (`GROUP_ID` and the like stay placeholders).
    pub group: String,
    /// `-d`: a deployment file.
    pub deployment: String,
    pub archs: Vec<Arch>,
    /// `--out` (default `build/functions`).
    pub out: Option<PathBuf>,
    pub no_cache: bool,
    /// `-j` (default: the number of cores).
    pub jobs: Option<usize>,
}

/// What was built, and what failed.
#[derive(Debug)]
pub struct BuildReport {
    /// The packages, or the error the build ended with (which lists what did build).
    pub outcome: std::result::Result<Vec<Artifact>, BuildError>,
}

impl BuildReport {
    /// The packages built (also those of a build that failed elsewhere).
    pub fn built(&self) -> &[Artifact] {
        match &self.outcome {
            Ok(a) => a,
            Err(BuildError::Failed { built, .. }) => built,
            Err(_) => &[],
        }
    }

    pub fn failures(&self) -> &[JobFailure] {
        match &self.outcome {
            Err(BuildError::Failed { failures, .. }) => failures,
            _ => &[],
        }
    }

    pub fn render_text(&self) -> String {
        crate::build::render_text(self.built())
    }

    pub fn render_json(&self) -> String {
        crate::build::render_json(self.built(), self.failures())
    }

    /// Ok when every job built.
    pub fn result(self) -> Result<()> {
        self.outcome.map(|_| ()).map_err(Into::into)
    }
}

/// Builds `project`'s packages for `archs` with the engine at `DOCKER_HOST` (the build stage's
/// options for the project, as `ggp build` uses them).
pub async fn packages(
    ctx: &Context,
    project: &Project,
    archs: &[Arch],
    opts: &BuildOptions,
) -> std::result::Result<Vec<Artifact>, BuildError> {
    let progress = Progress::detect(ctx.ui.json, ctx.ui.quiet, ctx.ui.verbose);
    let docker = DockerLazy::from_env(&ctx.env);
    crate::build::build(project, archs, opts, &docker, &progress).await
}

/// Builds the packages of the deployment's functions.
pub async fn build(ctx: &Context, req: &BuildRequest) -> Result<BuildReport> {
    let source = ctx.source(&req.deployment);
    let injected = Injected::offline(&req.group, ctx.offline_region());
    let mut project = ctx.load(&source, &injected)?;
    let git = GitCheckouts::clone_all(&project)?; // git functions: built from a clone
    git.add_to(&mut project, &injected, &ctx.env)?;
    // Built for the runtime a deploy would use (an upgraded one with `upgradeRuntime`).
    let target = crate::target::pick(None, project.deployment.target, None);
    ctx.check_runtimes(&mut project, target)?;
    let mut opts = BuildOptions::for_project(&ctx.paths.root, ctx.env.clone());
    if let Some(out) = &req.out {
        opts.out_dir = std::path::absolute(out).map_err(|e| crate::error::Error::io(out, e))?;
    }
    opts.no_cache = req.no_cache;
    opts.jobs = req.jobs.unwrap_or(opts.jobs);
    Ok(BuildReport {
        outcome: packages(ctx, &project, &req.archs, &opts).await,
    })
}
