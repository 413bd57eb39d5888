//! `ggp doctor`: what ggp sees of credentials, region, endpoints and the Docker engine.

use crate::doctor::{DoctorOptions, Report};

use super::Context;

/// The report of every check; [`Report::result`] says whether the main job can run.
pub async fn doctor(ctx: &Context, skip_docker: bool) -> Report {
    let opts = DoctorOptions {
        aws: ctx.aws.clone(),
        skip_docker,
    };
    crate::doctor::run(&opts, &ctx.env).await
}
