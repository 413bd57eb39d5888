//! The Docker Engine adapter: the few engine calls ggp makes, through bollard, with errors a user can act on.
//!
//! [`DockerLazy`] connects on first use, so commands that need no engine never fail for lack of one. It honours
//! `DOCKER_HOST` (`unix://`, `tcp://`/`http://`; `ssh://` is refused with a hint, bollard's `ssh` feature is not
//! built) and negotiates the API version with engines older than bollard's default. Every failure is classified
//! as [`DockerError`]: no engine, permission refused, the engine stopped answering mid-request, or an API error.
//!
//! Not for: deciding what to build (that is `build`), or anything AWS.

use std::collections::HashMap;
use std::fmt;

use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateContainerOptionsBuilder, DownloadFromContainerOptionsBuilder,
    RemoveContainerOptionsBuilder,
};
use bollard::{ClientVersion, Docker};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::sync::OnceCell;

use crate::arch::Arch;

/// Seconds a single engine request may take before its response starts (image builds stream, so this bounds
/// the wait for the first line, not the build).
const REQUEST_TIMEOUT_SECS: u64 = 3600;

/// The ways talking to the engine fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DockerError {
    #[error("no Docker engine answers at {host}: {detail}")]
    Absent { host: String, detail: String },
    #[error("permission denied on the Docker engine at {host}: {detail}")]
    Permission { host: String, detail: String },
    #[error("the Docker engine at {host} stopped answering while {during}: {detail}")]
    Died {
        host: String,
        during: String,
        detail: String,
    },
    #[error("DOCKER_HOST={host} is not supported: {detail}")]
    Unsupported { host: String, detail: String },
    #[error("Docker engine error while {during}: {message}")]
    Api { during: String, message: String },
}

impl DockerError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            DockerError::Absent { .. } => Some(
                "start the Docker engine, or point DOCKER_HOST at one (unix:///path/docker.sock or tcp://host:2375)"
                    .into(),
            ),
            DockerError::Permission { .. } => Some(
                "add your user to the `docker` group (then log in again), or set DOCKER_HOST to an engine you may use"
                    .into(),
            ),
            DockerError::Died { .. } => Some(
                "nothing was cached for the interrupted builds; run the command again once the engine is back".into(),
            ),
            DockerError::Unsupported { .. } => {
                Some("use unix://, tcp:// or http://; for a remote engine, forward its socket (ssh -L)".into())
            }
            DockerError::Api { .. } => None,
        }
    }
}

/// Where `DOCKER_HOST` points (default: the local socket).
pub fn docker_host(env: &std::collections::BTreeMap<String, String>) -> String {
    env.get("DOCKER_HOST")
        .filter(|h| !h.is_empty())
        .cloned()
        .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string())
}

/// A Docker client made on first use. Cheap to create; `get` connects once and is shared by all jobs.
pub struct DockerLazy {
    host: String,
    cell: OnceCell<Result<Engine, DockerError>>,
}

impl DockerLazy {
    pub fn new(host: impl Into<String>) -> DockerLazy {
        DockerLazy {
            host: host.into(),
            cell: OnceCell::new(),
        }
    }

