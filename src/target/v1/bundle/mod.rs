//! The Greengrass V1 offline installers for a provisioned core.
//!
//! [`write`] takes plain values ([`BundleInputs`]: the group's certificate, key, thing ARN and
//! endpoints, the core software archive, the settings of config.json) and writes, reproducibly:
//! - `<group>-<arch>.tar.gz` (`ggp bundle`, `--bundle`): one folder `ggp-bundle-<arch>/` with the
//!   core software, `certs/`, `config/config.json`, the systemd unit, start/stop/clean/monitor
//!   scripts, `install.sh`, `bundle.conf`, `manifest.json` and `SHA256SUMS`; with
//!   `split_secrets`, the certificate, key and config.json go to `<group>-<arch>.secrets.tar.gz`
//!   instead, so the main archive is the same for every device of an architecture;
//! - `gg.<group>.sh` (`--script`): GGP's layout, the same bootstrap script, a `PAYLOAD:` line and
//!   an uncompressed tar of the same files;
//! - `oem.<group>.tar` (`--oem`): GGP's OEM layout (`certs/`, `config/`), to extract into
//!   `/greengrass`.
//!
//! Files holding the private key (or an HSM PIN) are written 0600 and are 0600 inside archives.
//! Same inputs, same bytes: see [`archive`]. [`s3::upload`] puts the outputs in S3.
//!
//! [`stored`] gathers the inputs for `ggp bundle` from provisioning's stored state.
//!
//! Not for: changing anything in AWS (provisioning hands the values over), the V2 nucleus.

pub mod config_json;
pub mod core_software;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use bytes::Bytes;
use serde_json::{json, Value};

use crate::arch::Arch;
use crate::bundle::archive::{self, Tree, MODE_EXEC, MODE_FILE, MODE_SECRET};
use crate::bundle::{
    put, read, sha256_hex, BundleError, BundleOutputs, OutputKind, Secret, Written,
    AMAZON_ROOT_CA_1,
};
use crate::language::Language;
pub use core_software::{CoreSoftware, Verification};

/// The device scripts, embedded in ggp.
pub const INSTALL_SH: &str = include_str!("scripts/install.sh");

const START_SH: &str = include_str!("scripts/start.sh");

const STOP_SH: &str = include_str!("scripts/stop.sh");

const CLEAN_SH: &str = include_str!("scripts/clean.sh");

const MONITOR_SH: &str = include_str!("scripts/monitor.sh");

const GREENGRASS_SERVICE: &str = include_str!("scripts/greengrass.service");

/// GGP's marker line between the script and its payload in `gg.<group>.sh`.
pub const PAYLOAD_MARKER: &str = "PAYLOAD:";

/// Version of the manifest's layout.
pub const MANIFEST_FORMAT: u32 = 1;

/// GGP's `--hsi` settings: the core's key lives in an HSM behind PKCS#11.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkcs11 {
    pub p11_provider: String,
    pub slot_label: String,
    pub slot_user_pin: Secret,
    pub openssl_engine: Option<String>,
    /// The OpenSSL engine curl uses (GGP's `config/pkcs11-engine-for-curl.txt`).
    pub pkcs11_engine_for_curl: Option<String>,
}

impl FromStr for Pkcs11 {
    type Err = String;

    /// `P11Provider=/path.so,slotLabel=L,slotUserPin=P[,OpenSSLEngine=/path.so][,pkcs11EngineForCurl=E]`
    fn from_str(s: &str) -> Result<Pkcs11, String> {
        let (mut provider, mut label, mut pin, mut engine, mut curl) =
            (None, None, None, None, None);
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("--hsi: '{part}' is not KEY=VALUE"))?;
            let v = Some(v.trim().to_string());
            match k.trim() {
                "P11Provider" => provider = v,
                "slotLabel" => label = v,
                "slotUserPin" => pin = v,
                "OpenSSLEngine" => engine = v,
                "pkcs11EngineForCurl" => curl = v,
                other => {
                    return Err(format!(
                    "--hsi: unknown key '{other}' (known: P11Provider, slotLabel, slotUserPin, OpenSSLEngine, pkcs11EngineForCurl)"
                ))
                }
            }
        }
        let need = |v: Option<String>, k: &str| v.ok_or_else(|| format!("--hsi needs {k}=..."));
        Ok(Pkcs11 {
            p11_provider: need(provider, "P11Provider")?,
            slot_label: need(label, "slotLabel")?,
            slot_user_pin: Secret::new(need(pin, "slotUserPin")?),
            openssl_engine: engine,
            pkcs11_engine_for_curl: curl,
        })
    }
}

/// Which files [`write`] produces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outputs {
    /// `<group>-<arch>.tar.gz` (and `.secrets.tar.gz` with `split_secrets`).
    pub bundle: bool,
    /// `gg.<group>.sh`.
    pub script: bool,
    /// `oem.<group>.tar`.
    pub oem: bool,
}

