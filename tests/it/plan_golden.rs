//! `ggp plan` on every deployment of the example project: succeeds, and matches golden output.
//! Runs the real binary with a clean environment: no network, no Docker, no credentials.

use std::path::Path;

use assert_cmd::Command;

fn plan(deployment: &str, json: bool) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::cargo_bin("ggp").unwrap();
    cmd.env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // No credentials and no instance metadata: the plan is the offline one, with no network.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // Golden output must not depend on the day it runs: the runtime table is applied on the
        // day it was read (blocked runtimes warn on V1 and are upgraded on V2).
        .env("GGP_TODAY", ggp::runtimes::READ_ON.to_string())
        .args([
            "--project-dir",
            root.to_str().unwrap(),
            "plan",
            "-g",
            "test-group",
            "-d",
            deployment,
            "-a",
            "X86_64,ARM32,ARM64",
            "--region",
            "us-east-1",
        ]);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "plan {deployment} failed:\n{stderr}");
    assert!(
        !stdout.contains(&root.display().to_string()),
        "plan output must not depend on where the project is"
    );
    stdout
}

fn deployments() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deployments");
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".conf") && !n.ends_with(".defaults.conf"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_example_deployment_plans_and_matches_golden_output() {
    let _snapshots = crate::support::snapshots();
    let list = deployments();
    assert!(
        list.len() >= 6,
        "example project has the empty, per-function and all-together deployments: {list:?}"
    );
    for d in list {
        let name = d.trim_end_matches(".conf").to_string();
        let text = plan(&format!("deployments/{d}"), false);
        insta::assert_snapshot!(format!("plan_golden__plan_{name}"), text);
        let json: serde_json::Value =
            serde_json::from_str(&plan(&format!("deployments/{d}"), true)).unwrap();
        insta::assert_json_snapshot!(format!("plan_golden__plan_{name}_json"), json);
    }
}

#[test]
fn plan_is_deterministic() {
    let a = plan("deployments/all.conf", true);
    let b = plan("deployments/all.conf", true);
    assert_eq!(a, b);
}

#[test]
fn empty_deployment_keyword() {
    let text = plan("EMPTY", false);
    assert!(text.contains("(no functions)"), "{text}");
    assert!(text.contains("lambda role: not managed"), "{text}");
}