    pub fn from_env(env: &std::collections::BTreeMap<String, String>) -> DockerLazy {
        DockerLazy::new(docker_host(env))
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// True once a connection has been attempted (for tests and diagnostics: a cached rebuild never connects).
    pub fn was_used(&self) -> bool {
        self.cell.initialized()
    }

    /// The connected engine, connecting on the first call.
    pub async fn get(&self) -> Result<&Engine, DockerError> {
        self.cell
            .get_or_init(|| Engine::connect(self.host.clone()))
            .await
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// What ggp needs to know about an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    pub id: String,
    /// `os/architecture[/variant]` as the image config says.
    pub platform: String,
    pub labels: HashMap<String, String>,
}

/// What an image build asks of the engine.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    pub tag: String,
    pub dockerfile: String,
    pub labels: HashMap<String, String>,
    pub build_args: HashMap<String, String>,
    pub no_cache: bool,
    /// `host` lets build steps reach package registries through the host's network and proxy settings.
    pub network_mode: Option<String>,
}

/// How an image build ended when the engine itself was fine.
#[derive(Debug)]
pub enum BuildOutcome {
    Built {
        image_id: String,
    },
    /// A build step failed; `message` is the engine's error, `log` the build output.
    Failed {
        message: String,
        log: Vec<String>,
    },
}

/// A connected engine.
pub struct Engine {
    client: Docker,
    host: String,
    /// The engine's own architecture (what runs without emulation).
    pub native: Option<Arch>,
    /// `Os/Arch` as the engine reports it, for messages.
    pub native_name: String,
    pub api_version: String,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("host", &self.host)
            .field("native", &self.native_name)
            .field("api_version", &self.api_version)
            .finish()
    }
}

/// The Docker architecture name (`amd64`, `arm64`, `arm`) → ggp's architecture.
pub fn arch_from_docker(arch: &str, variant: Option<&str>) -> Option<Arch> {
    match (arch, variant.unwrap_or("")) {
        ("amd64" | "x86_64", _) => Some(Arch::X86_64),
        ("arm64" | "aarch64", _) => Some(Arch::Armv8),
        ("arm", "v6") => Some(Arch::Armv6lRaspbian),
        ("arm", _) => Some(Arch::Armv7lRaspbian),
        _ => None,
    }
}

/// Looks through an error's sources for an I/O error kind.
fn io_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        cur = err.source();
    }
    None
}

/// The full chain of an error's messages, `a: b: c`.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let s = err.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    parts.join(": ")
}

