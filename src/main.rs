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
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // A flag of GGP that ggp does another way: say which way, not clap's generic error.
            if let Some((message, hint)) = ggp::cli::ggp_only_message(&e) {
                eprintln!("error: {message}\nhint: {hint}");
                return ExitCode::from(ggp::error::exit::USAGE as u8);
            }
            e.exit()
        }
    };
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
    for w in &defaults.warnings {
        tracing::warn!("{w}");
    }
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
        Some(Command::Status(args)) => status(&ctx, args, &defaults),
        Some(Command::Logs(args)) => logs(&ctx, args, &defaults),
        Some(Command::Diagnose(args)) => {
            let report = block_on(app::diagnose::diagnose(
                &ctx,
                &resolve::diagnose(&ctx, args, &defaults)?,
            ))??;
            print(&ctx, || value(&report), || report.render_text())?;
            Ok(report.result()?)
        }
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

/// `ggp status`: one report, or with `--watch` one per change until the deployment settles.
fn status(
    ctx: &Context,
    args: &ggp::cli::StatusArgs,
    defaults: &ggp::defaults::FlagDefaults,
) -> Result<()> {
    let req = resolve::status(ctx, args, defaults)?;
    let report = if args.watch {
        let interval = std::time::Duration::from_secs(args.interval.unwrap_or(5).max(1));
        let mut last = String::new();
        let json = ctx.ui.json;
        block_on(app::status::watch(ctx, &req, interval, &mut |r| {
            let text = r.render_text();
            if !json && text != last {
                std::io::stdout()
                    .lock()
                    .write_all(format!("{text}\n").as_bytes())
                    .map_err(|e| Error::io("stdout", e))?;
                last = text;
            }
            if !r.status.settled() {
                eprintln!("waiting for the deployment to settle (Ctrl-C stops)");
            }
            Ok(())
        }))??
    } else {
        block_on(app::status::status(ctx, &req))??
    };
    if !args.watch || ctx.ui.json {
        print(ctx, || report.to_json(), || report.render_text())?;
    }
    if report.group_ca.is_some() {
        return Ok(());
    }
    Ok(report.result()?)
}

/// `ggp logs`: each line as it is read (JSON: one object per line).
fn logs(
    ctx: &Context,
    args: &ggp::cli::LogsArgs,
    defaults: &ggp::defaults::FlagDefaults,
) -> Result<()> {
    let req = resolve::logs(ctx, args, defaults)?;
    let json = ctx.ui.json;
    let mut out = |l: &app::logs::LogLine| -> Result<()> {
        let text = if json {
            serde_json::to_string(l).map_err(|e| Error::Other(e.to_string()))? + "\n"
        } else {
            l.render_text()
        };
        let mut o = std::io::stdout().lock();
        o.write_all(text.as_bytes())
            .and_then(|_| o.flush())
            .map_err(|e| Error::io("stdout", e))
    };
    let mut ready = |s: &app::logs::LogsSummary| {
        eprintln!(
            "following {} log group(s) of {} (Ctrl-C stops)",
            s.log_groups.len(),
            req.group
        );
    };
    let summary = block_on(app::logs::logs(ctx, &req, &mut out, &mut ready))??;
    if summary.lines == 0 && !req.follow {
        eprintln!(
            "no log lines in {}",
            if summary.log_groups.is_empty() {
                "any log group".to_string()
            } else {
                summary.log_groups.join(", ")
            }
        );
    }
    Ok(())
}
