//! Stage 3 of the pipeline: Lambda packages per function × architecture, built in Docker.
//!
//! Entry point: [`build`]. For each job it hashes the inputs (function files, build-relevant keys of
//! function.conf, language, architecture, builder image, recipe, ggp version); a complete cache entry for
//! that hash is copied to the output with no Docker work at all. Otherwise it builds an image
//! `ggp/<function>:<arch>-<hash>` through the Engine API from a streamed tar context (`recipe` says how per
//! language), copies `/ggp/package` out of it and writes a deterministic zip (`package`), then caches it.
//! Jobs run in parallel up to a bound. A failed job leaves neither a cache entry nor an artifact.
//!
//! Not for: uploading packages or creating Lambda functions (provisioning does that with the artifacts).

pub mod cache;
pub mod context;
mod executable;
mod java;
pub mod package;
pub mod progress;
mod python;
pub mod recipe;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use futures_util::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::arch::Arch;
use crate::config::{FunctionConf, Project};
use crate::docker::{BuildOutcome, BuildRequest, DockerError, DockerLazy, Engine, ImageInfo};
use cache::{Cache, EntryMeta};
use context::{Member, SourceFile};
pub use progress::{JobProgress, Mode, Progress};
use recipe::{Images, Recipe, PACKAGE_DIR};

/// The default builder image for an architecture (made by `docker/builder/build-image`).
pub fn default_builder_image(arch: Arch) -> String {
    format!("ggp/builder:bookworm-{}", arch.debian_arch())
}

/// The builder image for a function on an architecture: `buildImage` from function.conf (`{debarch}` and
/// `{arch}` replaced), else `GGP_BUILDER_IMAGE_<ARCH>` from the environment, else the default.
pub fn builder_image(f: &FunctionConf, arch: Arch, env: &BTreeMap<String, String>) -> String {
    if let Some(image) = &f.build_image {
        return image
            .replace("{debarch}", arch.debian_arch())
            .replace("{arch}", &arch.name().to_ascii_lowercase());
    }
    env.get(&format!("GGP_BUILDER_IMAGE_{}", arch.name()))
        .filter(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| default_builder_image(arch))
}

/// How a build runs.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Packages go to `<out_dir>/<ARCH>/<functionName>.zip`, the manifest to `<out_dir>/manifest.json`.
    pub out_dir: PathBuf,
    pub cache_dir: PathBuf,
    /// Rebuild everything: ignore the cache and Docker's layer cache.
    pub no_cache: bool,
    /// Jobs at once.
    pub jobs: usize,
    /// The environment: SOURCE_DATE_EPOCH, GGP_BUILDER_IMAGE_<ARCH>, GGP_CA_BUNDLE, SSL_CERT_FILE,
    /// GGP_BUILD_NETWORK and proxy variables are read from it.
    pub env: BTreeMap<String, String>,
}

impl BuildOptions {
    /// Defaults for a project: `build/functions` and `build/cache/functions` under its root, one job per core.
    pub fn for_project(root: &Path, env: BTreeMap<String, String>) -> BuildOptions {
        BuildOptions {
            out_dir: root.join("build").join("functions"),
            cache_dir: root.join("build").join("cache").join("functions"),
            no_cache: false,
            jobs: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            env,
        }
    }

    fn epoch(&self) -> Option<i64> {
        self.env
            .get("SOURCE_DATE_EPOCH")
            .and_then(|s| s.trim().parse().ok())
    }

    /// The CA bundle build steps trust for registry access: GGP_CA_BUNDLE (`none` disables), else
    /// SSL_CERT_FILE, else the system bundle. Not part of the cache key: it changes how packages are fetched,
    /// not what they are.
    fn ca_bundle(&self) -> Option<PathBuf> {
        if let Some(v) = self.env.get("GGP_CA_BUNDLE") {
            return (!v.is_empty() && v != "none").then(|| PathBuf::from(v));
        }
        self.env
            .get("SSL_CERT_FILE")
            .map(PathBuf::from)
            .into_iter()
            .chain([
                PathBuf::from("/etc/ssl/certs/ca-certificates.crt"),
                PathBuf::from("/etc/pki/tls/certs/ca-bundle.crt"),
            ])
            .find(|p| p.is_file())
    }

    /// Proxy settings passed to build steps (Docker's predefined build arguments, not kept in the image).
    fn build_args(&self) -> HashMap<String, String> {
        const PROXIES: &[&str] = &[
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "NO_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "no_proxy",
            "all_proxy",
        ];
        PROXIES
            .iter()
            .filter_map(|k| self.env.get(*k).map(|v| (k.to_string(), v.clone())))
            .collect()
    }
}

