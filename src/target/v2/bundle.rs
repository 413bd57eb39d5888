//! The offline bundle of a Greengrass V2 core device: the nucleus zip's files, the certificate,
//! key and root CA, a `config.yaml` for manual provisioning and `install.sh`, as one reproducible
//! `.tar.gz` (same inputs, same bytes) whose `SHA256SUMS` the installer checks first.
//!
//! Layout under `ggp-v2-<group>/`: `GreengrassInstaller/` (the unzipped nucleus), `certs/`
//! (`core.crt`, `core.key` 0600, `AmazonRootCA1.pem`), `config.yaml`, `debs/` (`--include-deb`),
//! `install.sh`, `SHA256SUMS` (every file but itself and install.sh).
//!
//! Not for: the V1 bundle (`crate::target::v1::bundle`); the archive writer and root CA are
//! [`crate::bundle`]'s.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;

use serde_json::Value;

use crate::bundle::archive::{write_tar_gz, Kind, Tree, MODE_EXEC, MODE_FILE, MODE_SECRET};
use crate::bundle::{parse_sha256, sha256_hex, BundleError, Secret, AMAZON_ROOT_CA_1};

/// The Greengrass root the bundle installs to.
pub const DEFAULT_ROOT: &str = "/greengrass/v2";

/// The installer script of the V2 bundle.
pub const INSTALL_SH: &str = include_str!("scripts/install.sh");

/// Everything a V2 bundle holds.
#[derive(Debug, Clone)]
pub struct V2BundleInputs {
    pub group: String,
    pub thing_name: String,
    pub region: String,
    pub iot_data_endpoint: String,
    pub iot_cred_endpoint: String,
    pub role_alias: String,
    pub certificate_pem: String,
    pub private_key: Secret,
    /// The nucleus zip, already checked with [`read_nucleus_zip`].
    pub nucleus_zip: Vec<u8>,
    /// Nucleus `logging` configuration (from the plan's FileSystem loggers).
    pub nucleus_logging: Option<Value>,
    /// `.deb` packages carried for an offline Java install: (file name, bytes).
    pub debs: Vec<(String, Vec<u8>)>,
    /// Modification time of every archive member (SOURCE_DATE_EPOCH).
    pub mtime: u64,
}

/// Reads the nucleus zip and checks its sha256 against `expected` (`--core-software-sha256`) or,
/// without it, the `SHA256SUMS` file next to the zip. No hash to check against is an error.
pub fn read_nucleus_zip(path: &Path, expected: Option<&str>) -> Result<Vec<u8>, BundleError> {
    let io = |p: &Path, e| BundleError::Io {
        path: p.display().to_string(),
        source: e,
    };
    let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (expected, by) = match expected {
        Some(e) => (parse_sha256(e)?, "--core-software-sha256".to_string()),
        None => {
            let sums = path.with_file_name("SHA256SUMS");
            let text = match std::fs::read_to_string(&sums) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(BundleError::CoreSoftwareNotPinned { file })
                }
                Err(e) => return Err(io(&sums, e)),
            };
            let line = text.lines().find_map(|l| {
                let (sum, name) = l.split_once(char::is_whitespace)?;
                (name.trim().trim_start_matches('*') == file).then(|| sum.to_string())
            });
            match line {
                Some(s) => (parse_sha256(&s)?, sums.display().to_string()),
                None => return Err(BundleError::CoreSoftwareNotPinned { file }),
            }
        }
    };
    let actual = sha256_hex(&bytes);
    if actual != expected {
        return Err(BundleError::CoreSoftwareMismatch {
            file,
            expected,
            actual,
            by,
        });
    }
    Ok(bytes)
}

/// The files of an unzipped nucleus: path → (mode, bytes).
pub type NucleusFiles = BTreeMap<String, (u32, Vec<u8>)>;

