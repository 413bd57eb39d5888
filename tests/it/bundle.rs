//! The offline bundle on the bench: a core provisioned in the emulator (thing, keys and certificate,
//! endpoints, through the Rust SDK), its bundle written by `ggp::bundle::write` with the STAND-IN core
//! software, installed in a device stand-in container of each architecture started with `--network none`,
//! and the stand-in `greengrassd` started: it checks config.json, that the certificate matches the key
//! (mode 0600), and logs the thing ARN and endpoint it would use, which must be the emulator's.
//! Also: tampering, upgrades, `--check`, offline .deb packages, reproducibility, the pinned core software
//! table, S3 upload.
//!
//! Needs `scripts/bench up`; without it these tests fail and say so.
use crate::support::bench;
use crate::support::emulator;

use std::path::{Path, PathBuf};
use std::process::Command;

use bollard::models::{ContainerCreateBody, ExecConfig, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use ggp::arch::Arch;
use ggp::bundle::archive::{self, Tree};
use ggp::bundle::Secret;
use ggp::target::v1::bundle::{self, core_software, BundleInputs, Outputs};

// ------------------------------------------------------------------------------------ the cloud side

/// What provisioning hands to the bundle stage, as the emulator issued it.
#[derive(Clone)]
struct Provisioned {
    thing_name: String,
    thing_arn: String,
    certificate_arn: String,
    certificate_pem: String,
    private_key_pem: String,
    iot_data_endpoint: String,
    credentials_endpoint: String,
}

async fn provision(emu: &emulator::Emulator, group: &str, new_thing: bool) -> Provisioned {
    let iot = aws_sdk_iot::Client::new(&emu.sdk_config().await);
    let thing_name = format!("{group}_Core");
    let thing_arn = if new_thing {
        iot.create_thing()
            .thing_name(&thing_name)
            .send()
            .await
            .expect("CreateThing")
            .thing_arn
            .expect("thing ARN")
    } else {
        iot.describe_thing()
            .thing_name(&thing_name)
            .send()
            .await
            .expect("DescribeThing")
            .thing_arn
            .expect("thing ARN")
    };
    let keys = iot
        .create_keys_and_certificate()
        .set_as_active(true)
        .send()
        .await
        .expect("CreateKeysAndCertificate");
    let certificate_arn = keys.certificate_arn.expect("certificate ARN");
    iot.attach_thing_principal()
        .thing_name(&thing_name)
        .principal(&certificate_arn)
        .send()
        .await
        .expect("AttachThingPrincipal");
    let endpoint = |kind: &'static str| {
        let iot = iot.clone();
        async move {
            iot.describe_endpoint()
                .endpoint_type(kind)
                .send()
                .await
                .expect("DescribeEndpoint")
                .endpoint_address
                .expect("endpoint address")
        }
    };
    Provisioned {
        thing_name,
        thing_arn,
        certificate_arn,
        certificate_pem: keys.certificate_pem.expect("certificate PEM"),
        private_key_pem: keys
            .key_pair
            .and_then(|k| k.private_key)
            .expect("private key"),
        iot_data_endpoint: endpoint("iot:Data-ATS").await,
        credentials_endpoint: endpoint("iot:CredentialProvider").await,
    }
}

/// Provisions `group` in a fresh emulator and lets the emulator go (device work needs no cloud).
async fn provisioned(group: &str) -> Provisioned {
    let emu = emulator::fresh_v1();
    provision(&emu, group, true).await
}

// ------------------------------------------------------------------------------------ the bundle side

/// The STAND-IN core software of the bench for `arch`, checked by the bench's own SHA256SUMS.
fn stand_in_core(arch: Arch) -> core_software::CoreSoftware {
    let env = bench::bench_env();
    let dir = PathBuf::from(bench::require(&env, "GGP_CORE_SOFTWARE_DIR"));
    let file = arch.core_software_file(core_software::DEFAULT_VERSION);
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS"))
        .unwrap_or_else(|e| panic!("{}/SHA256SUMS: {e}; {}", dir.display(), bench::HINT));
    let sha = sums
        .lines()
        .find_map(|l| l.strip_suffix(&format!("  {file}")))
        .unwrap_or_else(|| panic!("{file} is not in the bench's SHA256SUMS; {}", bench::HINT));
    core_software::resolve(arch, Some(&dir.join(&file)), Some(sha), &[]).expect("stand-in core")
}

fn inputs(group: &str, arch: Arch, p: &Provisioned) -> BundleInputs {
    BundleInputs {
        group: group.into(),
        arch,
        thing_name: p.thing_name.clone(),
        thing_arn: p.thing_arn.clone(),
        iot_data_endpoint: p.iot_data_endpoint.clone(),
        credentials_endpoint: p.credentials_endpoint.clone(),
        region: emulator::REGION.into(),
        role_alias: format!("{group}_CoreRoleAlias"),
        group_id: None,
        certificate_arn: Some(p.certificate_arn.clone()),
        mqtt_port: 8883,
        use_systemd: true,
        allow_root: false,
        certificate_pem: p.certificate_pem.clone(),
        private_key_pem: Some(Secret::new(p.private_key_pem.clone())),
        hsi: None,
        core_software: stand_in_core(arch),
        runtimes_needed: vec![],
        include_debs: vec![],
        split_secrets: false,
        source_date_epoch: 0,
        outputs: Outputs {
            bundle: true,
            script: true,
            oem: false,
        },
    }
}

