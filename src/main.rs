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

/// Writes a command's result to stdout (a closed pipe is an I/O error, not a panic).
fn print_stdout(bytes: &[u8]) -> Result<()> {
    std::io::stdout()
        .lock()
        .write_all(bytes)
        .map_err(|e| Error::io("stdout", e))
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
    print_stdout(text.as_bytes())?;
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
    let mut project = load_project(&paths, &source, &injected, env)?;
    let git = ggp::provision::GitCheckouts::clone_all(&project)?; // git functions: built from a clone
    git.add_to(&mut project, &injected, env)?;
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
    print_stdout(text.as_bytes())?;
    result.map(|_| ()).map_err(Error::from)
}

/// `ggp bundle --target v2`: the Greengrass V2 bundle of a provisioned core (same thing,
/// certificate and role alias), with the nucleus zip from `--core-software` or the search dirs.
fn bundle_v2_cmd(
    g: &GlobalArgs,
    d: &DeployArgs,
    env: &BTreeMap<String, String>,
    project: Option<&ggp::config::Project>,
    state_dir: &std::path::Path,
    out_dir: &std::path::Path,
    epoch: u64,
) -> Result<()> {
    use ggp::bundle::{core_software, stored, BundleError};
    let group = d.group.as_deref().unwrap_or_default();
    use ggp::v2::bundle as v2;
    let o = &d.bundle_options;
    const ZIP: &str = "greengrass-nucleus-latest.zip";
    let zip = match &o.core_software {
        Some(p) => p.clone(),
        None => {
            let dirs = core_software::search_dirs(env);
            dirs.iter()
                .map(|dir| dir.join(ZIP))
                .find(|p| p.is_file())
                .ok_or_else(|| BundleError::CoreSoftwareMissing {
                    wanted: ZIP.into(),
                    searched: dirs.iter().map(|p| p.display().to_string()).collect(),
                })?
        }
    };
    let nucleus_zip = v2::read_nucleus_zip(&zip, o.core_software_sha256.as_deref())?;
    let state = stored::load_dir(state_dir, group)?;
    let private_key = state.private_key_pem.clone().ok_or_else(|| {
        Error::Usage("the V2 bundle carries the core's private key, and this group's certificate came from a CSR or --certificate-arn".into())
    })?;
    let role_alias = state
        .role_alias
        .clone()
        .ok_or_else(|| Error::Other(format!("no role alias recorded for group {group}")))?;
    let debs = o
        .include_deb
        .iter()
        .map(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            let data = std::fs::read(p).map_err(|e| Error::io(p, e))?;
            Ok((name.unwrap_or_default(), data))
        })
        .collect::<Result<Vec<_>>>()?;
    // The FileSystem loggers of the deployment become the nucleus's logging configuration.
    let nucleus_logging = project.and_then(|p| ggp::v2::mapping::nucleus_logging(&p.deployment));
    let (iot_data_endpoint, iot_cred_endpoint) = bundle_endpoints(g, env, &state)?;
    let inputs = v2::V2BundleInputs {
        group: group.to_string(),
        thing_name: state.thing_name,
        region: state.region,
        iot_data_endpoint,
        iot_cred_endpoint,
        role_alias,
        certificate_pem: state.certificate_pem,
        private_key,
        nucleus_zip,
        nucleus_logging,
        debs,
        mtime: epoch,
    };
    let files = vec![v2::write_bundle(&inputs, out_dir)?];
    report_bundle(g, d, env, files)
}

/// The data and credential endpoints for a bundle: recorded by the deploy, so no AWS call (a
/// state from before ggp recorded them: asked for with DescribeEndpoint).
fn bundle_endpoints(
    g: &GlobalArgs,
    env: &BTreeMap<String, String>,
    state: &ggp::bundle::stored::Stored,
) -> Result<(String, String)> {
    if let Some(e) = &state.endpoints {
        return Ok(e.clone());
    }
    let aws = block_on(ggp::aws::connect(&aws_options(g), env))??;
    Ok(block_on(ggp::bundle::stored::endpoints(&aws.iot()))??)
}