/// A built package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    pub function: String,
    pub arch: Arch,
    /// The zip, relative to the project root when inside it.
    pub package: String,
    pub sha256: String,
    pub size: u64,
    pub input_hash: String,
    pub image: String,
    pub builder_image: String,
    pub recipe: String,
    /// True when it came from the cache without Docker work.
    pub cached: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Why one job failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// A build step, the package checks or the recipe failed.
    Build,
    /// The builder image is missing or of another architecture.
    BuilderImage,
    Docker(DockerError),
    /// Reading sources or writing outputs failed.
    Io,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    pub function: String,
    pub arch: Arch,
    pub kind: FailureKind,
    pub message: String,
}

impl std::fmt::Display for JobFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.function, self.arch, self.message)
    }
}

/// Why `build` failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{}", failed_message(.failures, *.total))]
    Failed {
        failures: Vec<JobFailure>,
        /// Jobs in the run.
        total: usize,
        /// What did build (written, listed in the manifest).
        built: Vec<Artifact>,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Failures with one message: the functions, each with its architectures.
type Group<'a> = (&'a str, Vec<(&'a str, Vec<Arch>)>);

fn failed_message(failures: &[JobFailure], total: usize) -> String {
    // Jobs that failed the same way (no engine, one bad requirement for every architecture) are named
    // together: `F (X86_64, ARM64): message`.
    let mut groups: Vec<Group> = Vec::new();
    for f in failures {
        let g = match groups.iter_mut().find(|(m, _)| *m == f.message) {
            Some(g) => g,
            None => {
                groups.push((&f.message, Vec::new()));
                groups.last_mut().expect("just pushed")
            }
        };
        match g.1.iter_mut().find(|(name, _)| *name == f.function) {
            Some((_, archs)) => archs.push(f.arch),
            None => g.1.push((&f.function, vec![f.arch])),
        }
    }
    let render = |(message, jobs): &Group| {
        let who: Vec<String> = jobs
            .iter()
            .map(|(name, archs)| {
                let archs: Vec<&str> = archs.iter().map(|a| a.name()).collect();
                format!("{name} ({})", archs.join(", "))
            })
            .collect();
        format!("{}: {message}", who.join(", "))
    };
    if let [one] = groups.as_slice() {
        return render(one);
    }
    let mut s = format!("{} of {total} builds failed:", failures.len());
    for g in &groups {
        s.push_str("\n  ");
        s.push_str(&render(g).replace('\n', "\n    "));
    }
    s
}

impl BuildError {
    /// The most telling failure: engine trouble first (it explains the rest), then builder images.
    pub fn main_kind(&self) -> Option<&FailureKind> {
        let BuildError::Failed { failures, .. } = self else {
            return None;
        };
        let rank = |k: &FailureKind| match k {
            FailureKind::Docker(DockerError::Absent { .. }) => 0,
            FailureKind::Docker(DockerError::Permission { .. }) => 1,
            FailureKind::Docker(DockerError::Unsupported { .. }) => 2,
            FailureKind::Docker(DockerError::Died { .. }) => 3,
            FailureKind::BuilderImage => 4,
            FailureKind::Docker(DockerError::Api { .. }) => 5,
            FailureKind::Io => 6,
            FailureKind::Build => 7,
        };
        failures.iter().map(|f| &f.kind).min_by_key(|k| rank(k))
    }

    pub fn hint(&self) -> Option<String> {
        match self.main_kind()? {
            FailureKind::Docker(d) => d.hint(),
            FailureKind::BuilderImage => Some(
                "build the image with docker/builder/build-image (scripts/bench up does), load or pull it, or set \
                 buildImage in function.conf / GGP_BUILDER_IMAGE_<ARCH>"
                    .into(),
            ),
            FailureKind::Build => Some(
                "nothing was cached or written for the failed builds; `ggp build -v` shows every build line".into(),
            ),
            FailureKind::Io => None,
        }
    }
}

/// One function × architecture.
struct Job<'a> {
    f: &'a FunctionConf,
    dir: PathBuf,
    arch: Arch,
    sources: &'a [SourceFile],
    key: String,
    builder: String,
    zip_path: PathBuf,
}

impl Job<'_> {
    fn image_tag(&self) -> String {
        let repo: String = self
            .f
            .function_name
            .to_ascii_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        format!(
            "ggp/{}:{}-{}",
            repo.trim_matches(|c: char| !c.is_ascii_alphanumeric()),
            self.arch.name().to_ascii_lowercase(),
            &self.key[..12]
        )
    }

    fn fail(&self, kind: FailureKind, message: impl Into<String>) -> JobFailure {
        JobFailure {
            function: self.f.function_name.clone(),
            arch: self.arch,
            kind,
            message: message.into(),
        }
    }
}

/// Placeholder images for the cache key: what is hashed must not need the engine.
fn key_images(arch: Arch, target: &str) -> Images {
    Images {
        target: target.to_string(),
        target_platform: arch.docker_platform().to_string(),
        native: "<native builder>".into(),
        native_platform: "<native platform>".into(),
    }
}

