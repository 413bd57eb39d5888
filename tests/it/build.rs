//! `ggp build` against the bench's real Docker engine: the example project for X86_64, ARM32 and ARM64
//! (native code checked by its ELF header), byte-identical packages from two fresh copies, a rebuild that
//! needs no engine at all, and failures (a requirement that does not exist, pip's hash check, an extension
//! for another Python, a missing handler, the engine going away mid-build) that name function and
//! architecture and leave no cache entry or artifact. Java is built with javac through build.sh and from a
//! prebuilt jar (Maven Central is not reachable here, so no Maven or Gradle project is built).
//!
//! Needs `scripts/bench up`; without it every test here fails and says so.
use crate::support::bench;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// ggp architecture, ELF e_machine, ELF class (1 = 32-bit, 2 = 64-bit).
const ARCHS: [(&str, u16, u8); 3] = [("X86_64", 62, 2), ("ARM32", 40, 1), ("ARM64", 183, 2)];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn debarch(arch: &str) -> &'static str {
    match arch {
        "X86_64" => "amd64",
        "ARM32" => "armhf",
        _ => "arm64",
    }
}

/// The environment ggp runs with: the bench's settings (DOCKER_HOST, GGP_BUILDER_IMAGE_<ARCH>), the bench's
/// CA bundle for registry access, and nothing else from this process but PATH and HOME. Checks once that
/// the builder images are in the engine.
fn ggp_env() -> BTreeMap<String, String> {
    // Read once: `scripts/bench up` may rewrite .bench/env while the tests run, and a different builder
    // image reference is a different cache key.
    static ENV: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    ENV.get_or_init(read_env).clone()
}

fn read_env() -> BTreeMap<String, String> {
    let bench_env = bench::bench_env();
    let host = bench::require(&bench_env, "DOCKER_HOST");
    let mut env: BTreeMap<String, String> = bench_env
        .iter()
        .filter(|(k, _)| k.as_str() == "DOCKER_HOST" || k.starts_with("GGP_BUILDER_IMAGE_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(ca) = bench_env.get("GGP_BENCH_CA_BUNDLE") {
        env.insert("GGP_CA_BUNDLE".into(), ca.clone());
    }
    for k in ["PATH", "HOME"] {
        if let Ok(v) = std::env::var(k) {
            env.insert(k.into(), v);
        }
    }
    {
        let docker = bench::docker();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for (arch, _, _) in ARCHS {
            let image = env
                .get(&format!("GGP_BUILDER_IMAGE_{arch}"))
                .cloned()
                .unwrap_or_else(|| format!("ggp/builder:bookworm-{}", debarch(arch)));
            if rt.block_on(docker.inspect_image(&image)).is_err() {
                panic!(
                    "builder image {image} for {arch} is not in the engine at {host}; {}",
                    bench::HINT
                );
            }
        }
    }
    env
}

fn ggp(project: &Path, args: &[&str], env: &BTreeMap<String, String>) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ggp"))
        .arg("--project-dir")
        .arg(project)
        .args(args)
        .env_clear()
        .envs(env)
        .output()
        .expect("ggp runs")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_name() == "build" || e.file_name() == "node_modules" {
            continue;
        }
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), &t).unwrap();
        }
    }
}

/// A fresh copy of the example project (deployments, functions, connectors) in a new folder.
fn copy_example() -> tempfile::TempDir {
    let d = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    for sub in ["deployments", "functions", "connectors"] {
        copy_dir(&repo().join(sub), &d.path().join(sub));
    }
    d
}