/// Writes the bundle; returns (bundle .tar.gz, gg.<group>.sh) paths.
fn write(i: &BundleInputs, dir: &Path) -> (PathBuf, PathBuf) {
    let out = bundle::write(i, dir).expect("bundle::write");
    let of = |k| {
        out.files
            .iter()
            .find(|f| f.kind == k)
            .map(|f| f.path.clone())
            .expect("output")
    };
    (
        of(ggp::bundle::OutputKind::Bundle),
        of(ggp::bundle::OutputKind::Script),
    )
}

fn sha256_file(p: &Path) -> String {
    ggp::bundle::sha256_hex(&std::fs::read(p).unwrap())
}

// ------------------------------------------------------------------------------------ the device side

/// What a command in the device said.
struct Run {
    code: i64,
    out: String,
}

impl Run {
    fn ok(self, what: &str) -> Run {
        eprintln!("--- {what} (exit {})\n{}", self.code, self.out);
        assert_eq!(
            self.code, 0,
            "{what} failed (exit {}):\n{}",
            self.code, self.out
        );
        self
    }
    fn fails(self, what: &str) -> Run {
        eprintln!("--- {what} (exit {})\n{}", self.code, self.out);
        assert_ne!(self.code, 0, "{what} should have failed:\n{}", self.out);
        self
    }
    fn has(self, what: &str, text: &str) -> Run {
        assert!(
            self.out.contains(text),
            "{what}: output lacks {text:?}:\n{}",
            self.out
        );
        self
    }
    fn lacks(self, what: &str, text: &str) -> Run {
        assert!(
            !self.out.contains(text),
            "{what}: output has {text:?}:\n{}",
            self.out
        );
        self
    }
}

/// A device stand-in container (no network) that stays up until dropped.
struct Device {
    docker: Docker,
    id: String,
}

impl Device {
    async fn start(arch: Arch) -> Device {
        let env = bench::bench_env();
        let image = bench::require(&env, &format!("GGP_DEVICE_IMAGE_{}", arch.name()));
        let docker = bench::docker();
        let options = CreateContainerOptionsBuilder::default()
            .platform(arch.docker_platform())
            .build();
        let body = ContainerCreateBody {
            image: Some(image.clone()),
            cmd: Some(vec![
                "sh".into(),
                "-c".into(),
                "trap 'exit 0' TERM; while :; do sleep 1; done".into(),
            ]),
            network_disabled: Some(true),
            host_config: Some(HostConfig {
                network_mode: Some("none".into()),
                ..Default::default()
            }),
            labels: Some([("org.ggp.test".to_string(), "bundle".to_string())].into()),
            ..Default::default()
        };
        let id = docker
            .create_container(Some(options), body)
            .await
            .unwrap_or_else(|e| {
                panic!("cannot create a container of {image}: {e}; {}", bench::HINT)
            })
            .id;
        let device = Device { docker, id };
        device
            .docker
            .start_container(&device.id, None)
            .await
            .unwrap_or_else(|e| panic!("cannot start {image}: {e}"));
        device
    }

    /// Puts files (path relative to `/`, mode, bytes) into the container.
    async fn put(&self, files: &[(&str, u32, Vec<u8>)]) {
        let mut t = Tree::new();
        for (path, mode, data) in files {
            t.file(path, *mode, data.clone());
        }
        let tar = archive::write_tar(&t, 0, Vec::new()).unwrap();
        let options = UploadToContainerOptionsBuilder::default().path("/").build();
        self.docker
            .upload_to_container(&self.id, Some(options), bollard::body_full(tar.into()))
            .await
            .expect("upload to the device");
    }

    async fn put_file(&self, to: &str, from: &Path) {
        let mode = if from.extension().is_some_and(|e| e == "sh") {
            0o755
        } else {
            0o644
        };
        self.put(&[(to, mode, std::fs::read(from).unwrap())]).await;
    }

    /// Runs `sh -c script` as root and returns its exit status and output.
    async fn sh(&self, script: &str) -> Run {
        let exec = self
            .docker
            .create_exec(
                &self.id,
                ExecConfig {
                    cmd: Some(vec!["sh".into(), "-c".into(), script.into()]),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    ..Default::default()
                },
            )
            .await
            .expect("create exec");
        let mut out = String::new();
        if let bollard::exec::StartExecResults::Attached { mut output, .. } = self
            .docker
            .start_exec(&exec.id, None)
            .await
            .expect("start exec")
        {
            while let Some(chunk) = output.next().await {
                out.push_str(&chunk.expect("exec output").to_string());
            }
        }
        let code = self
            .docker
            .inspect_exec(&exec.id)
            .await
            .expect("inspect exec")
            .exit_code
            .expect("exit code");
        Run { code, out }
    }

    /// True when `path` exists in the device.
    async fn exists(&self, path: &str) -> bool {
        self.sh(&format!("test -e {path}")).await.code == 0
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        // also runs when a test panics: a plain thread with its own runtime removes the container
        let id = self.id.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let remove = RemoveContainerOptionsBuilder::default().force(true).build();
                let _ = bench::docker().remove_container(&id, Some(remove)).await;
            });
        })
        .join();
    }
}

