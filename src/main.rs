//! `ggp`: parse the command line, run one stage, print the result, exit with its status.
//! The only place the process exits.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use ggp::cli::{BuildArgs, Cli, Command, DeployArgs, DoctorArgs, GlobalArgs, PlanArgs};
use ggp::config::{load_project, DeploymentSource, Injected, ProjectPaths, Target};
use ggp::defaults::load_defaults;
use ggp::error::{Error, Result};
use ggp::plan::{self, CertificateSource, PlanOptions};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.global);
    let env: BTreeMap<String, String> = std::env::vars().collect();
    match run(cli, &env) {
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

/// Run an async stage to completion on a runtime made for it.
fn block_on<F: std::future::Future>(f: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the async runtime: {e}")))?;
    Ok(rt.block_on(f))
}

fn doctor_cmd(g: &GlobalArgs, args: &DoctorArgs, env: &BTreeMap<String, String>) -> Result<()> {
    let opts = ggp::doctor::DoctorOptions {
        aws: aws_options(g),
        skip_docker: args.no_docker,
    };
    let report = block_on(ggp::doctor::run(&opts, env))?;
    let text = if g.json {
        serde_json::to_string_pretty(&report).map_err(|e| Error::Other(e.to_string()))? + "\n"
    } else {
        report.render_text()
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| Error::io("stdout", e))?;
    Ok(report.result()?)
}

fn build_cmd(
    g: &GlobalArgs,
    args: &BuildArgs,
    d: &DeployArgs,
    env: &BTreeMap<String, String>,
) -> Result<()> {
    let paths = project_paths(g)?;
    let deployment = d
        .deployment
        .clone()
        .ok_or_else(|| Error::Usage("build needs -d deployments/FILE.conf".into()))?;
    let archs = d.arch.clone().map(|a| a.0).ok_or_else(|| {
        Error::Usage("build needs -a ARCH[,ARCH...] (X86_64, ARM32, ARM64)".into())
    })?;
    let source = DeploymentSource::from_arg(&deployment, &paths);
    let group = d.group.clone().unwrap_or_else(|| "ggp-build".into());
    let injected = Injected::offline(&group, offline_region(g, env));
    let project = load_project(&paths, &source, &injected, env)?;
    let mut opts = ggp::build::BuildOptions::for_project(&paths.root, env.clone());
    if let Some(out) = &args.out {
        opts.out_dir = std::path::absolute(out).map_err(|e| Error::io(out, e))?;
    }
    opts.no_cache = args.no_cache;
    opts.jobs = args.jobs.unwrap_or(opts.jobs);
    let progress = ggp::build::Progress::detect(g.json, g.quiet, g.verbose > 0);
    let docker = ggp::docker::DockerLazy::from_env(env);
    let result = block_on(ggp::build::build(
        &project, &archs, &opts, &docker, &progress,
    ))?;
    let (built, failures) = match &result {
        Ok(a) => (a.as_slice(), &[][..]),
        Err(ggp::build::BuildError::Failed {
            built, failures, ..
        }) => (built.as_slice(), failures.as_slice()),
        Err(_) => (&[][..], &[][..]),
    };
    let text = if g.json {
        ggp::build::render_json(built, failures)
    } else {
        ggp::build::render_text(built)
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| Error::io("stdout", e))?;
    result.map(|_| ()).map_err(Error::from)
}

fn aws_options(g: &GlobalArgs) -> ggp::aws::AwsOptions {
    ggp::aws::AwsOptions {
        profile: g.profile.clone(),
        region: g.region.clone(),
        endpoint_url: g.endpoint_url.clone(),
    }
}

fn project_paths(g: &GlobalArgs) -> Result<ProjectPaths> {
    let dir = match &g.project_dir {
        Some(d) => d.clone(),
        None => std::env::current_dir().map_err(|e| Error::io(".", e))?,
    };
    let dir = std::fs::canonicalize(&dir).map_err(|e| Error::io(&dir, e))?;
    Ok(ProjectPaths::new(dir))
}

/// The region as far as it is known without network (issue 4 adds profiles and IMDS).
fn offline_region(g: &GlobalArgs, env: &BTreeMap<String, String>) -> Option<String> {
    g.region
        .clone()
        .or_else(|| env.get("AWS_REGION").cloned())
        .or_else(|| env.get("AWS_DEFAULT_REGION").cloned())
        .filter(|r| !r.is_empty())
}

fn run(cli: Cli, env: &BTreeMap<String, String>) -> Result<()> {
    let defaults = load_defaults(env)?;
    match cli.command {
        Some(Command::Plan(args)) => {
            let mut d = DeployArgs {
                group: args.group.clone(),
                arch: args.arch.clone(),
                deployment: args.deployment.clone(),
                target: args.target,
                ..Default::default()
            };
            defaults.apply(&mut d).map_err(Error::Usage)?;
            plan_cmd(&cli.global, &args, &d, env)
        }
        Some(Command::Build(args)) => {
            let mut d = DeployArgs {
                arch: args.arch.clone(),
                deployment: args.deployment.clone(),
                ..Default::default()
            };
            defaults.apply(&mut d).map_err(Error::Usage)?;
            build_cmd(&cli.global, &args, &d, env)
        }
        Some(Command::Deploy(_)) => Err(Error::NotImplemented("deploy")),
        Some(Command::Bundle(_)) => Err(Error::NotImplemented("bundle")),
        Some(Command::Destroy(_)) => Err(Error::NotImplemented("destroy")),
        Some(Command::Doctor(args)) => doctor_cmd(&cli.global, &args, env),
        Some(Command::Completions(args)) => completions_cmd(&args),
        Some(Command::Man(args)) => man_cmd(&args),
        None => {
            let mut d = cli.deploy.clone();
            defaults.apply(&mut d).map_err(Error::Usage)?;
            if d.deployment.is_none() {
                return Err(Error::Usage(
                    "no operation: give -d FILE (the deploy job) or a subcommand; see --help"
                        .into(),
                ));
            }
            Err(Error::NotImplemented("deploy"))
        }
    }
}

fn plan_cmd(
    g: &GlobalArgs,
    args: &PlanArgs,
    d: &DeployArgs,
    env: &BTreeMap<String, String>,
) -> Result<()> {
    let paths = project_paths(g)?;
    let group = d
        .group
        .clone()
        .ok_or_else(|| Error::Usage("plan needs -g GROUP".into()))?;
    let deployment = d
        .deployment
        .clone()
        .ok_or_else(|| Error::Usage("plan needs -d deployments/FILE.conf (or EMPTY)".into()))?;
    let source = DeploymentSource::from_arg(&deployment, &paths);
    let injected = Injected::offline(&group, offline_region(g, env));
    let project = load_project(&paths, &source, &injected, env)?;
    let target = d.target.or(project.deployment.target).unwrap_or(Target::V2);
    let certificate = if let Some(arn) = &args.certificate_arn {
        CertificateSource::ExistingArn { arn: arn.clone() }
    } else if let Some(csr) = &args.csr {
        CertificateSource::Csr {
            file: csr.display().to_string(),
        }
    } else {
        CertificateSource::StoredOrNew
    };
    let opts = PlanOptions {
        archs: d.arch.clone().map(|a| a.0).unwrap_or_default(),
        target,
        certificate,
        core_role_name: args.core_role_name.clone(),
        core_policy_name: args.core_policy_name.clone(),
        service_role_exists: args.service_role_exists,
        build_dir: PathBuf::from("build"),
    };
    if target == Target::V2 {
        let plan =
            ggp::v2::build(&project, &injected, &opts).map_err(|e| Error::Other(e.to_string()))?;
        let text = if g.json {
            serde_json::to_string_pretty(&plan).map_err(|e| Error::Other(e.to_string()))? + "\n"
        } else {
            plan.render_text()
        };
        return std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|e| Error::io("stdout", e));
    }
    let plan = plan::build(&project, &injected, &opts).map_err(|e| Error::Other(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    let text = if g.json {
        serde_json::to_string_pretty(&plan).map_err(|e| Error::Other(e.to_string()))? + "\n"
    } else {
        plan.render_text()
    };
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("stdout", e))?;
    if !g.json {
        for w in &project.warnings {
            tracing::warn!("{w}");
        }
    }
    Ok(())
}

/// `ggp completions SHELL` prints one script; `--dir` writes every shell's and lists the files.
fn completions_cmd(args: &ggp::cli::CompletionsArgs) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match (&args.dir, args.shell) {
        (Some(dir), _) => {
            let files = ggp::clidoc::completions_to_dir(dir).map_err(|e| Error::io(dir, e))?;
            list_files(&files, &mut out)
        }
        (None, Some(shell)) => {
            ggp::clidoc::completions(shell, &mut out).map_err(|e| Error::io("stdout", e))
        }
        (None, None) => Err(Error::Usage(
            "completions needs a SHELL or --dir DIR".into(),
        )),
    }
}

/// `ggp man` prints ggp.1; `--dir` writes every page and lists the files.
fn man_cmd(args: &ggp::cli::ManArgs) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match &args.dir {
        Some(dir) => {
            let files = ggp::clidoc::man_pages(dir).map_err(|e| Error::io(dir, e))?;
            list_files(&files, &mut out)
        }
        None => ggp::clidoc::man_page(&mut out).map_err(|e| Error::io("stdout", e)),
    }
}

fn list_files(files: &[PathBuf], out: &mut impl Write) -> Result<()> {
    for f in files {
        writeln!(out, "{}", f.display()).map_err(|e| Error::io("stdout", e))?;
    }
    Ok(())
}
