//! The Greengrass V2 offline bundle on the bench: a certificate and key issued by the emulator, the
//! bench's STAND-IN nucleus zip (checked by its SHA256SUMS), the bundle written by
//! `ggp::target::v2::bundle::write`, and `install.sh` run in the device stand-in of each architecture
//! (`--network none`): the stand-in nucleus validates config.yaml and that the certificate matches
//! the key. A damaged bundle is refused before anything changes. `ggp deploy --target v2` then
//! `ggp bundle` make the same bundle from a core ggp provisioned in the emulator, and it installs.
//!
//! Needs `scripts/bench up`; without it these tests fail and say so.
use crate::support::bench;
use crate::support::emulator;
use crate::support::provision;

use std::path::{Path, PathBuf};

use ggp::arch::Arch;
use ggp::bundle::Secret;
use ggp::target::v2::bundle::{read_nucleus_zip, write, V2BundleInputs};

/// Keys, certificate and endpoints as the emulator issues them.
async fn identity() -> (String, String, String, String) {
    let emu = emulator::fresh();
    let iot = aws_sdk_iot::Client::new(&emu.sdk_config().await);
    let keys = iot
        .create_keys_and_certificate()
        .set_as_active(true)
        .send()
        .await
        .expect("CreateKeysAndCertificate");
    let mut endpoints = Vec::new();
    for kind in ["iot:Data-ATS", "iot:CredentialProvider"] {
        endpoints.push(
            iot.describe_endpoint()
                .endpoint_type(kind)
                .send()
                .await
                .expect("DescribeEndpoint")
                .endpoint_address
                .expect("endpoint address"),
        );
    }
    (
        keys.certificate_pem.expect("certificate PEM"),
        keys.key_pair
            .and_then(|k| k.private_key)
            .expect("private key"),
        endpoints[0].clone(),
        endpoints[1].clone(),
    )
}

fn bundle(dir: &Path) -> PathBuf {
    let env = bench::bench_env();
    let zip = PathBuf::from(bench::require(&env, "GGP_CORE_SOFTWARE_DIR"))
        .join("greengrass-nucleus-latest.zip");
    let nucleus_zip =
        read_nucleus_zip(&zip, None).expect("the bench's nucleus zip and its SHA256SUMS");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (cert, key, data, cred) = rt.block_on(identity());
    let i = V2BundleInputs {
        group: "v2group".into(),
        thing_name: "v2group_Core".into(),
        region: "us-east-1".into(),
        iot_data_endpoint: data,
        iot_cred_endpoint: cred,
        role_alias: "v2group-alias".into(),
        certificate_pem: cert,
        private_key: Secret::new(key),
        nucleus_zip,
        nucleus_logging: None,
        debs: Vec::new(),
        mtime: 0,
    };
    write(&i, dir).expect("write the V2 bundle")
}

/// Runs `script` in a fresh device stand-in of `arch` with no network, the bundle folder at /b.
fn on_device(arch: Arch, dir: &Path, script: &str) -> (bool, String) {
    on_device_with(arch, dir, &[], script)
}

/// [`on_device`] with more `docker run` arguments (mounts, environment).
fn on_device_with(arch: Arch, dir: &Path, extra: &[String], script: &str) -> (bool, String) {
    bench::on_device(arch, dir, extra, script)
}

fn installs_and_validates(arch: Arch) {
    let dir = tempfile::tempdir().unwrap();
    let tgz = bundle(dir.path());
    let name = tgz.file_name().unwrap().to_string_lossy().into_owned();
    let (ok, out) = on_device(
        arch,
        dir.path(),
        &format!(
            "set -e; mkdir /tmp/x; tar -xzf /b/{name} -C /tmp/x; cd /tmp/x/ggp-v2-v2group; \
             ./install.sh --check; timeout 180 ./install.sh; ls -l /greengrass/v2/privKey.key; \
             for i in $(seq 120); do grep -q 'nucleus running' /greengrass/v2/logs/greengrass.log && break; sleep 1; done; \
             kill -0 $(cat /greengrass/v2/logs/loader.pid) && echo 'nucleus alive after install.sh returned'; \
             cat /greengrass/v2/logs/greengrass.log"
        ),
    );
    assert!(ok, "install failed:\n{out}");
    for want in [
        "SHA256SUMS: every file checks out",
        "config OK: thing v2group_Core, region us-east-1",
        "role alias v2group-alias",
        "matches key /greengrass/v2/privKey.key",
        "installation OK",
        "-rw-------",
        "installed the Greengrass V2 core in /greengrass/v2",
        // No systemd in the device container: the installer's --start true would keep the nucleus
        // in the foreground and install.sh would never return (issue 14). It returns, and the
        // nucleus runs in the background from the loader the installer laid down.
        "systemd is not PID 1",
        "nucleus copied to /greengrass/v2/alts/init/distro",
        "nucleus started in the background",
        "nucleus running in the foreground",
        "nucleus alive after install.sh returned",
    ] {
        assert!(out.contains(want), "missing {want:?}:\n{out}");
    }
    assert!(
        !out.contains("WARN"),
        "the nucleus version in config.yaml must match:\n{out}"
    );
}