/// Everything a bundle is made of. No AWS clients: provisioning (or `ggp bundle`, from the stored
/// state) fills it in.
#[derive(Debug, Clone)]
pub struct BundleInputs {
    pub group: String,
    pub arch: Arch,
    pub thing_name: String,
    pub thing_arn: String,
    /// DescribeEndpoint `iot:Data-ATS`.
    pub iot_data_endpoint: String,
    /// DescribeEndpoint `iot:CredentialProvider`.
    pub credentials_endpoint: String,
    pub region: String,
    pub role_alias: String,
    /// For the OEM archive's `config/group-id.txt`.
    pub group_id: Option<String>,
    /// For the OEM archive's `certs/core.crt.arn`.
    pub certificate_arn: Option<String>,
    /// `ggMqttPort`, 1024–65535 (GGP: `--mqtt-port`, default 8883).
    pub mqtt_port: u16,
    /// `runtime.cgroup.useSystemd` (GGP: `--no-systemd` makes it "no").
    pub use_systemd: bool,
    /// `runtime.allowFunctionsToRunAsRoot`: a function runs as uid or gid 0.
    pub allow_root: bool,
    pub certificate_pem: String,
    /// `None` with `--csr` or `--certificate-arn` (the key stays on the device) and with HSI.
    pub private_key_pem: Option<Secret>,
    pub hsi: Option<Pkcs11>,
    pub core_software: CoreSoftware,
    /// Commands the deployed functions need on the device (`python3.8`, `node`, `java`).
    pub runtimes_needed: Vec<String>,
    /// `.deb` packages carried in the bundle and installed offline by install.sh.
    pub include_debs: Vec<PathBuf>,
    pub split_secrets: bool,
    /// The mtime of every archive entry (`SOURCE_DATE_EPOCH`, default 0).
    pub source_date_epoch: u64,
    pub outputs: Outputs,
}

/// The device commands the given function languages need, sorted, without repeats.
pub fn runtimes_for(languages: impl IntoIterator<Item = Language>) -> Vec<String> {
    let mut v: Vec<String> = languages
        .into_iter()
        .filter_map(Language::device_runtime_command)
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The folder every entry of `<group>-<arch>.tar.gz` is in.
pub fn bundle_dir(arch: Arch) -> String {
    format!("ggp-bundle-{}", arch.name().to_ascii_lowercase())
}

/// `uname -m` values of machines that run a bundle for `arch` (a 32-bit ARM userland also runs on
/// a 64-bit kernel, which reports aarch64 or armv8l).
pub fn machines(arch: Arch) -> Vec<&'static str> {
    match arch {
        Arch::Armv6lRaspbian => vec!["armv6l", "armv7l", "armv8l", "aarch64"],
        Arch::Armv7lRaspbian | Arch::Armv7lOpenwrt => vec!["armv7l", "armv8l", "aarch64"],
        a => vec![a.uname_machine()],
    }
}

fn check_inputs(i: &BundleInputs) -> Result<(), BundleError> {
    let bad = |m: String| Err(BundleError::Input(m));
    if i.group.is_empty() || i.group.starts_with('.') || i.group.contains(['/', '\0']) {
        return bad(format!(
            "group name '{}' cannot name a file (empty, leading '.', or '/')",
            i.group
        ));
    }
    if !(i.thing_arn.starts_with("arn:") && i.thing_arn.contains(":thing/")) {
        return bad(format!("'{}' is not an IoT thing ARN", i.thing_arn));
    }
    for (what, v) in [
        ("the IoT data endpoint", &i.iot_data_endpoint),
        ("the credentials endpoint", &i.credentials_endpoint),
        ("the region", &i.region),
    ] {
        if v.is_empty() || v.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
            return bad(format!("{what} '{v}' is not a host name"));
        }
    }
    if i.mqtt_port < 1024 {
        return bad(format!(
            "--mqtt-port {} is outside 1024-65535 (Greengrass's ggMqttPort range)",
            i.mqtt_port
        ));
    }
    if !i.certificate_pem.contains("-----BEGIN CERTIFICATE-----") {
        return bad("the core certificate is not a PEM certificate".into());
    }
    if let Some(k) = &i.private_key_pem {
        if !k.expose().contains("PRIVATE KEY-----") {
            return bad("the core's private key is not a PEM private key".into());
        }
        if i.hsi.is_some() {
            return bad("--hsi keeps the key in the HSM: a private key file cannot be bundled too (use --certificate-arn)".into());
        }
    }
    for r in &i.runtimes_needed {
        if r.is_empty()
            || !r
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return bad(format!("runtime command '{r}' is not a command name"));
        }
    }
    Ok(())
}

fn deb_name(path: &Path) -> Result<String, BundleError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ok = name.ends_with(".deb")
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+~-".contains(&b));
    if ok {
        Ok(name)
    } else {
        Err(BundleError::Input(format!(
            "--include-deb {}: expected a .deb file name of letters, digits and . _ + ~ -",
            path.display()
        )))
    }
}

/// Single-quoted for sh.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `SHA256SUMS` lines for every file of `tree`; `known` holds hashes already computed (path → hex).
fn sums(tree: &Tree, known: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for e in tree.entries() {
        if let archive::Kind::File(data) = &e.kind {
            let sha = known
                .get(&e.path)
                .cloned()
                .unwrap_or_else(|| sha256_hex(data));
            out.push_str(&format!("{sha}  {}\n", e.path));
        }
    }
    out
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("JSON values serialise");
    s.push('\n');
    s
}

