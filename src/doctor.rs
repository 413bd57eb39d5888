//! `ggp doctor`: what ggp would use, and whether it works, before a real run finds out.
//!
//! Reports the AWS profile, where the credentials came from (never the secret), the region and
//! its origin, the account (STS GetCallerIdentity), whether each service endpoint answers
//! (IoT with its `iot:Data-ATS` endpoint), and the Docker engine: version and the platforms it can
//! run (native, plus binfmt_misc emulators registered with the `F` flag on a local engine, plus the
//! platforms of ggp's builder images present). Exits non-zero, with the code of the first failed
//! check, when something the main job needs is missing.
//!
//! Not for: fixing anything. Every check is read-only.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::future::Future;
use std::time::Duration;

use serde::Serialize;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::arch::Arch;
use crate::aws::{
    AwsError, AwsOptions, CallerIdentity, CredentialSource, EnvVars, RegionInfo, Service, Session,
};
use crate::error::exit;

/// How long one endpoint or Docker check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(20);

/// The label ggp's builder images carry (set by `docker/builder/build-image`).
pub const RECIPE_LABEL: &str = "org.ggp.recipe-hash";

#[derive(Debug, Clone, Default)]
pub struct DoctorOptions {
    pub aws: AwsOptions,
    /// Skip the Docker checks (a machine that only provisions).
    pub skip_docker: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
    Skipped,
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The exit status this failure maps to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
}

impl Check {
    fn ok(name: &'static str, summary: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Ok,
            summary: summary.into(),
            hint: None,
            exit_code: None,
        }
    }
    fn skipped(name: &'static str, why: impl Into<String>) -> Check {
        Check {
            status: Status::Skipped,
            ..Check::ok(name, why)
        }
    }
    fn warn(name: &'static str, summary: impl Into<String>, hint: impl Into<String>) -> Check {
        Check {
            status: Status::Warn,
            hint: Some(hint.into()),
            ..Check::ok(name, summary)
        }
    }
    fn fail(name: &'static str, e: &AwsError) -> Check {
        Check {
            name,
            status: Status::Fail,
            summary: e.to_string(),
            hint: Some(e.hint()),
            exit_code: Some(e.exit_code()),
        }
    }
}

/// Whether one service endpoint answered.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointCheck {
    pub service: Service,
    pub url: String,
    pub overridden: bool,
    /// An HTTP answer came back (even an error answer).
    pub answered: bool,
    /// What came back: the IoT data endpoint, an error code, or why nothing did.
    pub detail: String,
    #[serde(skip)]
    error: Option<AwsError>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Platform {
    pub platform: String,
    /// `native`, or `binfmt <entry>` for an emulator the kernel runs.
    pub how: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BuilderImage {
    pub tag: String,
    pub platform: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DockerReport {
    pub host: String,
    pub version: Option<String>,
    pub api_version: Option<String>,
    pub platforms: Vec<Platform>,
    /// binfmt_misc emulators that are enabled but lack the `F` flag: containers cannot use them.
    pub unusable_emulators: Vec<String>,
    pub builder_images: Vec<BuilderImage>,
    pub error: Option<String>,
}

/// Everything `ggp doctor` found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub ok: bool,
    pub checks: Vec<Check>,
    pub profile: Option<String>,
    pub credentials: Option<CredentialSource>,
    pub region: Option<RegionInfo>,
    pub identity: Option<CallerIdentity>,
    pub endpoints: Vec<EndpointCheck>,
    pub docker: Option<DockerReport>,
}

/// `ggp doctor` failed: the first failed check decides the exit status.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DoctorFailed {
    pub message: String,
    pub hint: String,
    pub exit_code: i32,
}

impl crate::error::Failure for DoctorFailed {
    fn exit_code(&self) -> i32 {
        self.exit_code
    }
    fn hint(&self) -> Option<String> {
        Some(self.hint.clone())
    }
}

