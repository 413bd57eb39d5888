//! The V2 plan's request contents (JSON with the Greengrass V2 API's field names) as SDK values:
//! `CreateComponentVersion.lambdaFunction` and the components and policies of `CreateDeployment`.
//!
//! Strict like `target::v1::convert` ([`crate::provision::json`]): a key the plan writes but this file does not know is an error,
//! so `plan` never shows something `deploy` would silently drop. Hand-written because the SDK's
//! types have no serde support.

use std::collections::HashMap;

use aws_sdk_greengrassv2::types as v2;
use serde_json::Value;

use crate::provision::json::{bad, Obj, R};

fn built<T>(r: Result<T, aws_smithy_types::error::operation::BuildError>, path: &str) -> R<T> {
    r.map_err(|e| bad(path, &format!("an incomplete value ({e})")))
}

/// `lambdaFunction` of `CreateComponentVersion`.
pub fn lambda_function(v: &Value) -> R<v2::LambdaFunctionRecipeSource> {
    let o = Obj::new(
        "lambdaFunction",
        v,
        &[
            "lambdaArn",
            "componentName",
            "componentVersion",
            "componentPlatforms",
            "componentDependencies",
            "componentLambdaParameters",
        ],
    )?;
    let platforms = o
        .list("componentPlatforms")?
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let p = Obj::new(
                &format!("componentPlatforms[{i}]"),
                p,
                &["name", "attributes"],
            )?;
            Ok(v2::ComponentPlatform::builder()
                .set_name(p.str("name")?)
                .set_attributes(p.string_map("attributes")?)
                .build())
        })
        .collect::<R<Vec<_>>>()?;
    let deps = match o.get("componentDependencies") {
        None => None,
        Some(Value::Object(m)) => Some(
            m.iter()
                .map(|(name, d)| {
                    let d = Obj::new(
                        &format!("componentDependencies.{name}"),
                        d,
                        &["versionRequirement", "dependencyType"],
                    )?;
                    let dep = v2::ComponentDependencyRequirement::builder()
                        .set_version_requirement(d.str("versionRequirement")?)
                        .set_dependency_type(
                            d.str("dependencyType")?
                                .map(|t| v2::ComponentDependencyType::from(t.as_str())),
                        )
                        .build();
                    Ok((name.clone(), dep))
                })
                .collect::<R<HashMap<_, _>>>()?,
        ),
        Some(_) => {
            return Err(bad(
                "componentDependencies",
                "a value that is not an object",
            ))
        }
    };
    let params = match o.get("componentLambdaParameters") {
        Some(p) => Some(lambda_parameters(p)?),
        None => None,
    };
    built(
        v2::LambdaFunctionRecipeSource::builder()
            .lambda_arn(o.req_str("lambdaArn")?)
            .set_component_name(o.str("componentName")?)
            .set_component_version(o.str("componentVersion")?)
            .set_component_platforms(Some(platforms))
            .set_component_dependencies(deps)
            .set_component_lambda_parameters(params)
            .build(),
        "lambdaFunction",
    )
}

fn permission(o: &Obj, k: &str) -> R<Option<v2::LambdaFilesystemPermission>> {
    Ok(o.str(k)?
        .map(|p| v2::LambdaFilesystemPermission::from(p.as_str())))
}

