//! The Docker half of the test bench, checked through bollard as ggp uses it: containers of every architecture
//! run (natively or under qemu-user-static), images carry the right platform, and the STAND-IN Greengrass V1
//! core (`greengrassd`) and V2 nucleus installer accept a matching certificate/key pair and refuse others.
//!
//! Needs `scripts/bench up`; without it every test here fails and says so.
use crate::support::bench;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    UploadToContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;

/// One ggp architecture as the bench knows it.
struct Arch {
    name: &'static str,
    platform: &'static str,
    /// image config architecture / variant
    architecture: &'static str,
    variant: Option<&'static str>,
    uname: &'static str,
    /// the platform token in the V1 core software file name
    core_software: &'static str,
}

const X86_64: Arch = Arch {
    name: "X86_64",
    platform: "linux/amd64",
    architecture: "amd64",
    variant: None,
    uname: "x86_64",
    core_software: "x86-64",
};
const ARM32: Arch = Arch {
    name: "ARM32",
    platform: "linux/arm/v7",
    architecture: "arm",
    variant: Some("v7"),
    uname: "armv7l",
    core_software: "armv7l",
};
const ARM64: Arch = Arch {
    name: "ARM64",
    platform: "linux/arm64",
    architecture: "arm64",
    variant: Some("v8"),
    uname: "aarch64",
    core_software: "aarch64",
};

/// What a finished container said.
struct Run {
    exit_code: i64,
    output: String,
}

impl Run {
    /// Asserts success or failure (`ok`) and that the output contains `expected`.
    fn expect(&self, what: &str, ok: bool, expected: &str) {
        let Run { exit_code, output } = self;
        assert_eq!(*exit_code == 0, ok, "{what}: exit {exit_code}\n{output}");
        assert!(
            output.contains(expected),
            "{what}: output lacks {expected:?}:\n{output}"
        );
    }
}

/// Creates a container of `image` for `platform` with no network, uploads the given tar archives (plain or
/// gzipped) to `/`, starts it, waits for it, reads its output and removes it.
async fn run(
    docker: &Docker,
    image: &str,
    platform: &str,
    cmd: &[&str],
    uploads: Vec<Vec<u8>>,
) -> Run {
    let options = CreateContainerOptionsBuilder::default()
        .platform(platform)
        .build();
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
        network_disabled: Some(true),
        host_config: Some(HostConfig {
            network_mode: Some("none".to_string()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let id = docker
        .create_container(Some(options), body)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot create a {platform} container of {image}: {e}; {}",
                bench::HINT
            )
        })
        .id;
    let result = run_created(docker, &id, uploads).await;
    let remove = RemoveContainerOptionsBuilder::default().force(true).build();
    docker
        .remove_container(&id, Some(remove))
        .await
        .unwrap_or_else(|e| panic!("cannot remove container {id}: {e}"));
    result.unwrap_or_else(|e| panic!("container {id} of {image} ({platform}): {e}"))
}

async fn run_created(docker: &Docker, id: &str, uploads: Vec<Vec<u8>>) -> Result<Run, String> {
    for archive in uploads {
        let options = UploadToContainerOptionsBuilder::default().path("/").build();
        docker
            .upload_to_container(id, Some(options), bollard::body_full(archive.into()))
            .await
            .map_err(|e| format!("upload failed: {e}"))?;
    }
    docker
        .start_container(id, None)
        .await
        .map_err(|e| format!("start failed: {e}"))?;
    let mut exit_code = None;
    let mut waits = docker.wait_container(id, None);
    while let Some(item) = waits.next().await {
        exit_code = Some(match item {
            Ok(response) => response.status_code,
            // bollard reports a non-zero exit as an error that carries the code
            Err(bollard::errors::Error::DockerContainerWaitError { code, .. }) => code,
            Err(e) => return Err(format!("wait failed: {e}")),
        });
    }
    let exit_code = exit_code.ok_or("wait returned nothing")?;
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .tail("all")
        .build();
    let mut output = String::new();
    let mut logs = docker.logs(id, Some(options));
    while let Some(chunk) = logs.next().await {
        output.push_str(&chunk.map_err(|e| format!("logs failed: {e}"))?.to_string());
    }
    Ok(Run { exit_code, output })
}

