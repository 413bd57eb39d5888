//! The plan's Greengrass definition contents (JSON with the API's field names) as SDK values.
//!
//! Strict on purpose: a key the plan writes but this file does not know is an error, so `plan`
//! can never show something that `deploy` would silently drop.

use aws_sdk_greengrass::types as gg;
use serde_json::Value;

use crate::provision::json::{bad, Obj, R};

fn items<'a>(v: &'a Value, key: &str, kind: &str) -> R<&'a [Value]> {
    let o = Obj::new(kind, v, &[key, "DefaultConfig"])?;
    o.list(key)
}

pub fn cores(v: &Value) -> R<Vec<gg::Core>> {
    items(v, "Cores", "Cores")?
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let o = Obj::new(
                &format!("Cores[{i}]"),
                c,
                &["Id", "CertificateArn", "ThingArn", "SyncShadow"],
            )?;
            Ok(gg::Core::builder()
                .id(o.req_str("Id")?)
                .certificate_arn(o.req_str("CertificateArn")?)
                .thing_arn(o.req_str("ThingArn")?)
                .set_sync_shadow(o.bool("SyncShadow")?)
                .build())
        })
        .collect()
}

fn run_as(o: &Obj) -> R<Option<gg::FunctionRunAsConfig>> {
    match o.get("RunAs") {
        None => Ok(None),
        Some(v) => {
            let r = Obj::new(&o.at("RunAs"), v, &["Uid", "Gid"])?;
            Ok(Some(
                gg::FunctionRunAsConfig::builder()
                    .set_uid(r.int("Uid")?)
                    .set_gid(r.int("Gid")?)
                    .build(),
            ))
        }
    }
}

fn isolation(o: &Obj) -> R<Option<gg::FunctionIsolationMode>> {
    Ok(o.str("IsolationMode")?
        .map(|s| gg::FunctionIsolationMode::from(s.as_str())))
}

pub fn default_config(v: &Value) -> R<Option<gg::FunctionDefaultConfig>> {
    let top = Obj::new("Functions", v, &["Functions", "DefaultConfig"])?;
    let Some(dc) = top.get("DefaultConfig") else {
        return Ok(None);
    };
    let dc = Obj::new("DefaultConfig", dc, &["Execution"])?;
    let execution = match dc.get("Execution") {
        None => None,
        Some(e) => {
            let e = Obj::new("DefaultConfig.Execution", e, &["IsolationMode", "RunAs"])?;
            Some(
                gg::FunctionDefaultExecutionConfig::builder()
                    .set_isolation_mode(isolation(&e)?)
                    .set_run_as(run_as(&e)?)
                    .build(),
            )
        }
    };
    Ok(Some(
        gg::FunctionDefaultConfig::builder()
            .set_execution(execution)
            .build(),
    ))
}

pub fn functions(v: &Value) -> R<Vec<gg::Function>> {
    items(v, "Functions", "Functions")?
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let p = format!("Functions[{i}]");
            let o = Obj::new(&p, f, &["Id", "FunctionArn", "FunctionConfiguration"])?;
            let config = match o.get("FunctionConfiguration") {
                None => None,
                Some(c) => Some(function_configuration(&o.at("FunctionConfiguration"), c)?),
            };
            Ok(gg::Function::builder()
                .id(o.req_str("Id")?)
                .function_arn(o.req_str("FunctionArn")?)
                .set_function_configuration(config)
                .build())
        })
        .collect()
}

fn function_configuration(path: &str, v: &Value) -> R<gg::FunctionConfiguration> {
    let o = Obj::new(
        path,
        v,
        &[
            "EncodingType",
            "Environment",
            "ExecArgs",
            "Executable",
            "MemorySize",
            "Pinned",
            "Timeout",
            "FunctionRuntimeOverride",
        ],
    )?;
    let environment = match o.get("Environment") {
        None => None,
        Some(e) => {
            let e = Obj::new(
                &o.at("Environment"),
                e,
                &[
                    "AccessSysfs",
                    "Execution",
                    "ResourceAccessPolicies",
                    "Variables",
                ],
            )?;
            let execution = match e.get("Execution") {
                None => None,
                Some(x) => {
                    let x = Obj::new(&e.at("Execution"), x, &["IsolationMode", "RunAs"])?;
                    Some(
                        gg::FunctionExecutionConfig::builder()
                            .set_isolation_mode(isolation(&x)?)
                            .set_run_as(run_as(&x)?)
                            .build(),
                    )
                }
            };
            let policies = e
                .list("ResourceAccessPolicies")?
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let p = Obj::new(
                        &format!("{}[{i}]", e.at("ResourceAccessPolicies")),
                        p,
                        &["ResourceId", "Permission"],
                    )?;
                    Ok(gg::ResourceAccessPolicy::builder()
                        .resource_id(p.req_str("ResourceId")?)
                        .set_permission(
                            p.str("Permission")?
                                .map(|s| gg::Permission::from(s.as_str())),
                        )
                        .build())
                })
                .collect::<R<Vec<_>>>()?;
            Some(
                gg::FunctionConfigurationEnvironment::builder()
                    .set_access_sysfs(e.bool("AccessSysfs")?)
                    .set_execution(execution)
                    .set_resource_access_policies((!policies.is_empty()).then_some(policies))
                    .set_variables(e.string_map("Variables")?)
                    .build(),
            )
        }
    };
    Ok(gg::FunctionConfiguration::builder()
        .set_encoding_type(
            o.str("EncodingType")?
                .map(|s| gg::EncodingType::from(s.as_str())),
        )
        .set_environment(environment)
        .set_exec_args(o.str("ExecArgs")?)
        .set_executable(o.str("Executable")?)
        .set_memory_size(o.int("MemorySize")?)
        .set_pinned(o.bool("Pinned")?)
        .set_timeout(o.int("Timeout")?)
        .set_function_runtime_override(o.str("FunctionRuntimeOverride")?)
        .build())
}