#[test]
fn v2_bundle_installs_offline_on_x86_64() {
    installs_and_validates(Arch::X86_64);
}

#[test]
fn v2_bundle_installs_offline_on_arm64() {
    installs_and_validates(Arch::Armv8);
}

#[test]
fn v2_bundle_installs_offline_on_arm32() {
    installs_and_validates(Arch::Armv7lRaspbian);
}

#[test]
fn a_damaged_v2_bundle_is_refused_before_anything_changes() {
    let dir = tempfile::tempdir().unwrap();
    let tgz = bundle(dir.path());
    let name = tgz.file_name().unwrap().to_string_lossy().into_owned();
    let (ok, out) = on_device(
        Arch::X86_64,
        dir.path(),
        &format!(
            "mkdir /tmp/x; tar -xzf /b/{name} -C /tmp/x; cd /tmp/x/ggp-v2-v2group; \
             sed -i 's/v2group_Core/other_Core/' config.yaml; ./install.sh; rc=$?; \
             test -e /greengrass/v2 && echo ROOT-CREATED; exit $rc"
        ),
    );
    assert!(!ok, "a damaged bundle must fail:\n{out}");
    assert!(out.contains("sha256 mismatch: config.yaml"), "{out}");
    assert!(!out.contains("ROOT-CREATED"), "{out}");
}

