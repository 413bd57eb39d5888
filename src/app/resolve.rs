//! From the command line to requests: the user's flag defaults applied under the flags, required
//! values checked (a missing one is a usage error naming the flag), files the flags name read,
//! and the project folder and AWS options settled into a [`Context`].

use std::collections::BTreeMap;
use std::time::Duration;

use crate::cli::{
    BuildArgs, BundleArgs, BundleOptions, CertificateArgs, CoreArgs, DeployArgs, DestroyArgs,
    DiagnoseArgs, GlobalArgs, GroupArgs, LogsArgs, OutputArgs, PlanArgs, StatusArgs,
};
use crate::config::ProjectPaths;
use crate::defaults::FlagDefaults;
use crate::error::{Error, Result};
use crate::model::{self, CertificateSource};
use crate::provision::{DeployOptions, Progress, S3Location};

use super::build::BuildRequest;
use super::bundle::{BundleRequest, BundleSettings};
use super::deploy::DeployRequest;
use super::destroy::DestroyRequest;
use super::diagnose::DiagnoseRequest;
use super::logs::{parse_since, LogsRequest};
use super::plan::PlanRequest;
use super::status::StatusRequest;
use super::{Context, Ui};

fn usage(e: String) -> Error {
    Error::Usage(e)
}

/// The context of a command: the project folder (`--project-dir`, else the current directory),
/// the AWS options (flags, then `conf.region`/`conf.profile` of the defaults file), the output.
pub fn context(
    global: &GlobalArgs,
    defaults: &FlagDefaults,
    env: BTreeMap<String, String>,
) -> Result<Context> {
    let mut g = global.clone();
    defaults.apply_global(&mut g);
    let dir = match &g.project_dir {
        Some(d) => d.clone(),
        None => std::env::current_dir().map_err(|e| Error::io(".", e))?,
    };
    let dir = std::fs::canonicalize(&dir).map_err(|e| Error::io(&dir, e))?;
    let aws = crate::aws::AwsOptions {
        profile: g.profile,
        region: g.region,
        endpoint_url: g.endpoint_url,
    };
    let ui = Ui {
        json: g.json,
        quiet: g.quiet,
        verbose: g.verbose > 0,
    };
    Ok(Context::new(env, ProjectPaths::new(dir), aws, ui))
}

fn group_name(g: &GroupArgs, what: &str) -> Result<String> {
    g.name
        .clone()
        .ok_or_else(|| usage(format!("{what} needs -g GROUP")))
}

/// The certificate source (first match wins, as in GGP).
fn certificate(c: &CertificateArgs, force_new: bool) -> Result<CertificateSource> {
    if force_new && (c.certificate_arn.is_some() || c.csr.is_some()) {
        return Err(usage(
            "--force-create-new-keys makes new keys; it cannot be combined with --certificate-arn or --csr".into(),
        ));
    }
    Ok(if let Some(arn) = &c.certificate_arn {
        CertificateSource::ExistingArn { arn: arn.clone() }
    } else if let Some(csr) = &c.csr {
        CertificateSource::Csr {
            file: match inline_csr(csr) {
                Some(_) => "(the PEM text given with --csr)".into(),
                None => csr.display().to_string(),
            },
        }
    } else if force_new {
        CertificateSource::ForceNew
    } else {
        CertificateSource::StoredOrNew
    })
}

/// `--csr`'s value when it is the PEM text itself (as GGP's code took it) rather than a file.
fn inline_csr(value: &std::path::Path) -> Option<&str> {
    value
        .to_str()
        .filter(|s| s.trim_start().starts_with("-----BEGIN"))
}

/// The CSR `--csr` gives: the PEM text itself, or the file it names.
fn csr_pem(value: &std::path::Path) -> Result<String> {
    let text = match inline_csr(value) {
        Some(t) => t.to_string(),
        None => std::fs::read_to_string(value).map_err(|e| Error::io(value, e))?,
    };
    if !text.contains("-----BEGIN CERTIFICATE REQUEST-----")
        && !text.contains("-----BEGIN NEW CERTIFICATE REQUEST-----")
    {
        let what = match inline_csr(value) {
            Some(_) => "the PEM text given with --csr".to_string(),
            None => value.display().to_string(),
        };
        return Err(usage(format!(
            "{what} is not a certificate signing request (no -----BEGIN CERTIFICATE REQUEST----- block)"
        )));
    }
    Ok(text)
}