impl Report {
    /// `Err` naming the failed checks when something the main job needs is missing.
    pub fn result(&self) -> Result<(), DoctorFailed> {
        let failed: Vec<&Check> = self
            .checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .collect();
        let Some(first) = failed.first() else {
            return Ok(());
        };
        let names: Vec<&str> = failed.iter().map(|c| c.name).collect();
        Err(DoctorFailed {
            message: format!("doctor: {} failed: {}", names.join(", "), first.summary),
            hint: first.hint.clone().unwrap_or_default(),
            exit_code: first.exit_code.unwrap_or(exit::FAILURE),
        })
    }

    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            let tag = match c.status {
                Status::Ok => "ok",
                Status::Warn => "warn",
                Status::Fail => "FAIL",
                Status::Skipped => "skip",
            };
            let _ = writeln!(out, "{:<12} {:<5} {}", c.name, tag, c.summary);
            if c.name == "endpoints" {
                for e in &self.endpoints {
                    let _ = writeln!(
                        out,
                        "{:<18} {:<13} {} {}",
                        "",
                        e.service.id(),
                        e.url,
                        e.detail
                    );
                }
            }
            if c.name == "docker" {
                if let Some(d) = &self.docker {
                    for p in &d.platforms {
                        let _ = writeln!(out, "{:<18} {:<13} {}", "", p.platform, p.how);
                    }
                    for i in &d.builder_images {
                        let _ = writeln!(out, "{:<18} image {} ({})", "", i.tag, i.platform);
                    }
                }
            }
            if c.status != Status::Ok {
                if let Some(h) = &c.hint {
                    let _ = writeln!(out, "{:<18} hint: {h}", "");
                }
            }
        }
        out
    }
}

/// Run every check; never fails itself (failures are in the report).
pub async fn run(opts: &DoctorOptions, env: &EnvVars) -> Report {
    let mut checks = Vec::new();
    let mut report = Report {
        ok: true,
        checks: Vec::new(),
        profile: None,
        credentials: None,
        region: None,
        identity: None,
        endpoints: Vec::new(),
        docker: None,
    };
    let docker = async {
        if opts.skip_docker {
            None
        } else {
            Some(docker_report(env).await)
        }
    };
    let aws = aws_checks(&opts.aws, env);
    let ((aws_checks, aws_parts), docker) = tokio::join!(aws, docker);
    checks.extend(aws_checks);
    report.profile = aws_parts.profile;
    report.credentials = aws_parts.credentials;
    report.region = aws_parts.region;
    report.identity = aws_parts.identity;
    report.endpoints = aws_parts.endpoints;
    match docker {
        None => checks.push(Check::skipped("docker", "--no-docker")),
        Some(d) => {
            checks.push(docker_check(&d));
            report.docker = Some(d);
        }
    }
    report.ok = checks.iter().all(|c| c.status != Status::Fail);
    report.checks = checks;
    report
}

#[derive(Default)]
struct AwsParts {
    profile: Option<String>,
    credentials: Option<CredentialSource>,
    region: Option<RegionInfo>,
    identity: Option<CallerIdentity>,
    endpoints: Vec<EndpointCheck>,
}