/// The cache key of one job.
fn input_key(
    f: &FunctionConf,
    dir: &Path,
    arch: Arch,
    sources: &[SourceFile],
    builder: &str,
    epoch: Option<i64>,
) -> Result<String, String> {
    let mut h = Sha256::new();
    let mut field = |k: &str, v: &str| {
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
        h.update([0]);
    };
    field("ggp-build", "1");
    field("ggp-version", crate::VERSION);
    field("function", &f.function_name);
    field("dir", &f.dir_name);
    field("language", &f.language.name());
    field("handler", &f.handler_name);
    field("jarPath", f.jar_path.as_deref().unwrap_or(""));
    field("arch", arch.name());
    field("builder", builder);
    field("epoch", &epoch.map(|e| e.to_string()).unwrap_or_default());
    for script in [
        recipe::PYTHON_SH,
        recipe::NODE_SH,
        recipe::EXECUTABLE_SH,
        recipe::JAVA_SH,
    ] {
        field("script", script);
    }
    let input = recipe::Input {
        f,
        arch,
        dir,
        sources,
    };
    for r in recipe::recipes(&input, &key_images(arch, builder))? {
        field("recipe", r.label);
        field("dockerfile", &r.dockerfile);
    }
    context::hash_into(sources, &mut h);
    Ok(package::hex(&h.finalize()))
}

