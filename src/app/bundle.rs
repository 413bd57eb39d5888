//! `ggp bundle`: the offline installers of a provisioned group, from what the deploy stored
//! (certificate, key, thing, endpoints): V1's bundle, script and OEM archive per architecture, or
//! V2's bundle. No AWS call when the state has the endpoints, except to upload with
//! `--s3-bucket`.

use std::path::PathBuf;

use serde_json::json;

use crate::arch::Arch;
use crate::bundle::stored::{self, Stored};
use crate::bundle::{BundleOutputs, Written};
use crate::config::{Injected, Project, Target};
use crate::error::Result;
use crate::provision::S3Location;
use crate::target::{self, v1::bundle::Pkcs11, BundleJob};

use super::Context;

/// How the outputs are made (`--core-software`, `--split-secrets`, …).
#[derive(Debug, Clone, Default)]
pub struct BundleSettings {
    pub core_software: Option<PathBuf>,
    pub core_software_sha256: Option<String>,
    pub split_secrets: bool,
    pub include_deb: Vec<PathBuf>,
    pub hsi: Option<Pkcs11>,
}

/// `ggp bundle`'s inputs.
#[derive(Debug, Clone, Default)]
pub struct BundleRequest {
    pub group: String,
    /// `-d`: the installer's `--check` looks for the runtimes its functions need; V2 takes the
    /// FileSystem loggers from it.
    pub deployment: Option<String>,
    pub target: Option<Target>,
    pub archs: Vec<Arch>,
    pub script: bool,
    pub oem: bool,
    pub mqtt_port: Option<u16>,
    pub no_systemd: bool,
    /// `--s3-bucket`/`--s3-directory`: where the outputs are uploaded (never the secret files).
    pub upload: Option<S3Location>,
    /// `--out` (default `build/` in the project).
    pub out: Option<PathBuf>,
    pub state_dir: PathBuf,
    pub settings: BundleSettings,
}

/// The files written and where they were uploaded.
#[derive(Debug, Clone)]
pub struct BundleReport {
    pub files: Vec<Written>,
    pub uploaded: Vec<String>,
}

impl BundleReport {
    pub fn render_text(&self) -> String {
        let out = BundleOutputs {
            files: self.files.clone(),
            manifest: serde_json::Value::Null,
        };
        let mut t = out.render_text();
        for u in &self.uploaded {
            t.push_str(&format!("uploaded {u}\n"));
        }
        t
    }

    pub fn to_json(&self) -> serde_json::Value {
        json!({ "files": self.files, "uploaded": self.uploaded })
    }
}

/// The data and credential endpoints for a bundle: recorded by the deploy, so no AWS call (a
/// state from before ggp recorded them: asked for with DescribeEndpoint).
async fn endpoints(ctx: &Context, state: &Stored) -> Result<(String, String)> {
    if let Some(e) = &state.endpoints {
        return Ok(e.clone());
    }
    let cloud = ctx.cloud().await?;
    Ok(stored::endpoints(&cloud.clients.iot).await?)
}

/// Writes the group's offline outputs and uploads them when asked.
pub async fn bundle(ctx: &Context, req: &BundleRequest) -> Result<BundleReport> {
    let epoch = ctx.epoch()?;
    // Loaded once: its target, loggers and runtimes (none of which depend on account or region).
    let mut project: Option<Project> = match &req.deployment {
        Some(dep) => Some(ctx.load(&ctx.source(dep), &Injected::offline(&req.group, None))?),
        None => None,
    };
    let conf = project.as_ref().and_then(|p| p.deployment.target);
    let target = target::pick(
        req.target,
        conf,
        Some(&ctx.state(&req.state_dir, &req.group)?),
    );
    if let Some(p) = project.as_mut() {
        ctx.check_runtimes(p, target)?;
    }
    let out_dir = match &req.out {
        Some(o) => std::path::absolute(o).map_err(|e| crate::error::Error::io(o, e))?,
        None => ctx.paths.root.join("build"),
    };
    let state = stored::load_dir(&req.state_dir, &req.group)?;
    let s = &req.settings;
    let job = BundleJob {
        group: &req.group,
        state: &state,
        endpoints: endpoints(ctx, &state).await?,
        project: project.as_ref(),
        archs: &req.archs,
        script: req.script,
        oem: req.oem,
        mqtt_port: req.mqtt_port.unwrap_or(8883),
        use_systemd: !req.no_systemd,
        core_software: s.core_software.as_deref(),
        core_software_sha256: s.core_software_sha256.as_deref(),
        search_dirs: crate::bundle::search_dirs(&ctx.env),
        split_secrets: s.split_secrets,
        include_debs: &s.include_deb,
        hsi: s.hsi.as_ref(),
        out_dir: &out_dir,
        epoch,
    };
    let files = target::bundle(target, &job)?;
    let uploaded = match &req.upload {
        Some(s3) => {
            let cloud = ctx.cloud().await?;
            crate::bundle::s3::upload(&cloud.clients.s3, &s3.bucket, &s3.prefix, &files).await?
        }
        None => Vec::new(),
    };
    Ok(BundleReport { files, uploaded })
}