fn image(env: &BTreeMap<String, String>, kind: &str, arch: &Arch) -> String {
    bench::require(env, &format!("GGP_{kind}_IMAGE_{}", arch.name))
}

// ------------------------------------------------------------------------------------ architectures

async fn reports_uname(arch: Arch) {
    let env = bench::bench_env();
    let image = image(&env, "BUILDER", &arch);
    let docker = bench::docker();
    let run = run(&docker, &image, arch.platform, &["uname", "-m"], vec![]).await;
    assert_eq!(
        run.exit_code, 0,
        "uname -m in {image} ({}) failed: {}",
        arch.platform, run.output
    );
    assert_eq!(
        run.output.trim(),
        arch.uname,
        "{image} run as {} reports the wrong machine",
        arch.platform
    );
}

#[tokio::test]
async fn x86_64_container_reports_x86_64() {
    reports_uname(X86_64).await;
}

#[tokio::test]
async fn arm32_container_reports_armv7l() {
    reports_uname(ARM32).await;
}

#[tokio::test]
async fn arm64_container_reports_aarch64() {
    reports_uname(ARM64).await;
}

#[tokio::test]
async fn images_declare_their_platform() {
    let env = bench::bench_env();
    let docker = bench::docker();
    for arch in [X86_64, ARM32, ARM64] {
        for kind in ["BUILDER", "DEVICE"] {
            let image = image(&env, kind, &arch);
            let inspect = docker
                .inspect_image(&image)
                .await
                .unwrap_or_else(|e| panic!("{image} is not in the engine: {e}; {}", bench::HINT));
            assert_eq!(inspect.os.as_deref(), Some("linux"), "{image} os");
            assert_eq!(
                inspect.architecture.as_deref(),
                Some(arch.architecture),
                "{image} architecture"
            );
            // arm needs its variant; arm64 images may leave the implied v8 out
            let variant = inspect.variant.as_deref().filter(|v| !v.is_empty());
            if arch.architecture == "arm" || variant.is_some() {
                assert_eq!(variant, arch.variant, "{image} variant");
            }
            if kind == "DEVICE" {
                let labels = inspect.config.and_then(|c| c.labels).unwrap_or_default();
                assert_eq!(
                    labels.get("org.ggp.stand-in").map(String::as_str),
                    Some("true"),
                    "{image} label"
                );
            }
        }
    }
}

// ------------------------------------------------------------------------------------ stand-in core software

/// A private key and self-signed certificate made by openssl on the host.
struct KeyPair {
    key: Vec<u8>,
    cert: Vec<u8>,
}

fn key_pair(dir: &Path, name: &str) -> KeyPair {
    let key = dir.join(format!("{name}.key"));
    let cert = dir.join(format!("{name}.crt"));
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
        ])
        .arg(format!("/CN=ggp-bench-{name}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl must be installed on the host to make test certificates");
    assert!(
        status.status.success(),
        "openssl req failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    KeyPair {
        key: std::fs::read(key).unwrap(),
        cert: std::fs::read(cert).unwrap(),
    }
}

