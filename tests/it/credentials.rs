//! Credentials, region and endpoints as the `ggp` binary resolves them, one case per link of the
//! chain, each in its own temporary HOME with real `~/.aws/config` / `~/.aws/credentials` files.
//!
//! Every case runs `ggp -vvv --json doctor --no-docker` with `GGP_LOG=trace` in a cleared
//! environment (HOME, PATH and only what the case needs; instance metadata is always pointed at the
//! bench IMDS server, at a closed port, or disabled, so nothing reaches 169.254.169.254). It checks
//! the source doctor reports, the end-to-end calls (STS GetCallerIdentity, then IoT DescribeEndpoint
//! `iot:Data-ATS`) against the bench emulator, and that no secret of the case (secret keys, session
//! tokens, the SSO access token, the web identity token, the container authorization token) appears
//! in stdout, stderr or any file the run left behind. Failure cases check the message, the hint and
//! the exit status, and that without `-v` stderr is exactly those two lines.
//!
//! Stand-ins: AWS is the bench emulator (moto; it has STS AssumeRole and AssumeRoleWithWebIdentity
//! but does not check signatures), instance metadata is `bench/imds/imds_server.py`. The SSO portal
//! and the ECS container endpoint have no real stand-in (moto has neither), so those two are small
//! stubs in `common/http_stub.rs`.

use crate::support::emulator;
use crate::support::http_stub;
use crate::support::imds;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ggp::error::exit;
use http_stub::{Reply, Stub};
use imds::ImdsServer;
use serde_json::Value;

const ACCOUNT: &str = emulator::ACCOUNT;

/// A temporary HOME (and working directory) with files and environment variables for one case.
struct Case {
    root: tempfile::TempDir,
    env: Vec<(String, String)>,
    written: BTreeSet<PathBuf>,
    secrets: Vec<String>,
}

/// What one run gave.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout,
                tail(&self.stderr)
            )
        })
    }

    fn check(&self, name: &str) -> Value {
        self.json()["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no check {name} in {}", self.stdout))
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

impl Case {
    fn new() -> Case {
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(root.path().join("home/.aws")).expect("mkdir .aws");
        Case {
            root,
            env: Vec::new(),
            written: BTreeSet::new(),
            secrets: Vec::new(),
        }
    }

    fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    /// Write a file under HOME (`rel` like `.aws/config`).
    fn file(&mut self, rel: &str, text: &str) -> PathBuf {
        let path = self.home().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        self.written.insert(path.clone());
        path
    }