/// Uploads the outputs when asked (`--s3-bucket`, never the secret files) and prints them.
fn report_bundle(
    g: &GlobalArgs,
    d: &DeployArgs,
    env: &BTreeMap<String, String>,
    files: Vec<ggp::bundle::Written>,
) -> Result<()> {
    let uploaded = match (&d.s3_bucket, &d.s3_directory) {
        (Some(bucket), Some(dir)) => {
            let aws = block_on(ggp::aws::connect(&aws_options(g), env))??;
            block_on(ggp::bundle::s3::upload(&aws.s3(), bucket, dir, &files))??
        }
        _ => Vec::new(),
    };
    let text = if g.json {
        let v = serde_json::json!({ "files": files, "uploaded": uploaded });
        serde_json::to_string_pretty(&v).map_err(|e| Error::Other(e.to_string()))? + "\n"
    } else {
        let out = ggp::bundle::BundleOutputs {
            files,
            manifest: serde_json::Value::Null,
        };
        let mut t = out.render_text();
        for u in &uploaded {
            t.push_str(&format!("uploaded {u}\n"));
        }
        t
    };
    print_stdout(text.as_bytes())
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
    let epoch = match env.get("SOURCE_DATE_EPOCH").filter(|v| !v.is_empty()) {
        Some(v) => v.parse().map_err(|_| {
            Error::Usage(format!("SOURCE_DATE_EPOCH={v} is not a number of seconds"))
        })?,
        None => 0,
    };
    let state_dir = d
        .state_dir
        .clone()
        .unwrap_or_else(|| ggp::provision::state::StateStore::default_dir(&paths.root, &group));
    // Loaded once: its target, loggers and runtimes (none of which depend on account or region).
    let project = match &d.deployment {
        Some(dep) => {
            let source = DeploymentSource::from_arg(dep, &paths);
            Some(load_project(
                &paths,
                &source,
                &Injected::offline(&group, None),
                env,
            )?)
        }
        None => None,
    };
    // Without --target or conf.target: what the group was deployed as (a V2 state names its
    // thing group).
    let target = match d
        .target
        .or(project.as_ref().and_then(|p| p.deployment.target))
    {
        Some(t) => t,
        None => match stored::load_dir(&state_dir, &group) {
            Ok(s) if s.thing_group_arn.is_some() => Target::V2,
            _ => Target::V1,
        },
    };
    let out_dir = match &args.out {
        Some(o) => std::path::absolute(o).map_err(|e| Error::io(o, e))?,
        None => paths.root.join("build"),
    };
    if target == Target::V2 {
        // The nucleus zip is the same for every architecture: -a is not needed.
        return bundle_v2_cmd(g, d, env, project.as_ref(), &state_dir, &out_dir, epoch);
    }
    let archs = d.arch.clone().map(|a| a.0).ok_or_else(|| {
        Error::Usage("bundle needs -a ARCH[,ARCH...] (X86_64, ARM32, ARM64)".into())
    })?;
    if d.script && archs.len() > 1 {
        return Err(Error::Usage(
            "--script writes one gg.<group>.sh (GGP's name): give one -a".into(),
        ));
    }
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
    let state = stored::load_dir(&state_dir, &group)?;
    let (runtimes, allow_root) = match &project {
        Some(project) => {
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
    let (iot_data_endpoint, credentials_endpoint) = bundle_endpoints(g, env, &state)?;
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
    report_bundle(g, d, env, files)
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
        Some(Command::Deploy(args)) => {
            let mut d = args.clone();
            defaults.apply(&mut d).map_err(Error::Usage)?;
            deploy_cmd(&cli.global, &d, env)
        }
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
                target: args.target,
                state_dir: args.state_dir.clone(),
                bundle_options: args.options.clone(),
                ..Default::default()
            };
            defaults.apply(&mut d).map_err(Error::Usage)?;
            bundle_cmd(&cli.global, &args, &d, env)
        }
        Some(Command::Destroy(args)) => destroy_cmd(&cli.global, &args, env),
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
            deploy_cmd(&cli.global, &d, env)
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
    let started = std::time::Instant::now();
    let project = load_project(&paths, &source, &injected, env)?;
    tracing::debug!(
        "loaded {} function(s) in {:?}",
        project.functions.len(),
        started.elapsed()
    );
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
    if !args.offline {
        let state_dir = args
            .state_dir
            .clone()
            .unwrap_or_else(|| ggp::provision::state::StateStore::default_dir(&paths.root, &group));
        let online = OnlinePlan {
            paths: &paths,
            source: &source,
            group: &group,
            opts: &opts,
            state_dir,
        };
        if let Some(text) = online_plan(g, env, &online, target)? {
            print_stdout(text.as_bytes())?;
            return Ok(());
        }
    }
    if target == Target::V2 {
        let plan =
            ggp::v2::build(&project, &injected, &opts).map_err(|e| Error::Other(e.to_string()))?;
        let text = if g.json {
            serde_json::to_string_pretty(&plan).map_err(|e| Error::Other(e.to_string()))? + "\n"
        } else {
            plan.render_text()
        };
        return print_stdout(text.as_bytes());
    }
    let started = std::time::Instant::now();
    let plan = plan::build(&project, &injected, &opts).map_err(|e| Error::Other(e.to_string()))?;
    tracing::debug!("planned in {:?}", started.elapsed());
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

/// `ggp plan` against the account: what a deploy would create, update or delete.
struct OnlinePlan<'a> {
    paths: &'a ProjectPaths,
    source: &'a DeploymentSource,
    group: &'a str,
    opts: &'a PlanOptions,
    state_dir: PathBuf,
}