/// Starts the stand-in daemon and asserts it accepted config and certificates for this core (in the log
/// lines this start wrote).
async fn assert_core_starts(dev: &Device, p: &Provisioned, port: u16) {
    let log = "/greengrass/ggc/var/log/system/runtime.log";
    let before = dev
        .sh(&format!("cat {log} 2>/dev/null | wc -l"))
        .await
        .ok("log lines");
    let before: usize = before.out.trim().parse().expect("a line count");
    dev.sh("/greengrass/ggc/core/greengrassd start")
        .await
        .ok("greengrassd start")
        .has("greengrassd start", "successfully started");
    dev.sh(&format!("tail -n +{} {log}", before + 1))
        .await
        .ok("runtime.log")
        .has(
            "runtime.log",
            &format!(
                "config OK, thing {}, would connect to {}:8883 (greengrass greengrass-ats.iot.{}.amazonaws.com), local MQTT on port {port}",
                p.thing_arn,
                p.iot_data_endpoint,
                emulator::REGION
            ),
        )
        .has(
            "runtime.log",
            "certificate /greengrass/certs/core.crt matches key /greengrass/certs/core.key (mode 0600)",
        );
}

async fn assert_installed_state(dev: &Device, p: &Provisioned) {
    dev.sh("id ggc_user && grep '^ggc_group:' /etc/group && stat -c '%a %U' /greengrass/certs/core.key /greengrass/config/config.json")
        .await
        .ok("accounts and modes")
        .has("accounts and modes", "600 root\n600 root");
    let crt = dev
        .sh("cat /greengrass/certs/core.crt")
        .await
        .ok("core.crt");
    assert_eq!(
        crt.out, p.certificate_pem,
        "the installed certificate is the emulator's"
    );
}

// ------------------------------------------------------------------------------------ installs

/// Provisions `group`, writes its outputs for `arch`, puts the bundle (or with `script`, gg.<group>.sh) in
/// /root of a fresh device as `file`, runs `command` there, and checks what it says, the accounts, the modes,
/// and that the stand-in core starts with this core's certificate, thing and endpoint.
async fn installs_and_starts(
    arch: Arch,
    group: &str,
    port: u16,
    (script, file): (bool, &str),
    command: &str,
    says: &[&str],
) -> Device {
    let p = provisioned(group).await;
    let tmp = tempfile::tempdir().unwrap();
    let mut i = inputs(group, arch, &p);
    i.mqtt_port = port;
    let (tgz, sh) = write(&i, tmp.path());
    let dev = Device::start(arch).await;
    dev.sh("uname -m").await.has("uname", arch.uname_machine());
    dev.put_file(&format!("root/{file}"), if script { &sh } else { &tgz })
        .await;
    let mut run = dev.sh(command).await.ok(command);
    for text in says {
        run = run.has(command, text);
    }
    assert_installed_state(&dev, &p).await;
    assert_core_starts(&dev, &p, port).await;
    dev
}

#[tokio::test]
async fn x86_64_script_installs_offline_under_dash_and_the_core_starts() {
    // GGP's way: gg.<group>.sh --now (install, then start without systemd); /bin/sh is dash
    let dev = installs_and_starts(
        Arch::X86_64,
        "bundle-x86",
        8883,
        (true, "gg.bundle-x86.sh"),
        "readlink -f /bin/sh && cd /root && sh ./gg.bundle-x86.sh --now",
        &[
            "/usr/bin/dash",
            "created the system user ggc_user",
            "successfully started",
        ],
    )
    .await;
    dev.sh("ls -d /tmp/ggp-payload.* 2>/dev/null | wc -l")
        .await
        .has("temporary payload removed", "0");
}

#[tokio::test]
async fn arm64_bundle_installs_offline_under_bash_and_the_core_starts() {
    installs_and_starts(
        Arch::Armv8,
        "bundle-arm64",
        8883,
        (false, "b.tar.gz"),
        "cd /root && tar -xzf b.tar.gz && bash ggp-bundle-arm64/install.sh",
        &[
            "payload OK",
            "systemd is not running here",
            "/greengrass/ggp/start.sh",
        ],
    )
    .await;
}

#[tokio::test]
async fn arm32_bundle_installs_with_busybox_only_and_the_core_starts() {
    // nothing but busybox on PATH: busybox tar, sha256sum, addgroup -S, adduser -S
    installs_and_starts(
        Arch::Armv7lRaspbian,
        "bundle-arm32",
        8884,
        (false, "b.tar.gz"),
        "bb=$(command -v busybox) && cd /root && export PATH=/opt/busybox/bin && $bb tar -xzf b.tar.gz && $bb sh ggp-bundle-arm32/install.sh",
        &["created the system group ggc_group", "created the system user ggc_user"],
    )
    .await;
}

// ------------------------------------------------------------------------------------ refusals

