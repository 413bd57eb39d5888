//! The AWS emulator of the test bench (`bench/emulator`: moto extended for Greengrass V1/V2, IoT and
//! Lambda) as a test fixture: one server per test binary, SDK configuration pointing at it, and the
//! bench control API (`/ggp-bench/...`, documented in bench/emulator/README.md).
//!
//! Use: `#[path = "common/emulator.rs"] mod emulator;` then `let emu = emulator::fresh();` in a test:
//! that starts the server on first use, serializes the tests of this binary that share it, and resets
//! its state. Not for: counting calls (use an SDK interceptor) or anything Docker.
//!
//! The server runs from `<repo>/.bench/venv` (override with `GGP_BENCH_VENV`), made by `scripts/bench up`;
//! without it the test fails and says so. It ends with the test process: it watches its stdin, which
//! only this process holds open. Its stderr (one line per request) goes to
//! `<target>/tmp/ggp-emulator-<pid>.log`.
#![allow(dead_code)] // each test binary uses only part of this

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";
const START_TIMEOUT: Duration = Duration::from_secs(60);
const HINT: &str = "run `scripts/bench up` to create the bench venv with the emulator";

/// A running emulator.
pub struct Emulator {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub log: PathBuf,
    child: Mutex<Child>,
    /// Never written: when this process ends the pipe closes and the emulator stops.
    _stdin: Mutex<ChildStdin>,
}

static SHARED: OnceLock<Emulator> = OnceLock::new();
static SERIAL: Mutex<()> = Mutex::new(());
static SHARED_V1: OnceLock<Emulator> = OnceLock::new();
static SERIAL_V1: Mutex<()> = Mutex::new(());

/// The day the Greengrass V1 emulator's clock shows. The V1 cloud service was discontinued on
/// 2026-10-07 and V1 cores run only python3.7/3.8, nodejs12.x and java8, which Lambda no longer
/// lets anyone create functions on (`src/runtimes.rs`); the V1 bench models the V1 era, so its
/// emulator is started with `--today` before any of them was blocked (nodejs12.x: 2023-03-31).
/// The emulator itself is not loosened: it refuses those runtimes from their dates on, as Lambda
/// does, and the V2 tests run against the real date ([`shared`]).
pub const V1_ERA: &str = "2023-03-01";

/// The emulator of this test binary, started on first use; its clock is the real date.
pub fn shared() -> &'static Emulator {
    SHARED.get_or_init(|| Emulator::start_on(None))
}

/// The emulator for Greengrass V1 tests: a second server whose clock is [`V1_ERA`].
pub fn shared_v1() -> &'static Emulator {
    SHARED_V1.get_or_init(|| Emulator::start_on(Some(V1_ERA)))
}

/// Exclusive use of the V1-era emulator ([`shared_v1`]), reset to empty state.
pub fn fresh_v1() -> Fresh {
    let guard = SERIAL_V1
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let emu = shared_v1();
    emu.reset();
    Fresh { emu, _guard: guard }
}

/// Exclusive use of the shared emulator, reset to empty state. Hold the guard for the whole test:
/// the tests of one binary run on threads and share the server.
pub fn fresh() -> Fresh {
    let guard = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let emu = shared();
    emu.reset();
    Fresh { emu, _guard: guard }
}

pub struct Fresh {
    pub emu: &'static Emulator,
    _guard: MutexGuard<'static, ()>,
}

impl std::ops::Deref for Fresh {
    type Target = Emulator;
    fn deref(&self) -> &Emulator {
        self.emu
    }
}

/// The venv with moto and the emulator: `GGP_BENCH_VENV` or `<repo>/.bench/venv`.
pub fn venv() -> PathBuf {
    std::env::var_os("GGP_BENCH_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".bench").join("venv"))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl Emulator {
    /// Starts a new emulator on the real date (most tests want [`shared`] or [`fresh`] instead).
    pub fn start() -> Emulator {
        Emulator::start_on(None)
    }

    /// Starts a new emulator whose clock is `today` (`--today`), or the real date.
    pub fn start_on(today: Option<&str>) -> Emulator {
        let python = venv().join("bin").join("python");
        assert!(
            python.exists(),
            "the emulator venv is missing ({} does not exist); {HINT}",
            python.display()
        );
        let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "ggp-emulator-{}{}.log",
            std::process::id(),
            today.map(|d| format!("-{d}")).unwrap_or_default()
        ));
        let stderr = std::fs::File::create(&log)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let mut child = Command::new(&python)
            .args(["-m", "ggp_emulator", "--host", "127.0.0.1", "--port", "0"])
            .arg("--exit-on-stdin-eof")
            .args(today.map(|d| ["--today", d]).into_iter().flatten())
            .env_remove("GGP_BENCH_TODAY")
            .env("PYTHONPATH", repo().join("bench").join("emulator"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}; {HINT}", python.display()));
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let mut reader = BufReader::new(stdout);
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // keep draining so the emulator never blocks on a full pipe
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "the emulator did not start within {START_TIMEOUT:?}; see {}",
                    log.display()
                );
            }
        };
        let Some(url) = line
            .trim()
            .strip_prefix("listening on ")
            .map(str::to_string)
        else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the emulator did not start (first line {line:?}); see {}; {HINT}",
                log.display()
            );
        };
        Emulator {
            url,
            log,
            child: Mutex::new(child),
            _stdin: Mutex::new(stdin),
        }
    }

    /// `POST /moto-api/reset`: forget every resource (and bench control settings).
    pub fn reset(&self) {
        let (status, body) = self.http("POST", "/moto-api/reset", "");
        assert_eq!(status, 200, "reset failed: {body}");
    }

    /// SDK configuration for the emulator: static test credentials, region us-east-1, endpoint = url,
    /// one attempt per call (no retries hiding a failure). Region and credentials are explicit, so
    /// neither the environment, profiles nor IMDS are consulted for them.
    pub async fn sdk_config(&self) -> aws_types::SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new(
                "AKIAIOSFODNN7EXAMPLE",
                "emulator-secret-access-key",
                None,
                None,
                "ggp-emulator",
            ))
            .endpoint_url(&self.url)
            .retry_config(RetryConfig::standard().with_max_attempts(1))
            .load()
            .await
    }

    /// POST a JSON body to a bench control endpoint (`/ggp-bench/...`); panics unless it answers 200.
    pub fn control(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let (status, text) = self.http("POST", path, &body.to_string());
        assert_eq!(status, 200, "control {path} failed: {text}");
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("control {path}: not JSON ({e}): {text}"))
    }

    /// One plain HTTP/1.1 request to the emulator; returns (status, body).
    pub fn http(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let addr = self
            .url
            .strip_prefix("http://")
            .expect("emulator url is http://");
        let mut stream = TcpStream::connect(addr)
            .unwrap_or_else(|e| panic!("cannot connect to the emulator at {addr}: {e}"));
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("set timeout");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).expect("send request");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).expect("read response");
        let text = String::from_utf8_lossy(&response);
        let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP response: {head:?}"));
        (status, rest.to_string())
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Ok(child) = self.child.get_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
