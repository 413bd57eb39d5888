//! What ggp remembers about a group between runs: ids and ARNs, the certificate, content hashes;
//! and the core's private key beside it.
//!
//! Default place: `<project>/.ggp/<group>/state.json`, with `core.key` (mode 0600) and `core.pem`
//! beside it. Every write is atomic (a temporary file in the same folder, synced, then renamed),
//! so a crash leaves the old file or the new one, never half of either.
//!
//! The state is a cache, not the truth: provisioning checks every id against the account and
//! rebuilds what is missing from what the account holds. Losing the file costs a few extra
//! reads, and the private key (which only ever lived here).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::ProvisionError;

pub const STATE_FILE: &str = "state.json";
pub const KEY_FILE: &str = "core.key";
pub const CERT_FILE: &str = "core.pem";
const FORMAT: u32 = 1;

/// Where the core certificate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CertOrigin {
    /// CreateKeysAndCertificate: ggp made it and holds the key.
    Created,
    /// CreateCertificateFromCsr: ggp made it; the key stays on the device.
    Csr,
    /// `--certificate-arn`: the user's; never deactivated or deleted by ggp.
    Given,
    /// Found attached to the thing without a local key (a lost state file).
    Found,
    /// GGP's, adopted with its key from `credentials/<group>/`: ggp holds the key, but did not
    /// make the certificate, so it never deactivates or deletes it.
    Adopted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertState {
    pub id: String,
    pub arn: String,
    pub origin: CertOrigin,
    /// sha256 of the CSR it was made from (`--csr`), so the same CSR is not signed twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csr_sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleState {
    pub name: String,
    pub arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionState {
    pub name: String,
    pub arn: String,
    pub version: String,
    pub alias: String,
    pub code_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionState {
    pub id: String,
    pub arn: String,
    pub version_arn: String,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentState {
    pub id: String,
    pub group_version_arn: String,
    pub status: String,
}

/// Everything remembered about one group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    #[serde(default)]
    pub format: u32,
    pub group_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thing_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertState>,
    /// Certificates ggp replaced (detached and deactivated); `destroy` deletes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired_certificates: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_alias: Option<String>,
    /// `core`, `lambda`, `service` → the role.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<String, RoleState>,
    /// function name (as in function.conf) → the Lambda function.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub functions: BTreeMap<String, FunctionState>,
    /// definition kind (`Core`, `Function`, …) → the definition.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub definitions: BTreeMap<String, DefinitionState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_version_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<DeploymentState>,
    /// Greengrass V2: the thing group `<group>`, the deployment target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thing_group_arn: Option<String>,
    /// The account's `iot:Data-ATS` and `iot:CredentialProvider` endpoints, so `ggp bundle`
    /// needs no AWS call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iot_data_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iot_credentials_endpoint: Option<String>,
    /// Greengrass V2: `s3://bucket/prefix` of buckets the user named (`--s3-bucket`) where ggp put
    /// the group's artifacts (ggp's own bucket is found from the account), for `destroy`.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub artifact_locations: BTreeSet<String>,
}

/// The folder holding a group's state and key.
#[derive(Debug, Clone)]
pub struct StateStore {
    dir: PathBuf,
}

impl StateStore {
    pub fn new(dir: impl Into<PathBuf>) -> StateStore {
        StateStore { dir: dir.into() }
    }

    /// `<project>/.ggp/<group>`.
    pub fn default_dir(project_root: &Path, group: &str) -> PathBuf {
        project_root.join(".ggp").join(group)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn state_path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    pub fn key_path(&self) -> PathBuf {
        self.dir.join(KEY_FILE)
    }

    pub fn cert_path(&self) -> PathBuf {
        self.dir.join(CERT_FILE)
    }

    /// The stored state, or an empty one for `group` when there is no file yet.
    pub fn load(&self, group: &str) -> Result<State, ProvisionError> {
        let path = self.state_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(State {
                    format: FORMAT,
                    group_name: group.to_string(),
                    ..State::default()
                })
            }
            Err(e) => return Err(ProvisionError::state(&path, e)),
        };
        let state: State = serde_json::from_str(&text)
            .map_err(|e| ProvisionError::state(&path, format!("not a ggp state file: {e}")))?;
        if state.group_name != group {
            return Err(ProvisionError::state(
                &path,
                format!("holds group `{}`, not `{group}`", state.group_name),
            ));
        }
        if state.format > FORMAT {
            return Err(ProvisionError::state(
                &path,
                format!(
                    "written by a newer ggp (format {}; this ggp reads {FORMAT})",
                    state.format
                ),
            ));
        }
        Ok(state)
    }

    pub fn save(&self, state: &State) -> Result<(), ProvisionError> {
        let mut s = state.clone();
        s.format = FORMAT;
        let text = serde_json::to_string_pretty(&s)
            .map_err(|e| ProvisionError::state(&self.state_path(), e))?;
        self.write_atomic(&self.state_path(), format!("{text}\n").as_bytes(), 0o644)
    }

    /// The private key, mode 0600.
    pub fn save_key(&self, pem: &str) -> Result<(), ProvisionError> {
        self.write_atomic(&self.key_path(), pem.as_bytes(), 0o600)
    }

    pub fn save_cert(&self, pem: &str) -> Result<(), ProvisionError> {
        self.write_atomic(&self.cert_path(), pem.as_bytes(), 0o644)
    }

    pub fn has_key(&self) -> bool {
        self.key_path().is_file()
    }

    /// Removes the state, key and certificate files, then the folder if it is empty.
    pub fn remove(&self) -> Result<(), ProvisionError> {
        for p in [self.state_path(), self.key_path(), self.cert_path()] {
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(ProvisionError::state(&p, e)),
            }
        }
        let _ = std::fs::remove_dir(&self.dir);
        Ok(())
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8], mode: u32) -> Result<(), ProvisionError> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|e| ProvisionError::state(&self.dir, e))?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
        let tmp = self.dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .map_err(|e| ProvisionError::state(&tmp, e))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| ProvisionError::state(&tmp, e))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| ProvisionError::state(path, e))?;
        if let Ok(d) = std::fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn round_trip_and_modes() {
        let tmp = tempfile::tempdir().unwrap();
        let store = StateStore::new(tmp.path().join(".ggp").join("g"));
        let empty = store.load("g").unwrap();
        assert_eq!(empty.group_name, "g");
        assert!(empty.group_id.is_none());
        let mut s = empty.clone();
        s.group_id = Some("id-1".into());
        s.certificate = Some(CertState {
            id: "c".into(),
            arn: "arn:c".into(),
            origin: CertOrigin::Created,
            csr_sha256: None,
        });
        store.save(&s).unwrap();
        assert_eq!(store.load("g").unwrap().group_id.as_deref(), Some("id-1"));
        store
            .save_key(include_str!("../../tests/fixtures/placeholder-key.pem"))
            .unwrap();
        let mode = std::fs::metadata(store.key_path())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = std::fs::metadata(store.dir()).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700);
        // no temporary files are left behind
        let names: Vec<String> = std::fs::read_dir(store.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
        assert!(
            store.load("other").is_err(),
            "a state file of another group is refused"
        );
        store.remove().unwrap();
        assert!(!store.dir().exists());
    }

    #[test]
    fn garbage_is_a_state_error() {
        let tmp = tempfile::tempdir().unwrap();
        let store = StateStore::new(tmp.path());
        std::fs::write(store.state_path(), "{not json").unwrap();
        let e = store.load("g").unwrap_err();
        assert_eq!(e.exit_code(), super::super::error::code::PROVISION_STATE);
    }
}

