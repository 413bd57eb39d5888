//! `ggp destroy -g GROUP`: what ggp made for the group, deleted, and nothing else; the target is
//! the flag's, else what the group's state says, else Greengrass V2.

use std::path::PathBuf;

use crate::config::Target;
use crate::error::Result;
use crate::provision::{DestroyOptions, DestroyReport, Progress};
use crate::target;

use super::Context;

/// `ggp destroy`'s inputs.
#[derive(Debug, Clone)]
pub struct DestroyRequest {
    pub group: String,
    pub target: Option<Target>,
    /// The group's state folder; removed at the end.
    pub state_dir: PathBuf,
}

pub async fn destroy(ctx: &Context, req: &DestroyRequest) -> Result<DestroyReport> {
    let state = ctx.state(&req.state_dir, &req.group)?;
    let target = target::pick(req.target, None, Some(&state));
    let cloud = ctx.cloud().await?;
    let mut opts = DestroyOptions::new(req.state_dir.clone());
    opts.progress = Progress::detect("destroy", ctx.ui.json, ctx.ui.quiet);
    Ok(target::destroy(cloud, target, &req.group, &opts).await?)
}
