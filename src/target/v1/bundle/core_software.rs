//! Which Greengrass V1 core software archive goes into a bundle, and the sha256 it must have.
//!
//! The archive comes from `--core-software FILE` or from a cache folder (`$GGP_CORE_SOFTWARE_DIR`,
//! then `$XDG_CACHE_HOME/ggp/core-software`, `~/.cache/ggp/core-software`); ggp never downloads
//! it. Its expected sha256 comes from `--core-software-sha256`, or else from [`PINNED`], a table
//! of the hashes published for known 1.11.x files. The bytes are checked where they are read
//! ([`super::write`]), so what is checked is what is shipped.
//!
//! About the table: AWS does not publish checksums for the V1 tarballs. The only hashes known to
//! ggp's reference (reference/greengrass-formats.md A.1) are two third-party ones, marked there
//! "not confirmed by AWS"; they are pinned with that provenance, nothing else is. Every other file
//! needs `--core-software-sha256` (taken from wherever the user got the file).
//!
//! Not for: the V2 nucleus zip.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::arch::Arch;
use crate::bundle::{parse_sha256, BundleError};

/// The core version used when the cache holds several, or none is named.
pub const DEFAULT_VERSION: &str = "1.11.6";

/// A published sha256 of a core software archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pinned {
    pub file: &'static str,
    pub sha256: &'static str,
    /// Where the hash was published.
    pub source: &'static str,
}

/// Hashes of known 1.11.x archives. Third-party values only (AWS publishes none); see the module
/// documentation.
pub const PINNED: &[Pinned] = &[
    Pinned {
        file: "greengrass-linux-armv7l-1.11.0.tar.gz",
        sha256: "af6ac0b277193a17d59b010071e153aa3d9aca1136062dd044caab3a9b663b13",
        source: "third-party (STMicroelectronics Yocto recipe), not confirmed by AWS",
    },
    Pinned {
        file: "greengrass-linux-aarch64-1.11.6.tar.gz",
        sha256: "92dc496efd787fd70701059271986f596086e6d569a539527b88e6d7d1452d0f",
        source: "third-party (public V1 setup note), not confirmed by AWS",
    },
];

/// How the expected hash was obtained, recorded in the bundle manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", rename_all = "kebab-case")]
pub enum Verification {
    /// From [`PINNED`].
    PinnedTable { source: String },
    /// From `--core-software-sha256`.
    CommandLine,
}

/// The core software archive to embed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreSoftware {
    pub path: PathBuf,
    /// `1.11.6`, from the file name.
    pub version: String,
    /// The sha256 the file must have (lowercase hex).
    pub sha256: String,
    pub verification: Verification,
}