/// Shown paths: relative to the project root when inside it.
fn shown(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_file_name(format!(
        ".{}.tmp-{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

fn sha_sidecar(zip: &Path) -> PathBuf {
    let mut s = zip.as_os_str().to_owned();
    s.push(".sha256");
    PathBuf::from(s)
}

/// Puts a package at its output path with its `.sha256` beside it (skipped when already there).
fn publish(
    zip_path: &Path,
    bytes: Option<&[u8]>,
    from: Option<&Path>,
    sha: &str,
) -> std::io::Result<()> {
    let name = zip_path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let sidecar = sha_sidecar(zip_path);
    let line = format!("{sha}  {name}\n");
    let same = std::fs::read_to_string(&sidecar).is_ok_and(|s| s == line) && zip_path.is_file();
    if same {
        if let Some(b) = bytes {
            if std::fs::metadata(zip_path).map(|m| m.len()).ok() == Some(b.len() as u64) {
                return Ok(());
            }
        } else if let Some(src) = from {
            if std::fs::metadata(zip_path).map(|m| m.len()).ok()
                == std::fs::metadata(src).map(|m| m.len()).ok()
            {
                return Ok(());
            }
        }
    }
    match (bytes, from) {
        (Some(b), _) => write_atomic(zip_path, b)?,
        (None, Some(src)) => write_atomic(zip_path, &std::fs::read(src)?)?,
        (None, None) => {}
    }
    write_atomic(&sidecar, line.as_bytes())
}

/// Removes a job's outputs so that nothing stale is taken for the result of a failed build.
fn unpublish(zip_path: &Path) {
    let _ = std::fs::remove_file(zip_path);
    let _ = std::fs::remove_file(sha_sidecar(zip_path));
}

/// The manifest of a run: every artifact built, with its sha256.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest<'a> {
    pub ggp_version: &'a str,
    pub artifacts: &'a [Artifact],
}

/// Builds every local function of `project` for every architecture in `archs`.
pub async fn build(
    project: &Project,
    archs: &[Arch],
    opts: &BuildOptions,
    docker: &DockerLazy,
    progress: &Progress,
) -> Result<Vec<Artifact>, BuildError> {
    let root = &project.paths.root;
    let epoch = opts.epoch();
    let cache = Cache::open(&opts.cache_dir);

    // Sources once per function; keys per job. None of this needs the engine.
    // Existing Lambda functions (alias ARNs, wildcards) are used as is: nothing to build. Git
    // functions are built from their checkout.
    let functions: Vec<&FunctionConf> = project
        .functions
        .iter()
        .filter(|f| f.existing.is_none())
        .collect();
    let mut sources: Vec<(PathBuf, Vec<SourceFile>)> = Vec::new();
    for f in &functions {
        let dir = project.paths.folder_of(f);
        let files = context::collect(&dir).map_err(|e| BuildError::Io {
            path: shown(root, &dir),
            source: e,
        })?;
        sources.push((dir, files));
    }
    let mut jobs = Vec::new();
    let mut failures = Vec::new();
    for (f, (dir, files)) in functions.iter().copied().zip(&sources) {
        for &arch in archs {
            let builder = builder_image(f, arch, &opts.env);
            let zip_path = opts
                .out_dir
                .join(arch.name())
                .join(format!("{}.zip", f.function_name));
            match input_key(f, dir, arch, files, &builder, epoch) {
                Ok(key) => jobs.push(Job {
                    f,
                    dir: dir.clone(),
                    arch,
                    sources: files,
                    key,
                    builder,
                    zip_path,
                }),
                Err(message) => {
                    unpublish(&zip_path);
                    failures.push(JobFailure {
                        function: f.function_name.clone(),
                        arch,
                        kind: FailureKind::Build,
                        message,
                    });
                }
            }
        }
    }
    let total = jobs.len() + failures.len();

    let runner = Runner {
        root,
        opts,
        docker,
        progress,
        cache: &cache,
        epoch,
        images: Mutex::new(HashMap::new()),
    };
    let mut results: Vec<(usize, Result<Artifact, JobFailure>)> =
        futures_util::stream::iter(jobs.iter().enumerate())
            .map(|(i, job)| {
                let runner = &runner;
                async move { (i, runner.run(job).await) }
            })
            .buffer_unordered(opts.jobs.max(1))
            .collect()
            .await;
    results.sort_by_key(|(i, _)| *i);

    let mut built = Vec::new();
    for (_, r) in results {
        match r {
            Ok(a) => built.push(a),
            Err(f) => failures.push(f),
        }
    }
    let manifest = opts.out_dir.join("manifest.json");
    let text = serde_json::to_vec_pretty(&Manifest {
        ggp_version: crate::VERSION,
        artifacts: &built,
    })
    .map_err(|e| BuildError::Io {
        path: shown(root, &manifest),
        source: std::io::Error::other(e),
    })?;
    write_atomic(&manifest, &text).map_err(|e| BuildError::Io {
        path: shown(root, &manifest),
        source: e,
    })?;
    if failures.is_empty() {
        Ok(built)
    } else {
        Err(BuildError::Failed {
            failures,
            total,
            built,
        })
    }
}

/// State shared by the jobs of one run.
struct Runner<'a> {
    root: &'a Path,
    opts: &'a BuildOptions,
    docker: &'a DockerLazy,
    progress: &'a Progress,
    cache: &'a Cache,
    epoch: Option<i64>,
    /// Builder images inspected so far (each is inspected once per run).
    images: Mutex<HashMap<String, Option<ImageInfo>>>,
}

/// What a successful image build gives.
struct Built {
    image_id: String,
    recipe: &'static str,
}

impl Runner<'_> {
    async fn run(&self, job: &Job<'_>) -> Result<Artifact, JobFailure> {
        let p = self.progress.job(&job.f.function_name, job.arch.name());
        let started = std::time::Instant::now();
        let result = self.run_inner(job, &p).await;
        match &result {
            Ok(a) => {
                for w in &a.warnings {
                    p.warn(w);
                }
                let how = if a.cached {
                    "cached".to_string()
                } else {
                    format!("built in {:.1} s", started.elapsed().as_secs_f64())
                };
                p.done(&format!(
                    "{} {} ({}, {how})",
                    a.package,
                    &a.sha256[..16],
                    human(a.size)
                ));
            }
            Err(e) => {
                unpublish(&job.zip_path);
                p.failed(e.message.lines().next().unwrap_or(""));
            }
        }
        result
    }

    fn artifact(&self, job: &Job, meta: &EntryMeta, cached: bool) -> Artifact {
        Artifact {
            function: job.f.function_name.clone(),
            arch: job.arch,
            package: shown(self.root, &job.zip_path),
            sha256: meta.sha256.clone(),
            size: meta.size,
            input_hash: job.key.clone(),
            image: meta.image.clone(),
            builder_image: meta.builder_image.clone(),
            recipe: meta.recipe.clone(),
            cached,
            warnings: meta.warnings.clone(),
        }
    }

    async fn run_inner(&self, job: &Job<'_>, p: &JobProgress) -> Result<Artifact, JobFailure> {
        let io = |e: std::io::Error, what: &Path| {
            job.fail(FailureKind::Io, format!("{}: {e}", what.display()))
        };
        if self.opts.no_cache {
            self.cache.remove(&job.key);
        } else if let Some(hit) = self.cache.lookup(&job.key) {
            publish(&job.zip_path, None, Some(&hit.zip), &hit.meta.sha256)
                .map_err(|e| io(e, &job.zip_path))?;
            return Ok(self.artifact(job, &hit.meta, true));
        }

        let engine = self
            .docker
            .get()
            .await
            .map_err(|e| job.fail(FailureKind::Docker(e.clone()), e.to_string()))?;
        let native = engine.native.ok_or_else(|| {
            job.fail(
                FailureKind::BuilderImage,
                format!(
                    "the engine runs on {}, for which ggp has no builder",
                    engine.native_name
                ),
            )
        })?;
        let images = Images {
            target: job.builder.clone(),
            target_platform: job.arch.docker_platform().to_string(),
            native: builder_image(job.f, native, &self.opts.env),
            native_platform: native.docker_platform().to_string(),
        };
        let target_info = self
            .check_image(engine, job, &images.target, job.arch)
            .await?;
        let tag = job.image_tag();
        let input = recipe::Input {
            f: job.f,
            arch: job.arch,
            dir: &job.dir,
            sources: job.sources,
        };
        let recipes =
            recipe::recipes(&input, &images).map_err(|m| job.fail(FailureKind::Build, m))?;

        // An image already built from these inputs (the cache folder was removed) only needs exporting.
        let existing = if self.opts.no_cache {
            None
        } else {
            engine
                .image(&tag)
                .await
                .map_err(|e| job.fail(FailureKind::Docker(e.clone()), e.to_string()))?
                .filter(|i| i.labels.get("org.ggp.input-hash") == Some(&job.key))
        };
        let built = match existing {
            Some(i) => {
                p.step("image already built; exporting");
                Built {
                    image_id: i.id,
                    recipe: i
                        .labels
                        .get("org.ggp.recipe")
                        .and_then(|r| recipes.iter().find(|x| x.label == r))
                        .map(|r| r.label)
                        .unwrap_or("existing image"),
                }
            }
            None => {
                self.build_image(engine, job, &images, &recipes, &tag, p)
                    .await?
            }
        };

        p.step("exporting the package");
        let tar = engine
            .copy_out(&built.image_id, &images.target_platform, PACKAGE_DIR)
            .await
            .map_err(|e| job.fail(FailureKind::Docker(e.clone()), e.to_string()))?;
        p.step("packaging");
        let language = job.f.language;
        let handler = job.f.handler_name.clone();
        let arch = job.arch;
        let epoch = self.epoch;
        let packaged = tokio::task::spawn_blocking(move || {
            package::package(
                &tar,
                &package::Spec {
                    language,
                    handler: &handler,
                    arch,
                    epoch,
                },
            )
        })
        .await
        .map_err(|e| job.fail(FailureKind::Build, format!("packaging crashed: {e}")))?
        .map_err(|m| job.fail(FailureKind::Build, m))?;

        let meta = EntryMeta {
            function: job.f.function_name.clone(),
            arch: job.arch.name().to_string(),
            sha256: packaged.sha256.clone(),
            size: packaged.zip.len() as u64,
            image: tag,
            image_id: built.image_id,
            builder_image: job.builder.clone(),
            builder_image_id: target_info.id,
            recipe: built.recipe.to_string(),
            ggp_version: crate::VERSION.to_string(),
            warnings: packaged.warnings.clone(),
        };
        self.cache
            .store(&job.key, &packaged.zip, &meta)
            .map_err(|e| io(e, self.cache.dir()))?;
        publish(&job.zip_path, Some(&packaged.zip), None, &packaged.sha256)
            .map_err(|e| io(e, &job.zip_path))?;
        Ok(self.artifact(job, &meta, false))
    }

    /// Inspects a builder image once per run; a missing image or one of another platform is a clear error.
    async fn check_image(
        &self,
        engine: &Engine,
        job: &Job<'_>,
        reference: &str,
        arch: Arch,
    ) -> Result<ImageInfo, JobFailure> {
        let known = self
            .images
            .lock()
            .ok()
            .and_then(|m| m.get(reference).cloned());
        let info = match known {
            Some(i) => i,
            None => {
                let i = engine
                    .image(reference)
                    .await
                    .map_err(|e| job.fail(FailureKind::Docker(e.clone()), e.to_string()))?;
                if let Ok(mut m) = self.images.lock() {
                    m.insert(reference.to_string(), i.clone());
                }
                i
            }
        };
        let Some(info) = info else {
            return Err(job.fail(
                FailureKind::BuilderImage,
                format!(
                    "builder image {reference} for {arch} is not in the engine at {}; build it \
                     (docker/builder/build-image {} {reference}) or pull it (docker pull --platform {} {reference})",
                    engine.host(),
                    arch.debian_arch(),
                    arch.docker_platform()
                ),
            ));
        };
        let want = arch.docker_platform();
        let matches = info.platform == want
            || (info.platform.starts_with(want) && want != "linux/arm")
            || (want == "linux/arm64" && info.platform == "linux/arm64/v8")
            || (want.starts_with("linux/arm/") && info.platform == "linux/arm");
        if !matches {
            return Err(job.fail(
                FailureKind::BuilderImage,
                format!(
                    "builder image {reference} is {}, not {want} as {arch} needs",
                    info.platform
                ),
            ));
        }
        Ok(info)
    }

    async fn build_image(
        &self,
        engine: &Engine,
        job: &Job<'_>,
        images: &Images,
        recipes: &[Recipe],
        tag: &str,
        p: &JobProgress,
    ) -> Result<Built, JobFailure> {
        let ca = self
            .opts
            .ca_bundle()
            .and_then(|path| std::fs::read(path).ok());
        let mut fell_back: Option<&str> = None;
        for (n, r) in recipes.iter().enumerate() {
            if r.uses_native && images.native != images.target {
                let native = crate::docker::arch_from_docker(
                    images.native_platform.split('/').nth(1).unwrap_or(""),
                    images.native_platform.split('/').nth(2),
                )
                .unwrap_or(job.arch);
                self.check_image(engine, job, &images.native, native)
                    .await?;
            }
            p.step(&format!("building image ({})", r.label));
            let mut members: Vec<Member> = r.members.clone();
            members.push(Member::Bytes {
                path: ".ggp/Dockerfile".into(),
                data: r.dockerfile.clone().into_bytes(),
                executable: false,
            });
            if let (Some(ca), true) = (&ca, r.dockerfile.contains("COPY .ggp/")) {
                members.push(Member::Bytes {
                    path: ".ggp/ca.crt".into(),
                    data: ca.clone(),
                    executable: false,
                });
            }
            let labels = HashMap::from([
                ("org.ggp.input-hash".to_string(), job.key.clone()),
                ("org.ggp.function".to_string(), job.f.function_name.clone()),
                ("org.ggp.arch".to_string(), job.arch.name().to_string()),
                ("org.ggp.recipe".to_string(), r.label.to_string()),
                ("org.ggp.version".to_string(), crate::VERSION.to_string()),
            ]);
            let req = BuildRequest {
                tag: tag.to_string(),
                dockerfile: ".ggp/Dockerfile".into(),
                labels,
                build_args: self.opts.build_args(),
                no_cache: self.opts.no_cache,
                network_mode: Some(
                    self.opts
                        .env
                        .get("GGP_BUILD_NETWORK")
                        .cloned()
                        .unwrap_or_else(|| "host".into()),
                ),
            };
            let (body, writer) = context::stream(members);
            let outcome = engine.build(&req, body, |line| p.output(line)).await;
            let wrote = writer.await;
            let outcome =
                outcome.map_err(|e| job.fail(FailureKind::Docker(e.clone()), e.to_string()))?;
            if let Ok(Err(e)) = wrote {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(
                        job.fail(FailureKind::Io, format!("sending the build context: {e}"))
                    );
                }
            }
            match outcome {
                BuildOutcome::Built { image_id } => {
                    p.step(&how_it_ran(r, images, fell_back));
                    return Ok(Built {
                        image_id,
                        recipe: r.label,
                    });
                }
                BuildOutcome::Failed { message, log } => {
                    let text = log.join("\n");
                    let fallback = n + 1 < recipes.len()
                        && r.fallback_when
                            .iter()
                            .any(|w| text.contains(w) || message.contains(w));
                    if fallback {
                        p.step(&format!(
                            "{} not possible; trying {}",
                            r.label,
                            recipes[n + 1].label
                        ));
                        fell_back = Some(r.label);
                        continue;
                    }
                    return Err(job.fail(FailureKind::Build, explain(r.label, &message, &log)));
                }
            }
        }
        Err(job.fail(FailureKind::Build, "no recipe applies"))
    }
}