/// A project with the example's defaults and the given functions (name → files), deployed by
/// `deployments/test.conf`.
fn project(functions: &[(&str, &[(&str, &str)])]) -> tempfile::TempDir {
    let d = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let deployments = d.path().join("deployments");
    std::fs::create_dir_all(&deployments).unwrap();
    for f in ["deployment.defaults.conf", "function.defaults.conf"] {
        std::fs::copy(repo().join("deployments").join(f), deployments.join(f)).unwrap();
    }
    let names: Vec<String> = functions.iter().map(|(n, _)| format!("\"{n}\"")).collect();
    std::fs::write(
        deployments.join("test.conf"),
        format!("conf {{\n  functions = [{}]\n}}\n", names.join(", ")),
    )
    .unwrap();
    for (name, files) in functions {
        for (rel, content) in *files {
            let p = d.path().join("functions").join(name).join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
    }
    d
}

fn conf(language: &str, name: &str, handler: &str, extra: &str) -> String {
    format!(
        "conf {{\n  language = \"{language}\"\n  functionName = \"{name}\"\n  handlerName = \"{handler}\"\n  \
         pinned = false\n  timeoutInSeconds = 3\n  {extra}\n}}\n"
    )
}

/// `ggp build` of `deployments/test.conf` for `archs`, which must exit with `code`; returns stderr.
fn build_fails(project: &Path, archs: &str, code: i32, env: &BTreeMap<String, String>) -> String {
    let o = ggp(
        project,
        &["build", "-d", "deployments/test.conf", "-a", archs],
        env,
    );
    assert_eq!(o.status.code(), Some(code), "{}", text(&o));
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// `ggp build` of `deployments/test.conf` for `archs`, which must succeed.
fn build_ok(project: &Path, archs: &str, env: &BTreeMap<String, String>) {
    let o = ggp(
        project,
        &["build", "-d", "deployments/test.conf", "-a", archs],
        env,
    );
    assert!(o.status.success(), "{}", text(&o));
}

/// True when `err` names `function` with `arch` among its architectures: `F (X86_64, ARM64): …`.
fn names(err: &str, function: &str, arch: &str) -> bool {
    err.match_indices(&format!("{function} ("))
        .filter_map(|(i, m)| err[i + m.len()..].split(')').next())
        .any(|list| list.split(", ").any(|a| a == arch))
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", text(o)))
}

/// (e_machine, class) of an ELF object; None when not ELF. Read from the header as the loader would.
fn elf(data: &[u8]) -> Option<(u16, u8)> {
    if data.len() < 20 || &data[..4] != b"\x7fELF" {
        return None;
    }
    let class = data[4];
    let m = [data[18], data[19]];
    let machine = if data[5] == 2 {
        u16::from_be_bytes(m)
    } else {
        u16::from_le_bytes(m)
    };
    Some((machine, class))
}

/// name → (unix mode, content) of every member of a zip.
fn unzip(path: &Path) -> BTreeMap<String, (u32, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (
                f.name().unwrap().to_string(),
                (f.unix_mode().unwrap_or(0), data),
            )
        })
        .collect()
}

fn sha256(path: &Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Complete cache entries of a project.
fn cache_entries(project: &Path) -> Vec<String> {
    let dir = project.join("build/cache/functions");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return vec![];
    };
    let mut out: Vec<String> = rd
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| dir.join(n).join("complete").is_file())
        .collect();
    out.sort();
    out
}

/// Folders a crashed or failed build could leave in the cache.
fn cache_leftovers(project: &Path) -> Vec<String> {
    let dir = project.join("build/cache/functions");
    std::fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.starts_with(".tmp-") || !dir.join(n).join("complete").is_file())
                .collect()
        })
        .unwrap_or_default()
}

/// The example project built once for all three architectures (shared by the tests that need it).
struct Example {
    dir: tempfile::TempDir,
    out: serde_json::Value,
}

fn example() -> &'static Example {
    static EXAMPLE: OnceLock<Example> = OnceLock::new();
    EXAMPLE.get_or_init(|| {
        let env = ggp_env();
        let dir = copy_example();
        let t = Instant::now();
        let o = ggp(
            dir.path(),
            &[
                "build",
                "-d",
                "deployments/all.conf",
                "-a",
                "X86_64,ARM32,ARM64",
                "--json",
            ],
            &env,
        );
        assert!(o.status.success(), "{}", text(&o));
        eprintln!(
            "example project, 3 architectures, cold: {:.1?}",
            t.elapsed()
        );
        Example { out: json(&o), dir }
    })
}