#[tokio::test]
async fn a_payload_byte_changed_is_refused_before_anything_changes() {
    let group = "bundle-tamper";
    let p = provisioned(group).await;
    let tmp = tempfile::tempdir().unwrap();
    let (tgz, script) = write(&inputs(group, Arch::X86_64, &p), tmp.path());
    let dev = Device::start(Arch::X86_64).await;
    dev.put_file("root/b.tar.gz", &tgz).await;
    // one byte of the embedded core software archive, then one byte of start.sh
    for (file, what) in [
        ("greengrass-linux-x86-64-1.11.6.tar.gz", "core software"),
        ("start.sh", "start.sh"),
    ] {
        dev.sh(&format!(
            "cd /root && rm -rf ggp-bundle-x86_64 && tar -xzf b.tar.gz && printf 'X' | dd of=ggp-bundle-x86_64/{file} bs=1 seek=20 conv=notrunc 2>/dev/null"
        ))
        .await
        .ok("tamper");
        dev.sh("cd /root && sh ggp-bundle-x86_64/install.sh --now")
            .await
            .fails(what)
            .has(
                what,
                &format!("payload file {file} does not match its sha256"),
            )
            .has(what, "nothing was changed");
        assert!(
            !dev.exists("/greengrass").await,
            "{what}: /greengrass was created"
        );
        assert_eq!(
            dev.sh("id ggc_user").await.code,
            1,
            "{what}: ggc_user was created"
        );
        assert_eq!(
            dev.sh("grep -q '^ggc_group:' /etc/group").await.code,
            1,
            "{what}: ggc_group was created"
        );
    }
    // one byte of the script's payload
    let mut bytes = std::fs::read(&script).unwrap();
    let at = bytes.len() - 3000;
    bytes[at] ^= 0x01;
    dev.put(&[("root/gg.sh", 0o755, bytes)]).await;
    dev.sh("cd /root && sh ./gg.sh --now")
        .await
        .fails("tampered script")
        .has("tampered script", "does not match its sha256")
        .has("tampered script", "nothing was changed");
    assert!(
        !dev.exists("/greengrass").await,
        "script: /greengrass was created"
    );
    // the untampered bundle still installs in the same device
    dev.sh("cd /root && rm -rf ggp-bundle-x86_64 && tar -xzf b.tar.gz && sh ggp-bundle-x86_64/install.sh")
        .await
        .ok("untampered install");
}

#[tokio::test]
async fn a_bundle_for_another_architecture_is_refused() {
    let group = "bundle-wrong-arch";
    let p = provisioned(group).await;
    let tmp = tempfile::tempdir().unwrap();
    let (tgz, _) = write(&inputs(group, Arch::Armv8, &p), tmp.path());
    let dev = Device::start(Arch::X86_64).await;
    dev.put_file("root/b.tar.gz", &tgz).await;
    dev.sh("cd /root && tar -xzf b.tar.gz && sh ggp-bundle-arm64/install.sh")
        .await
        .fails("ARM64 bundle on x86_64")
        .has(
            "wrong arch",
            "this bundle is for ARM64 (aarch64) but this machine is x86_64",
        );
    assert!(!dev.exists("/greengrass").await);
}

// ------------------------------------------------------------------------------------ upgrade, --check, debs

#[tokio::test]
async fn a_second_install_upgrades_in_place_and_keeps_the_certificates() {
    let group = "bundle-upgrade";
    let emu = emulator::fresh_v1();
    let first = provision(&emu, group, true).await;
    // the same thing with new keys (as --force-create-new-keys would make)
    let second = provision(&emu, group, false).await;
    drop(emu);
    assert_ne!(first.certificate_pem, second.certificate_pem);
    let tmp = tempfile::tempdir().unwrap();
    let (a, _) = write(&inputs(group, Arch::X86_64, &first), &tmp.path().join("a"));
    let mut i = inputs(group, Arch::X86_64, &second);
    i.mqtt_port = 8884;
    let (b, _) = write(&i, &tmp.path().join("b"));

    let dev = Device::start(Arch::X86_64).await;
    dev.put_file("root/a.tar.gz", &a).await;
    dev.put_file("root/b.tar.gz", &b).await;
    dev.sh("cd /root && mkdir a b && tar -xzf a.tar.gz -C a && tar -xzf b.tar.gz -C b && sh a/ggp-bundle-x86_64/install.sh")
        .await
        .ok("first install");
    assert_core_starts(&dev, &first, 8883).await;
    dev.sh("echo marker >> /greengrass/ggc/var/log/system/runtime.log && touch /greengrass/ggc/var/state-marker")
        .await
        .ok("marker");

    dev.sh("cd /root && sh b/ggp-bundle-x86_64/install.sh")
        .await
        .ok("second install")
        .has(
            "upgrade",
            "upgrading in place in /greengrass (installed before: 1.11.6)",
        )
        .has("upgrade", "group ggc_group exists")
        .has("upgrade", "user ggc_user exists")
        .has(
            "upgrade",
            "kept the certificate and key in /greengrass/certs; the bundle's certificate differs",
        );
    assert_installed_state(&dev, &first).await;
    dev.sh("grep -c marker /greengrass/ggc/var/log/system/runtime.log && test -f /greengrass/ggc/var/state-marker && grep '\"ggMqttPort\": 8884' /greengrass/config/config.json")
        .await
        .ok("logs, state kept; config upgraded");
    assert_core_starts(&dev, &first, 8884).await;

    dev.sh("cd /root && sh b/ggp-bundle-x86_64/install.sh --replace-certs")
        .await
        .ok("--replace-certs")
        .has(
            "--replace-certs",
            "installed the certificate and private key (0600)",
        );
    assert_installed_state(&dev, &second).await;
    assert_core_starts(&dev, &second, 8884).await;
}

