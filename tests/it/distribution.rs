//! What ships besides the crate, used as a user would use it, with the `ggp` binary under test:
//!
//! - the GitHub Action's steps (`action/run.sh`, which `action.yml` calls) with GitHub's files
//!   (`GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`, `GITHUB_PATH`) as temporary files: installing from a
//!   binary and from a release laid out by `scripts/package-release` (checksum checked, tampering
//!   refused), then `doctor`, `plan`, `build` and the deploy job with `--bundle` against the bench
//!   emulator and Docker engine, a failing run, and the OIDC `role-arn` path with a stub token service;
//! - `ggp.sh` running the container image (`docker/build-ggp-image` from the binary under test, i.e.
//!   the debug build under `cargo test`): `doctor` sees a mounted profile with a session token, web
//!   identity from a token file outside the project, and the Docker engine; nothing is left behind;
//! - completions and man pages through the binary;
//! - actionlint over action.yml and the workflows, shellcheck over the shell scripts.
//!
//! Needs the bench (`scripts/bench up`): Docker engine, builder images, emulator venv, actionlint.

use crate::support::bench;
use crate::support::emulator;
use crate::support::http_stub;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use http_stub::{Reply, Stub};
use serde_json::Value;
use sha2::{Digest, Sha256};

const GGP: &str = env!("CARGO_BIN_EXE_ggp");
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sha256_file(path: &Path) -> String {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// A copy of the repository's sample project (deployments, functions, connectors) in a temp dir.
fn sample_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["deployments", "functions", "connectors"] {
        let status = Command::new("cp")
            .arg("-r")
            .arg(repo().join(sub))
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "cp -r {sub}");
    }
    dir
}

// ------------------------------------------------------------------------------------- the action

/// A runner of the action's steps: GitHub's files in a temp dir, a clean environment.
struct Runner {
    dir: tempfile::TempDir,
}

/// What one step did.
struct Step {
    code: i32,
    stdout: String,
    stderr: String,
    outputs: BTreeMap<String, String>,
    summary: String,
    path: String,
}

impl Step {
    fn output(&self, name: &str) -> &str {
        self.outputs
            .get(name)
            .unwrap_or_else(|| panic!("no output {name}: {:?}\n{}", self.outputs, self.stderr))
    }
    fn json(&self) -> Value {
        let text = std::fs::read_to_string(self.output("json")).unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }
    fn explain(&self) -> String {
        format!(
            "exit {}\nstdout:\n{}\nstderr:\n{}\nsummary:\n{}",
            self.code, self.stdout, self.stderr, self.summary
        )
    }
}

/// `name<<DELIM` … `DELIM` blocks, as GitHub reads GITHUB_OUTPUT.
fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let (name, delim) = line
            .split_once("<<")
            .unwrap_or_else(|| panic!("GITHUB_OUTPUT line {line:?} is not name<<DELIM"));
        let mut value = Vec::new();
        for l in lines.by_ref() {
            if l == delim {
                break;
            }
            value.push(l);
        }
        out.insert(name.to_string(), value.join("\n"));
    }
    out
}