async fn aws_checks(opts: &AwsOptions, env: &EnvVars) -> (Vec<Check>, AwsParts) {
    let mut checks = Vec::new();
    let mut parts = AwsParts::default();
    let session = match Session::load(opts, env).await {
        Ok(s) => s,
        Err(e) => {
            checks.push(Check::fail("profile", &e));
            for name in ["credentials", "region", "account", "endpoints"] {
                checks.push(Check::skipped(name, "needs a readable profile"));
            }
            return (checks, parts);
        }
    };
    let p = &session.profile;
    parts.profile = Some(p.name.clone());
    let named = match p.named_by {
        Some(by) => format!("`{}` (from {by})", p.name),
        None => format!("`{}` (the default)", p.name),
    };
    checks.push(Check::ok(
        "profile",
        if p.defined {
            format!("{named}, defined in {}", p.files)
        } else {
            format!("{named}, not defined (no profile files needed)")
        },
    ));
    match &session.credentials {
        Ok(s) => {
            let expires = s
                .expires
                .as_deref()
                .map(|t| format!(", expires {t}"))
                .unwrap_or_default();
            let token = if s.session_token {
                ", with session token"
            } else {
                ""
            };
            checks.push(Check::ok(
                "credentials",
                format!(
                    "{s}: provider {}, key {}{token}{expires}",
                    s.provider, s.access_key
                ),
            ));
            parts.credentials = Some(s.clone());
        }
        Err(e) => checks.push(Check::fail("credentials", e)),
    }
    match &session.region {
        Ok(r) => {
            checks.push(Check::ok(
                "region",
                format!("{} (from {})", r.name, r.origin),
            ));
            parts.region = Some(r.clone());
        }
        Err(e) => checks.push(Check::fail("region", e)),
    }
    let aws = match session.into_aws() {
        Ok(aws) => aws,
        Err(_) => {
            checks.push(Check::skipped("account", "needs credentials and a region"));
            checks.push(Check::skipped(
                "endpoints",
                "needs credentials and a region",
            ));
            return (checks, parts);
        }
    };
    let account = match timed(aws.identity()).await {
        Ok(Ok(id)) => {
            checks.push(Check::ok("account", format!("{} ({})", id.account, id.arn)));
            parts.identity = Some(id.clone());
            true
        }
        Ok(Err(e)) => {
            checks.push(Check::fail("account", &e));
            false
        }
        Err(_) => {
            let e = AwsError::EndpointUnreachable {
                service: "STS".into(),
                url: aws.endpoint_display(Service::Sts),
                reason: format!("no answer within {} s", CHECK_TIMEOUT.as_secs()),
                overridden: aws.endpoint(Service::Sts).is_some(),
            };
            checks.push(Check::fail("account", &e));
            false
        }
    };
    parts.endpoints = endpoint_checks(&aws, account).await;
    checks.push(endpoints_check(&parts.endpoints));
    (checks, parts)
}

async fn timed<F: Future>(f: F) -> Result<F::Output, tokio::time::error::Elapsed> {
    tokio::time::timeout(CHECK_TIMEOUT, f).await
}

/// Ask every service something cheap and read-only, all at once.
async fn endpoint_checks(aws: &crate::aws::Aws, sts_answered: bool) -> Vec<EndpointCheck> {
    let probe = |service: Service| async move {
        let url = aws.endpoint_display(service);
        let overridden = aws.endpoint(service).is_some();
        // One cheap, read-only call per service; `ok` says what came back.
        fn answer<T, E>(
            aws: &crate::aws::Aws,
            service: Service,
            operation: &str,
            r: Result<T, SdkError<E, HttpResponse>>,
            ok: impl FnOnce(T) -> String,
        ) -> Result<String, AwsError>
        where
            E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        {
            r.map(ok).map_err(|e| aws.call_error(service, operation, e))
        }
        let listed = |what: &str| format!("{what} ok");
        let result: Result<String, AwsError> = match service {
            Service::Sts => aws
                .identity()
                .await
                .map(|id| format!("account {}", id.account)),
            Service::Iot => answer(
                aws,
                service,
                "DescribeEndpoint",
                aws.iot()
                    .describe_endpoint()
                    .endpoint_type("iot:Data-ATS")
                    .send()
                    .await,
                |o| format!("iot:Data-ATS {}", o.endpoint_address.unwrap_or_default()),
            ),
            Service::Iam => answer(
                aws,
                service,
                "ListRoles",
                aws.iam().list_roles().max_items(1).send().await,
                |_| listed("ListRoles"),
            ),
            Service::Lambda => answer(
                aws,
                service,
                "ListFunctions",
                aws.lambda().list_functions().max_items(1).send().await,
                |_| listed("ListFunctions"),
            ),
            Service::S3 => answer(
                aws,
                service,
                "ListBuckets",
                aws.s3().list_buckets().send().await,
                |_| {
                    listed(if overridden {
                        "ListBuckets (path-style)"
                    } else {
                        "ListBuckets"
                    })
                },
            ),
            Service::Greengrass => answer(
                aws,
                service,
                "ListGroups",
                aws.greengrass().list_groups().max_results("1").send().await,
                |_| listed("ListGroups"),
            ),
            Service::GreengrassV2 => answer(
                aws,
                service,
                "ListComponents",
                aws.greengrassv2()
                    .list_components()
                    .max_results(1)
                    .send()
                    .await,
                |_| listed("ListComponents"),
            ),
        };
        (service, url, overridden, result)
    };
    let futures = Service::ALL
        .into_iter()
        .filter(|s| sts_answered || *s != Service::Sts)
        .map(|s| async move {
            match timed(probe(s)).await {
                Ok(r) => r,
                Err(_) => (
                    s,
                    aws.endpoint_display(s),
                    aws.endpoint(s).is_some(),
                    Err(AwsError::EndpointUnreachable {
                        service: s.id().into(),
                        url: aws.endpoint_display(s),
                        reason: format!("no answer within {} s", CHECK_TIMEOUT.as_secs()),
                        overridden: aws.endpoint(s).is_some(),
                    }),
                ),
            }
        });
    futures_util::future::join_all(futures)
        .await
        .into_iter()
        .map(|(service, url, overridden, result)| match result {
            Ok(detail) => EndpointCheck {
                service,
                url,
                overridden,
                answered: true,
                detail,
                error: None,
            },
            Err(e) => {
                let answered = !matches!(e, AwsError::EndpointUnreachable { .. });
                let detail = match &e {
                    AwsError::EndpointUnreachable { reason, .. } => {
                        format!("no answer: {reason}")
                    }
                    AwsError::Service { message, .. } => format!("answered: {message}"),
                    other => format!("answered: {other}"),
                };
                EndpointCheck {
                    service,
                    url,
                    overridden,
                    answered,
                    detail,
                    error: Some(e),
                }
            }
        })
        .collect()
}

