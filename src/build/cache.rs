//! The package cache: one folder per input hash, so a rebuild with no change does no Docker work at all.
//!
//! An entry is `<dir>/<key>/` with `package.zip`, `entry.json` and `complete` (the zip's sha256), written in
//! a `.tmp-…` folder and renamed into place, with `complete` written last. A folder without `complete`, or
//! whose zip does not hash to it, is never used (and is removed). Leftover `.tmp-…` folders of processes that
//! are gone are removed when the cache is opened.
//!
//! The key (see `build::input_key`) names the builder image by reference, not by id: reading an id needs the
//! engine, and a cache hit must not. The id the package was built from is recorded in `entry.json`; a builder
//! image rebuilt under the same tag is picked up by `--no-cache` or by giving it a new tag (the bench tags its
//! images with their recipe hash and exports them as GGP_BUILDER_IMAGE_<ARCH>).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::package::hex;

/// What an entry records besides the zip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryMeta {
    pub function: String,
    pub arch: String,
    pub sha256: String,
    pub size: u64,
    /// The image built (`ggp/<function>:<arch>-<hash>`).
    pub image: String,
    pub image_id: String,
    pub builder_image: String,
    pub builder_image_id: String,
    /// Which recipe produced it (`cross-platform wheels`, …).
    pub recipe: String,
    pub ggp_version: String,
    #[serde(default)]
    pub warnings: Vec<String>,
}

pub struct Cache {
    dir: PathBuf,
}

/// A usable entry.
#[derive(Debug, Clone)]
pub struct Hit {
    pub zip: PathBuf,
    pub meta: EntryMeta,
}

impl Cache {
    /// Opens (without creating) the cache at `dir` and removes what crashed runs left.
    pub fn open(dir: impl Into<PathBuf>) -> Cache {
        let c = Cache { dir: dir.into() };
        c.remove_stale_tmp();
        c
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn remove_stale_tmp(&self) {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let Some(rest) = name
                .strip_prefix(".tmp-")
                .or_else(|| name.strip_prefix(".old-"))
            else {
                continue;
            };
            let pid: Option<u32> = rest.split('-').next().and_then(|p| p.parse().ok());
            let alive = pid.is_some_and(|p| Path::new(&format!("/proc/{p}")).exists());
            if !alive {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }

    /// The entry for `key`, if it is complete and its zip is intact.
    pub fn lookup(&self, key: &str) -> Option<Hit> {
        let dir = self.dir.join(key);
        let complete = std::fs::read_to_string(dir.join("complete")).ok()?;
        let valid = (|| {
            let meta: EntryMeta =
                serde_json::from_slice(&std::fs::read(dir.join("entry.json")).ok()?).ok()?;
            let zip = dir.join("package.zip");
            let bytes = std::fs::read(&zip).ok()?;
            let sha = hex(&Sha256::digest(&bytes));
            (sha == complete.trim() && sha == meta.sha256).then_some(Hit { zip, meta })
        })();
        if valid.is_none() {
            tracing::warn!("cache entry {} is damaged; rebuilding it", dir.display());
            let _ = std::fs::remove_dir_all(&dir);
        }
        valid
    }

    /// Stores a finished package under `key`; returns the path of its zip.
    pub fn store(&self, key: &str, zip: &[u8], meta: &EntryMeta) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&self.dir)?;
        let unique = format!(
            "{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        let tmp = self.dir.join(format!(".tmp-{unique}-{key}"));
        std::fs::create_dir_all(&tmp)?;
        let write = || -> std::io::Result<()> {
            std::fs::write(tmp.join("package.zip"), zip)?;
            std::fs::write(
                tmp.join("entry.json"),
                serde_json::to_vec_pretty(meta).map_err(std::io::Error::other)?,
            )?;
            std::fs::write(tmp.join("complete"), format!("{}\n", meta.sha256))?;
            let dest = self.dir.join(key);
            if dest.exists() {
                let old = self.dir.join(format!(".old-{unique}-{key}"));
                std::fs::rename(&dest, &old)?;
                let _ = std::fs::remove_dir_all(&old);
            }
            std::fs::rename(&tmp, &dest)
        };
        let result = write();
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        result.map(|()| self.dir.join(key).join("package.zip"))
    }

    /// Removes the entry for `key` (used by `--no-cache` before rebuilding).
    pub fn remove(&self, key: &str) {
        let _ = std::fs::remove_dir_all(self.dir.join(key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(zip: &[u8]) -> EntryMeta {
        EntryMeta {
            function: "F".into(),
            arch: "ARM64".into(),
            sha256: hex(&Sha256::digest(zip)),
            size: zip.len() as u64,
            image: "ggp/f:arm64-0123".into(),
            image_id: "sha256:1".into(),
            builder_image: "ggp/builder:bookworm-arm64".into(),
            builder_image_id: "sha256:2".into(),
            recipe: "test".into(),
            ggp_version: "0".into(),
            warnings: vec![],
        }
    }

    #[test]
    fn stored_entries_are_found_and_damaged_ones_never_used() {
        let d = tempfile::tempdir().unwrap();
        let c = Cache::open(d.path().join("cache"));
        assert!(c.lookup("k").is_none());
        let zip = b"PK fake zip".to_vec();
        let path = c.store("k", &zip, &meta(&zip)).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), zip);
        assert_eq!(c.lookup("k").unwrap().meta.size, zip.len() as u64);
        // damaged zip: not used, and removed
        std::fs::write(&path, b"PK other").unwrap();
        assert!(c.lookup("k").is_none());
        assert!(!d.path().join("cache/k").exists());
    }

    #[test]
    fn an_entry_without_its_complete_marker_is_never_used() {
        let d = tempfile::tempdir().unwrap();
        let c = Cache::open(d.path());
        let zip = b"PK".to_vec();
        c.store("k", &zip, &meta(&zip)).unwrap();
        std::fs::remove_file(d.path().join("k/complete")).unwrap();
        assert!(c.lookup("k").is_none());
    }

    #[test]
    fn leftovers_of_dead_processes_are_removed_on_open() {
        let d = tempfile::tempdir().unwrap();
        // pid 0 is never a process folder in /proc
        let stale = d.path().join(".tmp-0-1-k");
        std::fs::create_dir_all(&stale).unwrap();
        std::fs::write(stale.join("package.zip"), b"half").unwrap();
        let live = d.path().join(format!(".tmp-{}-1-k", std::process::id()));
        std::fs::create_dir_all(&live).unwrap();
        let c = Cache::open(d.path());
        assert!(!stale.exists());
        assert!(live.exists(), "a running process's temporary folder stays");
        assert!(c.lookup("k").is_none());
    }

    #[test]
    fn storing_again_replaces_the_entry() {
        let d = tempfile::tempdir().unwrap();
        let c = Cache::open(d.path());
        let a = b"PK a".to_vec();
        let b = b"PK bb".to_vec();
        c.store("k", &a, &meta(&a)).unwrap();
        c.store("k", &b, &meta(&b)).unwrap();
        assert_eq!(c.lookup("k").unwrap().meta.size, 5);
        let names: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }
}