fn model_options(
    archs: Vec<crate::arch::Arch>,
    certificate: CertificateSource,
    core: &CoreArgs,
) -> model::Options {
    model::Options {
        archs,
        certificate,
        core_role_name: core.core_role_name.clone(),
        core_policy_name: core.core_policy_name.clone(),
        service_role_exists: core.service_role_exists,
        build_dir: std::path::PathBuf::from("build"),
        secret_arns: Default::default(),
    }
}

fn upload(o: &OutputArgs) -> Option<S3Location> {
    match (&o.s3_bucket, &o.s3_directory) {
        (Some(bucket), Some(prefix)) => Some(S3Location {
            bucket: bucket.clone(),
            prefix: prefix.clone(),
        }),
        _ => None,
    }
}

fn settings(o: &BundleOptions) -> BundleSettings {
    BundleSettings {
        core_software: o.core_software.clone(),
        core_software_sha256: o.core_software_sha256.clone(),
        split_secrets: o.split_secrets,
        include_deb: o.include_deb.clone(),
        hsi: o.hsi.clone(),
    }
}

pub fn plan(ctx: &Context, args: &PlanArgs, defaults: &FlagDefaults) -> Result<PlanRequest> {
    let mut a = args.clone();
    defaults.apply_group(&mut a.group).map_err(usage)?;
    defaults.apply_input(&mut a.input).map_err(usage)?;
    let group = group_name(&a.group, "plan")?;
    let deployment = a
        .input
        .deployment
        .clone()
        .ok_or_else(|| usage("plan needs -d deployments/FILE.conf (or EMPTY)".into()))?;
    let archs = a.input.arch.clone().map(|l| l.0).unwrap_or_default();
    Ok(PlanRequest {
        state_dir: ctx.state_dir(a.group.state_dir.as_ref(), &group),
        group,
        deployment,
        target: a.group.target,
        model: model_options(archs, certificate(&a.certificate, false)?, &a.core),
        offline: a.offline,
        packages: None,
    })
}

pub fn build(args: &BuildArgs, defaults: &FlagDefaults) -> Result<BuildRequest> {
    let mut a = args.clone();
    defaults.apply_input(&mut a.input).map_err(usage)?;
    let deployment = a
        .input
        .deployment
        .clone()
        .ok_or_else(|| usage("build needs -d deployments/FILE.conf".into()))?;
    let archs = a
        .input
        .arch
        .clone()
        .map(|l| l.0)
        .ok_or_else(|| usage("build needs -a ARCH[,ARCH...] (X86_64, ARM32, ARM64)".into()))?;
    Ok(BuildRequest {
        group: defaults.group.clone().unwrap_or_else(|| "ggp-build".into()),
        deployment,
        archs,
        out: a.out,
        no_cache: a.no_cache,
        jobs: a.jobs,
    })
}

pub fn deploy(ctx: &Context, args: &DeployArgs, defaults: &FlagDefaults) -> Result<DeployRequest> {
    let mut d = args.clone();
    defaults.apply(&mut d).map_err(usage)?;
    let group = d
        .group
        .name
        .clone()
        .ok_or_else(|| usage("deploy needs -g GROUP (the core thing is GROUP_Core)".into()))?;
    let deployment = d
        .input
        .deployment
        .clone()
        .ok_or_else(|| usage("deploy needs -d deployments/FILE.conf (or EMPTY)".into()))?;
    let certificate = certificate(&d.certificate, d.force_create_new_keys)?;
    let mut opts = DeployOptions::new(ctx.state_dir(d.group.state_dir.as_ref(), &group));
    if let Some(csr) = &d.certificate.csr {
        opts.csr_pem = Some(csr_pem(csr)?);
    }
    opts.s3 = upload(&d.outputs);
    if let Some(n) = d.keep_versions {
        opts.keep_versions = n;
    }
    if let Some(s) = d.deployment_timeout {
        opts.deployment_timeout = Duration::from_secs(s);
    }
    opts.fail_after = ctx
        .env
        .get("GGP_FAIL_AFTER")
        .filter(|s| !s.is_empty())
        .cloned();
    opts.progress = Progress::detect("deploy", ctx.ui.json, ctx.ui.quiet);
    let o = &d.outputs;
    let outputs = (o.script || o.oem || d.bundle).then(|| BundleRequest {
        deployment: Some(deployment.clone()),
        script: o.script,
        oem: o.oem,
        mqtt_port: o.mqtt_port,
        no_systemd: o.no_systemd,
        upload: upload(o),
        settings: settings(&d.bundle_options),
        ..Default::default()
    });
    Ok(DeployRequest {
        group,
        deployment,
        target: d.group.target,
        archs: d.input.arch.clone().map(|l| l.0).unwrap_or_default(),
        model: model_options(Vec::new(), certificate, &d.core),
        provision: opts,
        packages: None,
        outputs,
    })
}