fn endpoints_check(endpoints: &[EndpointCheck]) -> Check {
    let unreachable: Vec<&EndpointCheck> = endpoints.iter().filter(|e| !e.answered).collect();
    if let Some(e) = unreachable.first().and_then(|e| e.error.as_ref()) {
        let mut c = Check::fail("endpoints", e);
        let names: Vec<&str> = unreachable.iter().map(|e| e.service.id()).collect();
        c.summary = format!("{} do not answer; first: {e}", names.join(", "));
        return c;
    }
    let refused: Vec<&str> = endpoints
        .iter()
        .filter(|e| e.error.is_some())
        .map(|e| e.service.id())
        .collect();
    if refused.is_empty() {
        Check::ok("endpoints", format!("all {} answered", endpoints.len()))
    } else {
        Check::warn(
            "endpoints",
            format!("all answered; {} with an error", refused.join(", ")),
            "the credentials may lack permissions ggp needs (see the error per service above)",
        )
    }
}

fn docker_check(d: &DockerReport) -> Check {
    if let Some(e) = &d.error {
        return Check {
            name: "docker",
            status: Status::Fail,
            summary: format!("no Docker engine answers at {}: {e}", d.host),
            hint: Some(
                "start Docker (or set DOCKER_HOST); ggp builds function packages in containers. \
                 `ggp doctor --no-docker` checks AWS only"
                    .into(),
            ),
            exit_code: Some(exit::DOCKER_UNAVAILABLE),
        };
    }
    let platforms: Vec<&str> = d.platforms.iter().map(|p| p.platform.as_str()).collect();
    let summary = format!(
        "engine {} (API {}) at {}; runs {}",
        d.version.as_deref().unwrap_or("?"),
        d.api_version.as_deref().unwrap_or("?"),
        d.host,
        platforms.join(", ")
    );
    if platforms.len() < 2 {
        return Check::warn(
            "docker",
            summary,
            "only the native platform: building for other architectures needs qemu binfmt handlers \
             registered with the F flag (e.g. the qemu-user-static package)",
        );
    }
    Check::ok("docker", summary)
}