/// The payload, as the device sees it (paths relative to the bundle folder).
struct Payload {
    /// Core software, root CA, scripts, bundle.conf, manifest.json, SHA256SUMS, debs.
    common: Tree,
    /// Certificate, key, config.json (split mode: also device.json and SHA256SUMS.device).
    device: Tree,
    manifest: Value,
}

fn device_json(i: &BundleInputs) -> Value {
    let key = match (&i.hsi, &i.private_key_pem) {
        (Some(_), _) => "pkcs11",
        (None, Some(_)) => "in-bundle",
        (None, None) => "on-device",
    };
    json!({
        "group": i.group,
        "groupId": i.group_id,
        "thingName": i.thing_name,
        "thingArn": i.thing_arn,
        "region": i.region,
        "roleAlias": i.role_alias,
        "endpoints": {
            "iotData": i.iot_data_endpoint,
            "greengrass": config_json::greengrass_host(&i.iot_data_endpoint, &i.region),
            "credentials": i.credentials_endpoint,
        },
        "mqttPort": i.mqtt_port,
        "allowFunctionsToRunAsRoot": i.allow_root,
        "certificateArn": i.certificate_arn,
        "certificateSha256": sha256_hex(i.certificate_pem.as_bytes()),
        "privateKey": key,
    })
}

fn assemble(i: &BundleInputs, core: Bytes, debs: &[(String, Bytes)]) -> Payload {
    let core_file = i.core_software.file_name();
    // checked against this hash in `write` already
    let known = BTreeMap::from([(core_file.clone(), i.core_software.sha256.clone())]);
    let mut common = Tree::new();
    common.file(&core_file, MODE_FILE, core);
    common.file("certs/root.ca.pem", MODE_FILE, AMAZON_ROOT_CA_1);
    common.file("start.sh", MODE_EXEC, START_SH);
    common.file("stop.sh", MODE_EXEC, STOP_SH);
    common.file("clean.sh", MODE_EXEC, CLEAN_SH);
    common.file("monitor.sh", MODE_EXEC, MONITOR_SH);
    common.file("greengrass.service", MODE_FILE, GREENGRASS_SERVICE);
    let mut deb_hashes = serde_json::Map::new();
    for (name, data) in debs {
        deb_hashes.insert(name.clone(), json!(sha256_hex(data)));
        common.file(&format!("debs/{name}"), MODE_FILE, data.clone());
    }
    let conf = [
        "# Settings of this ggp bundle, read by install.sh after SHA256SUMS is checked."
            .to_string(),
        format!("GGP_VERSION={}", sh_quote(crate::VERSION)),
        format!("BUNDLE_ARCH={}", sh_quote(i.arch.name())),
        format!("BUNDLE_MACHINES={}", sh_quote(&machines(i.arch).join(" "))),
        format!("CORE_VERSION={}", sh_quote(&i.core_software.version)),
        format!("CORE_FILE={}", sh_quote(&core_file)),
        format!("RUNTIMES={}", sh_quote(&i.runtimes_needed.join(" "))),
        format!(
            "USE_SYSTEMD={}",
            sh_quote(if i.use_systemd { "yes" } else { "no" })
        ),
    ]
    .join("\n")
        + "\n";
    common.file("bundle.conf", MODE_FILE, conf);

    let mut device = Tree::new();
    device.file("certs/core.crt", MODE_FILE, i.certificate_pem.clone());
    if let Some(k) = &i.private_key_pem {
        device.file("certs/core.key", MODE_SECRET, k.expose().to_string());
    }
    device.file("config/config.json", MODE_SECRET, config_json::render(i));

    let mut manifest = json!({
        "format": MANIFEST_FORMAT,
        "ggp": crate::VERSION,
        "architecture": i.arch.name(),
        "machines": machines(i.arch),
        "core": {
            "version": i.core_software.version,
            "file": core_file,
            "sha256": i.core_software.sha256,
            "verification": i.core_software.verification,
        },
        "runtimesNeeded": i.runtimes_needed,
        "useSystemd": i.use_systemd,
        "sourceDateEpoch": i.source_date_epoch,
        "inputs": {
            "coreSoftware": i.core_software.sha256,
            "rootCa": sha256_hex(AMAZON_ROOT_CA_1.as_bytes()),
            "debs": deb_hashes,
        },
        "secrets": if i.split_secrets { "separate archive" } else { "in this archive" },
    });
    if i.split_secrets {
        device.file("device.json", MODE_FILE, pretty(&device_json(i)));
        let device_sums = sums(&device, &known);
        device.file("SHA256SUMS.device", MODE_FILE, device_sums);
    } else {
        manifest["device"] = device_json(i);
    }
    common.file("manifest.json", MODE_FILE, pretty(&manifest));
    let listed = if i.split_secrets {
        sums(&common, &known)
    } else {
        let mut all = common.clone();
        all.merge(&device);
        sums(&all, &known)
    };
    common.file("SHA256SUMS", MODE_FILE, listed);
    Payload {
        common,
        device,
        manifest,
    }
}