#[test]
fn deploy_target_v2_then_bundle_installs_the_provisioned_core() {
    let project = tempfile::tempdir().unwrap();
    for d in ["deployments", "functions", "connectors"] {
        provision::copy_dir(&provision::repo().join(d), &project.path().join(d));
    }
    let group = "v2cli";
    let emu = emulator::fresh();
    let env = bench::bench_env();
    let zip = PathBuf::from(bench::require(&env, "GGP_CORE_SOFTWARE_DIR"))
        .join("greengrass-nucleus-latest.zip");
    let out_dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let ggp = |aws: bool, args: &[&str]| {
        let mut c = assert_cmd::Command::cargo_bin("ggp").unwrap();
        c.env_clear()
            .env("HOME", home.path())
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_EC2_METADATA_DISABLED", "true");
        if aws {
            // The deploy builds the executable with the bench's engine and builder images.
            c.envs(env.iter())
                .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
                .env("AWS_SECRET_ACCESS_KEY", "emulator-secret-access-key")
                .env("AWS_REGION", emulator::REGION)
                .env("AWS_ENDPOINT_URL", &emu.url);
        }
        c.arg("--project-dir")
            .arg(project.path())
            .args(args)
            .output()
            .unwrap()
    };
    // Provisioned as Greengrass V2 by ggp itself (the project says v1: one flag moves it), with
    // an executable, whose package is an artifact in S3 the core downloads.
    let out = ggp(
        true,
        &[
            "-g",
            group,
            "-d",
            "deployments/hello-executable.conf",
            "--target",
            "v2",
        ],
    );
    assert!(
        out.status.success(),
        "deploy --target v2 failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // No -a and no --target: one nucleus zip for every architecture, the state says V2. And no
    // AWS at all: the deploy recorded the endpoints.
    let out = ggp(
        false,
        &[
            "bundle",
            "-g",
            group,
            "--core-software",
            zip.to_str().unwrap(),
            "--out",
            out_dir.path().to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "ggp bundle --target v2 failed:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ggp-v2-v2cli.tar.gz"), "{stdout}");
    assert!(stdout.contains("holds secrets, 0600"), "{stdout}");
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(out_dir.path().join("ggp-v2-v2cli.tar.gz")).unwrap();
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o600,
            "the bundle holds the key"
        );
    }
    // The device uses its identity as the nucleus would (issue 14): through the bench's unix
    // sockets (it has no network) it fetches credentials from the credentials provider through the
    // role alias with its certificate, and downloads the executable's artifact with them.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cloud = rt.block_on(provision::cloud(&emu));
    let artifact = rt.block_on(async {
        let bucket = format!("ggp-artifacts-{}-{}", emulator::ACCOUNT, emulator::REGION);
        let list = cloud
            .clients
            .s3
            .list_objects_v2()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        let key = list.contents()[0].key().unwrap().to_string();
        format!("s3://{bucket}/{key}")
    });
    let sockets = tempfile::Builder::new()
        .prefix("gs")
        .tempdir_in("/tmp")
        .unwrap();
    emu.control(
        "/ggp-bench/unix-sockets",
        serde_json::json!({"dir": sockets.path()}),
    );
    let extra = [
        "-v".to_string(),
        format!("{}:/ggp-bench:ro", sockets.path().display()),
        "-e".into(),
        "GGP_BENCH_SOCKETS=/ggp-bench".into(),
        "-e".into(),
        format!("GGP_BENCH_ARTIFACT={artifact}"),
    ];
    let install = "set -e; mkdir /tmp/x; tar -xzf /b/ggp-v2-v2cli.tar.gz -C /tmp/x; \
                   /tmp/x/ggp-v2-v2cli/install.sh --no-start; cat /greengrass/v2/logs/greengrass.log";
    let (ok, text) = on_device_with(Arch::X86_64, out_dir.path(), &extra, install);
    assert!(ok, "install failed:\n{text}");
    for want in [
        "config OK: thing v2cli_Core, region us-east-1",
        "role alias ggp-example-greengrass-core-role-alias",
        "matches key /greengrass/v2/privKey.key",
        "identity: credentials through role alias ggp-example-greengrass-core-role-alias",
        &format!("identity: downloaded {artifact}"),
        "installation OK",
    ] {
        assert!(text.contains(want), "missing {want:?}:\n{text}");
    }

    // A core policy without iot:AssumeRoleWithCertificate: the device gets no credentials, and
    // the install fails naming the refusal (as the real nucleus could not download anything).
    rt.block_on(async {
        let iot = &cloud.clients.iot;
        let policies = iot.list_policies().send().await.unwrap();
        for p in policies.policies() {
            let name = p.policy_name().unwrap();
            let got = iot.get_policy().policy_name(name).send().await.unwrap();
            let mut doc: serde_json::Value =
                serde_json::from_str(got.policy_document().unwrap()).unwrap();
            let mut changed = false;
            for st in doc["Statement"].as_array_mut().unwrap() {
                let actions = match &st["Action"] {
                    serde_json::Value::String(a) => vec![a.clone()],
                    serde_json::Value::Array(v) => v
                        .iter()
                        .filter_map(|a| a.as_str().map(str::to_string))
                        .collect(),
                    _ => vec![],
                };
                let kept: Vec<String> = actions
                    .iter()
                    .filter(|a| *a != "iot:AssumeRoleWithCertificate")
                    .cloned()
                    .collect();
                if kept.len() != actions.len() {
                    changed = true;
                    st["Action"] = if kept.is_empty() {
                        serde_json::json!("iot:Connect")
                    } else {
                        serde_json::json!(kept)
                    };
                }
            }
            if changed {
                iot.create_policy_version()
                    .policy_name(name)
                    .policy_document(doc.to_string())
                    .set_as_default(true)
                    .send()
                    .await
                    .unwrap();
            }
        }
    });
    let (ok, text) = on_device_with(Arch::X86_64, out_dir.path(), &extra, install);
    assert!(!ok, "installed without credentials:\n{text}");
    for want in [
        "credentials through role alias ggp-example-greengrass-core-role-alias refused: HTTP 403",
        "the core could not use its identity",
    ] {
        assert!(text.contains(want), "missing {want:?}:\n{text}");
    }
}