fn lambda_parameters(v: &Value) -> R<v2::LambdaExecutionParameters> {
    let path = "componentLambdaParameters";
    let o = Obj::new(
        path,
        v,
        &[
            "eventSources",
            "maxQueueSize",
            "maxInstancesCount",
            "maxIdleTimeInSeconds",
            "timeoutInSeconds",
            "statusTimeoutInSeconds",
            "pinned",
            "inputPayloadEncodingType",
            "execArgs",
            "environmentVariables",
            "linuxProcessParams",
        ],
    )?;
    let sources = o
        .list("eventSources")?
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let at = format!("{path}.eventSources[{i}]");
            let e = Obj::new(&at, e, &["topic", "type"])?;
            built(
                v2::LambdaEventSource::builder()
                    .topic(e.req_str("topic")?)
                    .r#type(v2::LambdaEventSourceType::from(e.req_str("type")?.as_str()))
                    .build(),
                &at,
            )
        })
        .collect::<R<Vec<_>>>()?;
    let exec_args = o
        .list("execArgs")?
        .iter()
        .map(|a| {
            a.as_str()
                .map(str::to_string)
                .ok_or_else(|| bad(&o.at("execArgs"), "a value that is not a string"))
        })
        .collect::<R<Vec<_>>>()?;
    let linux = match o.get("linuxProcessParams") {
        None => None,
        Some(l) => {
            let at = format!("{path}.linuxProcessParams");
            let l = Obj::new(&at, l, &["isolationMode", "containerParams"])?;
            let container = match l.get("containerParams") {
                None => None,
                Some(c) => {
                    let at = format!("{at}.containerParams");
                    let c = Obj::new(
                        &at,
                        c,
                        &["memorySizeInKB", "mountROSysfs", "volumes", "devices"],
                    )?;
                    let volumes = c
                        .list("volumes")?
                        .iter()
                        .enumerate()
                        .map(|(i, v)| {
                            let at = format!("{at}.volumes[{i}]");
                            let v = Obj::new(
                                &at,
                                v,
                                &[
                                    "sourcePath",
                                    "destinationPath",
                                    "permission",
                                    "addGroupOwner",
                                ],
                            )?;
                            built(
                                v2::LambdaVolumeMount::builder()
                                    .source_path(v.req_str("sourcePath")?)
                                    .destination_path(v.req_str("destinationPath")?)
                                    .set_permission(permission(&v, "permission")?)
                                    .set_add_group_owner(v.bool("addGroupOwner")?)
                                    .build(),
                                &at,
                            )
                        })
                        .collect::<R<Vec<_>>>()?;
                    let devices = c
                        .list("devices")?
                        .iter()
                        .enumerate()
                        .map(|(i, d)| {
                            let at = format!("{at}.devices[{i}]");
                            let d = Obj::new(&at, d, &["path", "permission", "addGroupOwner"])?;
                            built(
                                v2::LambdaDeviceMount::builder()
                                    .path(d.req_str("path")?)
                                    .set_permission(permission(&d, "permission")?)
                                    .set_add_group_owner(d.bool("addGroupOwner")?)
                                    .build(),
                                &at,
                            )
                        })
                        .collect::<R<Vec<_>>>()?;
                    Some(
                        v2::LambdaContainerParams::builder()
                            .set_memory_size_in_kb(c.int("memorySizeInKB")?)
                            .set_mount_ro_sysfs(c.bool("mountROSysfs")?)
                            .set_volumes(Some(volumes))
                            .set_devices(Some(devices))
                            .build(),
                    )
                }
            };
            Some(
                v2::LambdaLinuxProcessParams::builder()
                    .set_isolation_mode(
                        l.str("isolationMode")?
                            .map(|m| v2::LambdaIsolationMode::from(m.as_str())),
                    )
                    .set_container_params(container)
                    .build(),
            )
        }
    };
    Ok(v2::LambdaExecutionParameters::builder()
        .set_event_sources(Some(sources))
        .set_max_queue_size(o.int("maxQueueSize")?)
        .set_max_instances_count(o.int("maxInstancesCount")?)
        .set_max_idle_time_in_seconds(o.int("maxIdleTimeInSeconds")?)
        .set_timeout_in_seconds(o.int("timeoutInSeconds")?)
        .set_status_timeout_in_seconds(o.int("statusTimeoutInSeconds")?)
        .set_pinned(o.bool("pinned")?)
        .set_input_payload_encoding_type(
            o.str("inputPayloadEncodingType")?
                .map(|t| v2::LambdaInputPayloadEncodingType::from(t.as_str())),
        )
        .set_exec_args((!exec_args.is_empty()).then_some(exec_args))
        .set_environment_variables(o.string_map("environmentVariables")?)
        .set_linux_process_params(linux)
        .build())
}

/// The `components` map of `CreateDeployment`.
pub fn deployment_components(
    v: &Value,
) -> R<HashMap<String, v2::ComponentDeploymentSpecification>> {
    let m = v
        .as_object()
        .ok_or_else(|| bad("components", "a value that is not an object"))?;
    m.iter()
        .map(|(name, c)| {
            let at = format!("components.{name}");
            let c = Obj::new(
                &at,
                c,
                &["componentVersion", "configurationUpdate", "runWith"],
            )?;
            let update = match c.get("configurationUpdate") {
                None => None,
                Some(u) => {
                    let u = Obj::new(&c.at("configurationUpdate"), u, &["merge", "reset"])?;
                    let reset = u
                        .list("reset")?
                        .iter()
                        .map(|r| {
                            r.as_str()
                                .map(str::to_string)
                                .ok_or_else(|| bad(&u.at("reset"), "a value that is not a string"))
                        })
                        .collect::<R<Vec<_>>>()?;
                    Some(
                        v2::ComponentConfigurationUpdate::builder()
                            .set_merge(u.str("merge")?)
                            .set_reset((!reset.is_empty()).then_some(reset))
                            .build(),
                    )
                }
            };
            let run_with = match c.get("runWith") {
                None => None,
                Some(r) => {
                    let r = Obj::new(&c.at("runWith"), r, &["posixUser"])?;
                    Some(
                        v2::ComponentRunWith::builder()
                            .set_posix_user(r.str("posixUser")?)
                            .build(),
                    )
                }
            };
            let spec = built(
                v2::ComponentDeploymentSpecification::builder()
                    .component_version(c.req_str("componentVersion")?)
                    .set_configuration_update(update)
                    .set_run_with(run_with)
                    .build(),
                &at,
            )?;
            Ok((name.clone(), spec))
        })
        .collect()
}