pub fn subscriptions(v: &Value) -> R<Vec<gg::Subscription>> {
    items(v, "Subscriptions", "Subscriptions")?
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let o = Obj::new(
                &format!("Subscriptions[{i}]"),
                s,
                &["Id", "Source", "Subject", "Target"],
            )?;
            Ok(gg::Subscription::builder()
                .id(o.req_str("Id")?)
                .source(o.req_str("Source")?)
                .subject(o.req_str("Subject")?)
                .target(o.req_str("Target")?)
                .build())
        })
        .collect()
}

fn group_owner(o: &Obj) -> R<Option<gg::GroupOwnerSetting>> {
    match o.get("GroupOwnerSetting") {
        None => Ok(None),
        Some(g) => {
            let g = Obj::new(
                &o.at("GroupOwnerSetting"),
                g,
                &["AutoAddGroupOwner", "GroupOwner"],
            )?;
            Ok(Some(
                gg::GroupOwnerSetting::builder()
                    .set_auto_add_group_owner(g.bool("AutoAddGroupOwner")?)
                    .set_group_owner(g.str("GroupOwner")?)
                    .build(),
            ))
        }
    }
}

fn owner_setting(o: &Obj) -> R<Option<gg::ResourceDownloadOwnerSetting>> {
    match o.get("OwnerSetting") {
        None => Ok(None),
        Some(g) => {
            let g = Obj::new(&o.at("OwnerSetting"), g, &["GroupOwner", "GroupPermission"])?;
            Ok(Some(
                gg::ResourceDownloadOwnerSetting::builder()
                    .set_group_owner(g.str("GroupOwner")?)
                    .set_group_permission(
                        g.str("GroupPermission")?
                            .map(|s| gg::Permission::from(s.as_str())),
                    )
                    .build(),
            ))
        }
    }
}

pub fn resources(v: &Value) -> R<Vec<gg::Resource>> {
    items(v, "Resources", "Resources")?
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let p = format!("Resources[{i}]");
            let o = Obj::new(&p, r, &["Id", "Name", "ResourceDataContainer"])?;
            let c = o
                .get("ResourceDataContainer")
                .ok_or_else(|| bad(&o.at("ResourceDataContainer"), "no value"))?;
            let c = Obj::new(
                &o.at("ResourceDataContainer"),
                c,
                &[
                    "LocalDeviceResourceData",
                    "LocalVolumeResourceData",
                    "S3MachineLearningModelResourceData",
                    "SageMakerMachineLearningModelResourceData",
                    "SecretsManagerSecretResourceData",
                ],
            )?;
            let mut b = gg::ResourceDataContainer::builder();
            if let Some(d) = c.get("LocalDeviceResourceData") {
                let d = Obj::new(
                    &c.at("LocalDeviceResourceData"),
                    d,
                    &["SourcePath", "GroupOwnerSetting"],
                )?;
                b = b.local_device_resource_data(
                    gg::LocalDeviceResourceData::builder()
                        .source_path(d.req_str("SourcePath")?)
                        .set_group_owner_setting(group_owner(&d)?)
                        .build(),
                );
            }
            if let Some(d) = c.get("LocalVolumeResourceData") {
                let d = Obj::new(
                    &c.at("LocalVolumeResourceData"),
                    d,
                    &["SourcePath", "DestinationPath", "GroupOwnerSetting"],
                )?;
                b = b.local_volume_resource_data(
                    gg::LocalVolumeResourceData::builder()
                        .source_path(d.req_str("SourcePath")?)
                        .destination_path(d.req_str("DestinationPath")?)
                        .set_group_owner_setting(group_owner(&d)?)
                        .build(),
                );
            }
            if let Some(d) = c.get("S3MachineLearningModelResourceData") {
                let d = Obj::new(
                    &c.at("S3MachineLearningModelResourceData"),
                    d,
                    &["DestinationPath", "S3Uri", "OwnerSetting"],
                )?;
                b = b.s3_machine_learning_model_resource_data(
                    gg::S3MachineLearningModelResourceData::builder()
                        .destination_path(d.req_str("DestinationPath")?)
                        .s3_uri(d.req_str("S3Uri")?)
                        .set_owner_setting(owner_setting(&d)?)
                        .build(),
                );
            }
            if let Some(d) = c.get("SageMakerMachineLearningModelResourceData") {
                let d = Obj::new(
                    &c.at("SageMakerMachineLearningModelResourceData"),
                    d,
                    &["DestinationPath", "SageMakerJobArn", "OwnerSetting"],
                )?;
                b = b.sage_maker_machine_learning_model_resource_data(
                    gg::SageMakerMachineLearningModelResourceData::builder()
                        .destination_path(d.req_str("DestinationPath")?)
                        .sage_maker_job_arn(d.req_str("SageMakerJobArn")?)
                        .set_owner_setting(owner_setting(&d)?)
                        .build(),
                );
            }
            if let Some(d) = c.get("SecretsManagerSecretResourceData") {
                let d = Obj::new(
                    &c.at("SecretsManagerSecretResourceData"),
                    d,
                    &["ARN", "AdditionalStagingLabelsToDownload"],
                )?;
                let labels: Vec<String> = d
                    .list("AdditionalStagingLabelsToDownload")?
                    .iter()
                    .map(|l| {
                        l.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| bad(&d.path, "a label that is not a string"))
                    })
                    .collect::<R<_>>()?;
                b = b.secrets_manager_secret_resource_data(
                    gg::SecretsManagerSecretResourceData::builder()
                        .arn(d.req_str("ARN")?)
                        .set_additional_staging_labels_to_download(
                            (!labels.is_empty()).then_some(labels),
                        )
                        .build(),
                );
            }
            Ok(gg::Resource::builder()
                .id(o.req_str("Id")?)
                .name(o.req_str("Name")?)
                .resource_data_container(b.build())
                .build())
        })
        .collect()
}