/// `gg.<group>.sh`: the bootstrap script told where its payload starts and what its sha256 is, a
/// `PAYLOAD:` line, then the tar.
fn script(payload_tar: &[u8]) -> Vec<u8> {
    let sha = sha256_hex(payload_tar);
    let head = |offset: usize| {
        let mut s = INSTALL_SH
            .replacen(
                "\nGGP_PAYLOAD_OFFSET=0\n",
                &format!("\nGGP_PAYLOAD_OFFSET={offset}\n"),
                1,
            )
            .replacen(
                "\nGGP_PAYLOAD_SHA256=\n",
                &format!("\nGGP_PAYLOAD_SHA256={sha}\n"),
                1,
            );
        s.push_str(PAYLOAD_MARKER);
        s.push('\n');
        s
    };
    // the offset is the length of the head, which holds the offset's digits: find the fixed point
    let mut offset = head(0).len();
    loop {
        let h = head(offset);
        if h.len() == offset {
            let mut out = h.into_bytes();
            out.extend_from_slice(payload_tar);
            return out;
        }
        offset = h.len();
    }
}

fn oem(i: &BundleInputs) -> Tree {
    let mut t = Tree::new();
    t.file("certs/core.crt", MODE_FILE, i.certificate_pem.clone());
    if let Some(k) = &i.private_key_pem {
        t.file("certs/core.key", MODE_SECRET, k.expose().to_string());
    }
    if let Some(arn) = &i.certificate_arn {
        t.file("certs/core.crt.arn", MODE_FILE, arn.clone());
    }
    t.file("certs/root.ca.pem", MODE_FILE, AMAZON_ROOT_CA_1);
    t.file("config/config.json", MODE_SECRET, config_json::render(i));
    if let Some(id) = &i.group_id {
        t.file("config/group-id.txt", MODE_FILE, id.clone());
    }
    t.file(
        "config/credential-provider-url.txt",
        MODE_FILE,
        i.credentials_endpoint.clone(),
    );
    t.file("config/thing-name.txt", MODE_FILE, i.thing_name.clone());
    if !i.role_alias.is_empty() {
        t.file(
            "config/role-alias-name.txt",
            MODE_FILE,
            i.role_alias.clone(),
        );
    }
    t.file("config/region.txt", MODE_FILE, i.region.clone());
    if let Some(p) = &i.hsi {
        if let Some(e) = &p.pkcs11_engine_for_curl {
            t.file("config/pkcs11-engine-for-curl.txt", MODE_FILE, e.clone());
        }
        t.file(
            "config/pkcs11-path-for-curl.txt",
            MODE_SECRET,
            format!(
                "{};token={};pin-value={}",
                config_json::PKCS11_KEY_URI,
                p.slot_label,
                p.slot_user_pin.expose()
            ),
        );
    }
    t
}

/// Writes the requested outputs into `out_dir` (GGP: `build/`).
pub fn write(i: &BundleInputs, out_dir: &Path) -> Result<BundleOutputs, BundleError> {
    check_inputs(i)?;
    if i.outputs == Outputs::default() {
        return Err(BundleError::Input(
            "nothing to write: ask for the bundle, the script or the OEM archive".into(),
        ));
    }
    let mut debs = Vec::new();
    for p in &i.include_debs {
        let name = deb_name(p)?;
        if debs.iter().any(|(n, _)| *n == name) {
            return Err(BundleError::Input(format!(
                "--include-deb {name} is given twice"
            )));
        }
        debs.push((name, read(p)?));
    }
    let core = read(&i.core_software.path)?;
    let actual = sha256_hex(&core);
    if actual != i.core_software.sha256 {
        return Err(BundleError::CoreSoftwareMismatch {
            file: i.core_software.path.display().to_string(),
            expected: i.core_software.sha256.clone(),
            actual,
            by: match &i.core_software.verification {
                Verification::PinnedTable { source } => format!("ggp's pinned table, {source}"),
                Verification::CommandLine => "--core-software-sha256".into(),
            },
        });
    }
    let payload = assemble(i, core, &debs);
    std::fs::create_dir_all(out_dir).map_err(|e| BundleError::io(out_dir, e))?;
    let mtime = i.source_date_epoch;
    let mut files = Vec::new();
    let mut emit = |kind, name: String, bytes: Vec<u8>, secret: bool, exec: bool| {
        let path = out_dir.join(name);
        let mode = match (secret, exec) {
            (true, true) => 0o700,
            (true, false) => 0o600,
            (false, true) => 0o755,
            (false, false) => 0o644,
        };
        put(&path, &bytes, mode)?;
        files.push(Written {
            kind,
            sha256: sha256_hex(&bytes),
            bytes: bytes.len() as u64,
            path,
            secret,
        });
        Ok::<(), BundleError>(())
    };
    let io = |e: std::io::Error| BundleError::io(out_dir, e);
    let has_secret = i.private_key_pem.is_some() || i.hsi.is_some();
    let stem = format!("{}-{}", i.group, i.arch.name());
    if i.outputs.bundle {
        let dir = bundle_dir(i.arch);
        let mut main = payload.common.clone();
        main.file("install.sh", MODE_EXEC, INSTALL_SH);
        if i.split_secrets {
            let gz =
                archive::write_tar_gz(&main.with_prefix(&dir), mtime, Vec::new()).map_err(io)?;
            emit(
                OutputKind::Bundle,
                format!("{stem}.tar.gz"),
                gz,
                false,
                false,
            )?;
            let secrets = payload.device.with_prefix(&dir);
            let gz = archive::write_tar_gz(&secrets, mtime, Vec::new()).map_err(io)?;
            emit(
                OutputKind::Secrets,
                format!("{stem}.secrets.tar.gz"),
                gz,
                has_secret,
                false,
            )?;
        } else {
            main.merge(&payload.device);
            let gz =
                archive::write_tar_gz(&main.with_prefix(&dir), mtime, Vec::new()).map_err(io)?;
            emit(
                OutputKind::Bundle,
                format!("{stem}.tar.gz"),
                gz,
                has_secret,
                false,
            )?;
        }
    }
    if i.outputs.script {
        let mut all = payload.common.clone();
        all.merge(&payload.device);
        let tar = archive::write_tar(&all, mtime, Vec::new()).map_err(io)?;
        emit(
            OutputKind::Script,
            format!("gg.{}.sh", i.group),
            script(&tar),
            has_secret,
            true,
        )?;
    }
    if i.outputs.oem {
        let tar = archive::write_tar(&oem(i), mtime, Vec::new()).map_err(io)?;
        emit(
            OutputKind::Oem,
            format!("oem.{}.tar", i.group),
            tar,
            has_secret,
            false,
        )?;
    }
    Ok(BundleOutputs {
        files,
        manifest: payload.manifest,
    })
}