#[tokio::test]
async fn check_reports_a_missing_python_and_changes_nothing() {
    let group = "bundle-check";
    let p = provisioned(group).await;
    let tmp = tempfile::tempdir().unwrap();
    let mut i = inputs(group, Arch::X86_64, &p);
    i.runtimes_needed = vec!["python3.11".into()];
    let (tgz, _) = write(&i, tmp.path());
    let dev = Device::start(Arch::X86_64).await;
    dev.put_file("root/b.tar.gz", &tgz).await;
    dev.sh("cd /root && tar -xzf b.tar.gz").await.ok("extract");
    dev.sh("/root/ggp-bundle-x86_64/install.sh --check")
        .await
        .has("check", "ok       payload: ")
        .has("check", "ok       runtime python3.11 (/usr/bin/python3.11)")
        .has("check", "memory")
        .has("check", "fs.protected_hardlinks")
        .lacks("check", "MISSING  runtime");
    dev.sh("rm -f /usr/bin/python3*").await.ok("remove python");
    dev.sh("/root/ggp-bundle-x86_64/install.sh --check")
        .await
        .fails("check without python")
        .has(
            "check",
            "MISSING  runtime python3.11 (used by the deployed functions) is not on PATH",
        )
        .has("check", "fix: install python3.11");
    assert!(
        !dev.exists("/greengrass").await,
        "--check changed the device"
    );
    assert_eq!(
        dev.sh("id ggc_user").await.code,
        1,
        "--check created ggc_user"
    );
}