impl Engine {
    async fn connect(host: String) -> Result<Engine, DockerError> {
        let client = Engine::client(&host, bollard::API_DEFAULT_VERSION)?;
        // Engines older than bollard's default version refuse it on every versioned path; their refusal names
        // the newest version they speak, which is what the docker CLI's negotiation ends up with too.
        let (client, version) = match client.version().await {
            Ok(v) => (client, v),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 400,
                message,
            }) if message.contains("Maximum supported API version is") => {
                let max = message
                    .rsplit("Maximum supported API version is")
                    .next()
                    .map(|s| s.trim().trim_end_matches('.'))
                    .unwrap_or_default();
                let (major, minor) = max.split_once('.').ok_or_else(|| DockerError::Api {
                    during: "negotiating the API version".into(),
                    message: message.clone(),
                })?;
                let parsed = ClientVersion {
                    major_version: major.parse().unwrap_or(1),
                    minor_version: minor.parse().unwrap_or(41),
                };
                let client = Engine::client(&host, &parsed)?;
                let v = client
                    .version()
                    .await
                    .map_err(|e| classify_connect(&host, e))?;
                (client, v)
            }
            Err(e) => return Err(classify_connect(&host, e)),
        };
        let arch = version.arch.clone().unwrap_or_default();
        let os = version.os.clone().unwrap_or_default();
        Ok(Engine {
            native: if os == "linux" {
                arch_from_docker(&arch, None)
            } else {
                None
            },
            native_name: format!("{os}/{arch}"),
            api_version: format!(
                "{}.{}",
                client.client_version().major_version,
                client.client_version().minor_version
            ),
            client,
            host,
        })
    }

    fn client(host: &str, version: &ClientVersion) -> Result<Docker, DockerError> {
        let made = if let Some(path) = host.strip_prefix("unix://") {
            if !std::path::Path::new(path).exists() {
                return Err(DockerError::Absent {
                    host: host.to_string(),
                    detail: format!("{path} does not exist"),
                });
            }
            Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, version)
        } else if host.starts_with("tcp://") || host.starts_with("http://") {
            Docker::connect_with_http(host, REQUEST_TIMEOUT_SECS, version)
        } else if host.starts_with("ssh://") {
            return Err(DockerError::Unsupported {
                host: host.to_string(),
                detail: "this ggp is built without SSH transport".into(),
            });
        } else {
            return Err(DockerError::Unsupported {
                host: host.to_string(),
                detail: "unknown scheme".into(),
            });
        };
        made.map_err(|e| classify_connect(host, e))
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// Classifies an error of a request made after the connection worked.
    fn fail(&self, during: &str, e: bollard::errors::Error) -> DockerError {
        classify(&self.host, during, e)
    }

    /// Inspects an image; `None` when the engine does not have it.
    pub async fn image(&self, reference: &str) -> Result<Option<ImageInfo>, DockerError> {
        match self.client.inspect_image(reference).await {
            Ok(i) => {
                let mut platform = format!(
                    "{}/{}",
                    i.os.unwrap_or_default(),
                    i.architecture.unwrap_or_default()
                );
                if let Some(v) = i.variant.filter(|v| !v.is_empty()) {
                    platform.push('/');
                    platform.push_str(&v);
                }
                Ok(Some(ImageInfo {
                    id: i.id.unwrap_or_default(),
                    platform,
                    labels: i.config.and_then(|c| c.labels).unwrap_or_default(),
                }))
            }
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(self.fail(&format!("inspecting image {reference}"), e)),
        }
    }

    /// Builds an image from a tar context streamed as it is produced. `on_line` sees each output line.
    pub async fn build(
        &self,
        req: &BuildRequest,
        context: impl Stream<Item = Bytes> + Send + 'static,
        mut on_line: impl FnMut(&str),
    ) -> Result<BuildOutcome, DockerError> {
        let mut options = BuildImageOptionsBuilder::default()
            .dockerfile(&req.dockerfile)
            .t(&req.tag)
            .rm(true)
            .forcerm(true)
            .nocache(req.no_cache)
            .labels(&req.labels)
            .buildargs(&req.build_args);
        if let Some(n) = &req.network_mode {
            options = options.networkmode(n);
        }
        let during = format!("building image {}", req.tag);
        let mut stream =
            self.client
                .build_image(options.build(), None, Some(bollard::body_stream(context)));
        let mut log: Vec<String> = Vec::new();
        let mut image_id: Option<String> = None;
        let mut partial = String::new();
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(i) => i,
                // bollard turns the `error` member of a build output line into this: a step failed.
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    flush_lines(&mut partial, "\n", &mut log, &mut on_line);
                    return Ok(BuildOutcome::Failed {
                        message: error,
                        log,
                    });
                }
                Err(e) => return Err(self.fail(&during, e)),
            };
            if let Some(detail) = info.error_detail {
                let message = detail.message.unwrap_or_default();
                flush_lines(&mut partial, "\n", &mut log, &mut on_line);
                return Ok(BuildOutcome::Failed { message, log });
            }
            if let Some(s) = info.stream {
                flush_lines(&mut partial, &s, &mut log, &mut on_line);
            }
            if let Some(aux) = info.aux {
                if let Some(id) = aux.id {
                    image_id = Some(id);
                }
            }
        }
        flush_lines(&mut partial, "\n", &mut log, &mut on_line);
        match image_id {
            Some(image_id) => Ok(BuildOutcome::Built { image_id }),
            // Old engines do not send `aux`; the tag is then the only handle on the result.
            None => match self.image(&req.tag).await? {
                Some(i) => Ok(BuildOutcome::Built { image_id: i.id }),
                None => Err(DockerError::Died {
                    host: self.host.clone(),
                    during,
                    detail: "the build output ended without an image".into(),
                }),
            },
        }
    }

    /// Copies `path` out of `image` as a tar stream (a created, never started container; removed afterwards).
    pub async fn copy_out(
        &self,
        image: &str,
        platform: &str,
        path: &str,
    ) -> Result<Vec<u8>, DockerError> {
        let body = bollard::models::ContainerCreateBody {
            image: Some(image.to_string()),
            cmd: Some(vec!["/bin/true".to_string()]),
            network_disabled: Some(true),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default()
            .platform(platform)
            .build();
        let id = self
            .client
            .create_container(Some(options), body)
            .await
            .map_err(|e| self.fail(&format!("creating a container of {image}"), e))?
            .id;
        let mut stream = self.client.download_from_container(
            &id,
            Some(
                DownloadFromContainerOptionsBuilder::default()
                    .path(path)
                    .build(),
            ),
        );
        let mut out = Vec::new();
        let mut result = Ok(());
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(b) => out.extend_from_slice(&b),
                Err(e) => {
                    result = Err(self.fail(&format!("copying {path} out of {image}"), e));
                    break;
                }
            }
        }
        drop(stream);
        let removed = self
            .client
            .remove_container(
                &id,
                Some(RemoveContainerOptionsBuilder::default().force(true).build()),
            )
            .await;
        result?;
        removed.map_err(|e| self.fail(&format!("removing container {id}"), e))?;
        Ok(out)
    }

    /// Removes an image tag (best effort: an image still in use stays).
    pub async fn untag(&self, reference: &str) -> Result<(), DockerError> {
        self.client
            .remove_image(
                reference,
                None::<bollard::query_parameters::RemoveImageOptions>,
                None,
            )
            .await
            .map(|_| ())
            .map_err(|e| self.fail(&format!("removing image {reference}"), e))
    }

    /// Tags of `repository` (`ggp/hellopython`) whose tag starts with `prefix`.
    pub async fn tags(&self, repository: &str, prefix: &str) -> Result<Vec<String>, DockerError> {
        let mut filters = HashMap::new();
        filters.insert("reference".to_string(), vec![format!("{repository}:*")]);
        let options = bollard::query_parameters::ListImagesOptionsBuilder::default()
            .filters(&filters)
            .build();
        let images = self
            .client
            .list_images(Some(options))
            .await
            .map_err(|e| self.fail(&format!("listing images of {repository}"), e))?;
        let mut out: Vec<String> = images
            .into_iter()
            .flat_map(|i| i.repo_tags)
            .filter(|t| {
                t.strip_prefix(repository)
                    .and_then(|r| r.strip_prefix(':'))
                    .is_some_and(|tag| tag.starts_with(prefix))
            })
            .collect();
        out.sort();
        Ok(out)
    }
}

