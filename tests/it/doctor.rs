//! `ggp doctor`'s Docker checks against the bench's engine (`scripts/bench up`) and a socket where
//! nothing listens, its text report, and the exit status when several checks fail.

use crate::support::bench;
use crate::support::emulator;

use std::collections::BTreeSet;
use std::process::Command;

use ggp::error::exit;
use serde_json::Value;

/// `ggp <args>` in a cleared environment with static keys, the emulator and no instance metadata.
fn ggp(home: &std::path::Path, docker_host: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ggp"))
        .args(args)
        .env_clear()
        .current_dir(home)
        .env("HOME", home)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "AKIADOCTORTEST0001")
        .env("AWS_SECRET_ACCESS_KEY", "doctor-secret-Zz07")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", &emulator::shared().url)
        .env("DOCKER_HOST", docker_host)
        .output()
        .expect("run ggp");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stdout.contains("doctor-secret-Zz07") && !stderr.contains("doctor-secret-Zz07"));
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

#[test]
fn no_docker_engine_fails_with_its_own_code() {
    let home = tempfile::tempdir().unwrap();
    let host = format!("unix://{}/nothing.sock", home.path().display());
    let (code, stdout, stderr) = ggp(home.path(), &host, &["--json", "doctor"]);
    assert_eq!(code, exit::DOCKER_UNAVAILABLE, "{stdout}\n{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["ok"], false);
    let docker = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "docker")
        .unwrap();
    assert_eq!(docker["status"], "fail");
    assert!(
        docker["summary"].as_str().unwrap().contains(&host),
        "{docker}"
    );
    // the AWS part still ran and passed
    assert_eq!(v["identity"]["account"], emulator::ACCOUNT);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(lines[0].starts_with("error: doctor: docker failed: no Docker engine answers at"));
    assert!(lines[1].contains("--no-docker"), "{}", lines[1]);

    // --no-docker: the same machine passes
    let (code, stdout, _) = ggp(home.path(), &host, &["doctor", "--no-docker"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("docker") && l.contains("skip")),
        "{stdout}"
    );
}

#[test]
fn first_failed_check_decides_the_exit_status() {
    let home = tempfile::tempdir().unwrap();
    let host = format!("unix://{}/nothing.sock", home.path().display());
    let out = Command::new(env!("CARGO_BIN_EXE_ggp"))
        .args(["doctor"])
        .env_clear()
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("DOCKER_HOST", &host)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(exit::NO_CREDENTIALS));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(
            "error: doctor: credentials, region, docker failed: no AWS credentials found"
        ),
        "{stderr}"
    );
}

/// The bench engine: its version, the platforms it runs, ggp's builder images on it.
#[test]
fn bench_engine_reports_version_platforms_and_builder_images() {
    let env = bench::bench_env();
    let host = bench::require(&env, "DOCKER_HOST");
    let docker = bench::docker();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (engine, labelled) = rt.block_on(async {
        let version = docker.version().await.expect("engine version");
        let filters = std::collections::HashMap::from([(
            "label".to_string(),
            vec![ggp::doctor::RECIPE_LABEL.to_string()],
        )]);
        let images = docker
            .list_images(Some(bollard::query_parameters::ListImagesOptions {
                filters: Some(filters),
                ..Default::default()
            }))
            .await
            .expect("list images");
        // ggp's runtime image (docker/build-ggp-image) empties the label it inherits from its base
        let tags: BTreeSet<String> = images
            .into_iter()
            .filter(|i| !i.labels[ggp::doctor::RECIPE_LABEL].is_empty())
            .flat_map(|i| i.repo_tags)
            .filter(|t| !t.contains("<none>"))
            .collect();
        (version, tags)
    });

    let home = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = ggp(home.path(), &host, &["--json", "doctor"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let d = &v["docker"];
    assert_eq!(d["host"], host);
    assert_eq!(d["version"].as_str(), engine.version.as_deref());
    let platforms: Vec<(&str, &str)> = d["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["platform"].as_str().unwrap(), p["how"].as_str().unwrap()))
        .collect();
    let native = format!(
        "{}/{}",
        engine.os.as_deref().unwrap_or("linux"),
        engine.arch.as_deref().unwrap_or("?")
    );
    assert_eq!(platforms[0], (native.as_str(), "native"));
    // the bench registers qemu for arm64 and arm/v7 (scripts/bench up), so the engine runs them
    for p in ["linux/arm64", "linux/arm/v7"] {
        assert!(
            platforms
                .iter()
                .any(|(q, how)| *q == p && how.starts_with("binfmt ")),
            "{p} missing from {platforms:?}"
        );
    }
    let reported: BTreeSet<String> = d["builder_images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["tag"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(reported, labelled);

    // the text form names every check
    let (code, text, _) = ggp(home.path(), &host, &["doctor"]);
    assert_eq!(code, 0);
    for name in [
        "profile",
        "credentials",
        "region",
        "account",
        "endpoints",
        "docker",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(name)),
            "{name} missing:\n{text}"
        );
    }
    assert!(text.contains("linux/arm64"), "{text}");
}