/// Whether a job's build ran natively or under emulation, and why (`ggp build` prints it per
/// function and architecture): natively when the target is the engine's own architecture or the
/// recipe works in the native builder (cross-platform wheels: no target code runs); nothing runs
/// when the recipe only copies files; emulated (qemu) otherwise, naming the recipe and the
/// attempt that was not possible first.
fn how_it_ran(r: &recipe::Recipe, images: &recipe::Images, fell_back_from: Option<&str>) -> String {
    if !r.dockerfile.contains("\nRUN ") && !r.dockerfile.starts_with("RUN ") {
        return format!("no code ran ({}): files copied only", r.label);
    }
    if images.native == images.target {
        return format!(
            "ran natively ({}): the target is the engine's own architecture",
            r.label
        );
    }
    if r.uses_native {
        return format!(
            "ran natively ({}): nothing of the target architecture runs",
            r.label
        );
    }
    match fell_back_from {
        Some(prev) => format!(
            "ran emulated under qemu ({}): {prev} was not possible",
            r.label
        ),
        None => format!(
            "ran emulated under qemu ({}): the recipe runs target code",
            r.label
        ),
    }
}

impl crate::error::Failure for BuildError {
    fn exit_code(&self) -> i32 {
        BuildError::exit_code(self)
    }
    fn hint(&self) -> Option<String> {
        BuildError::hint(self)
    }
}