/// Connect lazily (only here), honouring `DOCKER_HOST` from `env`.
async fn docker_report(env: &EnvVars) -> DockerReport {
    let host = crate::docker::docker_host(env);
    let mut report = DockerReport {
        host: host.clone(),
        ..Default::default()
    };
    let (docker, version) = match engine(&host).await {
        Ok(found) => found,
        Err(e) => {
            report.error = Some(e);
            return report;
        }
    };
    report.version = version.version.clone();
    report.api_version = version.api_version.clone();
    let native = format!(
        "{}/{}",
        version.os.as_deref().unwrap_or("linux"),
        version.arch.as_deref().unwrap_or("?")
    );
    report.platforms.push(Platform {
        platform: native.clone(),
        how: "native".into(),
    });
    if host.starts_with("unix://") {
        let dir = env
            .get("GGP_BINFMT_DIR")
            .filter(|d| !d.is_empty())
            .map_or(BINFMT_DIR, String::as_str);
        let (usable, unusable) = binfmt_platforms(std::path::Path::new(dir));
        for (platform, entry) in usable {
            if platform != native && !report.platforms.iter().any(|p| p.platform == platform) {
                report.platforms.push(Platform {
                    platform,
                    how: format!("binfmt {entry}"),
                });
            }
        }
        report.unusable_emulators = unusable;
    }
    if let Ok(Ok(images)) = timed(builder_images(&docker)).await {
        report.builder_images = images;
    }
    report
}

/// Connect, agree on an API version the engine knows, and ask its version.
async fn engine(host: &str) -> Result<(bollard::Docker, bollard::models::SystemVersion), String> {
    let late = || format!("no answer within {} s", CHECK_TIMEOUT.as_secs());
    let docker = bollard::Docker::connect_with_host(host).map_err(|e| e.to_string())?;
    let docker = timed(docker.negotiate_version())
        .await
        .map_err(|_| late())?
        .map_err(|e| e.to_string())?;
    let version = timed(docker.version())
        .await
        .map_err(|_| late())?
        .map_err(|e| e.to_string())?;
    Ok((docker, version))
}

async fn builder_images(
    docker: &bollard::Docker,
) -> Result<Vec<BuilderImage>, bollard::errors::Error> {
    let filters = HashMap::from([("label".to_string(), vec![RECIPE_LABEL.to_string()])]);
    let options = bollard::query_parameters::ListImagesOptions {
        filters: Some(filters),
        ..Default::default()
    };
    let mut out = Vec::new();
    // an image built on a builder image inherits the label; ggp's runtime image empties it
    let builders = docker
        .list_images(Some(options))
        .await?
        .into_iter()
        .filter(|i| i.labels.get(RECIPE_LABEL).is_some_and(|v| !v.is_empty()));
    for image in builders {
        let inspect = docker.inspect_image(&image.id).await?;
        let platform = match (&inspect.os, &inspect.architecture, &inspect.variant) {
            (os, Some(a), Some(v)) if !v.is_empty() => {
                format!("{}/{a}/{v}", os.as_deref().unwrap_or("linux"))
            }
            (os, Some(a), _) => format!("{}/{a}", os.as_deref().unwrap_or("linux")),
            _ => "unknown".into(),
        };
        for tag in image.repo_tags.iter().filter(|t| !t.contains("<none>")) {
            out.push(BuilderImage {
                tag: tag.clone(),
                platform: platform.clone(),
            });
        }
    }
    out.sort_by(|a, b| a.tag.cmp(&b.tag));
    Ok(out)
}

/// Where the kernel's binfmt_misc is; `GGP_BINFMT_DIR` overrides it for a container, whose own /proc
/// does not show it (ggp.sh mounts the host's there: nothing can be mounted inside /proc).
const BINFMT_DIR: &str = "/proc/sys/fs/binfmt_misc";

/// Platforms the kernel can run through binfmt_misc: (usable, unusable) where usable entries are
/// enabled and have the `F` flag (the interpreter is opened at registration, so it works inside
/// containers); unusable ones are named for the report.
fn binfmt_platforms(dir: &std::path::Path) -> (Vec<(String, String)>, Vec<String>) {
    let mut usable = Vec::new();
    let mut unusable = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (usable, unusable);
    };
    let mut names: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    names.sort();
    for path in names {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name == "register" || name == "status" {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Some(entry) = parse_binfmt(&text) else {
            continue;
        };
        let platforms: Vec<&str> = Arch::all()
            .iter()
            .filter(|a| a.elf_machine() == entry.machine)
            .map(|a| a.docker_platform())
            .collect();
        if platforms.is_empty() {
            continue;
        }
        if entry.enabled && entry.fix_binary {
            for p in platforms {
                if !usable.iter().any(|(q, _)| q == p) {
                    usable.push((p.to_string(), name.clone()));
                }
            }
        } else {
            unusable.push(format!(
                "{name} ({})",
                if entry.enabled {
                    "no F flag"
                } else {
                    "disabled"
                }
            ));
        }
    }
    (usable, unusable)
}