/// `deploymentPolicies` of `CreateDeployment`.
pub fn deployment_policies(v: &Value) -> R<v2::DeploymentPolicies> {
    let o = Obj::new(
        "deploymentPolicies",
        v,
        &["failureHandlingPolicy", "componentUpdatePolicy"],
    )?;
    let update = match o.get("componentUpdatePolicy") {
        None => None,
        Some(u) => {
            let u = Obj::new(
                &o.at("componentUpdatePolicy"),
                u,
                &["timeoutInSeconds", "action"],
            )?;
            Some(
                v2::DeploymentComponentUpdatePolicy::builder()
                    .set_timeout_in_seconds(u.int("timeoutInSeconds")?)
                    .set_action(
                        u.str("action")?
                            .map(|a| v2::DeploymentComponentUpdatePolicyAction::from(a.as_str())),
                    )
                    .build(),
            )
        }
    };
    Ok(v2::DeploymentPolicies::builder()
        .set_failure_handling_policy(
            o.str("failureHandlingPolicy")?
                .map(|p| v2::DeploymentFailureHandlingPolicy::from(p.as_str())),
        )
        .set_component_update_policy(update)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_lambda_component_converts_whole() {
        let v = json!({
            "lambdaArn": "arn:aws:lambda:us-east-1:123456789012:function:g-F:3",
            "componentName": "g-F",
            "componentVersion": "1.0.7",
            "componentPlatforms": [{"name": "Linux", "attributes": {"os": "linux"}}],
            "componentDependencies": {"aws.greengrass.SecretManager": {"versionRequirement": ">=2.0.0 <3.0.0", "dependencyType": "HARD"}},
            "componentLambdaParameters": {
                "eventSources": [{"topic": "a/b", "type": "IOT_CORE"}],
                "maxQueueSize": 1000, "timeoutInSeconds": 3, "pinned": true,
                "inputPayloadEncodingType": "json",
                "environmentVariables": {"A": "1"},
                "linuxProcessParams": {"isolationMode": "GreengrassContainer", "containerParams": {
                    "memorySizeInKB": 16384, "mountROSysfs": false,
                    "volumes": [{"sourcePath": "/a", "destinationPath": "/b", "permission": "rw", "addGroupOwner": true}],
                    "devices": [{"path": "/dev/x", "permission": "ro", "addGroupOwner": true}]}}
            }
        });
        let l = lambda_function(&v).unwrap();
        assert_eq!(l.component_version(), Some("1.0.7"));
        let p = l.component_lambda_parameters().unwrap();
        assert_eq!(p.event_sources()[0].topic(), "a/b");
        assert_eq!(p.pinned(), Some(true));
        let c = p
            .linux_process_params()
            .unwrap()
            .container_params()
            .unwrap();
        assert_eq!(c.memory_size_in_kb(), Some(16384));
        assert_eq!(
            c.volumes()[0].permission(),
            Some(&v2::LambdaFilesystemPermission::Rw)
        );
        assert_eq!(
            l.component_dependencies().unwrap()["aws.greengrass.SecretManager"].dependency_type(),
            Some(&v2::ComponentDependencyType::Hard)
        );
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_path() {
        let v = json!({"lambdaArn": "x", "componentLambdaParameters": {"pinnd": true}});
        let e = lambda_function(&v).unwrap_err().to_string();
        assert!(
            e.contains("pinnd") && e.contains("componentLambdaParameters"),
            "{e}"
        );
        let e = deployment_components(&json!({"c": {"componentVersion": "1.0.0", "runWth": {}}}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("components.c") && e.contains("runWth"), "{e}");
    }

    #[test]
    fn deployment_parts() {
        let c = deployment_components(&json!({
            "g-F": {"componentVersion": "1.0.1", "runWith": {"posixUser": "1000:1000"}},
            "aws.greengrass.LogManager": {"componentVersion": "2.3.7", "configurationUpdate": {"merge": "{}"}}
        }))
        .unwrap();
        assert_eq!(c["g-F"].run_with().unwrap().posix_user(), Some("1000:1000"));
        assert_eq!(
            c["aws.greengrass.LogManager"]
                .configuration_update()
                .unwrap()
                .merge(),
            Some("{}")
        );
        let p = deployment_policies(&json!({"failureHandlingPolicy": "ROLLBACK"})).unwrap();
        assert_eq!(
            p.failure_handling_policy(),
            Some(&v2::DeploymentFailureHandlingPolicy::Rollback)
        );
    }
}