impl Runner {
    fn new() -> Runner {
        Runner {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn temp(&self) -> PathBuf {
        self.dir.path().join("runner-temp")
    }

    /// `action/run.sh STEP` in `cwd` with the inputs (`INPUT_<NAME>`) and extra environment.
    fn step(&self, step: &str, cwd: &Path, inputs: &[(&str, &str)], env: &[(&str, &str)]) -> Step {
        let files = ["output", "summary", "path"].map(|f| self.dir.path().join(f));
        for f in &files {
            std::fs::write(f, "").unwrap();
        }
        std::fs::create_dir_all(self.temp()).unwrap();
        let mut cmd = Command::new(repo().join("action/run.sh"));
        cmd.arg(step)
            .current_dir(cwd)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("HOME", self.dir.path())
            .env("GITHUB_OUTPUT", &files[0])
            .env("GITHUB_STEP_SUMMARY", &files[1])
            .env("GITHUB_PATH", &files[2])
            .env("RUNNER_TEMP", self.temp())
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for (k, v) in bench::bench_env() {
            cmd.env(k, v);
        }
        for (k, v) in inputs {
            cmd.env(format!("INPUT_{}", k.to_uppercase().replace('-', "_")), v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run action/run.sh");
        let read = |f: &Path| std::fs::read_to_string(f).unwrap();
        Step {
            code: out.status.code().unwrap_or(-1),
            stdout: text(&out.stdout),
            stderr: text(&out.stderr),
            outputs: parse_outputs(&read(&files[0])),
            summary: read(&files[1]),
            path: read(&files[2]),
        }
    }
}

/// A release directory as the release workflow publishes it: `v<version>/` with the archive, the
/// bare binary and SHA256SUMS, made by scripts/package-release from the binary under test.
fn fake_release(root: &Path, target: &str) -> PathBuf {
    let dir = root.join(format!("v{VERSION}"));
    for args in [
        vec![
            GGP.to_string(),
            target.to_string(),
            dir.display().to_string(),
        ],
        vec!["--sums".to_string(), dir.display().to_string()],
    ] {
        let out = Command::new(repo().join("scripts/package-release"))
            .args(&args)
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "package-release {args:?}: {}",
            text(&out.stderr)
        );
    }
    dir
}

#[test]
fn action_installs_a_given_binary_or_a_checked_release() {
    let runner = Runner::new();
    let cwd = runner.dir.path();

    // a binary given as is
    let s = runner.step("install", cwd, &[("binary", GGP)], &[]);
    assert_eq!(s.code, 0, "{}", s.explain());
    assert_eq!(s.output("ggp"), GGP);
    assert_eq!(s.output("ggp-version"), VERSION);
    assert_eq!(
        s.path.trim(),
        Path::new(GGP).parent().unwrap().to_str().unwrap()
    );

    // a release: downloaded (file://), checked against SHA256SUMS, unpacked
    let releases = tempfile::tempdir().unwrap();
    let target = "x86_64-unknown-linux-gnu";
    let release = fake_release(releases.path(), target);
    let url = format!("file://{}", releases.path().display());
    let s = runner.step(
        "install",
        cwd,
        &[("version", VERSION)],
        &[("GGP_RELEASE_URL", &url)],
    );
    assert_eq!(s.code, 0, "{}", s.explain());
    let installed = PathBuf::from(s.output("ggp"));
    let name = format!("ggp-{VERSION}-{target}");
    assert_eq!(installed, runner.temp().join(&name).join(&name).join("ggp"));
    assert_eq!(sha256_file(&installed), sha256_file(Path::new(GGP)));
    assert_eq!(s.output("ggp-version"), VERSION);
    for f in [
        "completions/ggp.bash",
        "completions/_ggp",
        "man/ggp.1",
        "man/ggp-plan.1",
    ] {
        assert!(installed.parent().unwrap().join(f).is_file(), "{f} missing");
    }
    // the version from the action's ref when it is a release tag
    let s = runner.step(
        "install",
        cwd,
        &[],
        &[
            ("GGP_RELEASE_URL", &url),
            ("GGP_ACTION_REF", &format!("v{VERSION}")),
        ],
    );
    assert_eq!(s.code, 0, "{}", s.explain());
    assert_eq!(PathBuf::from(s.output("ggp")), installed);

    // an archive that does not match SHA256SUMS is refused, and nothing is installed
    let fresh = Runner::new();
    let archive = release.join(format!("{name}.tar.gz"));
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes.extend_from_slice(b"tampered");
    std::fs::write(&archive, bytes).unwrap();
    let s = fresh.step(
        "install",
        fresh.dir.path(),
        &[("version", VERSION)],
        &[("GGP_RELEASE_URL", &url)],
    );
    assert_eq!(s.code, 1, "{}", s.explain());
    assert!(
        s.stdout.contains("::error title=ggp action::")
            && s.stdout.contains("does not match its sha256"),
        "{}",
        s.explain()
    );
    assert!(s.outputs.is_empty(), "{:?}", s.outputs);
    assert!(!fresh.temp().join(&name).join(&name).exists());

    // no release binary for the runner, no version at all
    let s = runner.step(
        "install",
        cwd,
        &[("version", VERSION)],
        &[("RUNNER_OS", "macOS"), ("RUNNER_ARCH", "ARM64")],
    );
    assert_eq!(s.code, 1);
    assert!(
        s.stdout.contains("no ggp release binary for macOS/ARM64"),
        "{}",
        s.explain()
    );
    let s = runner.step("install", cwd, &[], &[("GGP_ACTION_REF", "main")]);
    assert_eq!(s.code, 1);
    assert!(s.stdout.contains("which ggp?"), "{}", s.explain());
}

#[test]
fn action_runs_doctor_plan_and_build_against_the_bench() {
    let emu = emulator::fresh_v1();
    let project = sample_project();
    let p = project.path();
    let runner = Runner::new();
    let creds = [
        ("GGP", GGP),
        ("AWS_ACCESS_KEY_ID", "AKIAACTIONTEST0001"),
        ("AWS_SECRET_ACCESS_KEY", "action-secret-Qq31"),
        ("AWS_SESSION_TOKEN", "action-session-Rr32"),
        ("AWS_REGION", emulator::REGION),
        ("AWS_ENDPOINT_URL", &emu.url),
    ];
    let no_secrets = |s: &Step| {
        for secret in ["action-secret-Qq31", "action-session-Rr32"] {
            assert!(
                !s.stdout.contains(secret)
                    && !s.stderr.contains(secret)
                    && !s.summary.contains(secret),
                "{secret} leaked"
            );
        }
    };

    // doctor: the job's credentials, session token included; a table of the checks
    let s = runner.step("run", p, &[("command", "doctor")], &creds);
    assert_eq!(s.code, 0, "{}", s.explain());
    assert_eq!(s.output("exit-code"), "0");
    assert_eq!(s.json()["credentials"]["session_token"], true);
    assert!(
        s.summary.starts_with("### ggp doctor: ✅ succeeded\n"),
        "{}",
        s.summary
    );
    assert!(
        s.summary.contains("| command | `ggp --json doctor` |"),
        "{}",
        s.summary
    );
    assert!(
        s.summary
            .lines()
            .any(|l| l.starts_with("| credentials | ok |") && l.contains("with session token")),
        "{}",
        s.summary
    );
    assert!(
        s.summary.lines().any(|l| l.starts_with("| docker | ok |")),
        "{}",
        s.summary
    );
    no_secrets(&s);

    let deployment = [("deployment", "deployments/hello-python.conf")];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&'static str, &'static str)> {
        deployment.iter().chain(extra).copied().collect()
    };

    // plan: offline, its JSON is the output file
    let s = runner.step(
        "run",
        p,
        &with(&[("command", "plan"), ("group", "line-1"), ("arch", "X86_64")]),
        &creds,
    );
    assert_eq!(s.code, 0, "{}", s.explain());
    assert!(s.json().is_object());
    assert!(s
        .summary
        .contains("`ggp --json plan -g line-1 -d deployments/hello-python.conf -a X86_64`"));
    assert_eq!(s.output("bundles"), "");

    // build: the function package, in the bench engine, listed in the summary
    let s = runner.step(
        "run",
        p,
        &with(&[("command", "build"), ("arch", "X86_64")]),
        &creds,
    );
    assert_eq!(s.code, 0, "{}", s.explain());
    let artifact = &s.json()["artifacts"][0];
    let zip = p.join(artifact["package"].as_str().unwrap());
    assert_eq!(sha256_file(&zip), artifact["sha256"].as_str().unwrap());
    assert!(
        s.summary.contains(&format!(
            "| HelloPython | X86_64 | `build/functions/X86_64/HelloPython.zip` | {} | `{}` |",
            artifact["size"],
            artifact["sha256"].as_str().unwrap()
        )),
        "{}",
        s.summary
    );

    // a failing run: the step fails with ggp's status, says why, and still writes its outputs
    let s = runner.step(
        "run",
        p,
        &[
            ("command", "plan"),
            ("group", "line-1"),
            ("arch", "X86_64"),
            ("deployment", "deployments/missing.conf"),
        ],
        &creds,
    );
    assert_eq!(s.code, 3, "{}", s.explain());
    assert_eq!(s.output("exit-code"), s.code.to_string());
    assert!(
        s.stdout.contains(&format!(
            "::error title=ggp plan failed (exit {})::",
            s.code
        )),
        "{}",
        s.explain()
    );
    assert!(s.stdout.contains("missing.conf"), "{}", s.explain());
    assert!(
        s.summary.contains(&format!(
            "### ggp plan line-1 (X86_64): ❌ failed with exit status {}",
            s.code
        )),
        "{}",
        s.summary
    );
    assert_eq!(s.output("bundles"), "");
}

/// GGP's flag form (`-g -a -d --bundle --script`) through the action: the group id, the files with
/// their sha256, secrets kept apart from what may be published.
#[test]
fn action_deploy_job_reports_group_id_bundles_and_sha256() {
    let emu = emulator::fresh_v1();
    let project = sample_project();
    let p = project.path();
    let runner = Runner::new();
    let creds = [
        ("GGP", GGP),
        ("AWS_ACCESS_KEY_ID", "AKIAACTIONTEST0002"),
        ("AWS_SECRET_ACCESS_KEY", "deploy-secret-Bb63"),
        ("AWS_REGION", emulator::REGION),
        ("AWS_ENDPOINT_URL", &emu.url),
    ];
    // the deploy job (GGP's flag form) with the offline bundle and installer: group id, files, sha256
    let core_sha = bench_core_software_sha256("greengrass-linux-x86-64-");
    let args = format!("--core-software-sha256 {core_sha} --split-secrets");
    let s = runner.step(
        "run",
        p,
        &[
            ("command", "deploy"),
            ("group", "line-1"),
            ("arch", "X86_64"),
            ("deployment", "deployments/hello-python.conf"),
            ("target", "v1"),
            ("bundle", "true"),
            ("script", "true"),
            ("args", &args),
        ],
        &creds,
    );
    assert_eq!(s.code, 0, "{}", s.explain());
    let group_id = s.output("group-id");
    let groups = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let sdk = emu.sdk_config().await;
        aws_sdk_greengrass::Client::new(&sdk)
            .list_groups()
            .send()
            .await
            .expect("ListGroups")
    });
    let groups = groups.groups();
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0].id(), Some(group_id));
    assert_eq!(groups[0].name(), Some("line-1"));
    assert_eq!(s.output("bundles"), "build/line-1-X86_64.tar.gz");
    assert_eq!(
        s.output("secret-files"),
        "build/gg.line-1.sh\nbuild/line-1-X86_64.secrets.tar.gz"
    );
    let sums: Vec<&str> = s.output("sha256").lines().collect();
    assert_eq!(sums.len(), 3, "{sums:?}");
    for line in &sums {
        let (sha, path) = line.split_once("  ").unwrap();
        assert_eq!(sha256_file(&p.join(path)), sha, "{path}");
        assert!(
            s.summary.contains(&format!("| `{path}` |")),
            "{path} not in\n{}",
            s.summary
        );
    }
    assert!(
        s.summary.contains(&format!("| group id | `{group_id}` |")),
        "{}",
        s.summary
    );
    assert!(
        s.summary
            .contains("| `build/line-1-X86_64.secrets.tar.gz` | secrets (secret) |"),
        "{}",
        s.summary
    );
    assert!(!s.stdout.contains("deploy-secret-Bb63") && !s.stderr.contains("deploy-secret-Bb63"));
}