/// Splits streamed output into lines; a line may arrive in pieces.
fn flush_lines(
    partial: &mut String,
    s: &str,
    log: &mut Vec<String>,
    on_line: &mut impl FnMut(&str),
) {
    partial.push_str(s);
    while let Some(i) = partial.find('\n') {
        let line: String = partial.drain(..=i).collect();
        let line = strip_ansi(line.trim_end());
        // Every stage names its platform; the classic builder still warns that the build as a whole does not.
        if !line.trim().is_empty() && !line.contains("does not match the detected host platform") {
            on_line(&line);
            log.push(line);
        }
    }
}

/// Removes terminal colour sequences (the classic builder wraps a step's stderr in them).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Classifies a failure to reach the engine at all.
fn classify_connect(host: &str, e: bollard::errors::Error) -> DockerError {
    match io_kind(&e) {
        Some(std::io::ErrorKind::PermissionDenied) => DockerError::Permission {
            host: host.to_string(),
            detail: chain(&e),
        },
        _ => match e {
            bollard::errors::Error::DockerResponseServerError { message, .. } => DockerError::Api {
                during: "connecting".into(),
                message,
            },
            bollard::errors::Error::UnsupportedURISchemeError { .. } => DockerError::Unsupported {
                host: host.to_string(),
                detail: chain(&e),
            },
            other => DockerError::Absent {
                host: host.to_string(),
                detail: chain(&other),
            },
        },
    }
}

