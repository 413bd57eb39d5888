//! `ggp bundle`: what a bundle needs from an earlier provisioning run, read from the group's state
//! (`<project>/.ggp/<group>/`, [`crate::provision::state`]: `state.json`, `core.pem`, `core.key`)
//! and from the account (the two DescribeEndpoint calls, read-only).
//!
//! The state format is provisioning's; this module only reads it. Not for: making or changing
//! anything in AWS.

use std::path::Path;

use super::{BundleError, Secret};
use crate::provision::state::{CertOrigin, StateStore};

/// A provisioned core, as stored.
#[derive(Debug, Clone)]
pub struct Stored {
    pub thing_name: String,
    pub thing_arn: String,
    /// From the thing ARN.
    pub region: String,
    pub certificate_pem: String,
    pub certificate_arn: String,
    /// `None` when the certificate came from a CSR or `--certificate-arn` (the key is on the device).
    pub private_key_pem: Option<Secret>,
    pub group_id: Option<String>,
    pub role_alias: Option<String>,
    /// Greengrass V2: the thing group the core is deployed through.
    pub thing_group_arn: Option<String>,
    /// The data and credential endpoints recorded by the deploy (older states have none).
    pub endpoints: Option<(String, String)>,
}

fn missing(path: &Path, what: &str) -> BundleError {
    BundleError::State(format!("{}: {what}", path.display()))
}

/// Reads the state of `group` under `project_root` (its default place, `.ggp/<group>`).
pub fn load(project_root: &Path, group: &str) -> Result<Stored, BundleError> {
    load_dir(&StateStore::default_dir(project_root, group), group)
}

/// Reads the state of `group` kept in `dir` (`--state-dir`).
pub fn load_dir(dir: &Path, group: &str) -> Result<Stored, BundleError> {
    let store = StateStore::new(dir);
    if !store.state_path().is_file() {
        return Err(missing(
            &store.state_path(),
            &format!("no provisioning state for group {group}"),
        ));
    }
    let state = store
        .load(group)
        .map_err(|e| BundleError::State(e.to_string()))?;
    let thing_arn = state
        .thing_arn
        .clone()
        .ok_or_else(|| missing(&store.state_path(), "no thing ARN recorded"))?;
    let cert = state
        .certificate
        .clone()
        .ok_or_else(|| missing(&store.state_path(), "no core certificate recorded"))?;
    let (region, thing_name) = parse_thing_arn(&thing_arn).ok_or_else(|| {
        missing(
            &store.state_path(),
            &format!("'{thing_arn}' is not an IoT thing ARN"),
        )
    })?;
    let certificate_pem = std::fs::read_to_string(store.cert_path())
        .map_err(|e| missing(&store.cert_path(), &format!("the core certificate: {e}")))?;
    let private_key_pem = match cert.origin {
        CertOrigin::Created | CertOrigin::Adopted => Some(Secret::new(
            std::fs::read_to_string(store.key_path())
                .map_err(|e| missing(&store.key_path(), &format!("the core's private key: {e}")))?,
        )),
        CertOrigin::Csr | CertOrigin::Given | CertOrigin::Found => None,
    };
    Ok(Stored {
        thing_name,
        thing_arn,
        region,
        certificate_pem,
        certificate_arn: cert.arn,
        private_key_pem,
        group_id: state.group_id,
        role_alias: state.role_alias,
        thing_group_arn: state.thing_group_arn,
        endpoints: state.iot_data_endpoint.zip(state.iot_credentials_endpoint),
    })
}

/// `arn:aws:iot:<region>:<account>:thing/<name>` → (region, name).
pub fn parse_thing_arn(arn: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "iot", region, _, resource] if !region.is_empty() => resource
            .strip_prefix("thing/")
            .filter(|n| !n.is_empty())
            .map(|n| (region.to_string(), n.to_string())),
        _ => None,
    }
}

/// The account's `iot:Data-ATS` and `iot:CredentialProvider` endpoints.
pub async fn endpoints(iot: &aws_sdk_iot::Client) -> Result<(String, String), BundleError> {
    let get = |kind: &'static str| {
        let iot = iot.clone();
        async move {
            let doing = format!("asking for the {kind} endpoint (DescribeEndpoint)");
            iot.describe_endpoint()
                .endpoint_type(kind)
                .send()
                .await
                .map_err(|e| {
                    BundleError::State(format!(
                        "{doing}: {}",
                        aws_smithy_types::error::display::DisplayErrorContext(&e)
                    ))
                })?
                .endpoint_address
                .ok_or_else(|| BundleError::State(format!("{doing}: the answer has no address")))
        }
    };
    let (data, credentials) = tokio::try_join!(get("iot:Data-ATS"), get("iot:CredentialProvider"))?;
    Ok((data, credentials))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision::state::{CertState, State};

    #[test]
    fn thing_arns() {
        assert_eq!(
            parse_thing_arn("arn:aws:iot:eu-west-1:123456789012:thing/g_Core"),
            Some(("eu-west-1".into(), "g_Core".into()))
        );
        assert_eq!(
            parse_thing_arn("arn:aws:iot:eu-west-1:123456789012:cert/x"),
            None
        );
        assert_eq!(parse_thing_arn("g_Core"), None);
    }

    #[test]
    fn reads_what_provisioning_stored() {
        let tmp = tempfile::tempdir().unwrap();
        let e = load(tmp.path(), "g").unwrap_err();
        assert!(
            e.to_string().contains("no provisioning state for group g"),
            "{e}"
        );
        let store = StateStore::new(StateStore::default_dir(tmp.path(), "g"));
        let mut state = State {
            group_name: "g".into(),
            group_id: Some("gid".into()),
            thing_arn: Some("arn:aws:iot:us-east-1:123456789012:thing/g_Core".into()),
            certificate: Some(CertState {
                id: "c".into(),
                arn: "arn:aws:iot:us-east-1:123456789012:cert/c".into(),
                origin: CertOrigin::Created,
                csr_sha256: None,
            }),
            role_alias: Some("g_CoreRoleAlias".into()),
            ..State::default()
        };
        store.save(&state).unwrap();
        store.save_cert("-----BEGIN CERTIFICATE-----\n").unwrap();
        let e = load(tmp.path(), "g").unwrap_err();
        assert!(e.to_string().contains("core.key"), "{e}");
        store
            .save_key(include_str!("../../tests/fixtures/placeholder-key.pem"))
            .unwrap();
        let s = load(tmp.path(), "g").unwrap();
        assert_eq!(s.thing_name, "g_Core");
        assert_eq!(s.region, "us-east-1");
        assert!(s.private_key_pem.is_some());
        state.certificate.as_mut().unwrap().origin = CertOrigin::Csr;
        store.save(&state).unwrap();
        assert!(load(tmp.path(), "g").unwrap().private_key_pem.is_none());
    }
}