/// A STAND-IN .deb (not a real Python) that puts `python3.8` on PATH, built with dpkg-deb on the host.
fn stand_in_deb(dir: &Path, debian_arch: &str) -> PathBuf {
    let root = dir.join("pkg");
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(root.join("usr/local/bin")).unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        format!("Package: ggp-test-python3.8\nVersion: 1.0\nArchitecture: {debian_arch}\nMaintainer: ggp tests <ggp@example.invalid>\nDescription: STAND-IN python3.8 for the ggp bundle tests (runs python3)\n"),
    )
    .unwrap();
    let bin = root.join("usr/local/bin/python3.8");
    std::fs::write(
        &bin,
        "#!/bin/sh\n# STAND-IN made by ggp's tests\nexec python3 \"$@\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let deb = dir.join("ggp-test-python3.8_1.0_amd64.deb");
    let status = Command::new("dpkg-deb")
        .args(["--root-owner-group", "--build"])
        .arg(&root)
        .arg(&deb)
        .output()
        .expect("dpkg-deb (Debian's dpkg) is needed to build the test package");
    assert!(
        status.status.success(),
        "dpkg-deb: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    deb
}

#[tokio::test]
async fn bundled_debs_install_offline_and_satisfy_the_check() {
    let group = "bundle-debs";
    let p = provisioned(group).await;
    let tmp = tempfile::tempdir().unwrap();
    let mut i = inputs(group, Arch::X86_64, &p);
    i.runtimes_needed = vec!["python3.8".into()];
    i.include_debs = vec![stand_in_deb(tmp.path(), "amd64")];
    let (tgz, _) = write(&i, &tmp.path().join("build"));
    let dev = Device::start(Arch::X86_64).await;
    dev.put_file("root/b.tar.gz", &tgz).await;
    dev.sh("cd /root && tar -xzf b.tar.gz && sh ggp-bundle-x86_64/install.sh --check")
        .await
        .fails("check before")
        .has("check before", "MISSING  runtime python3.8")
        .has("check before", "the bundle carries 1 .deb package(s)");
    dev.sh("sh /root/ggp-bundle-x86_64/install.sh")
        .await
        .ok("install")
        .has(
            "install",
            "installing the bundled packages (dpkg -i, offline): ggp-test-python3.8_1.0_amd64.deb",
        );
    dev.sh("sh /root/ggp-bundle-x86_64/install.sh --check")
        .await
        .has(
            "check after",
            "ok       runtime python3.8 (/usr/local/bin/python3.8)",
        )
        .lacks("check after", "MISSING  runtime");
    dev.sh("sh /root/ggp-bundle-x86_64/install.sh")
        .await
        .ok("second install")
        .has(
            "second install",
            "package ggp-test-python3.8 1.0 is installed",
        );
}

// ------------------------------------------------------------------------------------ reproducibility

#[tokio::test]
async fn same_inputs_give_identical_bytes_and_split_main_archives_match_across_groups() {
    let emu = emulator::fresh_v1();
    let a = provision(&emu, "repro-a", true).await;
    let b = provision(&emu, "repro-b", true).await;
    drop(emu);
    let tmp = tempfile::tempdir().unwrap();
    let i = inputs("repro-a", Arch::X86_64, &a);
    let (t1, s1) = write(&i, &tmp.path().join("1"));
    let (t2, s2) = write(&i, &tmp.path().join("2"));
    assert_eq!(
        sha256_file(&t1),
        sha256_file(&t2),
        "two runs, same inputs: the bundles differ"
    );
    assert_eq!(
        sha256_file(&s1),
        sha256_file(&s2),
        "two runs, same inputs: the scripts differ"
    );

    let mut ia = inputs("repro-a", Arch::X86_64, &a);
    ia.split_secrets = true;
    let mut ib = inputs("repro-b", Arch::X86_64, &b);
    ib.split_secrets = true;
    let oa = bundle::write(&ia, &tmp.path().join("a")).unwrap();
    let ob = bundle::write(&ib, &tmp.path().join("b")).unwrap();
    assert_eq!(oa.files[0].kind, ggp::bundle::OutputKind::Bundle);
    assert_eq!(
        oa.files[0].sha256, ob.files[0].sha256,
        "split: the main archives of two groups differ"
    );
    assert_ne!(
        oa.files[1].sha256, ob.files[1].sha256,
        "split: the secrets archives are the same"
    );

    // GNU tar reads them, the key is 0600 in every archive, and the gzip stream is valid
    for (archive, key_in) in [
        (&t1, true),
        (&oa.files[0].path, false),
        (&oa.files[1].path, true),
    ] {
        let t = Command::new("tar")
            .arg("-tvzf")
            .arg(archive)
            .output()
            .unwrap();
        assert!(
            t.status.success(),
            "tar -tzf {}: {}",
            archive.display(),
            String::from_utf8_lossy(&t.stderr)
        );
        let listing = String::from_utf8_lossy(&t.stdout);
        let key = listing.lines().find(|l| l.ends_with("/certs/core.key"));
        assert_eq!(key.is_some(), key_in, "{}:\n{listing}", archive.display());
        if let Some(line) = key {
            assert!(line.starts_with("-rw------- 0/0"), "{line}");
        }
        assert!(
            listing
                .lines()
                .all(|l| l.contains(" 0/0 ") && l.contains("1970-01-01")),
            "{listing}"
        );
    }
}

#[tokio::test]
async fn split_secrets_install_needs_both_archives() {
    let group = "bundle-split";
    let p = provisioned(group).await;
    let tmp = tempfile::tempdir().unwrap();
    let mut i = inputs(group, Arch::X86_64, &p);
    i.split_secrets = true;
    i.outputs.script = false;
    let out = bundle::write(&i, tmp.path()).unwrap();
    let dev = Device::start(Arch::X86_64).await;
    dev.put_file("root/main.tar.gz", &out.files[0].path).await;
    dev.put_file("root/secrets.tar.gz", &out.files[1].path)
        .await;
    dev.sh("cd /root && tar -xzf main.tar.gz && sh ggp-bundle-x86_64/install.sh")
        .await
        .fails("main alone")
        .has("main alone", "config/config.json is not in the bundle's checked files (with --split-secrets, extract the device's secrets archive");
    assert!(!dev.exists("/greengrass").await);
    dev.sh("cd /root && tar -xzf secrets.tar.gz && sh ggp-bundle-x86_64/install.sh")
        .await
        .ok("main and secrets")
        .has("main and secrets", "match SHA256SUMS.device");
    assert_installed_state(&dev, &p).await;
    assert_core_starts(&dev, &p, 8883).await;
}

// ------------------------------------------------------------------------------------ core software, S3

#[test]
fn the_pinned_table_refuses_the_stand_in_for_a_real_file_name() {
    // greengrass-linux-aarch64-1.11.6.tar.gz has a (third-party) published hash; the bench's stand-in of
    // the same name is not that file, so ggp must refuse it unless the user vouches with a hash
    let env = bench::bench_env();
    let dir = PathBuf::from(bench::require(&env, "GGP_CORE_SOFTWARE_DIR"));
    let core = core_software::resolve(Arch::Armv8, None, None, &[dir]).unwrap();
    assert!(matches!(
        core.verification,
        core_software::Verification::PinnedTable { .. }
    ));
    let p = Provisioned {
        thing_name: "t".into(),
        thing_arn: "arn:aws:iot:us-east-1:123456789012:thing/t".into(),
        certificate_arn: "arn:aws:iot:us-east-1:123456789012:cert/c".into(),
        certificate_pem: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n".into(),
        private_key_pem: include_str!("../fixtures/placeholder-key.pem").into(),
        iot_data_endpoint: "x-ats.iot.us-east-1.amazonaws.com".into(),
        credentials_endpoint: "y.credentials.iot.us-east-1.amazonaws.com".into(),
    };
    let mut i = inputs("pinned", Arch::Armv8, &p);
    i.core_software = core;
    let tmp = tempfile::tempdir().unwrap();
    let e = bundle::write(&i, tmp.path()).unwrap_err();
    assert_eq!(
        e.exit_code(),
        ggp::bundle::code::BUNDLE_CORE_SOFTWARE_UNVERIFIED,
        "{e}"
    );
    assert!(e.to_string().contains("third-party"), "{e}");
    assert!(
        std::fs::read_dir(tmp.path()).unwrap().next().is_none(),
        "something was written"
    );
    // the x86-64 stand-in has no published hash at all
    let e = core_software::resolve(
        Arch::X86_64,
        None,
        None,
        &[PathBuf::from(bench::require(&env, "GGP_CORE_SOFTWARE_DIR"))],
    )
    .unwrap_err();
    assert_eq!(
        e.exit_code(),
        ggp::bundle::code::BUNDLE_CORE_SOFTWARE_UNVERIFIED
    );
}

#[tokio::test]
async fn outputs_are_uploaded_to_s3_without_the_secrets_archive() {
    let emu = emulator::fresh_v1();
    let p = provision(&emu, "bundle-s3", true).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&emu.sdk_config().await)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket("ggp-out")
        .send()
        .await
        .expect("CreateBucket");
    let tmp = tempfile::tempdir().unwrap();
    let mut i = inputs("bundle-s3", Arch::X86_64, &p);
    i.split_secrets = true;
    let out = bundle::write(&i, tmp.path()).unwrap();
    let uris = ggp::bundle::s3::upload(&s3, "ggp-out", "/releases/", &out.files)
        .await
        .unwrap();
    assert_eq!(
        uris,
        [
            "s3://ggp-out/releases/bundle-s3-X86_64.tar.gz",
            "s3://ggp-out/releases/gg.bundle-s3.sh"
        ]
    );
    for f in out
        .files
        .iter()
        .filter(|f| f.kind != ggp::bundle::OutputKind::Secrets)
    {
        let key = format!("releases/{}", f.path.file_name().unwrap().to_string_lossy());
        let got = s3
            .get_object()
            .bucket("ggp-out")
            .key(&key)
            .send()
            .await
            .expect("GetObject");
        let body = got.body.collect().await.unwrap().into_bytes();
        assert_eq!(ggp::bundle::sha256_hex(&body), f.sha256, "{key}");
    }
    let listed = s3.list_objects_v2().bucket("ggp-out").send().await.unwrap();
    assert_eq!(
        listed.contents().len(),
        2,
        "the secrets archive was uploaded"
    );
}