/// The same job with `target: v2`: the thing group's id as `group-id`, and the V2 bundle (it holds
/// the core's key, so it is listed with the secret files) with its sha256.
#[test]
fn action_deploy_job_on_greengrass_v2_reports_the_thing_group_and_the_v2_bundle() {
    let emu = emulator::fresh();
    let project = sample_project();
    let p = project.path();
    let runner = Runner::new();
    let creds = [
        ("GGP", GGP),
        ("AWS_ACCESS_KEY_ID", "AKIAACTIONTEST0003"),
        ("AWS_SECRET_ACCESS_KEY", "deploy-secret-Cc74"),
        ("AWS_REGION", emulator::REGION),
        ("AWS_ENDPOINT_URL", &emu.url),
    ];
    let dir = bench::require(&bench::bench_env(), "GGP_CORE_SOFTWARE_DIR");
    let nucleus = Path::new(&dir).join("greengrass-nucleus-latest.zip");
    let args = format!(
        "--core-software {} --core-software-sha256 {}",
        nucleus.display(),
        bench_core_software_sha256("greengrass-nucleus-latest")
    );
    let s = runner.step(
        "run",
        p,
        &[
            ("command", "deploy"),
            ("group", "line-2"),
            ("deployment", "deployments/empty.conf"),
            ("target", "v2"),
            ("bundle", "true"),
            ("args", &args),
        ],
        &creds,
    );
    assert_eq!(s.code, 0, "{}", s.explain());
    let group_id = s.output("group-id");
    let tg = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let sdk = emu.sdk_config().await;
        aws_sdk_iot::Client::new(&sdk)
            .describe_thing_group()
            .thing_group_name("line-2")
            .send()
            .await
            .expect("DescribeThingGroup")
    });
    assert_eq!(tg.thing_group_id(), Some(group_id));
    assert_eq!(s.output("secret-files"), "build/ggp-v2-line-2.tar.gz");
    let (sha, path) = s.output("sha256").split_once("  ").unwrap();
    assert_eq!(path, "build/ggp-v2-line-2.tar.gz");
    assert_eq!(sha256_file(&p.join(path)), sha);
    assert!(
        s.summary
            .contains("| `build/ggp-v2-line-2.tar.gz` | bundle (secret) |"),
        "{}",
        s.summary
    );
    assert!(!s.stdout.contains("deploy-secret-Cc74") && !s.stderr.contains("deploy-secret-Cc74"));
}