pub fn bundle(ctx: &Context, args: &BundleArgs, defaults: &FlagDefaults) -> Result<BundleRequest> {
    let mut a = args.clone();
    defaults.apply_group(&mut a.group).map_err(usage)?;
    defaults.apply_input(&mut a.input).map_err(usage)?;
    defaults.apply_outputs(&mut a.outputs).map_err(usage)?;
    let group = group_name(&a.group, "bundle")?;
    let o = &a.outputs;
    Ok(BundleRequest {
        state_dir: ctx.state_dir(a.group.state_dir.as_ref(), &group),
        group,
        deployment: a.input.deployment.clone(),
        target: a.group.target,
        archs: a.input.arch.clone().map(|l| l.0).unwrap_or_default(),
        script: o.script,
        oem: o.oem,
        mqtt_port: o.mqtt_port,
        no_systemd: o.no_systemd,
        upload: upload(o),
        out: a.out.clone(),
        settings: settings(&a.options),
    })
}

pub fn destroy(ctx: &Context, args: &DestroyArgs) -> Result<DestroyRequest> {
    let group = group_name(&args.group, "destroy")?;
    Ok(DestroyRequest {
        state_dir: ctx.state_dir(args.group.state_dir.as_ref(), &group),
        group,
        target: args.group.target,
    })
}

/// The group, target and state folder of `status`, `logs` and `diagnose`.
fn operated(
    ctx: &Context,
    g: &GroupArgs,
    defaults: &FlagDefaults,
    what: &str,
) -> Result<(String, Option<crate::config::Target>, std::path::PathBuf)> {
    let mut g = g.clone();
    defaults.apply_group(&mut g).map_err(usage)?;
    let group = group_name(&g, what)?;
    Ok((
        group.clone(),
        g.target,
        ctx.state_dir(g.state_dir.as_ref(), &group),
    ))
}

pub fn status(ctx: &Context, args: &StatusArgs, defaults: &FlagDefaults) -> Result<StatusRequest> {
    let (group, target, state_dir) = operated(ctx, &args.group, defaults, "status")?;
    Ok(StatusRequest {
        group,
        target,
        state_dir,
        group_ca: args.group_ca,
    })
}

pub fn logs(ctx: &Context, args: &LogsArgs, defaults: &FlagDefaults) -> Result<LogsRequest> {
    let (group, target, state_dir) = operated(ctx, &args.group, defaults, "logs")?;
    Ok(LogsRequest {
        group,
        target,
        state_dir,
        component: args.component.clone(),
        since: args.since.as_deref().map(parse_since).transpose()?,
        follow: args.follow,
        poll: Duration::from_secs(1),
    })
}

pub fn diagnose(
    ctx: &Context,
    args: &DiagnoseArgs,
    defaults: &FlagDefaults,
) -> Result<DiagnoseRequest> {
    let (group, target, state_dir) = operated(ctx, &args.group, defaults, "diagnose")?;
    Ok(DiagnoseRequest {
        group,
        target,
        state_dir,
        since: match &args.since {
            Some(s) => parse_since(s)?,
            None => Duration::from_secs(3600),
        },
    })
}