#[derive(Debug, PartialEq)]
struct BinfmtEntry {
    enabled: bool,
    fix_binary: bool,
    /// ELF `e_machine` the magic matches.
    machine: u16,
}

/// Parse one `/proc/sys/fs/binfmt_misc/<name>` file (ELF magic entries only).
fn parse_binfmt(text: &str) -> Option<BinfmtEntry> {
    let mut enabled = false;
    let mut flags = "";
    let mut magic = None;
    for line in text.lines() {
        let line = line.trim();
        if line == "enabled" {
            enabled = true;
        } else if let Some(f) = line.strip_prefix("flags:") {
            flags = f.trim();
        } else if let Some(m) = line.strip_prefix("magic ") {
            magic = Some(m.trim());
        }
    }
    let bytes: Vec<u8> = magic?
        .as_bytes()
        .chunks(2)
        .filter_map(|c| u8::from_str_radix(std::str::from_utf8(c).ok()?, 16).ok())
        .collect();
    if bytes.len() < 20 || &bytes[..4] != b"\x7fELF" {
        return None;
    }
    Some(BinfmtEntry {
        enabled,
        fix_binary: flags.contains('F'),
        machine: u16::from_le_bytes([bytes[18], bytes[19]]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const QEMU_AARCH64: &str = "enabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: OCF\noffset 0\nmagic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n";

    #[test]
    fn binfmt_entry_names_the_machine_and_flags() {
        let e = parse_binfmt(QEMU_AARCH64).unwrap();
        assert_eq!(
            e,
            BinfmtEntry {
                enabled: true,
                fix_binary: true,
                machine: 0xb7
            }
        );
        let no_f = QEMU_AARCH64.replace("flags: OCF", "flags: OC");
        assert!(!parse_binfmt(&no_f).unwrap().fix_binary);
        assert!(parse_binfmt("enabled\nflags: \nextension .exe\n").is_none());
    }

    #[test]
    fn binfmt_dir_maps_to_docker_platforms() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("qemu-aarch64"), QEMU_AARCH64).unwrap();
        let arm = "enabled\ninterpreter /usr/bin/qemu-arm-static\nflags: F\noffset 0\nmagic 7f454c4601010100000000000000000002002800\n";
        std::fs::write(dir.path().join("qemu-arm"), arm).unwrap();
        std::fs::write(dir.path().join("status"), "enabled\n").unwrap();
        let off = "disabled\nflags: F\nmagic 7f454c460201010000000000000000000200f300\n";
        std::fs::write(dir.path().join("qemu-riscv64"), off).unwrap();
        let (usable, _) = binfmt_platforms(dir.path());
        let platforms: Vec<&str> = usable.iter().map(|(p, _)| p.as_str()).collect();
        assert!(platforms.contains(&"linux/arm64"), "{platforms:?}");
        assert!(platforms.contains(&"linux/arm/v7"), "{platforms:?}");
        assert!(!platforms.iter().any(|p| p.contains("riscv")));
    }

    #[test]
    fn first_failed_check_decides_the_exit_code() {
        let e = AwsError::RegionMissing {
            profile: "default".into(),
        };
        let report = Report {
            ok: false,
            checks: vec![
                Check::ok("credentials", "environment"),
                Check::fail("region", &e),
                Check {
                    exit_code: Some(exit::DOCKER_UNAVAILABLE),
                    ..Check::fail("docker", &e)
                },
            ],
            profile: None,
            credentials: None,
            region: None,
            identity: None,
            endpoints: vec![],
            docker: None,
        };
        let err = report.result().unwrap_err();
        assert_eq!(err.exit_code, exit::REGION_MISSING);
        assert!(err.message.contains("region, docker"), "{}", err.message);
    }
}