/// The plan with the account's real values and the difference per resource (a V1 group or a V2
/// thing group); `None` (an offline plan follows) when there are no credentials or no region.
fn online_plan(
    g: &GlobalArgs,
    env: &BTreeMap<String, String>,
    p: &OnlinePlan,
    target: Target,
) -> Result<Option<String>> {
    use ggp::provision::{self, DeployOptions};
    let other = |e: serde_json::Error| Error::Other(e.to_string());
    block_on(async {
        let Some(aws) = connect_for_plan(g, env).await? else {
            return Ok(None);
        };
        let cloud = cloud_of(&aws).await?;
        // GROUP_ID: the V1 group's id, or the V2 thing group's.
        let (group, thing_group) = match target {
            Target::V1 => (provision::find_group(&cloud, p.group).await?, None),
            Target::V2 => (None, provision::find_thing_group(&cloud, p.group).await?),
        };
        let injected = Injected {
            group_name: p.group.to_string(),
            account_id: Some(cloud.account.clone()),
            region: Some(cloud.region.clone()),
            group_id: group
                .as_ref()
                .map(|g| g.id.clone())
                .or_else(|| thing_group.as_ref().map(|g| g.id.clone())),
        };
        let mut project = load_project(p.paths, p.source, &injected, env)?;
        let git = provision::GitCheckouts::clone_all(&project)?;
        provision::resolve_functions(&cloud, &mut project, &git, &injected, env).await?;
        let opts = DeployOptions::new(p.state_dir.clone());
        let bad = |e: ggp::plan::PlanError| Error::Other(e.to_string());
        // Code is compared when a package was built already (`ggp build`); never built here.
        let (plan_text, plan_json, report) = match target {
            Target::V1 => {
                let plan = plan::build(&project, &injected, p.opts).map_err(bad)?;
                let packages = built_packages(p.paths, &plan.artifacts);
                let report =
                    provision::diff(&cloud, group.as_ref(), &plan, &packages, &opts).await?;
                (
                    plan.render_text(),
                    serde_json::to_value(&plan).map_err(other)?,
                    report,
                )
            }
            Target::V2 => {
                let plan = ggp::v2::build(&project, &injected, p.opts).map_err(bad)?;
                let packages = built_packages(p.paths, &plan.artifacts);
                let report =
                    provision::diff_v2(&cloud, thing_group.as_ref(), &plan, &packages, &opts)
                        .await?;
                (
                    plan.render_text(),
                    serde_json::to_value(&plan).map_err(other)?,
                    report,
                )
            }
        };
        for w in &project.warnings {
            tracing::warn!("{w}");
        }
        let text = if g.json {
            let v = serde_json::json!({"plan": plan_json, "changes": report});
            serde_json::to_string_pretty(&v).map_err(other)? + "\n"
        } else {
            format!("{plan_text}\n{}", report.render_text())
        };
        Ok(Some(text))
    })?
}