/// Classifies the failure of a request made on a working connection: a refused or broken connection means the
/// engine went away.
fn classify(host: &str, during: &str, e: bollard::errors::Error) -> DockerError {
    match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => DockerError::Api {
            during: during.to_string(),
            message,
        },
        bollard::errors::Error::DockerStreamError { error } => DockerError::Api {
            during: during.to_string(),
            message: error,
        },
        other => {
            if io_kind(&other) == Some(std::io::ErrorKind::PermissionDenied) {
                return DockerError::Permission {
                    host: host.to_string(),
                    detail: chain(&other),
                };
            }
            DockerError::Died {
                host: host.to_string(),
                during: during.to_string(),
                detail: chain(&other),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn absent_socket_is_reported_lazily_and_clearly() {
        let lazy = DockerLazy::new("unix:///nonexistent/ggp-test/docker.sock");
        assert!(!lazy.was_used(), "creating the handle must not connect");
        let err = lazy.get().await.unwrap_err();
        assert!(
            matches!(err, DockerError::Absent { .. }),
            "{err:?} should be Absent"
        );
        assert!(err
            .to_string()
            .contains("/nonexistent/ggp-test/docker.sock"));
        assert!(err.hint().unwrap().contains("DOCKER_HOST"));
    }

    #[tokio::test]
    async fn refused_connection_is_absent_and_permission_is_permission() {
        let dir = tempfile::tempdir().unwrap();
        // A socket path nobody listens on: connection refused.
        let path = dir.path().join("dead.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let err = DockerLazy::new(format!("unix://{}", path.display()))
            .get()
            .await
            .unwrap_err();
        assert!(matches!(err, DockerError::Absent { .. }), "{err:?}");

        // Permission: only meaningful when not root (root ignores socket modes).
        if unsafe_is_root() {
            return;
        }
        let path = dir.path().join("locked.sock");
        let _l = std::os::unix::net::UnixListener::bind(&path).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
        let err = DockerLazy::new(format!("unix://{}", path.display()))
            .get()
            .await
            .unwrap_err();
        assert!(matches!(err, DockerError::Permission { .. }), "{err:?}");
    }

    fn unsafe_is_root() -> bool {
        std::fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
            .unwrap_or(false)
    }

    #[test]
    fn ssh_and_unknown_schemes_are_refused_with_a_hint() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for host in ["ssh://user@host", "npipe:////./pipe/docker"] {
            let err = rt.block_on(DockerLazy::new(host).get()).unwrap_err();
            assert!(matches!(err, DockerError::Unsupported { .. }), "{err:?}");
        }
    }

    #[test]
    fn docker_architectures_map_to_ggp() {
        assert_eq!(arch_from_docker("amd64", None), Some(Arch::X86_64));
        assert_eq!(arch_from_docker("arm64", Some("v8")), Some(Arch::Armv8));
        assert_eq!(
            arch_from_docker("arm", Some("v7")),
            Some(Arch::Armv7lRaspbian)
        );
        assert_eq!(arch_from_docker("s390x", None), None);
    }

    #[test]
    fn streamed_output_is_split_into_whole_lines() {
        let mut partial = String::new();
        let mut log = Vec::new();
        let mut seen = Vec::new();
        for piece in [
            "Step 1/2 : FR",
            "OM x\n ---> abc\n",
            "\n",
            "\u{1b}[91mERROR: no\n\u{1b}[0m",
            " ---> [Warning] The requested image's platform (linux/arm64/v8) does not match the detected host platform (linux/amd64) and no specific platform was requested\n",
            "tail",
        ] {
            flush_lines(&mut partial, piece, &mut log, &mut |l: &str| {
                seen.push(l.to_string())
            });
        }
        assert_eq!(seen, vec!["Step 1/2 : FROM x", " ---> abc", "ERROR: no"]);
        assert_eq!(partial, "tail");
    }
}