/// The sha256 the bench's SHA256SUMS gives for its STAND-IN core software `<prefix>…`.
fn bench_core_software_sha256(prefix: &str) -> String {
    let dir = bench::require(&bench::bench_env(), "GGP_CORE_SOFTWARE_DIR");
    let sums = std::fs::read_to_string(Path::new(&dir).join("SHA256SUMS")).unwrap();
    sums.lines()
        .find(|l| l.contains(prefix))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no {prefix} in {dir}/SHA256SUMS; {}", bench::HINT))
        .to_string()
}

const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm93bmVyL2dncDpyZWY6cmVmcy9oZWFkcy9tYWluIiwiYXVkIjoic3RzLmFtYXpvbmF3cy5jb20ifQ.oidcSignature-Tt55";

#[test]
fn action_role_arn_assumes_the_role_with_the_jobs_oidc_token() {
    let emu = emulator::fresh_v1();
    let token_service = Stub::start(|req| {
        if req.header("authorization") == Some("bearer request-token-Uu56") {
            Reply::json(200, format!(r#"{{"count":1,"value":"{JWT}"}}"#))
        } else {
            Reply::json(401, r#"{"message":"bad token"}"#)
        }
    });
    let runner = Runner::new();
    let request_url = format!("{}/token?api-version=2.0", token_service.url);
    let role = format!("arn:aws:iam::{}:role/ggp-deploy", emulator::ACCOUNT);
    let env = [
        ("GGP", GGP),
        // keys in the job are not what ggp uses once a role is given
        ("AWS_ACCESS_KEY_ID", "AKIASTATICKEYS00001"),
        ("AWS_SECRET_ACCESS_KEY", "static-secret-Vv57"),
        ("AWS_REGION", emulator::REGION),
        ("AWS_ENDPOINT_URL", &emu.url),
        ("GITHUB_RUN_ID", "4242"),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", &request_url),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token-Uu56"),
    ];
    let cwd = runner.dir.path();
    let s = runner.step(
        "run",
        cwd,
        &[("command", "doctor"), ("role-arn", &role)],
        &env,
    );
    assert_eq!(s.code, 0, "{}", s.explain());
    let v = s.json();
    assert_eq!(v["credentials"]["kind"], "web-identity", "{v}");
    assert_eq!(
        v["identity"]["arn"],
        format!(
            "arn:aws:sts::{}:assumed-role/ggp-deploy/ggp-4242-1",
            emulator::ACCOUNT
        )
    );
    let requests = token_service.requests();
    assert_eq!(requests.len(), 1);
    assert!(
        requests[0].target.ends_with("&audience=sts.amazonaws.com"),
        "{:?}",
        requests[0]
    );
    let token_file = runner.temp().join("ggp-oidc/token");
    assert_eq!(std::fs::read_to_string(&token_file).unwrap(), JWT);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "token file mode {mode:o}");
    for leak in [
        "oidcSignature-Tt55",
        "request-token-Uu56",
        "static-secret-Vv57",
    ] {
        assert!(
            !s.stdout.contains(leak) && !s.stderr.contains(leak) && !s.summary.contains(leak),
            "{leak} leaked:\n{}",
            s.explain()
        );
    }

    // without `permissions: id-token: write` there is no token service
    let s = runner.step(
        "run",
        cwd,
        &[("command", "doctor"), ("role-arn", &role)],
        &[("GGP", GGP), ("AWS_REGION", emulator::REGION)],
    );
    assert_eq!(s.code, 1, "{}", s.explain());
    assert!(s.stdout.contains("id-token: write"), "{}", s.explain());
}

// -------------------------------------------------------------------------------- ggp.sh and image

fn docker(args: &[&str]) -> Output {
    let host = bench::require(&bench::bench_env(), "DOCKER_HOST");
    Command::new("docker")
        .args(args)
        .env("DOCKER_HOST", host)
        .output()
        .expect("run the docker CLI")
}

fn docker_lines(args: &[&str]) -> Vec<String> {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        text(&out.stderr)
    );
    let mut lines: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    lines.sort();
    lines
}