#[test]
fn example_project_builds_for_x86_64_arm32_arm64_with_native_code_for_each_machine() {
    let ex = example();
    let artifacts = ex.out["artifacts"].as_array().unwrap();
    assert_eq!(
        artifacts.len(),
        12,
        "4 functions × 3 architectures: {:#}",
        ex.out
    );
    for a in artifacts {
        let zip = ex.dir.path().join(a["package"].as_str().unwrap());
        let sha = a["sha256"].as_str().unwrap();
        assert_eq!(sha256(&zip), sha, "{}", zip.display());
        let sidecar = std::fs::read_to_string(format!("{}.sha256", zip.display())).unwrap();
        assert_eq!(
            sidecar,
            format!("{sha}  {}\n", zip.file_name().unwrap().to_string_lossy())
        );
        assert_eq!(a["cached"], false);
    }
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(ex.dir.path().join("build/functions/manifest.json")).unwrap(),
    )
    .unwrap();
    let listed = |v: &serde_json::Value| -> Vec<(String, String)> {
        v["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["package"].as_str().unwrap().to_string(),
                    a["sha256"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(listed(&manifest), listed(&ex.out));

    for (arch, machine, class) in ARCHS {
        let dir = ex.dir.path().join("build/functions").join(arch);
        // HelloPython: pycryptodome's native modules, for this machine, loadable by Python 3.8 (abi3).
        let py = unzip(&dir.join("HelloPython.zip"));
        let objects: Vec<(&String, (u16, u8))> = py
            .iter()
            .filter_map(|(n, (_, d))| elf(d).map(|e| (n, e)))
            .collect();
        assert!(
            objects.len() > 20,
            "{arch}: native objects in HelloPython: {}",
            objects.len()
        );
        for (name, e) in &objects {
            assert_eq!(*e, (machine, class), "{arch}: {name}");
            assert!(
                name.ends_with(".abi3.so"),
                "{arch}: {name} is not a limited-API object"
            );
        }
        assert!(
            py.contains_key("hello.py") && py.contains_key("six.py"),
            "{arch}"
        );
        assert!(
            py.keys()
                .all(|n| !n.contains("__pycache__") && !n.ends_with(".pyc")),
            "{arch}"
        );
        assert!(py.keys().all(|n| !n.ends_with("direct_url.json")), "{arch}");
        assert!(
            !py.contains_key("function.conf"),
            "{arch}: config is not code"
        );
        // HelloExecutable: compiled in a container of this architecture.
        let exe = unzip(&dir.join("HelloExecutable.zip"));
        let (mode, data) = &exe["hello"];
        assert_eq!(elf(data), Some((machine, class)), "{arch}: hello");
        assert_eq!(mode & 0o777, 0o755, "{arch}: hello is executable");
        // HelloNode: npm ci from the lock file; SensorPython: no requirements, only its own file.
        let node = unzip(&dir.join("HelloNode.zip"));
        assert!(
            node.contains_key("node_modules/is-number/index.js") && node.contains_key("index.js"),
            "{arch}"
        );
        let sensor = unzip(&dir.join("SensorPython.zip"));
        assert_eq!(
            sensor.keys().collect::<Vec<_>>(),
            vec!["sensor.py"],
            "{arch}"
        );
    }
}

#[test]
fn a_rebuild_with_no_change_needs_no_docker_engine() {
    let ex = example();
    let mut env = ggp_env();
    // No engine at all: a rebuild that touched Docker would fail.
    env.insert(
        "DOCKER_HOST".into(),
        "unix:///nonexistent/ggp-test/docker.sock".into(),
    );
    let o = ggp(
        ex.dir.path(),
        &[
            "build",
            "-d",
            "deployments/all.conf",
            "-a",
            "X86_64,ARM32,ARM64",
            "--json",
        ],
        &env,
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = json(&o);
    let again = out["artifacts"].as_array().unwrap();
    assert_eq!(again.len(), 12);
    for (a, b) in again.iter().zip(ex.out["artifacts"].as_array().unwrap()) {
        assert_eq!(a["cached"], true, "{a}");
        assert_eq!(a["sha256"], b["sha256"]);
        assert_eq!(a["package"], b["package"]);
    }
    // A change to one function misses the cache for it only, and needs the engine.
    let hello = ex.dir.path().join("functions/SensorPython/sensor.py");
    let original = std::fs::read_to_string(&hello).unwrap();
    std::fs::write(&hello, format!("{original}\n# changed\n")).unwrap();
    let elsewhere = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let out = elsewhere.path().to_str().unwrap();
    let o = ggp(
        ex.dir.path(),
        &[
            "build",
            "-d",
            "deployments/sensor-python.conf",
            "-a",
            "ARM64",
            "--out",
            out,
        ],
        &env,
    );
    std::fs::write(&hello, original).unwrap();
    assert_eq!(o.status.code(), Some(21), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        names(&err, "SensorPython", "ARM64") && err.contains("no Docker engine answers"),
        "{err}"
    );
}

#[test]
fn two_fresh_copies_build_byte_identical_packages() {
    let ex = example();
    let env = ggp_env();
    let other = copy_example();
    // --no-cache: Docker's layer cache is not used either, so every step really runs again.
    let o = ggp(
        other.path(),
        &[
            "build",
            "-d",
            "deployments/all.conf",
            "-a",
            "X86_64,ARM32,ARM64",
            "--no-cache",
            "--json",
        ],
        &env,
    );
    assert!(o.status.success(), "{}", text(&o));
    for a in json(&o)["artifacts"].as_array().unwrap() {
        let rel = a["package"].as_str().unwrap();
        let mine = std::fs::read(other.path().join(rel)).unwrap();
        let theirs = std::fs::read(ex.dir.path().join(rel)).unwrap();
        assert!(mine == theirs, "{rel} differs between two fresh copies");
    }
}

#[test]
fn a_requirement_that_does_not_exist_fails_naming_function_and_arch_and_keeps_nothing() {
    let env = ggp_env();
    let handler = "def handler(event, context):\n    return event\n";
    let p = project(&[(
        "BadReq",
        &[
            (
                "function.conf",
                &conf("PYTHON3_8", "BadReq", "main.handler", ""),
            ),
            ("main.py", handler),
            ("requirements.txt", "six==1.16.0\n"),
        ],
    )]);
    let args = ["build", "-d", "deployments/test.conf", "-a", "X86_64,ARM64"];
    let o = ggp(p.path(), &args, &env);
    assert!(o.status.success(), "{}", text(&o));
    let good = cache_entries(p.path());
    assert_eq!(good.len(), 2);
    let zip = p.path().join("build/functions/X86_64/BadReq.zip");
    assert!(zip.is_file());

    std::fs::write(
        p.path().join("functions/BadReq/requirements.txt"),
        "ggp-no-such-package-7f3e9a==1.0\n",
    )
    .unwrap();
    let o = ggp(p.path(), &args, &env);
    assert_eq!(o.status.code(), Some(20), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    for arch in ["X86_64", "ARM64"] {
        assert!(names(&err, "BadReq", arch), "{arch} not named:\n{err}");
    }
    assert!(err.contains("ggp-no-such-package-7f3e9a"), "{err}");
    assert_eq!(
        cache_entries(p.path()),
        good,
        "no cache entry for the failed inputs"
    );
    assert!(
        cache_leftovers(p.path()).is_empty(),
        "{:?}",
        cache_leftovers(p.path())
    );
    for arch in ["X86_64", "ARM64"] {
        let zip = p.path().join(format!("build/functions/{arch}/BadReq.zip"));
        assert!(
            !zip.exists(),
            "the stale {arch} package was left where a later step would take it"
        );
        assert!(!Path::new(&format!("{}.sha256", zip.display())).exists());
    }
}

#[test]
fn hash_checked_requirements_are_enforced_by_pip() {
    let env = ggp_env();
    let handler = "import six\ndef handler(event, context):\n    return event\n";
    let good = "six==1.16.0 --hash=sha256:8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254\n";
    let bad = "six==1.16.0 --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000\n";
    let p = project(&[(
        "Hashed",
        &[
            (
                "function.conf",
                &conf("PYTHON3_8", "Hashed", "main.handler", ""),
            ),
            ("main.py", handler),
            ("requirements.txt", bad),
        ],
    )]);
    let args = ["build", "-d", "deployments/test.conf", "-a", "X86_64"];
    let o = ggp(p.path(), &args, &env);
    assert_eq!(o.status.code(), Some(20), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        names(&err, "Hashed", "X86_64") && err.contains("DO NOT MATCH THE HASHES"),
        "{err}"
    );
    assert!(cache_entries(p.path()).is_empty());

    std::fs::write(p.path().join("functions/Hashed/requirements.txt"), good).unwrap();
    let o = ggp(p.path(), &args, &env);
    assert!(o.status.success(), "{}", text(&o));
    assert!(unzip(&p.path().join("build/functions/X86_64/Hashed.zip")).contains_key("six.py"));
}

const FASTEXT_SETUP: &str = "from setuptools import setup, Extension\n\
    setup(name='fastext', version='1.0', ext_modules=[Extension('fastext', ['fastext.c'])])\n";
const FASTEXT_C: &str = "#include <Python.h>\n\
    static struct PyModuleDef m = {PyModuleDef_HEAD_INIT, \"fastext\", NULL, -1, NULL};\n\
    PyMODINIT_FUNC PyInit_fastext(void) { return PyModule_Create(&m); }\n";

#[test]
fn an_extension_built_for_another_python_version_is_refused_with_the_fix() {
    let env = ggp_env();
    let handler = "import fastext\ndef handler(event, context):\n    return event\n";
    // A local package with a version-specific C extension: pip builds it from source with the builder's
    // Python 3.11, which a Python 3.8 function cannot load.
    let files = |language: &str| -> Vec<(&'static str, String)> {
        vec![
            (
                "function.conf",
                conf(language, "VersionSpecific", "main.handler", ""),
            ),
            ("main.py", handler.into()),
            ("requirements.txt", "./fastext\n".into()),
            ("fastext/setup.py", FASTEXT_SETUP.into()),
            ("fastext/fastext.c", FASTEXT_C.into()),
        ]
    };
    let owned = files("PYTHON3_8");
    let refs: Vec<(&str, &str)> = owned.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let p = project(&[("VersionSpecific", &refs)]);
    let args = ["build", "-d", "deployments/test.conf", "-a", "X86_64"];
    let o = ggp(p.path(), &args, &env);
    assert_eq!(o.status.code(), Some(20), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(names(&err, "VersionSpecific", "X86_64"), "{err}");
    for needle in ["fastext", "CPython 3.11", "Python 3.8", "buildImage"] {
        assert!(err.contains(needle), "{needle} missing:\n{err}");
    }
    assert!(cache_entries(p.path()).is_empty());
    assert!(!p
        .path()
        .join("build/functions/X86_64/VersionSpecific.zip")
        .exists());

    // The same package for a Python 3.11 function is right, and kept.
    std::fs::write(
        p.path().join("functions/VersionSpecific/function.conf"),
        conf("PYTHON3_11", "VersionSpecific", "main.handler", ""),
    )
    .unwrap();
    let o = ggp(p.path(), &args, &env);
    assert!(o.status.success(), "{}", text(&o));
    let z = unzip(&p.path().join("build/functions/X86_64/VersionSpecific.zip"));
    let so: Vec<&String> = z.keys().filter(|k| k.ends_with(".so")).collect();
    assert_eq!(so, vec!["fastext.cpython-311-x86_64-linux-gnu.so"]);
}

#[test]
fn a_missing_handler_fails_naming_function_and_arch() {
    let env = ggp_env();
    let p = project(&[(
        "NoHandler",
        &[
            (
                "function.conf",
                &conf("EXECUTABLE", "NoHandler", "hello", ""),
            ),
            (
                "build.sh",
                "#!/bin/sh\nset -eu\necho built > \"$GGP_OUT/other\"\n",
            ),
        ],
    )]);
    let err = build_fails(p.path(), "X86_64,ARM32", 20, &env);
    for arch in ["X86_64", "ARM32"] {
        assert!(
            names(&err, "NoHandler", arch) && err.contains("handler hello is not in the package"),
            "{arch}:\n{err}"
        );
    }
    assert!(cache_entries(p.path()).is_empty());
    assert!(cache_leftovers(p.path()).is_empty());
    assert!(!p
        .path()
        .join("build/functions/ARM32/NoHandler.zip")
        .exists());
}

/// A stand-in for the engine's socket that forwards to the real one and goes away, with every open
/// connection, as soon as the engine's output contains `trigger`: to ggp that is an engine that died.
struct DyingEngine {
    path: PathBuf,
    died: Arc<AtomicBool>,
}

impl DyingEngine {
    fn start(upstream: &str, path: &Path, trigger: &'static [u8]) -> DyingEngine {
        let upstream = upstream
            .strip_prefix("unix://")
            .expect("the bench engine listens on a unix socket")
            .to_string();
        let listener = UnixListener::bind(path).unwrap();
        listener.set_nonblocking(true).unwrap();
        let died = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<UnixStream>>> = Arc::default();
        let (d, c, sock) = (died.clone(), conns.clone(), path.to_path_buf());
        std::thread::spawn(move || {
            let kill = {
                let (d, c, sock) = (d.clone(), c.clone(), sock.clone());
                move || {
                    if !d.swap(true, Ordering::SeqCst) {
                        let _ = std::fs::remove_file(&sock);
                        for s in c.lock().unwrap().iter() {
                            let _ = s.shutdown(std::net::Shutdown::Both);
                        }
                    }
                }
            };
            while !d.load(Ordering::SeqCst) {
                let client = match listener.accept() {
                    Ok((s, _)) => s,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                    Err(_) => break,
                };
                client.set_nonblocking(false).unwrap();
                let server = UnixStream::connect(&upstream).unwrap();
                c.lock()
                    .unwrap()
                    .extend([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                let (mut c_in, mut s_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_in, &mut s_out);
                });
                let (mut s_in, mut c_out, kill) = (server, client, kill.clone());
                std::thread::spawn(move || {
                    let mut window: Vec<u8> = Vec::new();
                    let mut buf = [0u8; 16384];
                    loop {
                        let n = match s_in.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        window.extend_from_slice(&buf[..n]);
                        if window.windows(trigger.len()).any(|w| w == trigger) {
                            kill();
                            break;
                        }
                        let keep = window.len().saturating_sub(trigger.len());
                        window.drain(..keep);
                        if c_out.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        DyingEngine {
            path: path.to_path_buf(),
            died,
        }
    }
}

#[test]
fn an_engine_that_stops_mid_build_is_reported_and_nothing_is_kept() {
    let mut env = ggp_env();
    let p = project(&[(
        "DiesMidBuild",
        &[
            ("function.conf", &conf("EXECUTABLE", "DiesMidBuild", "hello", "")),
            (
                "build.sh",
                "#!/bin/sh\nset -eu\necho ggp-test-build-started\nsleep 45\nprintf '#!/bin/sh\\n' > \"$GGP_OUT/hello\"\nchmod +x \"$GGP_OUT/hello\"\n",
            ),
        ],
    )]);
    let sock = p.path().join("engine.sock");
    let engine = DyingEngine::start(&env["DOCKER_HOST"], &sock, b"ggp-test-build-started");
    env.insert(
        "DOCKER_HOST".into(),
        format!("unix://{}", engine.path.display()),
    );
    let t = Instant::now();
    let o = ggp(
        p.path(),
        // --no-cache: an image left by an earlier run must not spare the build.
        &[
            "build",
            "-d",
            "deployments/test.conf",
            "-a",
            "X86_64",
            "--no-cache",
        ],
        &env,
    );
    assert!(
        engine.died.load(Ordering::SeqCst),
        "the build never started:\n{}",
        text(&o)
    );
    assert!(
        t.elapsed() < Duration::from_secs(40),
        "ggp waited for the build instead of noticing: {:?}",
        t.elapsed()
    );
    assert_eq!(o.status.code(), Some(23), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        names(&err, "DiesMidBuild", "X86_64") && err.contains("stopped answering"),
        "{err}"
    );
    assert!(cache_entries(p.path()).is_empty());
    assert!(cache_leftovers(p.path()).is_empty());
    assert!(!p
        .path()
        .join("build/functions/X86_64/DiesMidBuild.zip")
        .exists());

    // The engine is back (the real one was never stopped): the same build completes and is kept.
    let o = ggp(
        p.path(),
        &["build", "-d", "deployments/test.conf", "-a", "X86_64"],
        &ggp_env(),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(cache_entries(p.path()).len(), 1);
}

#[test]
fn java_functions_build_with_javac_via_build_sh_or_from_a_prebuilt_jar() {
    let env = ggp_env();
    let source = "package com.example;\npublic class Hello {\n  public String handleRequest(Object in) { return \"hello\"; }\n}\n";
    let build = "#!/bin/sh\nset -eu\nmkdir -p /tmp/classes\njavac --release 8 -d /tmp/classes src/com/example/Hello.java\n\
                 jar cf \"$GGP_OUT/hello.jar\" -C /tmp/classes .\n";
    let p = project(&[
        (
            "JavaHello",
            &[
                (
                    "function.conf",
                    &conf("JAVA8", "JavaHello", "com.example.Hello::handleRequest", ""),
                ),
                ("src/com/example/Hello.java", source),
                ("build.sh", build),
            ],
        ),
        (
            "JavaPrebuilt",
            &[(
                "function.conf",
                &conf(
                    "JAVA11",
                    "JavaPrebuilt",
                    "com.example.Pre::handle",
                    "jarPath = \"dist/pre.jar\"",
                ),
            )],
        ),
    ]);
    // The prebuilt jar: a class file (Java 11, major 55) and a manifest.
    let jar = p.path().join("functions/JavaPrebuilt/dist/pre.jar");
    std::fs::create_dir_all(jar.parent().unwrap()).unwrap();
    let mut w = zip::ZipWriter::new(std::fs::File::create(&jar).unwrap());
    let o = zip::write::SimpleFileOptions::default();
    w.start_file("META-INF/MANIFEST.MF", o).unwrap();
    w.write_all(b"Manifest-Version: 1.0\r\n\r\n").unwrap();
    w.start_file("com/example/Pre.class", o).unwrap();
    w.write_all(&[0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 55]).unwrap();
    w.finish().unwrap();

    build_ok(p.path(), "X86_64,ARM64", &env);
    let out = p.path().join("build/functions");
    let hello = unzip(&out.join("X86_64/JavaHello.zip"));
    let (_, class) = &hello["com/example/Hello.class"];
    assert_eq!(&class[..4], &[0xca, 0xfe, 0xba, 0xbe]);
    assert_eq!(
        u16::from_be_bytes([class[6], class[7]]),
        52,
        "compiled for Java 8"
    );
    assert!(
        !hello.keys().any(|k| k.ends_with(".jar")),
        "the jar's contents are the package"
    );
    let pre = unzip(&out.join("X86_64/JavaPrebuilt.zip"));
    assert!(pre.contains_key("com/example/Pre.class"));
    // Bytecode is the same for every architecture.
    for f in ["JavaHello", "JavaPrebuilt"] {
        assert_eq!(
            std::fs::read(out.join(format!("X86_64/{f}.zip"))).unwrap(),
            std::fs::read(out.join(format!("ARM64/{f}.zip"))).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn java_with_a_pom_but_no_maven_in_the_builder_says_so() {
    let env = ggp_env();
    let p = project(&[(
        "JavaMaven",
        &[
            (
                "function.conf",
                &conf("JAVA8", "JavaMaven", "com.example.M::handle", ""),
            ),
            (
                "pom.xml",
                "<project><modelVersion>4.0.0</modelVersion></project>\n",
            ),
        ],
    )]);
    let err = build_fails(p.path(), "X86_64", 20, &env);
    assert!(
        names(&err, "JavaMaven", "X86_64") && err.contains("pom.xml needs mvn"),
        "{err}"
    );
}

#[test]
fn without_an_engine_a_build_that_needs_one_fails_clearly() {
    let mut env = ggp_env();
    env.insert(
        "DOCKER_HOST".into(),
        "unix:///nonexistent/ggp-test/docker.sock".into(),
    );
    let p = copy_example();
    let o = ggp(
        p.path(),
        &["build", "-d", "deployments/hello-node.conf", "-a", "ARM32"],
        &env,
    );
    assert_eq!(o.status.code(), Some(21), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        names(&err, "HelloNode", "ARM32") && err.contains("/nonexistent/ggp-test/docker.sock"),
        "{err}"
    );
    assert!(err.contains("hint: start the Docker engine"), "{err}");
}
