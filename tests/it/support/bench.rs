//! The test bench that `scripts/bench up` sets up: its settings (`.bench/env`) and a Docker client for its engine.
//!
//! Not for: starting or building anything. When the bench is missing, the helpers panic with a message that
//! says to run `scripts/bench up`, so a test that needs the bench fails instead of passing silently.
#![allow(dead_code)] // each test crate that includes this module uses only some of it

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

/// What to do when the bench is missing.
pub const HINT: &str =
    "run `scripts/bench up` to set up the test bench (Docker engine, images, stand-ins)";

/// `<CARGO_MANIFEST_DIR>/.bench/env`, written by `scripts/bench up`.
pub fn env_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(".bench")
        .join("env")
}

/// The bench's settings: `.bench/env` (KEY=VALUE lines, `#` comments, values optionally single- or
/// double-quoted), then `DOCKER_HOST` and every `GGP_*` variable of the process environment on top.
pub fn bench_env() -> BTreeMap<String, String> {
    let mut env = match std::fs::read_to_string(env_path()) {
        Ok(text) => parse_env(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => panic!("cannot read {}: {e}; {HINT}", env_path().display()),
    };
    for (key, value) in std::env::vars() {
        if key == "DOCKER_HOST" || key.starts_with("GGP_") {
            env.insert(key, value);
        }
    }
    env
}

/// Parses KEY=VALUE lines as `scripts/bench` writes them (`'...'` with `'\''` for a quote, or `"..."`).
pub fn parse_env(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| {
            let value = if value.len() >= 2 && value.starts_with('\'') && value.ends_with('\'') {
                value[1..value.len() - 1].replace(r"'\''", "'")
            } else if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
                value[1..value.len() - 1].to_string()
            } else {
                value.to_string()
            };
            (key.trim().to_string(), value)
        })
        .collect()
}

/// The value of `key`, or a panic that names the key, the env file and the fix.
pub fn require(env: &BTreeMap<String, String>, key: &str) -> String {
    match env.get(key) {
        Some(value) if !value.is_empty() => value.clone(),
        _ => {
            let state = if env_path().exists() {
                "has no"
            } else {
                "does not exist, so there is no"
            };
            panic!(
                "{} {state} {key} (nor has the environment); {HINT}",
                env_path().display()
            )
        }
    }
}

/// A client for the bench's engine (`DOCKER_HOST`: `unix://` or `tcp://`/`http://`), speaking the newest API
/// version that both bollard and the engine know: Debian's docker.io 20.10 stops at API 1.41, while bollard
/// defaults to a newer one that such an engine refuses.
pub fn docker() -> bollard::Docker {
    let env = bench_env();
    let host = require(&env, "DOCKER_HOST");
    let engine = engine_api_version(&host)
        .unwrap_or_else(|e| panic!("no Docker engine answers at DOCKER_HOST={host}: {e}; {HINT}"));
    let ours = bollard::API_DEFAULT_VERSION;
    let version = if (engine.major_version, engine.minor_version)
        < (ours.major_version, ours.minor_version)
    {
        engine
    } else {
        *ours
    };
    let timeout_secs = 600;
    let client = if let Some(path) = host.strip_prefix("unix://") {
        bollard::Docker::connect_with_unix(path, timeout_secs, &version)
    } else if host.starts_with("tcp://") || host.starts_with("http://") {
        bollard::Docker::connect_with_http(&host, timeout_secs, &version)
    } else {
        panic!("DOCKER_HOST={host}: the bench helper speaks unix:// and tcp:// only")
    };
    client.unwrap_or_else(|e| panic!("cannot connect to DOCKER_HOST={host}: {e}; {HINT}"))
}

/// `GET /version` without a version prefix (answered by every engine), read synchronously so that `docker()`
/// can be called from sync and async tests alike.
fn engine_api_version(host: &str) -> Result<bollard::ClientVersion, String> {
    let request = b"GET /version HTTP/1.0\r\nHost: docker\r\n\r\n";
    let timeout = Some(Duration::from_secs(10));
    let response = if let Some(path) = host.strip_prefix("unix://") {
        let stream =
            std::os::unix::net::UnixStream::connect(path).map_err(|e| format!("{path}: {e}"))?;
        stream
            .set_read_timeout(timeout)
            .map_err(|e| e.to_string())?;
        exchange(stream, request)?
    } else {
        let addr = host
            .trim_start_matches("tcp://")
            .trim_start_matches("http://")
            .trim_end_matches('/');
        let stream = std::net::TcpStream::connect(addr).map_err(|e| format!("{addr}: {e}"))?;
        stream
            .set_read_timeout(timeout)
            .map_err(|e| e.to_string())?;
        exchange(stream, request)?
    };
    let text = String::from_utf8_lossy(&response);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .ok_or("no HTTP response")?;
    let json: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| format!("/version is not JSON ({e}): {body:.200}"))?;
    let api = json["ApiVersion"]
        .as_str()
        .ok_or("/version has no ApiVersion")?;
    let (major, minor) = api
        .split_once('.')
        .ok_or_else(|| format!("odd ApiVersion {api}"))?;
    Ok(bollard::ClientVersion {
        major_version: major.parse().map_err(|_| format!("odd ApiVersion {api}"))?,
        minor_version: minor.parse().map_err(|_| format!("odd ApiVersion {api}"))?,
    })
}

/// Sends an HTTP/1.0 request and reads the whole answer (the server closes the connection).
fn exchange(mut stream: impl Read + Write, request: &[u8]) -> Result<Vec<u8>, String> {
    let mut response = Vec::new();
    stream.write_all(request).map_err(|e| e.to_string())?;
    stream
        .read_to_end(&mut response)
        .map_err(|e| e.to_string())?;
    Ok(response)
}

/// Runs `script` (`sh -c`) in a fresh device stand-in of `arch` with no network, `dir` mounted
/// read-only at /b, with more `docker run` arguments `extra` (mounts, environment); its success
/// and its output (stdout then stderr).
pub fn on_device(
    arch: ggp::arch::Arch,
    dir: &std::path::Path,
    extra: &[String],
    script: &str,
) -> (bool, String) {
    let env = bench_env();
    let image = require(&env, &format!("GGP_DEVICE_IMAGE_{}", arch.name()));
    let out = std::process::Command::new("docker")
        .env("DOCKER_HOST", require(&env, "DOCKER_HOST"))
        .args(["run", "--rm", "--network", "none", "--platform"])
        .arg(arch.docker_platform())
        .arg("-v")
        .arg(format!("{}:/b:ro", dir.display()))
        .args(extra)
        .args([&image, "sh", "-c", script])
        .output()
        .unwrap_or_else(|e| panic!("docker: {e}; {HINT}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("--- {arch:?}\n{text}");
    (out.status.success(), text)
}