impl BuildError {
    /// Exit status (`error::exit`, 20–29).
    pub fn exit_code(&self) -> i32 {
        use crate::error::exit;
        match self.main_kind() {
            None => exit::BUILD_IO,
            Some(FailureKind::Docker(
                DockerError::Absent { .. } | DockerError::Unsupported { .. },
            )) => exit::BUILD_DOCKER_ABSENT,
            Some(FailureKind::Docker(DockerError::Permission { .. })) => {
                exit::BUILD_DOCKER_PERMISSION
            }
            Some(FailureKind::Docker(DockerError::Died { .. })) => exit::BUILD_DOCKER_DIED,
            Some(FailureKind::BuilderImage) => exit::BUILD_IMAGE,
            Some(FailureKind::Io) => exit::BUILD_IO,
            Some(FailureKind::Build | FailureKind::Docker(DockerError::Api { .. })) => {
                exit::BUILD_FAILED
            }
        }
    }
}

/// `ggp build` output: one line per artifact (architecture, function, sha256, package, whether cached).
pub fn render_text(artifacts: &[Artifact]) -> String {
    let fw = artifacts
        .iter()
        .map(|a| a.function.len())
        .max()
        .unwrap_or(0);
    let mut s = String::new();
    for a in artifacts {
        s.push_str(&format!(
            "{:<6} {:<fw$} {}  {}{}\n",
            a.arch.name(),
            a.function,
            a.sha256,
            a.package,
            if a.cached { "  (cached)" } else { "" }
        ));
    }
    s
}

