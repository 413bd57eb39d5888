//! `ggp`: parse the command line, run one stage, print the result, exit with its status.
//! The only place the process exits.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use ggp::cli::{BuildArgs, BundleArgs, Cli, Command, DeployArgs, DoctorArgs, GlobalArgs, PlanArgs};
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

/// `ggp bundle`: the offline installers of a provisioned group, from its stored state.
fn bundle_cmd(
    g: &GlobalArgs,
    args: &BundleArgs,
    d: &DeployArgs,
    env: &BTreeMap<String, String>,
) -> Result<()> {
    use ggp::bundle::{self, core_software, stored};
    let paths = project_paths(g)?;
    let group = d
        .group
        .clone()
        .ok_or_else(|| Error::Usage("bundle needs -g GROUP".into()))?;
    let archs = d.arch.clone().map(|a| a.0).ok_or_else(|| {
        Error::Usage("bundle needs -a ARCH[,ARCH...] (X86_64, ARM32, ARM64)".into())
    })?;
    if d.script && archs.len() > 1 {
        return Err(Error::Usage(
            "--script writes one gg.<group>.sh (GGP's name): give one -a".into(),
        ));
    }
    let epoch = match env.get("SOURCE_DATE_EPOCH").filter(|v| !v.is_empty()) {
        Some(v) => v.parse().map_err(|_| {
            Error::Usage(format!("SOURCE_DATE_EPOCH={v} is not a number of seconds"))
        })?,
        None => 0,
    };
    let core: Vec<_> = archs
        .iter()
        .map(|a| {
            let o = &d.bundle_options;
            let dirs = core_software::search_dirs(env);
            core_software::resolve(
                *a,
                o.core_software.as_deref(),
                o.core_software_sha256.as_deref(),
                &dirs,
            )
        })
        .collect::<Result<_, _>>()?;
    let state = stored::load(&paths.root, &group)?;
    let (runtimes, allow_root) = match &d.deployment {
        Some(dep) => {
            let source = DeploymentSource::from_arg(dep, &paths);
            let injected = Injected::offline(&group, Some(state.region.clone()));
            let project = load_project(&paths, &source, &injected, env)?;
            let runtimes = bundle::runtimes_for(project.functions.iter().map(|f| f.language));
            (runtimes, project.functions.iter().any(|f| f.runs_as_root()))
        }
        None => {
            tracing::warn!(
                "no -d: the installer's --check will not look for the functions' runtimes"
            );
            (Vec::new(), false)
        }
    };
    let aws = block_on(ggp::aws::connect(&aws_options(g), env))??;
    let (iot_data_endpoint, credentials_endpoint) = block_on(stored::endpoints(&aws.iot()))??;
    let out_dir = match &args.out {
        Some(o) => std::path::absolute(o).map_err(|e| Error::io(o, e))?,
        None => paths.root.join("build"),
    };
    let mut files = Vec::new();
    for (n, (arch, core_software)) in archs.iter().zip(core).enumerate() {
        let inputs = bundle::BundleInputs {
            group: group.clone(),
            arch: *arch,
            thing_name: state.thing_name.clone(),
            thing_arn: state.thing_arn.clone(),
            iot_data_endpoint: iot_data_endpoint.clone(),
            credentials_endpoint: credentials_endpoint.clone(),
            region: state.region.clone(),
            role_alias: state.role_alias.clone().unwrap_or_default(),
            group_id: state.group_id.clone(),
            certificate_arn: Some(state.certificate_arn.clone()),
            mqtt_port: d.mqtt_port.unwrap_or(8883),
            use_systemd: !d.no_systemd,
            allow_root,
            certificate_pem: state.certificate_pem.clone(),
            private_key_pem: state.private_key_pem.clone(),
            hsi: d.bundle_options.hsi.clone(),
            core_software,
            runtimes_needed: runtimes.clone(),
            include_debs: d.bundle_options.include_deb.clone(),
            split_secrets: d.bundle_options.split_secrets,
            source_date_epoch: epoch,
            outputs: bundle::Outputs {
                bundle: true,
                script: d.script,
                // the same file for every architecture
                oem: d.oem && n == 0,
            },
        };
        let started = std::time::Instant::now();
        files.extend(bundle::write(&inputs, &out_dir)?.files);
        tracing::info!("{arch}: outputs written in {:?}", started.elapsed());
    }
    let uploaded = match (&d.s3_bucket, &d.s3_directory) {
        (Some(bucket), Some(dir)) => block_on(bundle::s3::upload(&aws.s3(), bucket, dir, &files))??,
        _ => Vec::new(),
    };
    let text = if g.json {
        let v = serde_json::json!({ "files": files, "uploaded": uploaded });
        serde_json::to_string_pretty(&v).map_err(|e| Error::Other(e.to_string()))? + "\n"
    } else {
        let out = bundle::BundleOutputs {
            files,
            manifest: serde_json::Value::Null,
        };
        let mut t = out.render_text();
        for u in &uploaded {
            t.push_str(&format!("uploaded {u}\n"));
        }
        t
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| Error::io("stdout", e))
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
        Some(Command::Bundle(args)) => {
            let mut d = DeployArgs {
                group: args.group.clone(),
                arch: args.arch.clone(),
                deployment: args.deployment.clone(),
                script: args.script,
                oem: args.oem,
                bundle: true,
                s3_bucket: args.s3_bucket.clone(),
                s3_directory: args.s3_directory.clone(),
                mqtt_port: args.mqtt_port,
                no_systemd: args.no_systemd,
                bundle_options: args.options.clone(),
                ..Default::default()
            };
            defaults.apply(&mut d).map_err(Error::Usage)?;
            bundle_cmd(&cli.global, &args, &d, env)
        }
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