const IMAGE: &str = "ggp:distribution-test";

/// The image of the binary under test, built by docker/build-ggp-image (layers cached by Docker).
fn build_image() {
    let env = bench::bench_env();
    let out = Command::new(repo().join("docker/build-ggp-image"))
        .args(["--binary", GGP, "--tag", IMAGE])
        .env("DOCKER_HOST", bench::require(&env, "DOCKER_HOST"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "build-ggp-image: {}",
        text(&out.stderr)
    );
    let id = text(&out.stdout);
    assert!(id.trim().starts_with("sha256:"), "{id}");
    let inspect = docker_lines(&[
        "image",
        "inspect",
        "--format",
        "{{.Config.User}} {{json .Config.Entrypoint}}",
        IMAGE,
    ]);
    assert_eq!(inspect, ["ggp [\"/usr/local/bin/ggp\"]"]);
    // no docker CLI inside: ggp speaks the Engine API itself
    let out = docker(&[
        "run",
        "--rm",
        "--entrypoint",
        "sh",
        IMAGE,
        "-c",
        "command -v docker || echo none",
    ]);
    assert_eq!(text(&out.stdout).trim(), "none");
}

/// `ggp.sh ARGS` in `cwd` with HOME = `home` and the given environment (nothing else of ours).
fn ggp_sh(cwd: &Path, home: &Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let host = bench::require(&bench::bench_env(), "DOCKER_HOST");
    let out = Command::new(repo().join("ggp.sh"))
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("HOME", home)
        .env("DOCKER_HOST", host)
        .env("GGP_IMAGE", IMAGE)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .output()
        .expect("run ggp.sh");
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

#[test]
fn ggp_sh_runs_the_image_with_the_project_credentials_and_engine_and_leaves_nothing() {
    let emu = emulator::fresh_v1();
    build_image();
    let project = sample_project();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    std::fs::create_dir_all(h.join(".aws")).unwrap();
    std::fs::write(
        h.join(".aws/credentials"),
        "[dev]\naws_access_key_id = AKIAGGPSHPROFILE01\naws_secret_access_key = ggpsh-secret-Ww58\naws_session_token = ggpsh-session-Xx59\n",
    )
    .unwrap();
    std::fs::write(
        h.join(".aws/config"),
        "[profile dev]\nregion = eu-central-1\n",
    )
    .unwrap();

    let containers = || docker_lines(&["ps", "-aq", "--filter", "label=org.ggp.ggp-sh=1"]);
    // images from docker/Dockerfile carry its title label, and so would any image made from a
    // container of it (as GGP's ggp.sh committed one per run); others share the engine, so only these
    let images = || {
        docker_lines(&[
            "images",
            "-aq",
            "--no-trunc",
            "--filter",
            "label=org.opencontainers.image.title=ggp",
        ])
    };
    let (containers_before, images_before) = (containers(), images());

    // a profile with static keys and a session token, from the mounted ~/.aws
    let (code, stdout, stderr) = ggp_sh(
        project.path(),
        h,
        &[("AWS_PROFILE", "dev"), ("AWS_ENDPOINT_URL", &emu.url)],
        &["--json", "doctor"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["profile"], "dev");
    assert_eq!(v["credentials"]["kind"], "profile");
    assert_eq!(v["credentials"]["provider"], "ProfileFile");
    assert_eq!(v["credentials"]["access_key"], "****LE01");
    assert_eq!(v["credentials"]["session_token"], true);
    assert_eq!(v["region"]["name"], "eu-central-1");
    assert_eq!(v["identity"]["account"], emulator::ACCOUNT);
    // the engine, through the mounted socket, and the host's emulators through binfmt_misc
    let host = bench::require(&bench::bench_env(), "DOCKER_HOST");
    assert_eq!(v["docker"]["host"], host);
    let engine = docker_lines(&["version", "--format", "{{.Server.Version}}"]);
    assert_eq!(v["docker"]["version"], engine[0]);
    let platforms: Vec<&str> = v["docker"]["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["platform"].as_str().unwrap())
        .collect();
    assert!(platforms.contains(&"linux/arm64"), "{platforms:?}");
    let builders = v["docker"]["builder_images"].to_string();
    assert!(
        builders.contains("ggp/builder:bookworm-amd64"),
        "{builders}"
    );
    assert!(
        !builders.contains(IMAGE),
        "the ggp image is not a builder image: {builders}"
    );
    for secret in ["ggpsh-secret-Ww58", "ggpsh-session-Xx59"] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret));
    }

    // web identity from a token file outside the project (mounted at its path)
    let token = h.join("oidc/token");
    std::fs::create_dir_all(token.parent().unwrap()).unwrap();
    std::fs::write(&token, JWT).unwrap();
    let role = format!("arn:aws:iam::{}:role/ggp-sh", emulator::ACCOUNT);
    let (code, stdout, stderr) = ggp_sh(
        project.path(),
        h,
        &[
            ("AWS_ROLE_ARN", &role),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token.to_str().unwrap()),
            ("AWS_ROLE_SESSION_NAME", "ggp-sh-run"),
            ("AWS_REGION", emulator::REGION),
            ("AWS_ENDPOINT_URL", &emu.url),
        ],
        &["--json", "doctor", "--no-docker"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["credentials"]["kind"], "web-identity");
    assert_eq!(
        v["identity"]["arn"],
        format!(
            "arn:aws:sts::{}:assumed-role/ggp-sh/ggp-sh-run",
            emulator::ACCOUNT
        )
    );

    // output to a directory outside the project lands on the host; ggp's exit status comes back
    let out_dir = h.join("man-pages");
    let (code, stdout, stderr) = ggp_sh(
        project.path(),
        h,
        &[],
        &["man", "--dir", out_dir.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(out_dir.join("ggp-plan.1").is_file(), "{stdout}");
    let (code, _, stderr) = ggp_sh(project.path(), h, &[], &["--no-such-flag"]);
    assert_eq!(code, 2, "{stderr}");

    // nothing left: no container, no image
    assert_eq!(containers(), containers_before);
    assert_eq!(images(), images_before);
    assert!(
        images_before.iter().any(|i| i.starts_with("sha256:")),
        "{images_before:?}"
    );
}

#[test]
fn ggp_sh_passes_credentials_by_name_and_mounts_only_what_it_needs() {
    let project = sample_project();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    std::fs::create_dir_all(h.join(".aws/sso/cache")).unwrap();
    std::fs::write(h.join(".aws/config"), "[default]\nregion = eu-west-1\n").unwrap();
    let csr = h.join("device.csr");
    std::fs::write(&csr, "-----BEGIN CERTIFICATE REQUEST-----\n").unwrap();
    let token = h.join("token");
    std::fs::write(&token, JWT).unwrap();
    let ggp_args = [
        "-g",
        "g",
        "-a",
        "X86_64",
        "-d",
        "deployments/hello-python.conf",
        "--csr",
        csr.to_str().unwrap(),
    ];
    let (code, stdout, stderr) = ggp_sh(
        project.path(),
        h,
        &[
            ("GGP_SH_DRY_RUN", "1"),
            ("AWS_ACCESS_KEY_ID", "AKIADRYRUN00000001"),
            ("AWS_SECRET_ACCESS_KEY", "dry-secret-Yy60"),
            ("AWS_SESSION_TOKEN", "dry-session-Zz61"),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token.to_str().unwrap()),
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "http://127.0.0.1:1/creds",
            ),
            ("UNRELATED_SECRET", "unrelated-Aa62"),
        ],
        &ggp_args,
    );
    assert_eq!(code, 0, "{stderr}");
    let args: Vec<&str> = stdout.lines().collect();
    for secret in [
        "dry-secret-Yy60",
        "dry-session-Zz61",
        "unrelated-Aa62",
        "UNRELATED_SECRET",
    ] {
        assert!(
            !stdout.contains(secret),
            "{secret} on the command line:\n{stdout}"
        );
    }
    let pairs: Vec<(&str, &str)> = args.windows(2).map(|w| (w[0], w[1])).collect();
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_EC2_METADATA_DISABLED",
    ] {
        assert!(pairs.contains(&("-e", var)), "-e {var} missing:\n{stdout}");
    }
    let p = project.path().canonicalize().unwrap();
    let p = p.to_str().unwrap();
    let hh = h.canonicalize().unwrap();
    let mount = |src: &Path, ro: bool| {
        let s = src.to_str().unwrap();
        format!(
            "type=bind,source={s},target={s}{}",
            if ro { ",readonly" } else { "" }
        )
    };
    for (flag, value) in [
        ("-w", p.to_string()),
        ("--mount", format!("type=bind,source={p},target={p}")),
        ("--mount", mount(&hh.join(".aws"), true)),
        ("--mount", mount(&hh.join(".aws/sso/cache"), false)),
        ("--mount", mount(&hh.join("device.csr"), true)),
        ("--mount", mount(&hh.join("token"), true)),
        ("--network", "host".to_string()),
        ("-e", format!("HOME={}", h.display())),
    ] {
        assert!(
            pairs.contains(&(flag, value.as_str())),
            "{flag} {value} missing:\n{stdout}"
        );
    }
    assert!(args.contains(&"--rm") && args.contains(&"--init"));
    // the image, then exactly the arguments given
    let image_at = args.iter().position(|a| *a == IMAGE).unwrap();
    assert_eq!(&args[image_at + 1..], ggp_args);
}