    /// An executable script under HOME.
    fn script(&mut self, rel: &str, text: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.file(rel, text);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn env(mut self, k: &str, v: &str) -> Case {
        self.env.push((k.into(), v.into()));
        self
    }

    /// A value that must never be printed or logged.
    fn secret(mut self, s: &str) -> Case {
        self.secrets.push(s.into());
        self
    }

    fn has_env(&self, k: &str) -> bool {
        self.env.iter().any(|(key, _)| key == k)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ggp"));
        cmd.args(args)
            .env_clear()
            .current_dir(self.root.path())
            .env("HOME", self.home())
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        if !self.has_env("AWS_EC2_METADATA_SERVICE_ENDPOINT")
            && !self.has_env("AWS_EC2_METADATA_DISABLED")
        {
            cmd.env("AWS_EC2_METADATA_DISABLED", "true");
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    fn run_with(&self, mut cmd: Command) -> Run {
        let out: Output = cmd.output().expect("run ggp");
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        self.assert_no_secrets(&run);
        run
    }

    /// `ggp [pre..] -vvv --json doctor --no-docker` with `GGP_LOG=trace`: the most verbose run.
    fn doctor(&self, pre: &[&str]) -> Run {
        let mut args: Vec<&str> = pre.to_vec();
        args.extend(["-vvv", "--json", "doctor", "--no-docker"]);
        let mut cmd = self.command(&args);
        cmd.env("GGP_LOG", "trace");
        self.run_with(cmd)
    }

    /// `ggp [pre..] doctor --no-docker` without -v: the user's view of a failure.
    fn doctor_quiet(&self, pre: &[&str]) -> Run {
        let mut args: Vec<&str> = pre.to_vec();
        args.extend(["doctor", "--no-docker"]);
        self.run_with(self.command(&args))
    }

    fn assert_no_secrets(&self, run: &Run) {
        let mut texts = vec![
            ("stdout".to_string(), run.stdout.clone()),
            ("stderr".to_string(), run.stderr.clone()),
        ];
        // Anything the run wrote (logs, caches) under the case's directory.
        for path in walk(self.root.path()) {
            if !self.written.contains(&path) {
                if let Ok(text) = std::fs::read(&path) {
                    texts.push((
                        path.display().to_string(),
                        String::from_utf8_lossy(&text).into_owned(),
                    ));
                }
            }
        }
        for secret in &self.secrets {
            for (name, text) in &texts {
                assert!(
                    !text.contains(secret.as_str()),
                    "secret {secret:?} appears in {name}:\n{}",
                    text.lines()
                        .filter(|l| l.contains(secret.as_str()))
                        .take(3)
                        .collect::<Vec<_>>()
                        .join("\n")
                );
            }
        }
        // Credentials a service returned (STS, SSO, IMDS) are never printed either: their JSON/XML
        // field names would show up with them.
        for (name, text) in &texts[..2] {
            for field in [
                "SecretAccessKey",
                "secretAccessKey",
                "<SessionToken>",
                "\"Token\"",
            ] {
                assert!(!text.contains(field), "{field} appears in {name}");
            }
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn emu() -> String {
    emulator::shared().url.clone()
}

/// The source doctor reported, the account STS gave, and the IoT data endpoint: the end-to-end
/// path through the emulator.
fn assert_end_to_end(run: &Run, kind: &str, provider: &str) -> Value {
    assert_eq!(
        run.code,
        0,
        "doctor failed:\n{}\n{}",
        run.stdout,
        tail(&run.stderr)
    );
    let v = run.json();
    assert_eq!(v["ok"], true, "{}", run.stdout);
    assert_eq!(v["credentials"]["kind"], kind, "{}", run.stdout);
    assert_eq!(v["credentials"]["provider"], provider, "{}", run.stdout);
    assert_eq!(v["identity"]["account"], ACCOUNT, "{}", run.stdout);
    let iot = v["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["service"] == "Iot")
        .cloned()
        .expect("IoT endpoint check");
    assert_eq!(iot["answered"], true, "{iot}");
    let detail = iot["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("iot:Data-ATS ") && detail.contains("-ats.iot."),
        "{detail}"
    );
    v
}

/// A failure: exit code, message and hint; the quiet run has exactly `error:` and `hint:` on stderr.
fn assert_failure(case: &Case, pre: &[&str], code: i32, check: &str, message: &[&str]) -> Run {
    let loud = case.doctor(pre);
    assert_eq!(loud.code, code, "{}\n{}", loud.stdout, tail(&loud.stderr));
    let c = loud.check(check);
    assert_eq!(c["status"], "fail", "{c}");
    assert_eq!(c["exit_code"], code, "{c}");
    let quiet = case.doctor_quiet(pre);
    assert_eq!(quiet.code, code, "{}", quiet.stderr);
    let lines: Vec<&str> = quiet.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "stderr must be one line of cause, one of fix:\n{}",
        quiet.stderr
    );
    assert!(lines[0].starts_with("error: "), "{}", lines[0]);
    assert!(lines[1].starts_with("hint: "), "{}", lines[1]);
    for m in message {
        assert!(lines[0].contains(m), "{m:?} not in {:?}", lines[0]);
    }
    quiet
}

// ------------------------------------------------------------------------------ the chain's links

#[test]
fn environment_keys() {
    let case = Case::new()
        .env("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT0001")
        .env("AWS_SECRET_ACCESS_KEY", "env-secret-key-Zq81")
        .env("AWS_SESSION_TOKEN", "env-session-token-Lm42")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ENDPOINT_URL", &emu())
        .secret("env-secret-key-Zq81")
        .secret("env-session-token-Lm42");
    let v = assert_end_to_end(&case.doctor(&[]), "environment", "EnvironmentVariable");
    assert_eq!(v["credentials"]["access_key"], "****0001");
    assert_eq!(v["credentials"]["session_token"], true);
    assert_eq!(v["region"]["name"], "eu-west-1");
    assert_eq!(v["region"]["origin"]["from"], "env");
    assert_eq!(v["region"]["origin"]["name"], "AWS_REGION");
}

#[test]
fn profile_static_keys_by_flag_and_by_env() {
    let mut case = Case::new()
        .env("AWS_ENDPOINT_URL", &emu())
        .secret("dev-secret-key-Hh55");
    case.file(
        ".aws/credentials",
        "[dev]\naws_access_key_id = AKIADEVPROFILE0001\naws_secret_access_key = dev-secret-key-Hh55\n",
    );
    case.file(
        ".aws/config",
        "[default]\nregion = us-east-2\n\n[profile dev]\nregion = eu-central-1\n",
    );
    let v = assert_end_to_end(
        &case.doctor(&["--profile", "dev"]),
        "profile",
        "ProfileFile",
    );
    assert_eq!(v["profile"], "dev");
    assert_eq!(v["credentials"]["profile"], "dev");
    assert_eq!(v["credentials"]["session_token"], false);
    assert_eq!(v["region"]["name"], "eu-central-1");
    assert_eq!(v["region"]["origin"]["from"], "profile");
    assert_eq!(v["region"]["origin"]["name"], "dev");
    assert!(
        case.doctor(&["--profile", "dev"]).check("profile")["summary"]
            .as_str()
            .unwrap()
            .contains("from --profile")
    );

    let case = case
        .env("AWS_PROFILE", "dev")
        .env("AWS_DEFAULT_REGION", "ap-south-1");
    let run = case.doctor(&[]);
    let v = assert_end_to_end(&run, "profile", "ProfileFile");
    assert_eq!(v["region"]["name"], "ap-south-1");
    assert_eq!(v["region"]["origin"]["name"], "AWS_DEFAULT_REGION");
    assert!(run.check("profile")["summary"]
        .as_str()
        .unwrap()
        .contains("from AWS_PROFILE"));
}

/// `role_arn` + `source_profile`: AssumeRole through the emulator's STS, reached through the
/// profile's own `endpoint_url` (no endpoint variable at all).
#[test]
fn profile_assume_role_from_source_profile() {
    let mut case = Case::new().secret("base-secret-key-Rr77");
    case.file(
        ".aws/credentials",
        "[base]\naws_access_key_id = AKIABASEPROFILE001\naws_secret_access_key = base-secret-key-Rr77\n",
    );
    case.file(
        ".aws/config",
        &format!(
            "[profile base]\nregion = eu-north-1\n\n[profile deploy]\nrole_arn = arn:aws:iam::{ACCOUNT}:role/ggp-deploy\nsource_profile = base\nrole_session_name = ggp-test\nendpoint_url = {}\n",
            emu()
        ),
    );
    let v = assert_end_to_end(
        &case.doctor(&["--profile", "deploy"]),
        "profile",
        "AssumeRoleProvider",
    );
    assert_eq!(
        v["identity"]["arn"],
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/ggp-deploy/ggp-test")
    );
    assert!(v["credentials"]["detail"]
        .as_str()
        .unwrap()
        .contains("from source_profile `base`"));
    assert!(
        v["credentials"]["expires"].is_string(),
        "assumed-role credentials expire"
    );
    // the region follows source_profile, as aws-config's region chain does
    assert_eq!(v["region"]["origin"]["name"], "base");
    // every client used the profile's endpoint_url
    for e in v["endpoints"].as_array().unwrap() {
        assert_eq!(e["url"], emu(), "{e}");
        assert_eq!(e["overridden"], true, "{e}");
    }
}

/// `credential_source = Environment` with an explicit --profile (the CI pattern), and services
/// split between endpoints with AWS_ENDPOINT_URL_<SERVICE>: STS and IoT at the emulator, the rest
/// at a closed port, which doctor must then report as not answering.
#[test]
fn profile_credential_source_environment_and_split_endpoints() {
    let mut case = Case::new()
        .env("AWS_ACCESS_KEY_ID", "AKIACIUSER00000001")
        .env("AWS_SECRET_ACCESS_KEY", "ci-secret-key-Pp21")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ENDPOINT_URL_STS", &emu())
        .env("AWS_ENDPOINT_URL_IOT", &emu())
        .secret("ci-secret-key-Pp21");
    case.file(
        ".aws/config",
        &format!("[profile ci]\nrole_arn = arn:aws:iam::{ACCOUNT}:role/ggp-ci\ncredential_source = Environment\nrole_session_name = ci-run\nregion = ap-southeast-2\n"),
    );
    let run = case.doctor(&["--profile", "ci"]);
    assert_eq!(run.code, exit::ENDPOINT_UNREACHABLE, "{}", run.stdout);
    let v = run.json();
    assert_eq!(v["credentials"]["provider"], "AssumeRoleProvider");
    assert_eq!(v["credentials"]["profile"], "ci");
    assert_eq!(
        v["identity"]["arn"],
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/ggp-ci/ci-run")
    );
    for e in v["endpoints"].as_array().unwrap() {
        let answered = e["answered"].as_bool().unwrap();
        match e["service"].as_str().unwrap() {
            "Sts" | "Iot" => {
                assert!(answered, "{e}");
                assert_eq!(e["url"], emu());
            }
            _ => {
                assert!(!answered, "{e}");
                assert_eq!(e["url"], "http://127.0.0.1:9");
                assert!(
                    e["detail"].as_str().unwrap().contains("connection refused"),
                    "{e}"
                );
            }
        }
    }
    assert!(run.check("endpoints")["summary"]
        .as_str()
        .unwrap()
        .starts_with("IAM, Lambda, S3, Greengrass, GreengrassV2 do not answer"));
}

/// As the AWS CLI: `--profile` ignores keys in the environment; `AWS_PROFILE` does not.
#[test]
fn explicit_profile_beats_environment_keys_but_aws_profile_does_not() {
    let mut case = Case::new()
        .env("AWS_ACCESS_KEY_ID", "AKIASTALEENVKEY001")
        .env("AWS_SECRET_ACCESS_KEY", "stale-env-secret-Kk09")
        .env("AWS_ENDPOINT_URL", &emu())
        .secret("stale-env-secret-Kk09")
        .secret("dev-secret-key-Tt31");
    case.file(
        ".aws/credentials",
        "[dev]\naws_access_key_id = AKIADEVPROFILE0002\naws_secret_access_key = dev-secret-key-Tt31\nregion = us-west-1\n",
    );
    let v = assert_end_to_end(
        &case.doctor(&["--profile", "dev"]),
        "profile",
        "ProfileFile",
    );
    assert_eq!(v["credentials"]["access_key"], "****0002");
    let case = case.env("AWS_PROFILE", "dev");
    let v = assert_end_to_end(&case.doctor(&[]), "environment", "EnvironmentVariable");
    assert_eq!(v["credentials"]["access_key"], "****Y001");
    assert_eq!(v["region"]["origin"]["name"], "dev");
}

#[test]
fn profile_credential_process() {
    let mut case = Case::new()
        .env("AWS_PROFILE", "proc")
        .env("AWS_ENDPOINT_URL", &emu())
        .secret("process-secret-Ww63")
        .secret("process-token-Yy64");
    let script = case.script(
        "bin/creds.sh",
        "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"ASIAPROCESS0000001\", \"SecretAccessKey\": \"process-secret-Ww63\", \"SessionToken\": \"process-token-Yy64\", \"Expiration\": \"2099-01-01T00:00:00Z\"}'\n",
    );
    case.file(
        ".aws/config",
        &format!(
            "[profile proc]\ncredential_process = {}\nregion = us-west-2\n",
            script.display()
        ),
    );
    let v = assert_end_to_end(&case.doctor(&[]), "profile", "CredentialProcess");
    assert_eq!(v["credentials"]["expires"], "2099-01-01T00:00:00Z");
    assert_eq!(v["credentials"]["detail"], "credential_process");
}

const SSO_TOKEN: &str = "sso-access-token-Uu12";
const SSO_SECRET: &str = "sso-role-secret-Vv13";
const SSO_SESSION_TOKEN: &str = "sso-role-session-Xx14";

/// The IAM Identity Center portal (`GetRoleCredentials`) as a stub: moto has no SSO and the
/// portal cannot run locally. It answers like the portal: 401 UnauthorizedException for a token
/// it does not know.
fn sso_portal() -> Stub {
    Stub::start(|req| {
        let ok = req.method == "GET"
            && req.target.starts_with("/federation/credentials?")
            && req.header("x-amz-sso_bearer_token") == Some(SSO_TOKEN);
        if !ok {
            return Reply::json(401, r#"{"message":"Session token not found or invalid"}"#)
                .header("x-amzn-ErrorType", "UnauthorizedException");
        }
        let expiration = (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            + 3_600_000) as u64;
        Reply::json(
            200,
            format!(
                r#"{{"roleCredentials":{{"accessKeyId":"ASIASSOROLE0000001","secretAccessKey":"{SSO_SECRET}","sessionToken":"{SSO_SESSION_TOKEN}","expiration":{expiration}}}}}"#
            ),
        )
    })
}

fn sha1_hex(s: &str) -> String {
    use sha1::{Digest, Sha1};
    Sha1::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A profile using an `[sso-session]`, with the token `aws sso login` would have cached.
fn sso_case(portal: &Stub, expires_at: &str) -> Case {
    let mut case = Case::new()
        .env("AWS_PROFILE", "sso-dev")
        .env("AWS_ENDPOINT_URL", &emu())
        .env("AWS_ENDPOINT_URL_SSO", &portal.url)
        .secret(SSO_TOKEN)
        .secret(SSO_SECRET)
        .secret(SSO_SESSION_TOKEN);
    case.file(
        ".aws/config",
        &format!(
            "[profile sso-dev]\nsso_session = corp\nsso_account_id = {ACCOUNT}\nsso_role_name = GgpDeveloper\nregion = eu-west-3\n\n[sso-session corp]\nsso_region = eu-west-1\nsso_start_url = https://corp.awsapps.com/start\n"
        ),
    );
    case.file(
        &format!(".aws/sso/cache/{}.json", sha1_hex("corp")),
        &format!(
            r#"{{"accessToken": "{SSO_TOKEN}", "expiresAt": "{expires_at}", "region": "eu-west-1", "startUrl": "https://corp.awsapps.com/start"}}"#
        ),
    );
    case
}

#[test]
fn profile_sso_session() {
    let portal = sso_portal();
    let case = sso_case(&portal, "2099-01-01T00:00:00Z");
    let v = assert_end_to_end(&case.doctor(&[]), "profile", "SSO");
    assert!(v["credentials"]["detail"]
        .as_str()
        .unwrap()
        .contains("SSO session `corp`), role GgpDeveloper"));
    let req = portal
        .requests()
        .into_iter()
        .find(|r| r.target.starts_with("/federation/credentials"))
        .expect("GetRoleCredentials reached the portal stub");
    assert!(
        req.target.contains("role_name=GgpDeveloper"),
        "{}",
        req.target
    );
    assert!(
        req.target.contains(&format!("account_id={ACCOUNT}")),
        "{}",
        req.target
    );
}

/// The older form: `sso_start_url` in the profile, token cached under the start URL's hash.
#[test]
fn profile_sso_legacy_start_url() {
    let portal = sso_portal();
    let mut case = Case::new()
        .env("AWS_ENDPOINT_URL", &emu())
        .env("AWS_ENDPOINT_URL_SSO", &portal.url)
        .secret(SSO_TOKEN)
        .secret(SSO_SECRET);
    let url = "https://legacy.awsapps.com/start";
    case.file(
        ".aws/config",
        &format!("[default]\nsso_start_url = {url}\nsso_region = us-east-1\nsso_account_id = {ACCOUNT}\nsso_role_name = Legacy\nregion = us-east-1\n"),
    );
    case.file(
        &format!(".aws/sso/cache/{}.json", sha1_hex(url)),
        &format!(r#"{{"accessToken": "{SSO_TOKEN}", "expiresAt": "2099-01-01T00:00:00Z", "region": "us-east-1", "startUrl": "{url}"}}"#),
    );
    let v = assert_end_to_end(&case.doctor(&[]), "profile", "SSO");
    assert_eq!(v["credentials"]["profile"], "default");
}

#[test]
fn sso_token_expired_or_missing() {
    let portal = sso_portal();
    let case = sso_case(&portal, "2020-01-01T00:00:00Z");
    let quiet = assert_failure(
        &case,
        &[],
        exit::CREDENTIALS_EXPIRED,
        "credentials",
        &[
            "IAM Identity Center login of profile `sso-dev`",
            "has expired",
        ],
    );
    assert!(
        quiet
            .stderr
            .contains("hint: run `aws sso login --profile sso-dev`"),
        "{}",
        quiet.stderr
    );
    assert!(
        portal.requests().is_empty(),
        "an expired token must not be sent to the portal"
    );

    // never logged in: no cached token at all
    let mut case = sso_case(&portal, "2099-01-01T00:00:00Z");
    let cached = case
        .home()
        .join(format!(".aws/sso/cache/{}.json", sha1_hex("corp")));
    std::fs::remove_file(&cached).unwrap();
    case.written.remove(&cached);
    let quiet = assert_failure(
        &case,
        &[],
        exit::CREDENTIALS_EXPIRED,
        "credentials",
        &["no IAM Identity Center login"],
    );
    assert!(quiet.stderr.contains("aws sso login --profile sso-dev"));
}

/// GitHub Actions OIDC: a token file and a role, AssumeRoleWithWebIdentity at the emulator's STS.
#[test]
fn web_identity_token() {
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm93bmVyL2dncDpyZWY6cmVmcy9oZWFkcy9tYWluIiwiYXVkIjoic3RzLmFtYXpvbmF3cy5jb20ifQ.webIdentitySig-Cc88";
    let mut case = Case::new()
        .env(
            "AWS_ROLE_ARN",
            &format!("arn:aws:iam::{ACCOUNT}:role/github-actions"),
        )
        .env("AWS_ROLE_SESSION_NAME", "gha-run-42")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", &emu())
        .secret("webIdentitySig-Cc88");
    let token = case.file("oidc/token", jwt);
    let case = case.env("AWS_WEB_IDENTITY_TOKEN_FILE", token.to_str().unwrap());
    let v = assert_end_to_end(&case.doctor(&[]), "web-identity", "WebIdentityToken");
    assert_eq!(
        v["identity"]["arn"],
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/github-actions/gha-run-42")
    );
}

/// The ECS container credentials endpoint as a stub: the ECS agent has no local stand-in.
#[test]
fn container_credentials_endpoint() {
    let auth = "ecs-auth-token-Dd99";
    let agent = Stub::start(move |req| {
        if req.target != "/v2/credentials/ggp" || req.header("authorization") != Some(auth) {
            return Reply::json(403, r#"{"message":"denied"}"#);
        }
        Reply::json(
            200,
            r#"{"AccessKeyId":"ASIACONTAINER00001","SecretAccessKey":"ecs-secret-Ee90","Token":"ecs-session-token-Ff91","Expiration":"2099-01-01T00:00:00Z","RoleArn":"arn:aws:iam::123456789012:role/task"}"#,
        )
    });
    let case = Case::new()
        .env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            &format!("{}/v2/credentials/ggp", agent.url),
        )
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", auth)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", &emu())
        .secret(auth)
        .secret("ecs-secret-Ee90")
        .secret("ecs-session-token-Ff91");
    let v = assert_end_to_end(&case.doctor(&[]), "container", "EcsContainer");
    assert_eq!(v["credentials"]["expires"], "2099-01-01T00:00:00Z");
    assert!(!agent.requests().is_empty());
}

/// EC2 with an instance role: credentials and the region both from IMDSv2.
#[test]
fn instance_metadata_with_role() {
    let imds = ImdsServer::start(&[
        "--role",
        "ggp-builder",
        "--region",
        "eu-south-1",
        "--access-key-id",
        "ASIAINSTANCEROLE01",
        "--secret-access-key",
        "imds-secret-Gg17",
        "--token",
        "imds-session-token-Jj18",
    ]);
    let case = Case::new()
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds.url)
        .env("AWS_ENDPOINT_URL", &emu())
        .secret("imds-secret-Gg17")
        .secret("imds-session-token-Jj18");
    let v = assert_end_to_end(&case.doctor(&[]), "instance-metadata", "IMDSv2");
    assert_eq!(v["credentials"]["access_key"], "****LE01");
    assert_eq!(v["region"]["name"], "eu-south-1");
    assert_eq!(v["region"]["origin"]["from"], "instance-metadata");
}

#[test]
fn instance_metadata_without_role() {
    let imds = ImdsServer::start(&["--no-role"]);
    let case = Case::new()
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds.url)
        .env("AWS_ENDPOINT_URL", &emu());
    let run = assert_failure(
        &case,
        &[],
        exit::IMDS_NO_ROLE,
        "credentials",
        &["this EC2 instance has no IAM role", &imds.url],
    );
    assert!(run.stderr.contains("associate-iam-instance-profile"));
    // the region still came from instance metadata
    assert_eq!(
        case.doctor(&[]).json()["region"]["origin"]["from"],
        "instance-metadata"
    );
}

#[test]
fn instance_metadata_refuses_token() {
    let imds = ImdsServer::start(&["--refuse-token"]);
    let case = Case::new()
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds.url)
        .env("AWS_REGION", "us-east-1");
    let run = assert_failure(
        &case,
        &[],
        exit::IMDS_TOKEN_REFUSED,
        "credentials",
        &["refused an IMDSv2 session token (HTTP 403)"],
    );
    assert!(run.stderr.contains("hop-limit 2"), "{}", run.stderr);
}

#[test]
fn instance_metadata_unreachable() {
    let case = Case::new()
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")
        .env("AWS_REGION", "us-east-1");
    assert_failure(
        &case,
        &[],
        exit::IMDS_UNREACHABLE,
        "credentials",
        &["instance metadata (IMDS) at http://127.0.0.1:9 does not answer (connection refused)"],
    );
}

// ---------------------------------------------------------------------------------- error cases

#[test]
fn no_credentials_anywhere_lists_what_was_tried() {
    let case = Case::new().env("AWS_REGION", "us-east-1");
    let run = assert_failure(
        &case,
        &[],
        exit::NO_CREDENTIALS,
        "credentials",
        &[
            "no AWS credentials found; tried environment (AWS_ACCESS_KEY_ID not set)",
            "profile `default` (no profiles in",
            "web identity (AWS_WEB_IDENTITY_TOKEN_FILE not set)",
            "container endpoint",
            "instance metadata (disabled by AWS_EC2_METADATA_DISABLED)",
        ],
    );
    assert!(run.stderr.contains("hint: run `aws configure`"));
}

#[test]
fn named_profile_absent() {
    let mut case = Case::new();
    case.file(
        ".aws/config",
        "[profile dev]\nregion = us-east-1\n[profile prod]\nregion = us-east-1\n",
    );
    let run = assert_failure(
        &case,
        &["--profile", "nope"],
        exit::PROFILE_NOT_FOUND,
        "profile",
        &["AWS profile `nope` (from --profile) is not defined in"],
    );
    assert!(
        run.stderr.contains("hint: defined profiles: dev, prod;"),
        "{}",
        run.stderr
    );
    let case = case.env("AWS_PROFILE", "nope");
    assert_failure(
        &case,
        &[],
        exit::PROFILE_NOT_FOUND,
        "profile",
        &["AWS profile `nope` (from AWS_PROFILE)"],
    );
}

#[test]
fn region_missing() {
    let case = Case::new()
        .env("AWS_ACCESS_KEY_ID", "AKIANOREGION000001")
        .env("AWS_SECRET_ACCESS_KEY", "no-region-secret-Mm01")
        .secret("no-region-secret-Mm01");
    let run = assert_failure(
        &case,
        &[],
        exit::REGION_MISSING,
        "region",
        &["no AWS region"],
    );
    assert!(run.stderr.contains("hint: pass --region"));
    // --region fixes it, and says so
    let case = case.env("AWS_ENDPOINT_URL", &emu());
    let v = assert_end_to_end(
        &case.doctor(&["--region", "sa-east-1"]),
        "environment",
        "EnvironmentVariable",
    );
    assert_eq!(v["region"]["origin"]["from"], "flag");
}

#[test]
fn endpoint_unreachable() {
    let case = Case::new()
        .env("AWS_ACCESS_KEY_ID", "AKIAENDPOINT000001")
        .env("AWS_SECRET_ACCESS_KEY", "endpoint-secret-Nn02")
        .env("AWS_REGION", "us-east-1")
        .secret("endpoint-secret-Nn02");
    let run = assert_failure(
        &case,
        &["--endpoint-url", "http://127.0.0.1:9"],
        exit::ENDPOINT_UNREACHABLE,
        "account",
        &["STS endpoint http://127.0.0.1:9 does not answer: connection refused"],
    );
    assert!(run.stderr.contains("--endpoint-url"), "{}", run.stderr);
}

/// `--endpoint-url` wins over every endpoint variable, as on the AWS CLI.
#[test]
fn endpoint_flag_beats_service_variables() {
    let case = Case::new()
        .env("AWS_ACCESS_KEY_ID", "AKIAFLAGENDPOINT01")
        .env("AWS_SECRET_ACCESS_KEY", "flag-secret-Oo03")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")
        .env("AWS_ENDPOINT_URL_IOT", "http://127.0.0.1:9")
        .secret("flag-secret-Oo03");
    let v = assert_end_to_end(
        &case.doctor(&["--endpoint-url", &emu()]),
        "environment",
        "EnvironmentVariable",
    );
    assert!(v["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["url"] == emu()));
}

#[test]
fn expired_session_from_credential_process() {
    let mut case = Case::new()
        .env("AWS_PROFILE", "old")
        .env("AWS_ENDPOINT_URL", &emu())
        .secret("old-process-secret-Ss04")
        .secret("old-process-token-Ss05");
    let script = case.script(
        "bin/old.sh",
        "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"ASIAOLDPROCESS0001\", \"SecretAccessKey\": \"old-process-secret-Ss04\", \"SessionToken\": \"old-process-token-Ss05\", \"Expiration\": \"2021-06-01T00:00:00Z\"}'\n",
    );
    case.file(
        ".aws/config",
        &format!(
            "[profile old]\ncredential_process = {}\nregion = us-east-1\n",
            script.display()
        ),
    );
    assert_failure(
        &case,
        &[],
        exit::CREDENTIALS_EXPIRED,
        "credentials",
        &["the session credentials from profile `old` (credential_process) expired at 2021-06-01T00:00:00Z"],
    );
}

#[test]
fn failing_credential_process() {
    let mut case = Case::new().env("AWS_PROFILE", "broken");
    let script = case.script(
        "bin/broken.sh",
        "#!/bin/sh\necho 'token expired, log in again' >&2\nexit 3\n",
    );
    case.file(
        ".aws/config",
        &format!(
            "[profile broken]\ncredential_process = {}\nregion = us-east-1\n",
            script.display()
        ),
    );
    let run = assert_failure(
        &case,
        &[],
        exit::CREDENTIALS_INVALID,
        "credentials",
        &["credentials from profile `broken` (credential_process) could not be loaded"],
    );
    assert!(
        run.stderr.contains("credential_process command by hand"),
        "{}",
        run.stderr
    );
}

/// `-v` shows the SDK's error chain (the "stack"), the default does not.
#[test]
fn details_only_with_verbose() {
    let case = Case::new()
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")
        .env("AWS_REGION", "us-east-1");
    let quiet = case.doctor_quiet(&[]);
    assert!(
        !quiet.stderr.contains("dispatch failure"),
        "{}",
        quiet.stderr
    );
    let verbose = case.run_with(case.command(&["-v", "doctor", "--no-docker"]));
    assert!(
        verbose.stderr.contains("credential chain"),
        "{}",
        verbose.stderr
    );
    assert!(
        verbose.stderr.contains("Connection refused"),
        "{}",
        verbose.stderr
    );
}

/// One credential resolution per run: doctor makes eight AWS calls, the process runs once.
#[test]
fn credentials_are_resolved_once_per_run() {
    let mut case = Case::new()
        .env("AWS_PROFILE", "counted")
        .env("AWS_ENDPOINT_URL", &emu())
        .secret("counted-secret-Qq06");
    let count = case.home().join("runs.txt");
    let script = case.script(
        "bin/counted.sh",
        &format!(
            "#!/bin/sh\necho run >> {}\necho '{{\"Version\": 1, \"AccessKeyId\": \"ASIACOUNTED0000001\", \"SecretAccessKey\": \"counted-secret-Qq06\", \"SessionToken\": \"counted-token\", \"Expiration\": \"2099-01-01T00:00:00Z\"}}'\n",
            count.display()
        ),
    );
    case.file(
        ".aws/config",
        &format!(
            "[profile counted]\ncredential_process = {}\nregion = us-east-1\n",
            script.display()
        ),
    );
    assert_end_to_end(&case.doctor(&[]), "profile", "CredentialProcess");
    assert_eq!(std::fs::read_to_string(&count).unwrap(), "run\n");
}

/// AWS refusing the keys: an emulator of its own with moto's auth mode on
/// (`/moto-api/reset-auth`), where STS answers unknown keys with 403 InvalidClientTokenId.
#[test]
fn credentials_rejected_by_sts() {
    let strict = emulator::Emulator::start();
    let (status, body) = strict.http("POST", "/moto-api/reset-auth", "0");
    assert_eq!(status, 200, "{body}");
    let case = Case::new()
        .env("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY0001")
        .env("AWS_SECRET_ACCESS_KEY", "unknown-secret-Bb08")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", &strict.url)
        .secret("unknown-secret-Bb08");
    let run = assert_failure(
        &case,
        &[],
        exit::CREDENTIALS_INVALID,
        "account",
        &["AWS rejected the credentials from environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY): HTTP 403"],
    );
    assert!(
        run.stderr.contains("aws sts get-caller-identity"),
        "{}",
        run.stderr
    );
}