impl CoreSoftware {
    /// The archive's file name (`greengrass-linux-x86-64-1.11.6.tar.gz`).
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// The version in `name` when it is a core software file name for `arch`.
pub fn version_of(arch: Arch, name: &str) -> Option<String> {
    let probe = arch.core_software_file("@");
    let (prefix, suffix) = probe.split_once('@')?;
    let v = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
    let ok = !v.is_empty()
        && v.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    ok.then(|| v.to_string())
}

fn version_key(v: &str) -> Vec<u64> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

/// Finds the archive for `arch` and the hash it must have.
///
/// `file`: `--core-software`; `sha256`: `--core-software-sha256`; `dirs`: [`crate::bundle::search_dirs`].
pub fn resolve(
    arch: Arch,
    file: Option<&Path>,
    sha256: Option<&str>,
    dirs: &[PathBuf],
) -> Result<CoreSoftware, BundleError> {
    let (path, version) = match file {
        Some(f) => {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let version = version_of(arch, &name).ok_or_else(|| {
                BundleError::Input(format!(
                    "--core-software {}: not a Greengrass core software archive for {arch} (expected a name like {})",
                    f.display(),
                    arch.core_software_file(DEFAULT_VERSION)
                ))
            })?;
            if !f.is_file() {
                return Err(BundleError::CoreSoftwareMissing {
                    wanted: f.display().to_string(),
                    searched: Vec::new(),
                });
            }
            (f.to_path_buf(), version)
        }
        None => find_in(arch, dirs)?,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (sha256, verification) = match sha256 {
        Some(s) => (parse_sha256(s)?, Verification::CommandLine),
        None => match PINNED.iter().find(|p| p.file == name) {
            Some(p) => (
                p.sha256.to_string(),
                Verification::PinnedTable {
                    source: p.source.to_string(),
                },
            ),
            None => return Err(BundleError::CoreSoftwareNotPinned { file: name }),
        },
    };
    Ok(CoreSoftware {
        path,
        version,
        sha256,
        verification,
    })
}

fn find_in(arch: Arch, dirs: &[PathBuf]) -> Result<(PathBuf, String), BundleError> {
    for dir in dirs {
        let Ok(read) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut found: Vec<(String, PathBuf)> = read
            .flatten()
            .filter(|e| e.path().is_file())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                version_of(arch, &name).map(|v| (v, e.path()))
            })
            .collect();
        if found.is_empty() {
            continue;
        }
        let pick = found
            .iter()
            .position(|(v, _)| v == DEFAULT_VERSION)
            .unwrap_or_else(|| {
                found.sort_by_key(|(v, _)| version_key(v));
                found.len() - 1
            });
        let (v, p) = found.swap_remove(pick);
        return Ok((p, v));
    }
    Err(BundleError::CoreSoftwareMissing {
        wanted: arch.core_software_file(DEFAULT_VERSION),
        searched: dirs.iter().map(|d| d.display().to_string()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_names_of_the_right_architecture() {
        assert_eq!(
            version_of(Arch::X86_64, "greengrass-linux-x86-64-1.11.6.tar.gz").as_deref(),
            Some("1.11.6")
        );
        assert_eq!(
            version_of(Arch::X86_64, "greengrass-linux-aarch64-1.11.6.tar.gz"),
            None
        );
        assert_eq!(
            version_of(Arch::Armv8, "greengrass-linux-aarch64-1.11.6.tar.gz").as_deref(),
            Some("1.11.6")
        );
        assert_eq!(
            version_of(Arch::Armv8, "greengrass-linux-aarch64-x.tar.gz"),
            None
        );
    }

    #[test]
    fn pinned_entries_are_well_formed_core_file_names() {
        for p in PINNED {
            assert!(parse_sha256(p.sha256).is_ok(), "{}", p.file);
            assert!(
                Arch::all().iter().any(|a| version_of(*a, p.file).is_some()),
                "{}",
                p.file
            );
            assert!(p.source.contains("not confirmed by AWS"));
        }
    }

    #[test]
    fn resolution_from_a_cache_folder_and_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("greengrass-linux-aarch64-1.11.6.tar.gz");
        let b = dir.path().join("greengrass-linux-aarch64-1.11.4.tar.gz");
        std::fs::write(&a, b"a").unwrap();
        std::fs::write(&b, b"b").unwrap();
        let dirs = vec![dir.path().join("absent"), dir.path().to_path_buf()];
        let c = resolve(Arch::Armv8, None, None, &dirs).unwrap();
        assert_eq!(c.path, a);
        assert_eq!(c.version, "1.11.6");
        assert!(matches!(c.verification, Verification::PinnedTable { .. }));
        assert_eq!(c.sha256, PINNED[1].sha256);

        let err = resolve(Arch::X86_64, None, None, &dirs).unwrap_err();
        assert!(
            matches!(err, BundleError::CoreSoftwareMissing { .. }),
            "{err}"
        );
        assert!(err
            .to_string()
            .contains("greengrass-linux-x86-64-1.11.6.tar.gz"));

        let x = dir.path().join("greengrass-linux-x86-64-1.11.6.tar.gz");
        std::fs::write(&x, b"x").unwrap();
        let err = resolve(Arch::X86_64, Some(&x), None, &dirs).unwrap_err();
        assert!(
            matches!(err, BundleError::CoreSoftwareNotPinned { .. }),
            "{err}"
        );
        let sha = "AB".repeat(32);
        let c = resolve(Arch::X86_64, Some(&x), Some(&sha), &dirs).unwrap();
        assert_eq!(c.sha256, "ab".repeat(32));
        assert_eq!(c.verification, Verification::CommandLine);
        assert!(resolve(Arch::X86_64, Some(&x), Some("abc"), &dirs).is_err());
        assert!(resolve(Arch::Armv7lRaspbian, Some(&x), Some(&sha), &dirs).is_err());
    }
}