// ---------------------------------------------------------------------------- completions and man

#[test]
fn completions_and_man_pages_come_from_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let completions = dir.path().join("completions");
    let out = Command::new(GGP)
        .args(["completions", "--dir", completions.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 5);
    // bash completes subcommands and flags from the script
    let script = completions.join("ggp.bash");
    let complete = |line: &str| -> String {
        let words: Vec<&str> = line.split(' ').collect();
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source '{}'; COMP_WORDS=({line}); COMP_CWORD={}; _ggp ggp '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
                script.display(),
                words.len() - 1,
                words[words.len() - 1],
                words[words.len() - 2]
            ))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    assert_eq!(complete("ggp pl").trim(), "plan");
    assert_eq!(complete("ggp do").trim(), "doctor");
    let flags = complete("ggp plan --deploy");
    assert_eq!(flags.trim(), "--deployment-config");

    let man = dir.path().join("man");
    let out = Command::new(GGP)
        .args(["man", "--dir", man.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let page = std::fs::read_to_string(man.join("ggp-doctor.1")).unwrap();
    assert!(
        page.contains(".TH ggp-doctor 1") && page.contains("\\-\\-no\\-docker"),
        "{page}"
    );
    let out = Command::new(GGP).arg("man").output().unwrap();
    assert_eq!(
        text(&out.stdout),
        std::fs::read_to_string(man.join("ggp.1")).unwrap()
    );
}

// -------------------------------------------------------------------------------------------- lint

#[test]
fn action_workflows_and_scripts_lint_clean() {
    let env = bench::bench_env();
    let actionlint = bench::require(&env, "GGP_ACTIONLINT");
    let shellcheck = bench::require(&env, "GGP_SHELLCHECK");
    // every workflow, the local action's inputs (`uses: ./`) and the workflows' shell steps
    let workflows: Vec<PathBuf> = std::fs::read_dir(repo().join(".github/workflows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    assert!(workflows.len() >= 3, "{workflows:?}");
    let out = Command::new(&actionlint)
        .arg(format!("-shellcheck={shellcheck}"))
        .args(&workflows)
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "actionlint:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = Command::new(&shellcheck)
        .args([
            "ggp.sh",
            "action/run.sh",
            "docker/build-ggp-image",
            "scripts/package-release",
        ])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(out.status.success(), "shellcheck:\n{}", text(&out.stdout));
}