// ------------------------------------------------------------------------------------ `ggp bundle`

/// `ggp <args>` in a cleared environment with static keys and the emulator.
fn ggp(
    home: &Path,
    emu_url: &str,
    args: &[&str],
    extra_env: &[(&str, &str)],
) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ggp"))
        .args(args)
        .env_clear()
        .current_dir(home)
        .env("HOME", home)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "AKIABUNDLETEST0001")
        .env("AWS_SECRET_ACCESS_KEY", "bundle-secret-Zz07")
        .env("AWS_REGION", emulator::REGION)
        .env("AWS_ENDPOINT_URL", emu_url)
        .envs(extra_env.iter().copied())
        .output()
        .expect("run ggp");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

#[tokio::test]
async fn ggp_bundle_writes_the_outputs_of_a_provisioned_group_reproducibly() {
    use ggp::provision::state::{CertOrigin, CertState, State, StateStore};
    let emu = emulator::fresh_v1();
    let group = "cli-group";
    let p = provision(&emu, group, true).await;
    let home = tempfile::tempdir().unwrap();
    let project = home.path().join("project");
    // what provisioning stores for the group, through its own type
    let store = StateStore::new(StateStore::default_dir(&project, group));
    store
        .save(&State {
            group_name: group.into(),
            group_id: Some("group-id-1".into()),
            thing_arn: Some(p.thing_arn.clone()),
            certificate: Some(CertState {
                id: "cert-id".into(),
                arn: p.certificate_arn.clone(),
                origin: CertOrigin::Created,
                csr_sha256: None,
            }),
            role_alias: Some(format!("{group}_CoreRoleAlias")),
            ..State::default()
        })
        .unwrap();
    store.save_cert(&p.certificate_pem).unwrap();
    store.save_key(&p.private_key_pem).unwrap();

    let core = stand_in_core(Arch::X86_64);
    let core_path = core.path.display().to_string();
    let project_arg = project.display().to_string();
    let args = [
        "--project-dir",
        &project_arg,
        "bundle",
        "-g",
        group,
        "-a",
        "X86_64",
        "--core-software",
        &core_path,
        "--core-software-sha256",
        &core.sha256,
        "--script",
        "--oem",
        "--mqtt-port",
        "8885",
    ];
    let build = project.join("build");
    let names = [
        format!("{group}-X86_64.tar.gz"),
        format!("gg.{group}.sh"),
        format!("oem.{group}.tar"),
    ];
    let mut runs = Vec::new();
    for _ in 0..2 {
        let (code, stdout, stderr) = ggp(home.path(), &emu.url, &args, &[]);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        assert!(!stdout.contains("PRIVATE KEY") && !stderr.contains("PRIVATE KEY"));
        let shas: Vec<String> = names.iter().map(|n| sha256_file(&build.join(n))).collect();
        for (n, sha) in names.iter().zip(&shas) {
            assert!(stdout.contains(&format!("sha256 {sha}")), "{n}: {stdout}");
        }
        runs.push(shas);
    }
    assert_eq!(
        runs[0], runs[1],
        "two `ggp bundle` runs from the same inputs differ"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = |n: &str| {
        std::fs::metadata(build.join(n))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(
        (mode(&names[0]), mode(&names[1]), mode(&names[2])),
        (0o600, 0o700, 0o600)
    );

    // the bundle holds what the emulator issued, with the port given
    let list = Command::new("tar")
        .arg("-xzOf")
        .arg(build.join(&names[0]))
        .arg("ggp-bundle-x86_64/config/config.json")
        .output()
        .unwrap();
    let config: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(config["coreThing"]["thingArn"], p.thing_arn);
    assert_eq!(config["coreThing"]["iotHost"], p.iot_data_endpoint);
    assert_eq!(config["coreThing"]["ggMqttPort"], 8885);
    let oem = Command::new("tar")
        .arg("-xOf")
        .arg(build.join(&names[2]))
        .arg("config/credential-provider-url.txt")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&oem.stdout), p.credentials_endpoint);

    // SOURCE_DATE_EPOCH moves every mtime, so the bytes change
    let (code, _, stderr) = ggp(
        home.path(),
        &emu.url,
        &args,
        &[("SOURCE_DATE_EPOCH", "1700000000")],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_ne!(sha256_file(&build.join(&names[0])), runs[0][0]);

    // exit statuses: nothing provisioned for the group (44); a core archive nobody vouches for (42)
    let mut other = args.to_vec();
    other[4] = "never-provisioned";
    let (code, _, stderr) = ggp(home.path(), &emu.url, &other, &[]);
    assert_eq!(code, ggp::error::exit::BUNDLE_STATE, "{stderr}");
    assert!(
        stderr.contains("no provisioning state for group never-provisioned"),
        "{stderr}"
    );
    let unvouched: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| *a != "--core-software-sha256" && *a != core.sha256)
        .collect();
    let (code, _, stderr) = ggp(home.path(), &emu.url, &unvouched, &[]);
    assert_eq!(
        code,
        ggp::error::exit::BUNDLE_CORE_SOFTWARE_UNVERIFIED,
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: give its sha256 with --core-software-sha256"),
        "{stderr}"
    );
}