/// GGP's credentials of a group: `credentials/<group>/core.pem` and `core.key`, the files GGP
/// wrote next to its project (`BasicIotHelper`), world-readable. ggp adopts them on a first run when
/// the certificate is the core's (see `iot::adopt`), and from then keeps its own 0600 copy.
#[derive(Clone)]
pub struct GgpCredentials {
    pub dir: PathBuf,
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for GgpCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgpCredentials")
            .field("dir", &self.dir)
            .field("key_pem", &"<secret>")
            .finish()
    }
}

impl GgpCredentials {
    /// The credentials in `dir`, when it holds both `core.pem` and `core.key`.
    pub fn read(dir: &Path) -> Result<Option<GgpCredentials>, ProvisionError> {
        let (cert, key) = (dir.join("core.pem"), dir.join("core.key"));
        if !cert.is_file() || !key.is_file() {
            return Ok(None);
        }
        let read = |p: &Path| {
            std::fs::read_to_string(p)
                .map_err(|e| ProvisionError::Input(format!("{}: {e}", p.display())))
        };
        Ok(Some(GgpCredentials {
            dir: dir.to_path_buf(),
            cert_pem: read(&cert)?,
            key_pem: read(&key)?,
        }))
    }

    /// The AWS IoT certificate id of `core.pem`: the hex SHA-256 of its DER encoding.
    pub fn certificate_id(&self) -> Result<String, ProvisionError> {
        use sha2::{Digest, Sha256};
        let body: String = self
            .cert_pem
            .lines()
            .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
            .skip(1)
            .take_while(|l| !l.starts_with("-----END CERTIFICATE"))
            .collect();
        let der = aws_smithy_types::base64::decode(body.trim()).map_err(|e| {
            ProvisionError::Input(format!(
                "{}: not a PEM certificate: {e}",
                self.dir.join("core.pem").display()
            ))
        })?;
        if der.is_empty() {
            return Err(ProvisionError::Input(format!(
                "{}: no certificate in it",
                self.dir.join("core.pem").display()
            )));
        }
        Ok(Sha256::digest(&der)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect())
    }
}