/// A tar of files (path, mode, content), with their parent directories, to upload to `/`.
fn tar_of(files: &[(&str, u32, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut dirs = std::collections::BTreeSet::new();
    for (path, _, _) in files {
        let mut parent = Path::new(path).parent();
        while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
            dirs.insert(p.to_path_buf());
            parent = p.parent();
        }
    }
    for dir in dirs {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(0o755);
        header.set_size(0);
        builder
            .append_data(&mut header, &dir, std::io::empty())
            .unwrap();
    }
    for (path, mode, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_mode(*mode);
        header.set_size(content.len() as u64);
        builder.append_data(&mut header, path, *content).unwrap();
    }
    builder.into_inner().unwrap()
}

fn core_software(env: &BTreeMap<String, String>, file: &str) -> Vec<u8> {
    let path = PathBuf::from(bench::require(env, "GGP_CORE_SOFTWARE_DIR")).join(file);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; {}", path.display(), bench::HINT))
}

const THING_ARN: &str = "arn:aws:iot:us-east-1:123456789012:thing/ggp-bench-core";

/// A V1 config.json in the form ggp's Java predecessor wrote (relative file:// paths under /greengrass).
fn v1_config(cert: &str) -> String {
    serde_json::json!({
        "coreThing": {
            "thingArn": THING_ARN,
            "iotHost": "abcdefghijklm-ats.iot.us-east-1.amazonaws.com",
            "ggHost": "greengrass-ats.iot.us-east-1.amazonaws.com",
            "ggMqttPort": 8883
        },
        "runtime": { "cgroup": { "useSystemd": "no" } },
        "managedRespawn": false,
        "crypto": {
            "caPath": "file://certs/root.ca.pem",
            "principals": {
                "IoTCertificate": { "certificatePath": format!("file://certs/{cert}"), "privateKeyPath": "file:///greengrass/certs/core.key" },
                "SecretsManager": { "privateKeyPath": "file:///greengrass/certs/core.key" }
            }
        }
    })
    .to_string()
}

/// Runs `greengrassd start` with busybox's applets first on PATH (a busybox-only device), then prints the log.
const START_V1: &str =
    "export PATH=/opt/busybox/bin:$PATH; sh /greengrass/ggc/core/greengrassd start; rc=$?; \
     echo \"greengrassd exit $rc\"; cat /greengrass/ggc/var/log/system/runtime.log; exit $rc";

async fn greengrassd_checks_the_key(arch: Arch) {
    let env = bench::bench_env();
    let image = image(&env, "DEVICE", &arch);
    let tarball = core_software(
        &env,
        &format!("greengrass-linux-{}-1.11.6.tar.gz", arch.core_software),
    );
    let dir = tempfile::tempdir().unwrap();
    let core = key_pair(dir.path(), "core");
    let other = key_pair(dir.path(), "other");
    let ca = key_pair(dir.path(), "ca");
    let docker = bench::docker();
    let accepted = format!("STAND-IN greengrassd: config OK, thing {THING_ARN}");
    let cases = [
        // (certificate named in config.json, key mode, expected exit 0?, expected log text)
        (
            "other.crt",
            0o600,
            false,
            "does not match private key /greengrass/certs/core.key",
        ),
        ("core.crt", 0o644, false, "has mode 644; it must be 0600"),
        ("core.crt", 0o600, true, accepted.as_str()),
    ];
    for (cert, key_mode, ok, expected) in cases {
        let config = v1_config(cert);
        let files = tar_of(&[
            ("greengrass/config/config.json", 0o644, config.as_bytes()),
            ("greengrass/certs/core.key", key_mode, &core.key),
            ("greengrass/certs/core.crt", 0o644, &core.cert),
            ("greengrass/certs/other.crt", 0o644, &other.cert),
            ("greengrass/certs/root.ca.pem", 0o644, &ca.cert),
        ]);
        let run = run(
            &docker,
            &image,
            arch.platform,
            &["/opt/busybox/bin/sh", "-c", START_V1],
            vec![tarball.clone(), files],
        )
        .await;
        let what = format!(
            "greengrassd start on {} with {cert} and a key of mode {key_mode:o}",
            arch.name
        );
        run.expect(&what, ok, expected);
    }
}

#[tokio::test]
async fn v1_greengrassd_checks_the_key_on_x86_64() {
    greengrassd_checks_the_key(X86_64).await;
}

#[tokio::test]
async fn v1_greengrassd_checks_the_key_on_arm32() {
    greengrassd_checks_the_key(ARM32).await;
}

#[tokio::test]
async fn v1_greengrassd_checks_the_key_on_arm64() {
    greengrassd_checks_the_key(ARM64).await;
}

/// The V2 stand-in installer runs from the unzipped nucleus like the real one, on the x86_64 device.
#[tokio::test]
async fn v2_nucleus_installer_checks_the_key() {
    let env = bench::bench_env();
    let image = image(&env, "DEVICE", &X86_64);
    let zip = core_software(&env, "greengrass-nucleus-latest.zip");
    let dir = tempfile::tempdir().unwrap();
    let core = key_pair(dir.path(), "core");
    let other = key_pair(dir.path(), "other");
    let ca = key_pair(dir.path(), "ca");
    let docker = bench::docker();
    for (cert, ok, expected) in [
        (
            "other.pem.crt",
            false,
            "does not match private key /greengrass/v2/private.pem.key",
        ),
        ("device.pem.crt", true, "STAND-IN nucleus: installation OK"),
    ] {
        let config = format!(
            "system:\n  certificateFilePath: \"/greengrass/v2/{cert}\"\n  privateKeyPath: \"/greengrass/v2/private.pem.key\"\n  \
             rootCaPath: \"/greengrass/v2/AmazonRootCA1.pem\"\n  rootpath: \"/greengrass/v2\"\n  thingName: \"ggp-bench-core\"\n\
             services:\n  aws.greengrass.Nucleus:\n    componentType: \"NUCLEUS\"\n    version: \"2.14.1\"\n    configuration:\n      \
             awsRegion: \"us-east-1\"\n      iotRoleAlias: \"GreengrassCoreTokenExchangeRoleAlias\"\n      \
             iotDataEndpoint: \"abcdefghijklm-ats.iot.us-east-1.amazonaws.com\"\n      \
             iotCredEndpoint: \"abcdefghijklm.credentials.iot.us-east-1.amazonaws.com\"\n"
        );
        let files = tar_of(&[
            ("installer/greengrass-nucleus-latest.zip", 0o644, &zip),
            ("installer/config.yaml", 0o644, config.as_bytes()),
            ("greengrass/v2/private.pem.key", 0o600, &core.key),
            ("greengrass/v2/device.pem.crt", 0o644, &core.cert),
            ("greengrass/v2/other.pem.crt", 0o644, &other.cert),
            ("greengrass/v2/AmazonRootCA1.pem", 0o644, &ca.cert),
        ]);
        let script = "cd /installer && unzip -q greengrass-nucleus-latest.zip -d GreengrassInstaller && \
             java -Droot=/greengrass/v2 -Dlog.store=FILE -jar GreengrassInstaller/lib/Greengrass.jar \
             --init-config config.yaml --component-default-user ggc_user:ggc_group --provision false \
             --setup-system-service true --start false; rc=$?; cat /greengrass/v2/logs/greengrass.log; exit $rc";
        let run = run(
            &docker,
            &image,
            X86_64.platform,
            &["sh", "-c", script],
            vec![files],
        )
        .await;
        let what = format!("stand-in nucleus installer with {cert}");
        run.expect(&what, ok, expected);
    }
}

/// The helper itself: a missing key fails with the fix in the message, it does not pass.
#[test]
fn missing_bench_settings_fail_loudly() {
    let empty = BTreeMap::new();
    let panic =
        std::panic::catch_unwind(|| bench::require(&empty, "GGP_NOT_A_BENCH_KEY")).unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("scripts/bench up"),
        "unhelpful message: {message}"
    );
    let parsed = bench::parse_env("# c\nA=1\nB='x y'\nC='it'\\''s'\n\nD=\"q\"\n");
    assert_eq!(parsed["A"], "1");
    assert_eq!(parsed["B"], "x y");
    assert_eq!(parsed["C"], "it's");
    assert_eq!(parsed["D"], "q");
}
