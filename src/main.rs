//! `ggp`: parse the command line, resolve it into a request, run one command of the library's
//! command layer (`ggp::app`), print its report, exit with its status. The only place the process
//! exits.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use ggp::app::{self, resolve, Context};
use ggp::cli::{Cli, Command, GlobalArgs};
use ggp::defaults::load_defaults;
use ggp::error::{Error, Result};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.global);
    let env: BTreeMap<String, String> = std::env::vars().collect();
    match run(cli, env) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "error: {e}");
            if let Some(h) = e.hint() {
                let _ = writeln!(err, "hint: {h}");
            }
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
        }
    }
}

fn init_logging(g: &GlobalArgs) {
    let level = if g.quiet {
        "error"
    } else {
        match g.verbose {
            0 => ggp::aws::DEFAULT_LOG_FILTER,
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("GGP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    use tracing_subscriber::prelude::*;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .finish()
        .with(ggp::aws::secret_log_guard())
        .try_init();
}

/// Runs an async command to completion on a runtime made for it.
fn block_on<F: std::future::Future>(f: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the async runtime: {e}")))?;
    Ok(rt.block_on(f))
}

/// Writes a command's result to stdout (a closed pipe is an I/O error, not a panic).
fn print(
    ctx: &Context,
    json: impl FnOnce() -> serde_json::Value,
    text: impl FnOnce() -> String,
) -> Result<()> {
    let out = if ctx.ui.json {
        serde_json::to_string_pretty(&json()).map_err(|e| Error::Other(e.to_string()))? + "\n"
    } else {
        text()
    };
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .map_err(|e| Error::io("stdout", e))
}

fn value(v: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

fn run(cli: Cli, env: BTreeMap<String, String>) -> Result<()> {
    let defaults = load_defaults(&env)?;
    // Commands that need no project.
    let stdout = || std::io::stdout().lock();
    match &cli.command {
        Some(Command::Completions(a)) => {
            return ggp::clidoc::completions_cmd(a, &mut stdout())
                .ok_or_else(|| Error::Usage("completions needs a SHELL or --dir DIR".into()))?
                .map_err(|e| Error::io("stdout", e))
        }
        Some(Command::Man(a)) => {
            return ggp::clidoc::man_cmd(a, &mut stdout()).map_err(|e| Error::io("stdout", e))
        }
        _ => {}
    }
    let ctx = resolve::context(&cli.global, &defaults, env)?;
    match &cli.command {
        Some(Command::Plan(args)) => {
            let report = block_on(app::plan::plan(
                &ctx,
                &resolve::plan(&ctx, args, &defaults)?,
            ))??;
            print(&ctx, || report.to_json(), || report.render_text())?;
            for w in &report.warnings {
                tracing::warn!("{w}");
            }
            Ok(())
        }
        Some(Command::Build(args)) => {
            let report = block_on(app::build::build(&ctx, &resolve::build(args, &defaults)?))??;
            let json = ctx.ui.json;
            let out = if json {
                report.render_json()
            } else {
                report.render_text()
            };
            print(
                &ctx,
                || serde_json::from_str(&out).unwrap_or_default(),
                || out.clone(),
            )?;
            report.result()
        }
        Some(Command::Bundle(args)) => {
            let report = block_on(app::bundle::bundle(
                &ctx,
                &resolve::bundle(&ctx, args, &defaults)?,
            ))??;
            print(&ctx, || report.to_json(), || report.render_text())
        }
        Some(Command::Destroy(args)) => {
            let report = block_on(app::destroy::destroy(&ctx, &resolve::destroy(&ctx, args)?))??;
            print(&ctx, || value(&report), || report.render_text())
        }
        Some(Command::Doctor(args)) => {
            let report = block_on(app::doctor::doctor(&ctx, args.no_docker))?;
            print(&ctx, || value(&report), || report.render_text())?;
            Ok(report.result()?)
        }
        Some(Command::Deploy(args)) => deploy(&ctx, args, &defaults),
        None if cli.deploy.input.deployment.is_none() && defaults.deployment.is_none() => {
            Err(Error::Usage(
                "no operation: give -d FILE (the deploy job) or a subcommand; see --help".into(),
            ))
        }
        None => deploy(&ctx, &cli.deploy, &defaults),
        Some(Command::Completions(_) | Command::Man(_)) => Ok(()),
    }
}

/// `ggp deploy` and the flag form: the deploy report, then the offline outputs asked for.
fn deploy(
    ctx: &Context,
    args: &ggp::cli::DeployArgs,
    defaults: &ggp::defaults::FlagDefaults,
) -> Result<()> {
    let req = resolve::deploy(ctx, args, defaults)?;
    let outcome = block_on(app::deploy::deploy(ctx, &req))??;
    let r = &outcome.report;
    print(ctx, || value(r), || r.render_text())?;
    r.result()?;
    match outcome.bundle {
        Some(b) => {
            let b = b?;
            print(ctx, || b.to_json(), || b.render_text())
        }
        None => Ok(()),
    }
}
