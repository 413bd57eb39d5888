//! The Greengrass V1 group's other definitions: the core, the subscriptions (one per route), the
//! resources, the loggers and the connectors. API field names, so the JSON is what the
//! Create*DefinitionVersion calls receive.

use serde_json::{json, Value};

use crate::config::model::sanitize_id;
use crate::config::LoggerType;
use crate::model::{routes, CertificateSource, Desired, Known, ResourceKind};

/// The core certificate's ARN: `--certificate-arn`'s, else unknown until provisioning makes or
/// finds the certificate.
pub fn certificate_arn(desired: &Desired) -> Known<String> {
    match &desired.core.certificate {
        CertificateSource::ExistingArn { arn } => Known::Is(arn.clone()),
        _ => Known::unknown("CERTIFICATE_ARN"),
    }
}

/// The core definition; the certificate ARN is a placeholder until the certificate exists.
pub fn core_definition(desired: &Desired) -> Value {
    let c = &desired.core;
    json!({"Cores": [{"Id": sanitize_id(&c.thing_name), "CertificateArn": certificate_arn(desired).render(), "ThingArn": c.thing_arn, "SyncShadow": c.sync_shadow}]})
}

/// One subscription per route, sources and targets by their V1 names (`cloud`,
/// `GGShadowService`, alias ARNs).
pub fn subscription_definition(desired: &Desired) -> Value {
    let arns = desired.alias_arns();
    let subscriptions: Vec<Value> = desired
        .routes
        .iter()
        .map(|r| {
            json!({"Id": r.id, "Source": routes::address(&r.source, &arns), "Subject": r.topic, "Target": routes::address(&r.target, &arns)})
        })
        .collect();
    json!({ "Subscriptions": subscriptions })
}

pub fn resource_definition(desired: &Desired) -> Value {
    let owner = json!({"AutoAddGroupOwner": true});
    let resources: Vec<Value> = desired
        .resources
        .iter()
        .map(|r| {
            let data = match &r.kind {
                ResourceKind::Device { path } => {
                    json!({"LocalDeviceResourceData": {"SourcePath": path, "GroupOwnerSetting": owner}})
                }
                ResourceKind::Volume {
                    source_path,
                    destination_path,
                } => {
                    json!({"LocalVolumeResourceData": {"SourcePath": source_path, "DestinationPath": destination_path, "GroupOwnerSetting": owner}})
                }
                ResourceKind::S3Model { uri, path } => {
                    json!({"S3MachineLearningModelResourceData": {"DestinationPath": path, "S3Uri": uri}})
                }
                ResourceKind::SageMakerModel { arn, path } => {
                    json!({"SageMakerMachineLearningModelResourceData": {"DestinationPath": path, "SageMakerJobArn": arn}})
                }
                ResourceKind::Secret { arn } => {
                    json!({"SecretsManagerSecretResourceData": {"ARN": arn}})
                }
            };
            json!({"Id": r.id, "Name": r.id, "ResourceDataContainer": data})
        })
        .collect();
    json!({ "Resources": resources })
}

pub fn logger_definition(desired: &Desired) -> Value {
    let loggers: Vec<Value> = desired
        .loggers
        .iter()
        .map(|l| {
            let component = serde_json::to_value(l.component).unwrap_or_default();
            let level = serde_json::to_value(l.logger_level).unwrap_or_default();
            let ty = serde_json::to_value(l.logger_type).unwrap_or_default();
            let id = format!(
                "{}-{}-{}",
                component.as_str().unwrap_or(""),
                ty.as_str().unwrap_or(""),
                level.as_str().unwrap_or("")
            );
            let mut v = json!({"Id": id, "Component": component, "Level": level, "Type": ty});
            if l.logger_type == LoggerType::FileSystem {
                v["Space"] = json!(l.space);
            }
            v
        })
        .collect();
    json!({ "Loggers": loggers })
}

/// `None` when the group has no connectors.
pub fn connector_definition(desired: &Desired) -> Option<Value> {
    (!desired.connectors.is_empty()).then(|| {
        json!({"Connectors": desired.connectors.iter().map(|c| json!({"Id": c.id, "ConnectorArn": c.connector_arn, "Parameters": c.parameters})).collect::<Vec<_>>()})
    })
}