/// Connects for an online plan; `None` (an offline plan follows) when there are no credentials or
/// no region and no profile or endpoint was named on the command line.
async fn connect_for_plan(
    g: &GlobalArgs,
    env: &BTreeMap<String, String>,
) -> Result<Option<ggp::aws::Aws>> {
    let explicit = g.profile.is_some() || g.endpoint_url.is_some();
    match ggp::aws::connect(&aws_options(g), env).await {
        Ok(a) => Ok(Some(a)),
        Err(e) if !explicit => {
            tracing::info!("offline plan (no AWS credentials or region: {e})");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// The packages `ggp build` already made for the plan's artifacts (never built by a plan).
fn built_packages(
    paths: &ProjectPaths,
    artifacts: &[ggp::plan::ArtifactPlan],
) -> Vec<ggp::provision::Package> {
    artifacts
        .iter()
        .filter_map(|a| {
            let path = paths.root.join(&a.package);
            path.is_file()
                .then(|| ggp::provision::Package::from_file(&a.function, &path).ok())
                .flatten()
        })
        .collect()
}

/// The certificate source from the deploy flags (first match wins, as in GGP).
fn certificate_source(d: &DeployArgs) -> Result<CertificateSource> {
    if d.force_create_new_keys && (d.certificate_arn.is_some() || d.csr.is_some()) {
        return Err(Error::Usage(
            "--force-create-new-keys makes new keys; it cannot be combined with --certificate-arn or --csr".into(),
        ));
    }
    Ok(if let Some(arn) = &d.certificate_arn {
        CertificateSource::ExistingArn { arn: arn.clone() }
    } else if let Some(csr) = &d.csr {
        CertificateSource::Csr {
            file: csr.display().to_string(),
        }
    } else if d.force_create_new_keys {
        CertificateSource::ForceNew
    } else {
        CertificateSource::StoredOrNew
    })
}

/// `ggp deploy` and the flag form: build the packages, provision and deploy the group (Greengrass
/// V1), then write the offline outputs that were asked for.
fn deploy_cmd(g: &GlobalArgs, d: &DeployArgs, env: &BTreeMap<String, String>) -> Result<()> {
    use ggp::provision::{self, state::StateStore, DeployOptions, Package, S3Location};
    let paths = project_paths(g)?;
    let group = d.group.clone().ok_or_else(|| {
        Error::Usage("deploy needs -g GROUP (the core thing is GROUP_Core)".into())
    })?;
    let deployment = d
        .deployment
        .clone()
        .ok_or_else(|| Error::Usage("deploy needs -d deployments/FILE.conf (or EMPTY)".into()))?;
    let source = DeploymentSource::from_arg(&deployment, &paths);
    // The project is checked and its packages built before anything touches AWS.
    let offline = Injected::offline(&group, offline_region(g, env));
    let mut project = load_project(&paths, &source, &offline, env)?;
    // Git functions are cloned once and built like local folders; existing Lambda functions are
    // resolved once the account is known (provision::resolve_functions).
    let git = provision::GitCheckouts::clone_all(&project)?;
    git.add_to(&mut project, &offline, env)?;
    let target = d.target.or(project.deployment.target).unwrap_or(Target::V2);
    let arch = match d.arch.as_ref().map(|a| a.0.as_slice()) {
        None | Some([]) => {
            if !project.functions.is_empty() {
                tracing::warn!("no -a: the functions are built for X86_64");
            }
            ggp::arch::Arch::X86_64
        }
        Some([a]) => *a,
        Some(_) if target == Target::V1 => {
            return Err(Error::Usage(
                "a Greengrass V1 group has one core: give one architecture with -a".into(),
            ))
        }
        Some(_) => {
            return Err(Error::Usage(
                "a deploy builds the Lambda functions for one architecture: give one -a".into(),
            ))
        }
    };
    let certificate = certificate_source(d)?;
    let mut opts = DeployOptions::new(
        d.state_dir
            .clone()
            .unwrap_or_else(|| StateStore::default_dir(&paths.root, &group)),
    );
    if let Some(csr) = &d.csr {
        opts.csr_pem = Some(std::fs::read_to_string(csr).map_err(|e| Error::io(csr, e))?);
    }
    if let (Some(bucket), Some(prefix)) = (&d.s3_bucket, &d.s3_directory) {
        opts.s3 = Some(S3Location {
            bucket: bucket.clone(),
            prefix: prefix.clone(),
        });
    }
    if let Some(n) = d.keep_versions {
        opts.keep_versions = n;
    }
    if let Some(s) = d.deployment_timeout {
        opts.deployment_timeout = std::time::Duration::from_secs(s);
    }
    opts.fail_after = env.get("GGP_FAIL_AFTER").filter(|s| !s.is_empty()).cloned();
    let plan_opts = PlanOptions {
        archs: vec![arch],
        target,
        certificate,
        core_role_name: d.core_role_name.clone(),
        core_policy_name: d.core_policy_name.clone(),
        service_role_exists: d.service_role_exists,
        build_dir: PathBuf::from("build"),
    };

    let artifacts = if project.functions.is_empty() {
        Vec::new()
    } else {
        let bopts = ggp::build::BuildOptions::for_project(&paths.root, env.clone());
        let progress = ggp::build::Progress::detect(g.json, g.quiet, g.verbose > 0);
        let docker = ggp::docker::DockerLazy::from_env(env);
        block_on(ggp::build::build(
            &project,
            &[arch],
            &bopts,
            &docker,
            &progress,
        ))??
    };
    let packages = Package::from_artifacts(&paths.root, &artifacts, arch);

    if target == Target::V2 {
        let report = block_on(async {
            let cloud = cloud_of(&ggp::aws::connect(&aws_options(g), env).await?).await?;
            let thing_group = provision::ensure_thing_group(&cloud, &group, &opts).await?;
            // Loaded again with the real account and region; GROUP_ID is the thing group's id.
            let injected = Injected {
                group_name: group.clone(),
                account_id: Some(cloud.account.clone()),
                region: Some(cloud.region.clone()),
                group_id: Some(thing_group.id.clone()),
            };
            let mut project = load_project(&paths, &source, &injected, env)?;
            provision::resolve_functions(&cloud, &mut project, &git, &injected, env).await?;
            let plan = ggp::v2::build(&project, &injected, &plan_opts)
                .map_err(|e| Error::Other(e.to_string()))?;
            Ok::<_, Error>(
                provision::deploy_v2(&cloud, &thing_group, &plan, &packages, &opts).await?,
            )
        })??;
        print_report(g, &report, || report.render_text())?;
        report.result()?;
        if d.script || d.oem || d.bundle {
            let args = BundleArgs {
                group: Some(group),
                deployment: Some(deployment),
                target: Some(Target::V2),
                options: d.bundle_options.clone(),
                ..Default::default()
            };
            let mut bd = d.clone();
            bd.bundle = true;
            bd.target = Some(Target::V2);
            bundle_cmd(g, &args, &bd, env)?;
        }
        return Ok(());
    }
    let report = block_on(async {
        let cloud = cloud_of(&ggp::aws::connect(&aws_options(g), env).await?).await?;
        let group_info = provision::ensure_group(&cloud, &group, &opts).await?;
        // Loaded again with the real account, region and group id (GROUP_ID in environments).
        let injected = Injected {
            group_name: group.clone(),
            account_id: Some(cloud.account.clone()),
            region: Some(cloud.region.clone()),
            group_id: Some(group_info.id.clone()),
        };
        let mut project = load_project(&paths, &source, &injected, env)?;
        provision::resolve_functions(&cloud, &mut project, &git, &injected, env).await?;
        let plan = plan::build(&project, &injected, &plan_opts)
            .map_err(|e| Error::Other(e.to_string()))?;
        Ok::<_, Error>(provision::deploy(&cloud, &group_info, &plan, &packages, &opts).await?)
    })??;
    print_report(g, &report, || report.render_text())?;
    report.result()?;

    if d.script || d.oem || d.bundle {
        // The bundle stage reads what provisioning stored (.ggp/<group>/).
        let args = BundleArgs {
            group: Some(group),
            arch: Some(ggp::cli::ArchList(vec![arch])),
            deployment: Some(deployment),
            script: d.script,
            oem: d.oem,
            mqtt_port: d.mqtt_port,
            no_systemd: d.no_systemd,
            s3_bucket: d.s3_bucket.clone(),
            s3_directory: d.s3_directory.clone(),
            out: None,
            target: Some(Target::V1),
            state_dir: d.state_dir.clone(),
            options: d.bundle_options.clone(),
        };
        let mut bd = d.clone();
        bd.bundle = true;
        bd.arch = args.arch.clone();
        bundle_cmd(g, &args, &bd, env)?;
    }
    Ok(())
}

/// `ggp destroy -g GROUP`.
fn destroy_cmd(
    g: &GlobalArgs,
    args: &ggp::cli::DestroyArgs,
    env: &BTreeMap<String, String>,
) -> Result<()> {
    use ggp::provision::{self, state::StateStore, DestroyOptions};
    let paths = project_paths(g)?;
    let state_dir = args
        .state_dir
        .clone()
        .unwrap_or_else(|| StateStore::default_dir(&paths.root, &args.group));
    // A V2 group's state names its thing group; without a state, V2 (the service that exists).
    let target = match args.target {
        Some(t) => t,
        None => {
            let state = StateStore::new(&state_dir).load(&args.group)?;
            if state.group_id.is_some() && state.thing_group_arn.is_none() {
                Target::V1
            } else {
                Target::V2
            }
        }
    };
    let report = block_on(async {
        let cloud = cloud_of(&ggp::aws::connect(&aws_options(g), env).await?).await?;
        let opts = DestroyOptions::new(state_dir);
        Ok::<_, Error>(match target {
            Target::V1 => provision::destroy(&cloud, &args.group, &opts).await?,
            Target::V2 => provision::destroy_v2(&cloud, &args.group, &opts).await?,
        })
    })??;
    print_report(g, &report, || report.render_text())
}

/// The account and clients a provisioning command works with (STS answers for the account once).
async fn cloud_of(aws: &ggp::aws::Aws) -> Result<ggp::provision::Cloud> {
    Ok(ggp::provision::Cloud {
        clients: ggp::provision::Clients::for_aws(aws),
        account: aws.account().await?.to_string(),
        region: aws.region().name.clone(),
    })
}

/// A report on stdout: JSON with --json, else its text.
fn print_report(
    g: &GlobalArgs,
    report: &impl serde::Serialize,
    text: impl FnOnce() -> String,
) -> Result<()> {
    let text = if g.json {
        serde_json::to_string_pretty(report).map_err(|e| Error::Other(e.to_string()))? + "\n"
    } else {
        text()
    };
    print_stdout(text.as_bytes())
}
