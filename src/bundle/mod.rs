//! What the offline outputs of both targets share: the error type of the bundle stage, how a
//! written file is reported, secrets that never print, atomic 0600-aware writes, and the pieces
//! in [`archive`] (reproducible tar/tar.gz), [`s3`] (uploading the outputs) and [`stored`] (what
//! provisioning stored for a group).
//!
//! The bundles themselves are the targets': `target::v1::bundle` (config.json, `gg.<group>.sh`,
//! the OEM archive) and `target::v2::bundle` (config.yaml and the nucleus).

pub mod archive;
pub mod s3;
pub mod stored;

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::build::package::hex;

/// Exit statuses of the bundle stage, 40–45 (defined with the others in [`crate::error::exit`]).
pub use crate::error::exit as code;

/// Amazon Root CA 1, shipped inside ggp (never downloaded at run time): the CA of the ATS
/// endpoints, `certs/root.ca.pem` on the device. From Debian's ca-certificates 20230311+deb12u1.
pub const AMAZON_ROOT_CA_1: &str = include_str!("../../assets/AmazonRootCA1.pem");

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{0}")]
    Input(String),
    #[error("no Greengrass core software archive {wanted}{}", if searched.is_empty() { String::new() } else { format!(" in {}", searched.join(", ")) })]
    CoreSoftwareMissing {
        wanted: String,
        searched: Vec<String>,
    },
    #[error("{file} is not in ggp's table of known core software hashes, so it cannot be checked")]
    CoreSoftwareNotPinned { file: String },
    #[error("{file} has sha256 {actual}, not the expected {expected} ({by}): refusing to ship it")]
    CoreSoftwareMismatch {
        file: String,
        expected: String,
        actual: String,
        by: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    State(String),
    #[error("{doing}: {message}")]
    Upload { doing: String, message: String },
    /// A bundle that cannot be made from what was provisioned, the way the command line asked
    /// (exit 2, as a usage error).
    #[error("{0}")]
    Usage(String),
    /// The group's state lacks a value its own deploy records (exit 1).
    #[error("{0}")]
    Incomplete(String),
}

impl crate::error::Failure for BundleError {
    fn exit_code(&self) -> i32 {
        BundleError::exit_code(self)
    }
    fn hint(&self) -> Option<String> {
        BundleError::hint(self)
    }
}

impl BundleError {
    pub fn exit_code(&self) -> i32 {
        match self {
            BundleError::Input(_) => code::BUNDLE_INPUT,
            BundleError::CoreSoftwareMissing { .. } => code::BUNDLE_CORE_SOFTWARE_MISSING,
            BundleError::CoreSoftwareNotPinned { .. }
            | BundleError::CoreSoftwareMismatch { .. } => code::BUNDLE_CORE_SOFTWARE_UNVERIFIED,
            BundleError::Io { .. } => code::BUNDLE_IO,
            BundleError::State(_) => code::BUNDLE_STATE,
            BundleError::Upload { .. } => code::BUNDLE_UPLOAD,
            BundleError::Usage(_) => code::USAGE,
            BundleError::Incomplete(_) => code::FAILURE,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            BundleError::CoreSoftwareMissing { .. } => Some(
                "ggp never downloads the core software: give --core-software FILE, or put the archive in $GGP_CORE_SOFTWARE_DIR or ~/.cache/ggp/core-software"
                    .into(),
            ),
            BundleError::CoreSoftwareNotPinned { .. } => Some(
                "give its sha256 with --core-software-sha256 HEX (from where you got the file); AWS publishes none for V1"
                    .into(),
            ),
            BundleError::CoreSoftwareMismatch { by, .. } if by.contains("third-party") => Some(
                "the pinned hash is third-party; if you trust this file, give its sha256 with --core-software-sha256"
                    .into(),
            ),
            BundleError::CoreSoftwareMismatch { .. } => Some(
                "the file is not the one the hash names: fetch it again, or check --core-software-sha256"
                    .into(),
            ),
            BundleError::State(_) => Some(
                "provision the group first (`ggp -g GROUP -d FILE ...`), or make it with --csr/--certificate-arn and give the key on the device"
                    .into(),
            ),
            _ => None,
        }
    }

    pub(crate) fn io(path: impl AsRef<Path>, source: std::io::Error) -> BundleError {
        BundleError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

/// A secret string (a private key, a PIN): never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// What kind of file [`write`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputKind {
    Bundle,
    Secrets,
    Script,
    Oem,
}

/// One file written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Written {
    pub kind: OutputKind,
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
    /// True when it holds the private key or another secret (written 0600).
    pub secret: bool,
}

/// What [`write`] produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BundleOutputs {
    pub files: Vec<Written>,
    /// `manifest.json` (in split mode without the device part, which is in `device.json`).
    pub manifest: Value,
}

impl BundleOutputs {
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        for f in &self.files {
            let kind = match f.kind {
                OutputKind::Bundle => "bundle",
                OutputKind::Secrets => "secrets",
                OutputKind::Script => "script",
                OutputKind::Oem => "oem",
            };
            let secret = if f.secret {
                "  (holds secrets, 0600)"
            } else {
                ""
            };
            s.push_str(&format!(
                "{kind:<8} {}  {} bytes  sha256 {}{secret}\n",
                f.path.display(),
                f.bytes,
                f.sha256
            ));
        }
        s
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub(crate) fn read(path: &Path) -> Result<Bytes, BundleError> {
    std::fs::read(path)
        .map(Bytes::from)
        .map_err(|e| BundleError::io(path, e))
}

/// Writes `bytes` to `path` through a temporary file in the same folder, created with `mode`.
pub(crate) fn put(path: &Path, bytes: &[u8], mode: u32) -> Result<(), BundleError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(|e| BundleError::io(&tmp, e))?;
    // no fsync: the outputs are reproducible, a re-run makes them again
    let result = f
        .write_all(bytes)
        .and_then(|()| f.set_permissions(std::fs::Permissions::from_mode(mode)));
    drop(f);
    if let Err(e) = result.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(BundleError::io(path, e));
    }
    Ok(())
}

/// Cache folders searched when no `--core-software` is given, in order.
pub fn search_dirs(env: &std::collections::BTreeMap<String, String>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = env.get("GGP_CORE_SOFTWARE_DIR").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(d));
    }
    if let Some(d) = env.get("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        dirs.push(Path::new(d).join("ggp/core-software"));
    } else if let Some(h) = env.get("HOME").filter(|h| !h.is_empty()) {
        dirs.push(Path::new(h).join(".cache/ggp/core-software"));
    }
    dirs
}

/// Checks a hex sha256 given by the user.
pub fn parse_sha256(s: &str) -> Result<String, BundleError> {
    let t = s.trim().to_ascii_lowercase();
    if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(t)
    } else {
        Err(BundleError::Input(format!(
            "--core-software-sha256 '{s}' is not a sha256 (64 hexadecimal digits)"
        )))
    }
}
