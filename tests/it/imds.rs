//! aws-config's default chain takes credentials and region from instance metadata (bench/imds stand-in),
//! and reports an error when the instance has no role or IMDSv2 refuses a token.
//!
//! Each case resolves in a child process of this test binary (`resolve_default_chain`, ignored on its
//! own) started with a cleared environment: only `AWS_EC2_METADATA_SERVICE_ENDPOINT` and `HOME` (an empty
//! temp dir, so no profile files). aws-config 1.13 offers no public way to hand the default chain a
//! custom `Env`/`Fs` without its `test-util` feature, and mutating this process's environment would race
//! with the other tests; a clean child process tests the real chain exactly as ggp runs it on an instance.

use crate::support::imds;

use std::process::Command;

use aws_config::BehaviorVersion;
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_types::error::display::DisplayErrorContext;
use imds::ImdsServer;
use serde_json::{json, Value};

const CHILD: &str = "GGP_IMDS_TEST_CHILD";
const RESULT: &str = "GGP_IMDS_RESULT ";

fn resolve_in_child(imds_url: &str) -> Value {
    let home = tempfile::tempdir().expect("temp HOME");
    let output = Command::new(std::env::current_exe().expect("test binary path"))
        .args([
            "--exact",
            "imds::resolve_default_chain",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env_clear()
        .env(CHILD, "1")
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds_url)
        .output()
        .expect("run the child test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.split_once(RESULT).map(|(_, json)| json)) // libtest prints "test x ... " first
        .unwrap_or_else(|| panic!("no result line from the child:\n{stdout}"));
    serde_json::from_str(line).expect("result JSON")
}

#[test]
#[ignore = "run by the other tests of this file in a child process with a clean environment"]
fn resolve_default_chain() {
    assert_eq!(
        std::env::var(CHILD).as_deref(),
        Ok("1"),
        "this runs as a child of the imds tests (a clean environment), not on its own"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let result = rt.block_on(async {
        let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
        let region = config.region().map(|r| r.to_string());
        let chain = config
            .credentials_provider()
            .expect("the default chain always has a credentials provider");
        let creds = match chain.provide_credentials().await {
            Ok(c) => json!({
                "access_key_id": c.access_key_id(),
                "secret_access_key": c.secret_access_key(),
                "session_token": c.session_token(),
                "expiry_in_seconds": c.expiry().map(|t| t
                    .duration_since(std::time::SystemTime::now())
                    .map(|d| d.as_secs())
                    .unwrap_or(0)),
            }),
            Err(e) => json!({ "error": format!("{}", DisplayErrorContext(&e)) }),
        };
        // The IMDS provider alone, to see why the chain found nothing.
        let imds_error = match aws_config::imds::credentials::ImdsCredentialsProvider::builder()
            .build()
            .provide_credentials()
            .await
        {
            Ok(_) => Value::Null,
            Err(e) => json!(format!("{}", DisplayErrorContext(&e))),
        };
        json!({ "region": region, "credentials": creds, "imds_error": imds_error })
    });
    println!("{RESULT}{result}");
}

#[test]
fn default_chain_reads_credentials_and_region_from_imds() {
    let server = ImdsServer::start(&[
        "--role",
        "ggp-core-role",
        "--region",
        "eu-west-1",
        "--access-key-id",
        "ASIAIMDSTESTKEY00001",
        "--secret-access-key",
        "imds-secret",
        "--token",
        "imds-session",
        "--expiration-seconds",
        "3600",
    ]);
    let r = resolve_in_child(&server.url);
    assert_eq!(r["region"], "eu-west-1", "{r}");
    let c = &r["credentials"];
    assert_eq!(c["access_key_id"], "ASIAIMDSTESTKEY00001", "{r}");
    assert_eq!(c["secret_access_key"], "imds-secret", "{r}");
    assert_eq!(c["session_token"], "imds-session", "{r}");
    let left = c["expiry_in_seconds"].as_u64().expect("credentials expire");
    assert!((3000..=3600).contains(&left), "expiry in {left}s: {r}");
    assert_eq!(r["imds_error"], Value::Null);
}

#[test]
fn no_role_gives_no_credentials_but_a_region() {
    let server = ImdsServer::start(&["--no-role", "--region", "ap-southeast-2"]);
    let r = resolve_in_child(&server.url);
    assert_eq!(r["region"], "ap-southeast-2", "{r}");
    let chain = r["credentials"]["error"].as_str().expect("the chain fails");
    assert!(chain.contains("no credentials found in chain"), "{chain}");
    let why = r["imds_error"].as_str().expect("the IMDS provider fails");
    assert!(
        why.contains("received 404 from IMDS"),
        "IMDS has no instance profile: {why}"
    );
}

#[test]
fn refused_token_gives_errors() {
    let server = ImdsServer::start(&["--refuse-token"]);
    let r = resolve_in_child(&server.url);
    assert_eq!(r["region"], Value::Null, "{r}");
    let chain = r["credentials"]["error"].as_str().expect("the chain fails");
    assert!(
        chain.contains("failed to load IMDS session token"),
        "{chain}"
    );
    let why = r["imds_error"].as_str().expect("the IMDS provider fails");
    assert!(
        why.contains("IMDS is disabled") && why.contains("403"),
        "{why}"
    );
}