/// The files of the nucleus zip, and its version from `conf/recipe.yaml`.
pub fn unzip_nucleus(zip: &[u8]) -> Result<(NucleusFiles, String), BundleError> {
    let bad = |m: String| BundleError::Input(format!("the nucleus zip {m}"));
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip))
        .map_err(|e| bad(format!("cannot be read: {e}")))?;
    let mut files = BTreeMap::new();
    for i in 0..archive.len() {
        let mut f = archive
            .by_index(i)
            .map_err(|e| bad(format!("cannot be read: {e}")))?;
        if f.is_dir() {
            continue;
        }
        let name = f
            .enclosed_name()
            .ok_or_else(|| {
                bad(format!(
                    "has an unsafe path {}",
                    String::from_utf8_lossy(f.name_raw())
                ))
            })?
            .to_string_lossy()
            .replace('\\', "/");
        let exec = f.unix_mode().is_some_and(|m| m & 0o111 != 0) || name.starts_with("bin/");
        let mut data = Vec::new();
        f.read_to_end(&mut data)
            .map_err(|e| bad(format!("member {name} cannot be read: {e}")))?;
        files.insert(name, (if exec { MODE_EXEC } else { MODE_FILE }, data));
    }
    let recipe = files
        .get("conf/recipe.yaml")
        .ok_or_else(|| bad("has no conf/recipe.yaml".into()))?;
    let text = String::from_utf8_lossy(&recipe.1);
    let version = crate::model::functions::yaml_top_level(&text, "ComponentVersion")
        .ok_or_else(|| bad("recipe has no ComponentVersion".into()))?;
    if !files.contains_key("lib/Greengrass.jar") {
        return Err(bad("has no lib/Greengrass.jar".into()));
    }
    Ok((files, version))
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn q(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

/// `config.yaml` for manual provisioning: keys in a fixed order, every value double-quoted.
pub fn config_yaml(i: &V2BundleInputs, nucleus_version: &str) -> String {
    let root = DEFAULT_ROOT;
    let mut y = String::new();
    y.push_str("# Written by ggp: the nucleus's initial configuration (manual provisioning, --provision false).\n");
    y.push_str("system:\n");
    for (k, v) in [
        ("certificateFilePath", format!("{root}/thingCert.crt")),
        ("privateKeyPath", format!("{root}/privKey.key")),
        ("rootCaPath", format!("{root}/rootCA.pem")),
        ("rootpath", root.to_string()),
        ("thingName", i.thing_name.clone()),
    ] {
        y.push_str(&format!("  {k}: {}\n", q(&v)));
    }
    y.push_str("services:\n  aws.greengrass.Nucleus:\n");
    y.push_str(&format!("    componentType: {}\n", q("NUCLEUS")));
    y.push_str(&format!("    version: {}\n", q(nucleus_version)));
    y.push_str("    configuration:\n");
    for (k, v) in [
        ("awsRegion", &i.region),
        ("iotRoleAlias", &i.role_alias),
        ("iotDataEndpoint", &i.iot_data_endpoint),
        ("iotCredEndpoint", &i.iot_cred_endpoint),
    ] {
        y.push_str(&format!("      {k}: {}\n", q(v)));
    }
    if let Some(l) = &i.nucleus_logging {
        y.push_str("      logging:\n");
        if let Some(level) = l["level"].as_str() {
            y.push_str(&format!("        level: {}\n", q(level)));
        }
        if let Some(total) = l["totalLogsSizeKB"].as_u64() {
            y.push_str(&format!("        totalLogsSizeKB: {total}\n"));
        }
    }
    y
}

/// The bundle's files under `ggp-v2-<group>/`, and the bundle folder name.
pub fn tree(i: &V2BundleInputs) -> Result<(Tree, String), BundleError> {
    let (nucleus, version) = unzip_nucleus(&i.nucleus_zip)?;
    let dir = format!("ggp-v2-{}", i.group);
    let mut t = Tree::new();
    for (path, (mode, data)) in nucleus {
        t.file(&format!("{dir}/GreengrassInstaller/{path}"), mode, data);
    }
    t.file(
        &format!("{dir}/certs/core.crt"),
        MODE_FILE,
        i.certificate_pem.clone().into_bytes(),
    );
    t.file(
        &format!("{dir}/certs/core.key"),
        MODE_SECRET,
        i.private_key.expose().as_bytes().to_vec(),
    );
    t.file(
        &format!("{dir}/certs/AmazonRootCA1.pem"),
        MODE_FILE,
        AMAZON_ROOT_CA_1.as_bytes().to_vec(),
    );
    t.file(
        &format!("{dir}/config.yaml"),
        MODE_FILE,
        config_yaml(i, &version).into_bytes(),
    );
    for (name, data) in &i.debs {
        if name.contains('/') || !name.ends_with(".deb") {
            return Err(BundleError::Input(format!(
                "--include-deb {name}: a .deb file name is expected"
            )));
        }
        t.file(&format!("{dir}/debs/{name}"), MODE_FILE, data.clone());
    }
    let prefix = format!("{dir}/");
    let mut sums = String::new();
    for e in t.entries() {
        if let Kind::File(data) = &e.kind {
            let rel = e.path.strip_prefix(&prefix).unwrap_or(&e.path);
            sums.push_str(&format!("{}  {rel}\n", sha256_hex(data)));
        }
    }
    t.file(&format!("{dir}/SHA256SUMS"), MODE_FILE, sums.into_bytes());
    t.file(
        &format!("{dir}/install.sh"),
        MODE_EXEC,
        INSTALL_SH.as_bytes().to_vec(),
    );
    Ok((t, dir))
}

/// Writes `<out_dir>/ggp-v2-<group>.tar.gz` (mode 0600: it holds the core's private key) and
/// says what it wrote.
pub fn write_bundle(
    i: &V2BundleInputs,
    out_dir: &Path,
) -> Result<crate::bundle::Written, BundleError> {
    let path = write(i, out_dir)?;
    let bytes = std::fs::read(&path).map_err(|e| BundleError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    Ok(crate::bundle::Written {
        kind: crate::bundle::OutputKind::Bundle,
        sha256: crate::bundle::sha256_hex(&bytes),
        bytes: bytes.len() as u64,
        path,
        secret: true,
    })
}

/// Writes `<out_dir>/ggp-v2-<group>.tar.gz` (mode 0600) and returns its path.
pub fn write(i: &V2BundleInputs, out_dir: &Path) -> Result<std::path::PathBuf, BundleError> {
    let (t, dir) = tree(i)?;
    let bytes = write_tar_gz(&t, i.mtime, Vec::new()).map_err(|e| BundleError::Io {
        path: dir.clone(),
        source: e,
    })?;
    std::fs::create_dir_all(out_dir).map_err(|e| BundleError::Io {
        path: out_dir.display().to_string(),
        source: e,
    })?;
    let path = out_dir.join(format!("{dir}.tar.gz"));
    crate::bundle::put(&path, &bytes, 0o600)?;
    Ok(path)
}

/// The nucleus zip ggp looks for in the core software folders when no `--core-software` is given.
pub const NUCLEUS_ZIP: &str = "greengrass-nucleus-latest.zip";

/// The V2 bundle of a bundle job ([`crate::target::bundle`]): the same thing, certificate and
/// role alias as provisioned, with the nucleus zip from `--core-software` or the search folders
/// (the same for every architecture, so no `-a`).
pub fn from_job(job: &crate::target::BundleJob) -> Result<crate::bundle::Written, BundleError> {
    let zip = match job.core_software {
        Some(p) => p.to_path_buf(),
        None => job
            .search_dirs
            .iter()
            .map(|dir| dir.join(NUCLEUS_ZIP))
            .find(|p| p.is_file())
            .ok_or_else(|| BundleError::CoreSoftwareMissing {
                wanted: NUCLEUS_ZIP.into(),
                searched: job
                    .search_dirs
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect(),
            })?,
    };
    let nucleus_zip = read_nucleus_zip(&zip, job.core_software_sha256)?;
    let state = job.state;
    let private_key = state.private_key_pem.clone().ok_or_else(|| {
        BundleError::Usage("the V2 bundle carries the core's private key, and this group's certificate came from a CSR or --certificate-arn".into())
    })?;
    let role_alias = state.role_alias.clone().ok_or_else(|| {
        BundleError::Incomplete(format!("no role alias recorded for group {}", job.group))
    })?;
    let debs = job
        .include_debs
        .iter()
        .map(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            let data = std::fs::read(p).map_err(|e| BundleError::io(p, e))?;
            Ok((name.unwrap_or_default(), data))
        })
        .collect::<Result<Vec<_>, BundleError>>()?;
    // The FileSystem loggers of the deployment become the nucleus's logging configuration.
    let nucleus_logging = job
        .project
        .and_then(|p| super::nucleus_logging(&p.deployment.effective_loggers()));
    let inputs = V2BundleInputs {
        group: job.group.to_string(),
        thing_name: state.thing_name.clone(),
        region: state.region.clone(),
        iot_data_endpoint: job.endpoints.0.clone(),
        iot_cred_endpoint: job.endpoints.1.clone(),
        role_alias,
        certificate_pem: state.certificate_pem.clone(),
        private_key,
        nucleus_zip,
        nucleus_logging,
        debs,
        mtime: job.epoch,
    };
    write_bundle(&inputs, job.out_dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn nucleus_zip(version: &str) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o644);
        for (name, data) in [
            ("conf/recipe.yaml", format!("---\nRecipeFormatVersion: \"2020-01-25\"\nComponentName: aws.greengrass.Nucleus\nComponentVersion: \"{version}\"\n")),
            ("lib/Greengrass.jar", "jar".to_string()),
            ("bin/loader", "#!/bin/sh\n".to_string()),
        ] {
            w.start_file(name, opts).unwrap();
            w.write_all(data.as_bytes()).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn inputs() -> V2BundleInputs {
        V2BundleInputs {
            group: "g".into(),
            thing_name: "g_Core".into(),
            region: "eu-west-1".into(),
            iot_data_endpoint: "abc-ats.iot.eu-west-1.amazonaws.com".into(),
            iot_cred_endpoint: "xyz.credentials.iot.eu-west-1.amazonaws.com".into(),
            role_alias: "alias-x".into(),
            certificate_pem: "CERT\n".into(),
            private_key: Secret::new("KEY\n".into()),
            nucleus_zip: nucleus_zip("2.14.1"),
            nucleus_logging: Some(serde_json::json!({"level": "INFO", "totalLogsSizeKB": 43008})),
            debs: vec![("jre.deb".into(), b"deb".to_vec())],
            mtime: 0,
        }
    }

    #[test]
    fn config_yaml_has_every_value_the_nucleus_needs_in_a_fixed_order() {
        let y = config_yaml(&inputs(), "2.14.1");
        assert_eq!(
            y,
            r#"# Written by ggp: the nucleus's initial configuration (manual provisioning, --provision false).
system:
  certificateFilePath: "/greengrass/v2/thingCert.crt"
  privateKeyPath: "/greengrass/v2/privKey.key"
  rootCaPath: "/greengrass/v2/rootCA.pem"
  rootpath: "/greengrass/v2"
  thingName: "g_Core"
services:
  aws.greengrass.Nucleus:
    componentType: "NUCLEUS"
    version: "2.14.1"
    configuration:
      awsRegion: "eu-west-1"
      iotRoleAlias: "alias-x"
      iotDataEndpoint: "abc-ats.iot.eu-west-1.amazonaws.com"
      iotCredEndpoint: "xyz.credentials.iot.eu-west-1.amazonaws.com"
      logging:
        level: "INFO"
        totalLogsSizeKB: 43008
"#
        );
    }

    #[test]
    fn nucleus_zip_is_checked_against_the_given_hash_or_sha256sums() {
        let dir = tempfile::tempdir().unwrap();
        let zip = nucleus_zip("2.14.1");
        let path = dir.path().join("greengrass-nucleus-latest.zip");
        std::fs::write(&path, &zip).unwrap();
        let sha = sha256_hex(&zip);
        assert!(matches!(
            read_nucleus_zip(&path, None),
            Err(BundleError::CoreSoftwareNotPinned { .. })
        ));
        assert_eq!(read_nucleus_zip(&path, Some(&sha)).unwrap(), zip);
        let wrong = "0".repeat(64);
        assert!(matches!(
            read_nucleus_zip(&path, Some(&wrong)),
            Err(BundleError::CoreSoftwareMismatch { .. })
        ));
        std::fs::write(
            dir.path().join("SHA256SUMS"),
            format!("{wrong}  other.zip\n{sha}  greengrass-nucleus-latest.zip\n"),
        )
        .unwrap();
        assert_eq!(read_nucleus_zip(&path, None).unwrap(), zip);
        std::fs::write(
            dir.path().join("SHA256SUMS"),
            format!("{wrong}  greengrass-nucleus-latest.zip\n"),
        )
        .unwrap();
        assert!(matches!(
            read_nucleus_zip(&path, None),
            Err(BundleError::CoreSoftwareMismatch { .. })
        ));
    }

    #[test]
    fn tree_layout_modes_and_sums() {
        let (t, dir) = tree(&inputs()).unwrap();
        assert_eq!(dir, "ggp-v2-g");
        let mode = |p: &str| {
            t.entries()
                .find(|e| e.path == format!("{dir}/{p}"))
                .map(|e| e.mode)
        };
        assert_eq!(mode("certs/core.key"), Some(MODE_SECRET));
        assert_eq!(mode("install.sh"), Some(MODE_EXEC));
        assert_eq!(mode("GreengrassInstaller/bin/loader"), Some(MODE_EXEC));
        assert_eq!(
            mode("GreengrassInstaller/lib/Greengrass.jar"),
            Some(MODE_FILE)
        );
        assert_eq!(mode("debs/jre.deb"), Some(MODE_FILE));
        let y = String::from_utf8(t.get(&format!("{dir}/config.yaml")).unwrap().to_vec()).unwrap();
        assert!(y.contains("version: \"2.14.1\""), "{y}");
        // SHA256SUMS lists every file but itself and install.sh, with the right hashes.
        let sums =
            String::from_utf8(t.get(&format!("{dir}/SHA256SUMS")).unwrap().to_vec()).unwrap();
        let mut listed = 0;
        for l in sums.lines() {
            let (sum, rel) = l.split_once("  ").unwrap();
            let data = t.get(&format!("{dir}/{rel}")).unwrap();
            assert_eq!(sum, sha256_hex(data), "{rel}");
            listed += 1;
        }
        let files = t
            .entries()
            .filter(|e| matches!(e.kind, Kind::File(_)))
            .count();
        assert_eq!(listed, files - 2);
        assert!(!sums.contains("install.sh") && !sums.contains("SHA256SUMS"));
    }

    #[test]
    fn bundle_is_reproducible_and_follows_its_inputs() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let pa = write(&inputs(), a.path()).unwrap();
        let pb = write(&inputs(), b.path()).unwrap();
        assert_eq!(pa.file_name().unwrap(), "ggp-v2-g.tar.gz");
        assert_eq!(std::fs::read(&pa).unwrap(), std::fs::read(&pb).unwrap());
        let mut other = inputs();
        other.role_alias = "alias-y".into();
        let pc = write(&other, b.path()).unwrap();
        assert_ne!(std::fs::read(&pa).unwrap(), std::fs::read(pc).unwrap());
    }

    #[test]
    fn a_zip_without_the_installer_is_refused() {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        w.start_file("README.md", zip::write::SimpleFileOptions::default())
            .unwrap();
        let z = w.finish().unwrap().into_inner();
        let e = unzip_nucleus(&z).unwrap_err().to_string();
        assert!(e.contains("conf/recipe.yaml"), "{e}");
    }
}