/// `ggp build --json` output: the manifest, plus the failures when there are any.
pub fn render_json(artifacts: &[Artifact], failures: &[JobFailure]) -> String {
    let failures: Vec<serde_json::Value> = failures
        .iter()
        .map(|f| serde_json::json!({"function": f.function, "arch": f.arch, "message": f.message}))
        .collect();
    let mut v = serde_json::json!({"ggpVersion": crate::VERSION, "artifacts": artifacts});
    if !failures.is_empty() {
        v["failures"] = serde_json::Value::Array(failures);
    }
    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
}

/// The useful part of a failed build's output: ggp's own `ggp-error:` lines, else pip's and npm's error
/// lines, else the last lines.
fn explain(label: &str, message: &str, log: &[String]) -> String {
    let ours: Vec<&str> = log
        .iter()
        .filter_map(|l| l.trim_start().strip_prefix("ggp-error: "))
        .collect();
    let detail: Vec<String> = if !ours.is_empty() {
        ours.iter().map(|s| s.to_string()).collect()
    } else {
        let tool: Vec<String> = log
            .iter()
            .filter(|l| {
                let t = l.trim_start();
                t.starts_with("ERROR:")
                    || t.starts_with("npm ERR!")
                    || t.starts_with("npm error")
                    || t.starts_with("error:")
            })
            .take(8)
            .cloned()
            .collect();
        if tool.is_empty() {
            let skip = log.len().saturating_sub(12);
            log[skip..].to_vec()
        } else {
            tool
        }
    };
    // "The command '/bin/sh /ggp/.ggp/python.sh emulated' returned a non-zero code: 1" says little more
    // than the exit status.
    let message = message.trim();
    let mut s = match message.rsplit_once("returned a non-zero code: ") {
        Some((_, code)) if message.starts_with("The command") => {
            format!("{label} failed (exit status {code})")
        }
        _ => format!("{label} failed: {message}"),
    };
    for d in detail {
        s.push_str("\n  ");
        s.push_str(d.trim_end());
    }
    s
}