pub fn loggers(v: &Value) -> R<Vec<gg::Logger>> {
    items(v, "Loggers", "Loggers")?
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let o = Obj::new(
                &format!("Loggers[{i}]"),
                l,
                &["Id", "Component", "Level", "Type", "Space"],
            )?;
            Ok(gg::Logger::builder()
                .id(o.req_str("Id")?)
                .component(gg::LoggerComponent::from(o.req_str("Component")?.as_str()))
                .level(gg::LoggerLevel::from(o.req_str("Level")?.as_str()))
                .r#type(gg::LoggerType::from(o.req_str("Type")?.as_str()))
                .set_space(o.int("Space")?)
                .build())
        })
        .collect()
}

pub fn connectors(v: &Value) -> R<Vec<gg::Connector>> {
    items(v, "Connectors", "Connectors")?
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let o = Obj::new(
                &format!("Connectors[{i}]"),
                c,
                &["Id", "ConnectorArn", "Parameters"],
            )?;
            Ok(gg::Connector::builder()
                .id(o.req_str("Id")?)
                .connector_arn(o.req_str("ConnectorArn")?)
                .set_parameters(o.string_map("Parameters")?)
                .build())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_keys_are_refused() {
        let ok = json!({"Loggers": [{"Id": "a", "Component": "Lambda", "Level": "INFO", "Type": "FileSystem", "Space": 10}]});
        assert_eq!(loggers(&ok).unwrap().len(), 1);
        let bad = json!({"Loggers": [{"Id": "a", "Component": "Lambda", "Level": "INFO", "Type": "FileSystem", "Spaec": 10}]});
        assert!(loggers(&bad).unwrap_err().to_string().contains("Spaec"));
    }

    #[test]
    fn function_configuration_is_complete() {
        let v = json!({"DefaultConfig": {"Execution": {"IsolationMode": "NoContainer"}},
            "Functions": [{"Id": "f", "FunctionArn": "arn:aws:lambda:r:1:function:g-f:live",
              "FunctionConfiguration": {"EncodingType": "json", "Pinned": true, "Timeout": 3, "MemorySize": 1024,
                "Environment": {"AccessSysfs": false, "Execution": {"IsolationMode": "GreengrassContainer", "RunAs": {"Uid": 1, "Gid": 2}},
                  "ResourceAccessPolicies": [{"ResourceId": "r", "Permission": "rw"}], "Variables": {"A": "b"}}}}]});
        let f = functions(&v).unwrap();
        let c = f[0].function_configuration().unwrap();
        assert_eq!(c.memory_size(), Some(1024));
        let e = c.environment().unwrap();
        assert_eq!(e.execution().unwrap().run_as().unwrap().gid(), Some(2));
        assert_eq!(e.resource_access_policies()[0].resource_id(), Some("r"));
        assert_eq!(e.variables().unwrap()["A"], "b");
        let dc = default_config(&v).unwrap().unwrap();
        assert_eq!(
            dc.execution().unwrap().isolation_mode(),
            Some(&gg::FunctionIsolationMode::NoContainer)
        );
    }
}