/// The V1 outputs of a bundle job ([`crate::target::bundle`]): per architecture, the bundle (and
/// the script and OEM archive when asked), from the core software found for it.
pub fn from_job(job: &crate::target::BundleJob) -> Result<Vec<Written>, BundleError> {
    if job.archs.is_empty() {
        return Err(BundleError::Usage(
            "bundle needs -a ARCH[,ARCH...] (X86_64, ARM32, ARM64)".into(),
        ));
    }
    if job.script && job.archs.len() > 1 {
        return Err(BundleError::Usage(
            "--script writes one gg.<group>.sh (GGP's name): give one -a".into(),
        ));
    }
    let core: Vec<CoreSoftware> = job
        .archs
        .iter()
        .map(|a| {
            core_software::resolve(
                *a,
                job.core_software,
                job.core_software_sha256,
                &job.search_dirs,
            )
        })
        .collect::<Result<_, _>>()?;
    let (runtimes, allow_root) = match job.project {
        Some(project) => {
            let runtimes = runtimes_for(project.functions.iter().map(|f| f.language));
            (runtimes, project.functions.iter().any(|f| f.runs_as_root()))
        }
        None => {
            tracing::warn!(
                "no -d: the installer's --check will not look for the functions' runtimes"
            );
            (Vec::new(), false)
        }
    };
    let state = job.state;
    let mut files = Vec::new();
    for (n, (arch, core_software)) in job.archs.iter().zip(core).enumerate() {
        let inputs = BundleInputs {
            group: job.group.to_string(),
            arch: *arch,
            thing_name: state.thing_name.clone(),
            thing_arn: state.thing_arn.clone(),
            iot_data_endpoint: job.endpoints.0.clone(),
            credentials_endpoint: job.endpoints.1.clone(),
            region: state.region.clone(),
            role_alias: state.role_alias.clone().unwrap_or_default(),
            group_id: state.group_id.clone(),
            certificate_arn: Some(state.certificate_arn.clone()),
            mqtt_port: job.mqtt_port,
            use_systemd: job.use_systemd,
            allow_root,
            certificate_pem: state.certificate_pem.clone(),
            private_key_pem: state.private_key_pem.clone(),
            hsi: job.hsi.cloned(),
            core_software,
            runtimes_needed: runtimes.clone(),
            include_debs: job.include_debs.to_vec(),
            split_secrets: job.split_secrets,
            source_date_epoch: job.epoch,
            outputs: Outputs {
                bundle: true,
                script: job.script,
                // the same file for every architecture
                oem: job.oem && n == 0,
            },
        };
        let started = std::time::Instant::now();
        files.extend(write(&inputs, job.out_dir)?.files);
        tracing::info!("{arch}: outputs written in {:?}", started.elapsed());
    }
    Ok(files)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bundle::code;
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;

    pub const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    /// A PEM-shaped placeholder, not a key (the bundle only checks the PEM markers).
    pub const KEY: &str = include_str!("../../../../tests/fixtures/placeholder-key.pem");

    /// Inputs with a fake core archive path; tests that write use [`with_core`].
    pub fn inputs() -> BundleInputs {
        BundleInputs {
            group: "g1".into(),
            arch: Arch::X86_64,
            thing_name: "g1_Core".into(),
            thing_arn: "arn:aws:iot:us-east-1:123456789012:thing/g1_Core".into(),
            iot_data_endpoint: "a1b2c3-ats.iot.us-east-1.amazonaws.com".into(),
            credentials_endpoint: "c1d2.credentials.iot.us-east-1.amazonaws.com".into(),
            region: "us-east-1".into(),
            role_alias: "g1_CoreRoleAlias".into(),
            group_id: Some("gid-1".into()),
            certificate_arn: Some("arn:aws:iot:us-east-1:123456789012:cert/abc".into()),
            mqtt_port: 8883,
            use_systemd: true,
            allow_root: false,
            certificate_pem: CERT.into(),
            private_key_pem: Some(Secret::new(KEY.into())),
            hsi: None,
            core_software: CoreSoftware {
                path: PathBuf::from("/nonexistent/greengrass-linux-x86-64-1.11.6.tar.gz"),
                version: "1.11.6".into(),
                sha256: "0".repeat(64),
                verification: Verification::CommandLine,
            },
            runtimes_needed: vec!["python3.8".into()],
            include_debs: vec![],
            split_secrets: false,
            source_date_epoch: 0,
            outputs: Outputs {
                bundle: true,
                script: true,
                oem: true,
            },
        }
    }

    fn with_core(dir: &Path, i: &mut BundleInputs, content: &[u8]) {
        let p = dir.join(i.arch.core_software_file("1.11.6"));
        std::fs::write(&p, content).unwrap();
        i.core_software.path = p;
        i.core_software.sha256 = sha256_hex(content);
    }

    fn entries(gz: &[u8]) -> Vec<(String, u32, Vec<u8>)> {
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut raw)
            .unwrap();
        tar_entries(&raw)
    }

    fn tar_entries(raw: &[u8]) -> Vec<(String, u32, Vec<u8>)> {
        tar::Archive::new(raw)
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let mut d = Vec::new();
                e.read_to_end(&mut d).unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().mode().unwrap(),
                    d,
                )
            })
            .collect()
    }

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn root_ca_is_amazon_root_ca_1() {
        // SHA-256 of the DER certificate, from reference/greengrass-formats.md C
        const FINGERPRINT: &str = "8E:CD:E6:88:4F:3D:87:B1:12:5B:A3:1A:C3:FC:B1:3D:70:16:DE:7F:57:CC:90:4F:E1:CB:97:C6:AE:98:19:6E";
        let b64: String = AMAZON_ROOT_CA_1
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let der = base64_decode(&b64);
        assert_eq!(der.len(), 837, "DER size from the reference");
        let got = sha256_hex(&der).to_ascii_uppercase();
        let want = FINGERPRINT.replace(':', "");
        assert_eq!(got, want);
        assert_eq!(
            AMAZON_ROOT_CA_1
                .matches("-----BEGIN CERTIFICATE-----")
                .count(),
            1
        );
    }

    fn base64_decode(s: &str) -> Vec<u8> {
        let val = |c: u8| match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        };
        let bytes: Vec<u8> = s.bytes().filter(|b| *b != b'=').map(val).collect();
        let mut out = Vec::new();
        for chunk in bytes.chunks(4) {
            let mut n: u32 = 0;
            for (k, v) in chunk.iter().enumerate() {
                n |= u32::from(*v) << (18 - 6 * k);
            }
            let take = chunk.len() * 6 / 8;
            out.extend_from_slice(&n.to_be_bytes()[1..1 + take]);
        }
        out
    }

    #[test]
    fn all_outputs_with_modes_layout_and_sums() {
        let dir = tempfile::tempdir().unwrap();
        let mut i = inputs();
        with_core(dir.path(), &mut i, b"\x1f\x8bcore");
        let out = write(&i, &dir.path().join("build")).unwrap();
        let names: Vec<String> = out
            .files
            .iter()
            .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["g1-X86_64.tar.gz", "gg.g1.sh", "oem.g1.tar"]);
        assert_eq!(mode(&out.files[0].path), 0o600, "the bundle holds the key");
        assert_eq!(mode(&out.files[1].path), 0o700);
        assert_eq!(mode(&out.files[2].path), 0o600);

        let bundle = entries(&std::fs::read(&out.files[0].path).unwrap());
        let by_path = |p: &str| {
            bundle
                .iter()
                .find(|e| e.0 == p)
                .unwrap_or_else(|| panic!("{p}"))
        };
        let d = "ggp-bundle-x86_64";
        assert_eq!(by_path(&format!("{d}/certs/core.key")).1, 0o600);
        assert_eq!(by_path(&format!("{d}/config/config.json")).1, 0o600);
        assert_eq!(by_path(&format!("{d}/install.sh")).1, 0o755);
        assert_eq!(
            by_path(&format!("{d}/certs/root.ca.pem")).2,
            AMAZON_ROOT_CA_1.as_bytes()
        );
        // SHA256SUMS lists every file but itself and install.sh, with the right hashes
        let listed = String::from_utf8(by_path(&format!("{d}/SHA256SUMS")).2.clone()).unwrap();
        let files: Vec<&(String, u32, Vec<u8>)> = bundle
            .iter()
            .filter(|e| !e.2.is_empty() || e.0.ends_with(".key"))
            .filter(|e| !e.0.ends_with("/SHA256SUMS") && !e.0.ends_with("/install.sh"))
            .collect();
        assert_eq!(listed.lines().count(), files.len(), "{listed}");
        for (p, _, data) in files {
            let line = format!(
                "{}  {}",
                sha256_hex(data),
                p.strip_prefix(&format!("{d}/")).unwrap()
            );
            assert!(listed.lines().any(|l| l == line), "{line} not in\n{listed}");
        }
        let conf = String::from_utf8(by_path(&format!("{d}/bundle.conf")).2.clone()).unwrap();
        assert!(conf.contains("CORE_FILE='greengrass-linux-x86-64-1.11.6.tar.gz'"));
        assert!(conf.contains("RUNTIMES='python3.8'"));
        assert!(conf.contains("BUNDLE_MACHINES='x86_64'"));
        let manifest: Value =
            serde_json::from_slice(&by_path(&format!("{d}/manifest.json")).2).unwrap();
        assert_eq!(manifest, out.manifest);
        assert_eq!(manifest["device"]["thingArn"], i.thing_arn);
        assert_eq!(manifest["core"]["sha256"], i.core_software.sha256);
        assert_eq!(manifest["device"]["privateKey"], "in-bundle");

        // the script: the installer, the marker, then a tar of the same payload
        let script = std::fs::read(&out.files[1].path).unwrap();
        let text = String::from_utf8_lossy(&script);
        let offset: usize = text
            .lines()
            .find_map(|l| l.strip_prefix("GGP_PAYLOAD_OFFSET="))
            .unwrap()
            .parse()
            .unwrap();
        assert!(script[..offset].ends_with(b"\nPAYLOAD:\n"));
        let payload = &script[offset..];
        let sha = text
            .lines()
            .find_map(|l| l.strip_prefix("GGP_PAYLOAD_SHA256="))
            .unwrap();
        assert_eq!(sha256_hex(payload), sha);
        let inner = tar_entries(payload);
        assert!(inner
            .iter()
            .any(|e| e.0 == "certs/core.key" && e.1 == 0o600));
        assert!(inner
            .iter()
            .any(|e| e.0 == "SHA256SUMS" && e.2 == listed.as_bytes()));
        assert!(!inner.iter().any(|e| e.0 == "install.sh"));

        // the OEM archive: GGP's names
        let oem = tar_entries(&std::fs::read(&out.files[2].path).unwrap());
        let oem_paths: Vec<&str> = oem
            .iter()
            .filter(|e| !e.2.is_empty())
            .map(|e| e.0.as_str())
            .collect();
        assert_eq!(
            oem_paths,
            [
                "certs/core.crt",
                "certs/core.crt.arn",
                "certs/core.key",
                "certs/root.ca.pem",
                "config/config.json",
                "config/credential-provider-url.txt",
                "config/group-id.txt",
                "config/region.txt",
                "config/role-alias-name.txt",
                "config/thing-name.txt"
            ]
        );
        assert!(oem.iter().any(|e| e.0 == "certs/core.key" && e.1 == 0o600));
    }

    #[test]
    fn split_secrets_main_archive_does_not_depend_on_the_device() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = inputs();
        a.outputs = Outputs {
            bundle: true,
            ..Outputs::default()
        };
        a.split_secrets = true;
        with_core(dir.path(), &mut a, b"\x1f\x8bcore");
        let mut b = a.clone();
        b.group = "g2".into();
        b.thing_name = "g2_Core".into();
        b.thing_arn = "arn:aws:iot:us-east-1:123456789012:thing/g2_Core".into();
        b.private_key_pem = Some(Secret::new(KEY.replace("MIIE", "MIIF")));
        b.mqtt_port = 9000;
        let oa = write(&a, &dir.path().join("a")).unwrap();
        let ob = write(&b, &dir.path().join("b")).unwrap();
        assert_eq!(
            oa.files[0].sha256, ob.files[0].sha256,
            "main archives differ"
        );
        assert_ne!(oa.files[1].sha256, ob.files[1].sha256);
        assert_eq!(
            mode(&oa.files[0].path),
            0o644,
            "the main archive holds no secret"
        );
        assert_eq!(mode(&oa.files[1].path), 0o600);
        let main = entries(&std::fs::read(&oa.files[0].path).unwrap());
        assert!(!main
            .iter()
            .any(|e| e.0.contains("core.key") || e.0.contains("config.json")));
        assert!(main
            .iter()
            .all(|e| !String::from_utf8_lossy(&e.2).contains("g1")));
        let secrets = entries(&std::fs::read(&oa.files[1].path).unwrap());
        let paths: Vec<&str> = secrets.iter().map(|e| e.0.as_str()).collect();
        for p in [
            "ggp-bundle-x86_64/certs/core.key",
            "ggp-bundle-x86_64/config/config.json",
            "ggp-bundle-x86_64/device.json",
            "ggp-bundle-x86_64/SHA256SUMS.device",
        ] {
            assert!(paths.contains(&p), "{p} not in {paths:?}");
        }
    }

    #[test]
    fn same_inputs_same_bytes_and_a_different_epoch_differs() {
        let dir = tempfile::tempdir().unwrap();
        let mut i = inputs();
        with_core(dir.path(), &mut i, &[0x1f, 0x8b, 1, 2, 3]);
        let a = write(&i, &dir.path().join("a")).unwrap();
        let b = write(&i, &dir.path().join("b")).unwrap();
        for (x, y) in a.files.iter().zip(&b.files) {
            assert_eq!(x.sha256, y.sha256, "{:?}", x.kind);
        }
        i.source_date_epoch = 1_700_000_000;
        let c = write(&i, &dir.path().join("c")).unwrap();
        assert_ne!(a.files[0].sha256, c.files[0].sha256);
    }

    #[test]
    fn a_core_archive_with_another_hash_is_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut i = inputs();
        with_core(dir.path(), &mut i, b"core");
        i.core_software.sha256 = sha256_hex(b"other");
        let out = dir.path().join("build");
        let e = write(&i, &out).unwrap_err();
        assert_eq!(e.exit_code(), code::BUNDLE_CORE_SOFTWARE_UNVERIFIED);
        assert!(e.to_string().contains("--core-software-sha256"), "{e}");
        assert!(!out.exists());
    }

    #[test]
    fn bad_inputs_are_refused_without_showing_the_key() {
        let mut i = inputs();
        i.private_key_pem = Some(Secret::new("not a key SECRET-MATERIAL".into()));
        let e = write(&i, Path::new("/nonexistent")).unwrap_err();
        assert_eq!(e.exit_code(), code::BUNDLE_INPUT);
        assert!(!e.to_string().contains("SECRET-MATERIAL"));
        assert!(!format!("{i:?}").contains("SECRET-MATERIAL"));
        let mut i = inputs();
        i.thing_arn = "g1_Core".into();
        assert!(write(&i, Path::new("/nonexistent")).is_err());
        let mut i = inputs();
        i.mqtt_port = 80;
        assert!(write(&i, Path::new("/nonexistent")).is_err());
        let mut i = inputs();
        i.include_debs = vec![PathBuf::from("/tmp/a b.deb")];
        assert!(write(&i, Path::new("/nonexistent")).is_err());
    }

    #[test]
    fn hsi_parses_and_writes_the_pkcs11_files() {
        let p: Pkcs11 = "P11Provider=/usr/lib/softhsm/libsofthsm2.so,slotLabel=gg,slotUserPin=1234,pkcs11EngineForCurl=pkcs11"
            .parse()
            .unwrap();
        assert_eq!(p.slot_label, "gg");
        assert!(!format!("{p:?}").contains("1234"));
        assert!("slotLabel=gg".parse::<Pkcs11>().is_err());
        assert!("P11Provider=x,slotLabel=gg,slotUserPin=1,colour=red"
            .parse::<Pkcs11>()
            .is_err());
        let mut i = inputs();
        i.private_key_pem = None;
        i.hsi = Some(p);
        let t = oem(&i);
        assert!(t.get("certs/core.key").is_none());
        assert_eq!(
            t.get("config/pkcs11-path-for-curl.txt").unwrap().as_ref(),
            b"pkcs11:object=iotkey;type=private;token=gg;pin-value=1234"
        );
        let mut with_key = inputs();
        with_key.hsi = i.hsi.clone();
        assert!(write(&with_key, Path::new("/nonexistent")).is_err());
    }

    #[test]
    fn device_scripts_run_no_network_or_package_manager_command() {
        const NETWORK: &[&str] = &[
            "curl", "wget", "pip", "pip3", "apt", "apt-get", "aptitude", "yum", "dnf", "apk",
            "opkg", "snap", "nc", "ftp", "git", "npm",
        ];
        for (name, text) in [
            ("install.sh", INSTALL_SH),
            ("start.sh", START_SH),
            ("stop.sh", STOP_SH),
            ("clean.sh", CLEAN_SH),
            ("monitor.sh", MONITOR_SH),
            ("greengrass.service", GREENGRASS_SERVICE),
        ] {
            for (n, line) in text.lines().enumerate() {
                let code = line.trim_start();
                // comments and the advice printed by --check may name them; nothing may run them
                if code.starts_with('#') || code.contains("echo \"install ") {
                    continue;
                }
                let words =
                    code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'));
                for w in words {
                    assert!(
                        !NETWORK.contains(&w),
                        "{name}:{}: runs `{w}`: {line}",
                        n + 1
                    );
                }
            }
        }
        // and the advice exists, so the skip above is not hiding everything
        assert!(INSTALL_SH
            .contains("echo \"install $1 (e.g. apt-get install $1 on a machine with a network)"));
    }

    #[test]
    fn runtimes_come_from_languages() {
        let r = runtimes_for([
            Language::Python(3, 8),
            Language::Node(12),
            Language::Executable,
            Language::Python(3, 8),
            Language::Java(8),
        ]);
        assert_eq!(r, ["java", "node", "python3.8"]);
    }
}
