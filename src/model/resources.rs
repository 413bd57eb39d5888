//! The group's local resources (devices, volumes, machine-learning models, secrets) and which
//! function may use which. Greengrass V1 makes them a resource definition; Greengrass V2 makes
//! devices and volumes container parameters of Lambda components and secrets SecretManager's.

use std::collections::BTreeMap;

use crate::config::model::sanitize_id;
use crate::config::Project;

/// What a resource is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceKind {
    Device {
        path: String,
    },
    Volume {
        source_path: String,
        destination_path: String,
    },
    S3Model {
        uri: String,
        path: String,
    },
    SageMakerModel {
        arn: String,
        path: String,
    },
    Secret {
        arn: String,
    },
}

/// A local resource of the group, named by an id derived from its path (as GGP did).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub id: String,
    pub kind: ResourceKind,
}

/// A function's use of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub resource_id: String,
    pub read_write: bool,
}

/// Whether the secret ARN `arn` ends in the 6-character random suffix Secrets Manager gives each
/// secret (`name-AbC123`); an ARN built from a name has none.
pub fn secret_has_suffix(arn: &str) -> bool {
    let name = arn.rsplit(":secret:").next().unwrap_or("");
    name.rsplit_once('-')
        .is_some_and(|(_, s)| s.len() == 6 && s.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Greengrass resource names: `[^a-zA-Z0-9:_-]` → `-`, as GGP derived them from paths.
fn resource_id(prefix: &str, path: &str) -> String {
    sanitize_id(&format!("{prefix}{}", path.trim_start_matches('/')))
}

/// A secret's ARN: as configured when it is one, else built from its name.
pub fn secret_arn(region: &str, account: &str, secret: &str) -> String {
    if secret.starts_with("arn:") {
        secret.to_string()
    } else {
        format!(
            "{}:secret:{secret}",
            super::arn::prefix("secretsmanager", region, account)
        )
    }
}

/// The group's resources (sorted by id, the first configuration of an id wins) and each
/// function's access to them. Devices, volumes and models are only reachable from a container:
/// functions outside one get only their secrets.
pub(super) fn build(
    project: &Project,
    region: &str,
    account: &str,
) -> (Vec<Resource>, BTreeMap<String, Vec<Access>>) {
    let mut resources: BTreeMap<String, ResourceKind> = BTreeMap::new();
    let mut access: BTreeMap<String, Vec<Access>> = BTreeMap::new();
    for f in &project.functions {
        let acc = access.entry(f.function_name.clone()).or_default();
        let mut add = |id: String, kind: ResourceKind, read_write: bool| {
            resources.entry(id.clone()).or_insert(kind);
            acc.push(Access {
                resource_id: id,
                read_write,
            });
        };
        if f.greengrass_container {
            for dv in &f.local_device_resources {
                let kind = ResourceKind::Device {
                    path: dv.path.clone(),
                };
                add(resource_id("device-", &dv.path), kind, dv.read_write);
            }
            for v in &f.local_volume_resources {
                let kind = ResourceKind::Volume {
                    source_path: v.source_path.clone(),
                    destination_path: v.destination_path.clone(),
                };
                add(resource_id("volume-", &v.source_path), kind, v.read_write);
            }
            for s in &f.local_s3_resources {
                let kind = ResourceKind::S3Model {
                    uri: s.uri.clone(),
                    path: s.path.clone(),
                };
                add(resource_id("s3-", &s.path), kind, false);
            }
            for s in &f.local_sage_maker_resources {
                let kind = ResourceKind::SageMakerModel {
                    arn: s.arn.clone(),
                    path: s.path.clone(),
                };
                add(resource_id("sagemaker-", &s.path), kind, false);
            }
        }
        for secret in &f.local_secrets_manager_resources {
            let name = secret.rsplit(':').next().unwrap_or(secret);
            let kind = ResourceKind::Secret {
                arn: secret_arn(region, account, secret),
            };
            add(resource_id("secret-", name), kind, false);
        }
    }
    let resources = resources
        .into_iter()
        .map(|(id, kind)| Resource { id, kind })
        .collect();
    (resources, access)
}
