//! `ggp status`: a deployed group as the account sees it, without a single mutating call. The
//! target comes from [`crate::target::pick`] (`--target`, else the group's state, else V2); the
//! reading is the target's (`target::v1::status`, `target::v2::status`). `--watch` reads again
//! until the latest deployment settles or Ctrl-C; `--group-ca` (V1) gives the group's
//! certificate authority as GGP's `--get-group-ca` did.
//!
//! Also the failures of `status`, `logs` and `diagnose` (exit statuses 50–54).

use std::path::PathBuf;
use std::time::Duration;

use crate::config::Target;
use crate::error::{exit, Failure, Result};
use crate::provision::Cloud;
use crate::target::{self, NoCloudLogs, Status};

use super::Context;

/// `ggp status`'s inputs.
#[derive(Debug, Clone)]
pub struct StatusRequest {
    pub group: String,
    pub target: Option<Target>,
    pub state_dir: PathBuf,
    /// `--group-ca`.
    pub group_ca: bool,
}

/// What `ggp status` shows.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    pub status: Status,
    /// `--group-ca`: the group's certificate authorities, PEM.
    pub group_ca: Option<Vec<String>>,
}

impl StatusReport {
    pub fn render_text(&self) -> String {
        match &self.group_ca {
            Some(pems) => pems.concat(),
            None => self.status.render_text(),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(&self.status).unwrap_or_default();
        if let Some(p) = &self.group_ca {
            v["groupCa"] = serde_json::json!(p);
        }
        v
    }

    /// Exit 51 when the latest deployment failed (after the report is shown).
    pub fn result(&self) -> Result<(), OperateError> {
        let failures = self.status.failures();
        if failures.is_empty() {
            return Ok(());
        }
        Err(OperateError::DeploymentFailed {
            group: group_of(&self.status),
            failures,
        })
    }
}

fn group_of(s: &Status) -> String {
    match s {
        Status::V1(s) => s.group.clone(),
        Status::V2(s) => s.group.clone(),
    }
}

/// What stops `status`, `logs` or `diagnose`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperateError {
    #[error("there is no {} named {group} in this account and region", if *target == Target::V1 { "Greengrass V1 group" } else { "Greengrass V2 thing group" })]
    NotFound { target: Target, group: String },
    #[error("the latest deployment of {group} failed: {}", failures.join("; "))]
    DeploymentFailed {
        group: String,
        failures: Vec<String>,
    },
    #[error("{0}")]
    NoCloudLogs(NoCloudLogs),
    #[error("{count} finding(s) for {group}")]
    Findings { group: String, count: usize },
    #[error("the Greengrass V1 group {0} has no group certificate authority")]
    NoGroupCa(String),
}

impl Failure for OperateError {
    fn exit_code(&self) -> i32 {
        match self {
            OperateError::NotFound { .. } => exit::GROUP_NOT_FOUND,
            OperateError::DeploymentFailed { .. } => exit::STATUS_FAILED,
            OperateError::NoCloudLogs(_) => exit::NO_CLOUD_LOGS,
            OperateError::Findings { .. } => exit::FINDINGS,
            OperateError::NoGroupCa(_) => exit::NO_GROUP_CA,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            OperateError::NotFound { target, .. } => Some(format!(
                "check -g and the region; ggp looked for a {} group (--target v1|v2 picks the other one)",
                if *target == Target::V1 { "V1" } else { "V2" }
            )),
            OperateError::DeploymentFailed { group, .. } => Some(format!(
                "`ggp diagnose -g {group}` turns the device's errors into fixes"
            )),
            OperateError::NoCloudLogs(n) => Some(format!(
                "to send them, add {}, and deploy again",
                n.setting
            )),
            OperateError::Findings { group, .. } => Some(format!(
                "fix what each finding says, deploy again, then `ggp status -g {group} --watch`"
            )),
            OperateError::NoGroupCa(_) => {
                Some("a group gets one with its first deployment".into())
            }
        }
    }
}

/// The target of a request: `--target`, else the group's state, else V2.
pub(crate) fn target_of(
    ctx: &Context,
    flag: Option<Target>,
    state_dir: &std::path::Path,
    group: &str,
) -> Result<Target> {
    let state = ctx.state(state_dir, group)?;
    Ok(target::pick(flag, None, Some(&state)))
}

/// The group's status, or [`OperateError::NotFound`].
pub(crate) async fn read(cloud: &Cloud, t: Target, group: &str) -> Result<Status> {
    Ok(target::status(cloud, t, group)
        .await?
        .ok_or_else(|| OperateError::NotFound {
            target: t,
            group: group.to_string(),
        })?)
}

/// Reads the group once.
pub async fn status(ctx: &Context, req: &StatusRequest) -> Result<StatusReport> {
    let t = target_of(ctx, req.target, &req.state_dir, &req.group)?;
    if req.group_ca && t == Target::V2 {
        return Err(crate::error::Error::Usage(
            "--group-ca is for Greengrass V1 groups (--target v1): a V2 core device has no group certificate authority".into(),
        ));
    }
    let cloud = ctx.cloud().await?;
    let status = read(cloud, t, &req.group).await?;
    let group_ca = if req.group_ca {
        let pems = target::group_ca(cloud, &status).await?.unwrap_or_default();
        if pems.is_empty() {
            return Err(OperateError::NoGroupCa(req.group.clone()).into());
        }
        Some(pems)
    } else {
        None
    };
    Ok(StatusReport { status, group_ca })
}

/// `--watch`: reads the group every `interval` until its latest deployment settles or SIGINT;
/// `each` sees every read (the caller shows those that changed). Returns the last read.
pub async fn watch(
    ctx: &Context,
    req: &StatusRequest,
    interval: Duration,
    each: &mut (dyn FnMut(&StatusReport) -> Result<()> + Send),
) -> Result<StatusReport> {
    let mut stop = super::interrupt()?;
    loop {
        let report = status(ctx, req).await?;
        each(&report)?;
        if report.status.settled() {
            return Ok(report);
        }
        tokio::select! {
            _ = &mut stop => return Ok(report),
            _ = tokio::time::sleep(interval) => {}
        }
    }
}
