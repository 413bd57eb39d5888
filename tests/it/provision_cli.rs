//! The provisioning commands through the `ggp` binary against the emulator: exit statuses
//! (deployment failure 31, GGP_FAIL_AFTER 35), the service's error text on stderr, the flag form,
//! `plan` against the account, `destroy`. The deployment has no functions (deployments/empty.conf),
//! so no package is built and no Docker is needed.

use crate::support::emulator;

use std::path::Path;

use assert_cmd::Command;
use serde_json::json;

fn ggp(
    emu: &emulator::Emulator,
    state: &Path,
    home: &Path,
    args: &[&str],
) -> (i32, String, String) {
    ggp_with(emu, state, home, &[], args)
}

fn ggp_with(
    emu: &emulator::Emulator,
    state: &Path,
    home: &Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> (i32, String, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::cargo_bin("ggp")
        .unwrap()
        .env_clear()
        .envs(env.iter().copied())
        .env("HOME", home)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "emulator-secret-access-key")
        .env("AWS_REGION", emulator::REGION)
        .env("GGP_STATE_DIR", state)
        .args([
            "--project-dir",
            root.to_str().unwrap(),
            "--endpoint-url",
            &emu.url,
        ])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

const DEPLOY: &[&str] = &["-g", "cli-group", "-d", "deployments/empty.conf"];

#[test]
fn deploy_stops_at_a_step_then_converges_then_plan_and_destroy() {
    let emu = emulator::fresh_v1();
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");

    // The flag form, stopped right after the certificate: exit 35, and the key is already safe.
    let (code, _, err) = ggp_with(
        &emu,
        &state,
        tmp.path(),
        &[("GGP_FAIL_AFTER", "after-certificate")],
        DEPLOY,
    );
    assert_eq!(code, 35, "{err}");
    assert!(err.contains("after-certificate"), "{err}");
    assert!(state.join("core.key").is_file());

    let (code, out, err) = ggp(
        &emu,
        &state,
        tmp.path(),
        &[&["deploy"][..], DEPLOY].concat(),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("Deployed group cli-group"), "{out}");
    assert!(out.contains(": Success"), "{out}");
    assert!(
        !out.contains("BEGIN") && !err.contains("BEGIN"),
        "no key or certificate text is printed"
    );

    let (code, out, err) = ggp(
        &emu,
        &state,
        tmp.path(),
        &[&["--json"][..], DEPLOY].concat(),
    );
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["changed"], false, "{out}");
    assert_eq!(report["apiCalls"]["mutating"], 0, "{out}");

    let (code, out, err) = ggp(
        &emu,
        &state,
        tmp.path(),
        &["plan", "-g", "cli-group", "-d", "deployments/empty.conf"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Changes for group cli-group"), "{out}");
    assert!(out.contains("no change"), "{out}");

    let (code, out, err) = ggp(&emu, &state, tmp.path(), &["destroy", "-g", "cli-group"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("deleted  greengrass-group"), "{out}");
    assert!(!state.exists());
}

#[test]
fn a_failed_deployment_exits_31_with_the_service_message() {
    let emu = emulator::fresh_v1();
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    emu.control(
        "/ggp-bench/greengrass/deployment-outcome",
        json!({"status": "Failure", "errorMessage": "Greengrass core cli-group_Core is offline"}),
    );
    let (code, out, err) = ggp(&emu, &state, tmp.path(), DEPLOY);
    assert_eq!(code, 31, "{out}\n{err}");
    assert!(
        err.contains("Greengrass core cli-group_Core is offline"),
        "{err}"
    );
    assert!(
        out.contains(": Failure"),
        "the report is printed too: {out}"
    );
}

#[test]
fn plan_without_credentials_stays_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::cargo_bin("ggp")
        .unwrap()
        .env_clear()
        .env("HOME", tmp.path())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // no credentials anywhere: not even instance metadata
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args([
            "--project-dir",
            root.to_str().unwrap(),
            "--region",
            "us-east-1",
        ])
        .args(["plan", "-g", "g", "-d", "deployments/empty.conf"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("<unknown:ACCOUNT_ID>"), "{stdout}");
    assert!(!stdout.contains("Changes for group"), "{stdout}");
}

/// A V1 project moved to Greengrass V2 with one flag: deploy, re-run, plan, bundle and destroy
/// through the binary, the last three finding the target in the group's state.
#[test]
fn the_same_project_deploys_as_v2_with_one_flag() {
    let emu = emulator::fresh();
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let v2: &[&str] = &[
        "-g",
        "cli-v2",
        "-d",
        "deployments/empty.conf",
        "--target",
        "v2",
    ];
    let (code, out, err) = ggp(&emu, &state, tmp.path(), v2);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("created   iot-thing-group"), "{out}");
    assert!(out.contains("created   greengrassv2-deployment"), "{out}");
    assert!(out.contains("has not connected yet"), "{out}");

    // The device connects: the next run finds the device has applied it, and changes nothing.
    emu.control(
        "/ggp-bench/greengrassv2/core-device",
        json!({"thingName": "cli-v2_Core"}),
    );
    let (code, out, err) = ggp(&emu, &state, tmp.path(), &[&["--json"][..], v2].concat());
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["changed"], false, "{out}");
    assert_eq!(report["apiCalls"]["mutating"], 0, "{out}");
    // The device's execution of it (the thing-group deployment itself stays ACTIVE).
    assert_eq!(report["deployment"]["status"], "SUCCEEDED", "{out}");

    let (code, out, err) = ggp(&emu, &state, tmp.path(), &[&["plan"][..], v2].concat());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Greengrass V2"), "{out}");
    assert!(out.contains("no change"), "{out}");

    // The V2 bundle: no -a (one nucleus zip for every architecture), target from the state.
    let zip = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".bench/core-software/greengrass-nucleus-latest.zip");
    let sha = {
        use sha2::Digest;
        let d = sha2::Sha256::digest(std::fs::read(&zip).expect("scripts/bench up makes it"));
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let out_dir = tmp.path().join("out");
    let (code, out, err) = ggp(
        &emu,
        &state,
        tmp.path(),
        &[
            "bundle",
            "-g",
            "cli-v2",
            "--core-software",
            zip.to_str().unwrap(),
            "--core-software-sha256",
            &sha,
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("ggp-v2-cli-v2.tar.gz"), "{out}");
    assert!(out_dir.join("ggp-v2-cli-v2.tar.gz").is_file());

    let (code, out, err) = ggp(&emu, &state, tmp.path(), &["destroy", "-g", "cli-v2"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("deleted  iot-thing-group"), "{out}");
    assert!(out.contains("deleted  greengrassv2-deployment"), "{out}");
    assert!(!state.exists());
}