/// A STAND-IN systemctl (the device containers run no systemd): it logs its arguments and runs the unit's
/// ExecStart/ExecStop for start/restart/stop, so the installer's systemd branch can be followed. This checks
/// what install.sh and the scripts do with a unit, not systemd itself.
const SYSTEMCTL_STAND_IN: &str = r#"#!/bin/sh
# STAND-IN systemctl made by ggp's tests: logs, and runs the unit's commands
echo "$*" >> /tmp/systemctl.log
unit=/etc/systemd/system/greengrass.service
case "$1" in
  is-active) exit 3 ;;
  start | restart) exec $(sed -n 's/^ExecStart=//p' "$unit") ;;
  stop) exec $(sed -n 's/^ExecStop=//p' "$unit") ;;
esac
exit 0
"#;

#[tokio::test]
async fn custom_root_with_systemd_unit_and_the_stop_monitor_clean_scripts() {
    let group = "bundle-root";
    let p = provisioned(group).await;
    let tmp = tempfile::tempdir().unwrap();
    let (tgz, _) = write(&inputs(group, Arch::X86_64, &p), tmp.path());
    let dev = Device::start(Arch::X86_64).await;
    dev.put_file("root/b.tar.gz", &tgz).await;
    dev.put(&[(
        "usr/local/bin/systemctl",
        0o755,
        SYSTEMCTL_STAND_IN.as_bytes().to_vec(),
    )])
    .await;
    dev.sh("mkdir -p /run/systemd/system && cd /root && tar -xzf b.tar.gz && sh ggp-bundle-x86_64/install.sh --root /opt/gg")
        .await
        .ok("install --root /opt/gg")
        .has("install", "installing Greengrass 1.11.6 in /opt/gg")
        .has("install", "installed and enabled /etc/systemd/system/greengrass.service")
        .has("install", "started greengrass.service")
        .has("install", "successfully started");
    dev.sh("cat /tmp/systemctl.log")
        .await
        .ok("systemctl calls")
        .has(
            "systemctl",
            "daemon-reload\nenable greengrass.service\nrestart greengrass.service\n",
        );
    dev.sh("grep -E '^Exec' /etc/systemd/system/greengrass.service")
        .await
        .ok("unit")
        .has("unit", "ExecStart=/opt/gg/ggc/core/greengrassd start\nExecReload=/opt/gg/ggc/core/greengrassd restart\nExecStop=/opt/gg/ggc/core/greengrassd stop");
    dev.sh("grep -c 'file:///opt/gg/certs/' /opt/gg/config/config.json; grep -c /greengrass /opt/gg/config/config.json; grep '^GG_ROOT=' /opt/gg/ggp/*.sh")
        .await
        .has("rooted files", "5\n0\n")
        .has("rooted files", "/opt/gg/ggp/start.sh:GG_ROOT=/opt/gg");
    assert!(!dev.exists("/greengrass").await, "/greengrass was created");
    dev.sh("cat /opt/gg/ggc/var/log/system/runtime.log")
        .await
        .ok("runtime.log")
        .has("runtime.log", &format!("config OK, thing {}", p.thing_arn))
        .has(
            "runtime.log",
            "certificate /opt/gg/certs/core.crt matches key /opt/gg/certs/core.key (mode 0600)",
        );
    dev.sh("timeout 3 /opt/gg/ggp/monitor.sh; true")
        .await
        .has("monitor.sh", "config OK");
    dev.sh("/opt/gg/ggp/stop.sh && tail -n 1 /tmp/systemctl.log && tail -n 1 /opt/gg/ggc/var/log/system/runtime.log")
        .await
        .ok("stop.sh")
        .has("stop.sh", "stop greengrass.service")
        .has("stop.sh", "stopped (pid file /var/run/greengrassd.pid");
    dev.sh("/opt/gg/ggp/clean.sh")
        .await
        .fails("clean.sh without --yes")
        .has("clean.sh", "run it again as: /opt/gg/ggp/clean.sh --yes");
    assert!(dev.exists("/opt/gg/certs/core.key").await);
    dev.sh("/opt/gg/ggp/clean.sh --yes")
        .await
        .ok("clean.sh --yes")
        .has("clean.sh", "removed /opt/gg");
    assert!(!dev.exists("/opt/gg").await, "clean.sh left /opt/gg");
    assert!(!dev.exists("/etc/systemd/system/greengrass.service").await);
    dev.sh("grep -x 'disable greengrass.service' /tmp/systemctl.log")
        .await
        .ok("clean.sh disabled the unit");
}