fn human(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / f64::from(1 << 20))
    } else {
        format!("{:.1} KiB", n as f64 / 1024.0)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn each_build_says_whether_it_ran_natively_or_emulated_and_why() {
        let images = |target: &str| Images {
            target: target.into(),
            target_platform: "linux/arm64".into(),
            native: "amd64-builder".into(),
            native_platform: "linux/amd64".into(),
        };
        let r = |label: &'static str, native: bool, dockerfile: &str| Recipe {
            label,
            dockerfile: dockerfile.into(),
            members: Vec::new(),
            uses_native: native,
            fallback_when: &[],
        };
        let runs = "FROM x AS work\nRUN [\"/bin/sh\"]\nFROM y\nCOPY a b\n";
        let arm = images("arm64-builder");
        assert_eq!(
            how_it_ran(&r("cross-platform wheels", true, runs), &arm, None),
            "ran natively (cross-platform wheels): nothing of the target architecture runs"
        );
        assert_eq!(
            how_it_ran(&r("wheels built in a target-architecture container", false, runs), &arm, Some("cross-platform wheels")),
            "ran emulated under qemu (wheels built in a target-architecture container): cross-platform wheels was not possible"
        );
        assert!(how_it_ran(&r("npm", false, runs), &arm, None)
            .starts_with("ran emulated under qemu (npm)"));
        assert!(
            how_it_ran(&r("npm", false, runs), &images("amd64-builder"), None)
                .ends_with("the target is the engine's own architecture")
        );
        assert_eq!(
            how_it_ran(
                &r("no requirements", false, "FROM y\nCOPY src/ /p/\n"),
                &arm,
                None
            ),
            "no code ran (no requirements): files copied only"
        );
    }

    /// A function conf with GGP's defaults.
    pub fn function(name: &str, language: &str, handler: &str) -> FunctionConf {
        let v = serde_json::json!({"conf": {
            "language": language, "functionName": name, "handlerName": handler,
            "aliasName": "a", "timeoutInSeconds": 3, "pinned": false
        }});
        let mut unknown = Vec::new();
        FunctionConf::read(name, &v, &mut unknown).expect("valid function conf")
    }

    #[test]
    fn builder_image_prefers_function_conf_then_environment() {
        let mut f = function("F", "PYTHON3_8", "a.b");
        let mut env = BTreeMap::new();
        assert_eq!(
            builder_image(&f, Arch::Armv7lRaspbian, &env),
            "ggp/builder:bookworm-armhf"
        );
        env.insert("GGP_BUILDER_IMAGE_ARM32".into(), "mine:armhf".into());
        assert_eq!(builder_image(&f, Arch::Armv7lRaspbian, &env), "mine:armhf");
        assert_eq!(
            builder_image(&f, Arch::X86_64, &env),
            "ggp/builder:bookworm-amd64"
        );
        f.build_image = Some("py38:{debarch}-{arch}".into());
        assert_eq!(
            builder_image(&f, Arch::Armv7lRaspbian, &env),
            "py38:armhf-arm32"
        );
    }

    #[test]
    fn keys_change_with_build_inputs_only() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.py"), "def h(e, c): pass\n").unwrap();
        let files = context::collect(d.path()).unwrap();
        let f = function("F", "PYTHON3_8", "a.h");
        let k = |f: &FunctionConf, arch, builder: &str, epoch| {
            input_key(f, d.path(), arch, &files, builder, epoch).unwrap()
        };
        let base = k(&f, Arch::X86_64, "b", None);
        assert_eq!(base, k(&f, Arch::X86_64, "b", None));
        assert_ne!(base, k(&f, Arch::Armv8, "b", None));
        assert_ne!(base, k(&f, Arch::X86_64, "c", None));
        assert_ne!(base, k(&f, Arch::X86_64, "b", Some(1)));
        let mut g = f.clone();
        g.timeout_in_seconds = 99;
        g.environment_variables.insert("X".into(), "y".into());
        assert_eq!(
            base,
            k(&g, Arch::X86_64, "b", None),
            "runtime settings do not rebuild"
        );
        g.handler_name = "a.other".into();
        assert_ne!(base, k(&g, Arch::X86_64, "b", None));
        let mut g = f.clone();
        g.language = "PYTHON3_9".parse().unwrap();
        assert_ne!(base, k(&g, Arch::X86_64, "b", None));
    }

    #[test]
    fn failure_output_prefers_our_lines_then_tool_errors() {
        let log: Vec<String> = [
            "Step 4/7 : RUN x",
            "Collecting nope",
            "ERROR: No matching distribution found for nope",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let e = explain("cross-platform wheels", "returned a non-zero code: 1", &log);
        assert!(
            e.contains("ERROR: No matching distribution found for nope"),
            "{e}"
        );
        assert!(!e.contains("Collecting"), "{e}");
        let log = vec![
            "ggp-error: build.sh wrote nothing".to_string(),
            "ERROR: x".to_string(),
        ];
        let e = explain("build.sh", "code 1", &log);
        assert!(
            e.contains("build.sh wrote nothing") && !e.contains("ERROR: x"),
            "{e}"
        );
    }

    #[test]
    fn failures_with_one_cause_are_named_together() {
        let f = |function: &str, arch, message: &str| JobFailure {
            function: function.into(),
            arch,
            kind: FailureKind::Build,
            message: message.into(),
        };
        let same = [
            f("A", Arch::X86_64, "no engine"),
            f("A", Arch::Armv8, "no engine"),
            f("B", Arch::Armv8, "no engine"),
        ];
        assert_eq!(
            failed_message(&same, 4),
            "A (X86_64, ARM64), B (ARM64): no engine"
        );
        let mixed = [
            f("A", Arch::X86_64, "bad\nline 2"),
            f("B", Arch::Armv8, "other"),
        ];
        assert_eq!(
            failed_message(&mixed, 4),
            "2 of 4 builds failed:\n  A (X86_64): bad\n    line 2\n  B (ARM64): other"
        );
    }

    #[test]
    fn image_tags_are_valid_docker_references() {
        let d = tempfile::tempdir().unwrap();
        let f = function("Hello_Python.v2", "PYTHON3_8", "a.b");
        let job = Job {
            f: &f,
            dir: d.path().to_path_buf(),
            arch: Arch::Armv7lRaspbian,
            sources: &[],
            key: "0123456789abcdef".repeat(4),
            builder: String::new(),
            zip_path: PathBuf::new(),
        };
        assert_eq!(job.image_tag(), "ggp/hello_python.v2:arm32-0123456789ab");
    }

    #[test]
    fn publish_writes_zip_and_sidecar_and_unpublish_removes_both() {
        let d = tempfile::tempdir().unwrap();
        let zip = d.path().join("ARM64/F.zip");
        publish(&zip, Some(b"PK1"), None, "abc").unwrap();
        assert_eq!(std::fs::read(&zip).unwrap(), b"PK1");
        assert_eq!(
            std::fs::read_to_string(sha_sidecar(&zip)).unwrap(),
            "abc  F.zip\n"
        );
        unpublish(&zip);
        assert!(!zip.exists() && !sha_sidecar(&zip).exists());
    }
}
