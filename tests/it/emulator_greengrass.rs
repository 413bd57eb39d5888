//! The bench emulator's Greengrass V1 additions and its Greengrass V2 backend, through the Rust SDK
//! crates ggp uses (aws-sdk-greengrass, aws-sdk-greengrassv2): each call round-trips, deployments
//! progress and fail on request, and malformed requests get the service's modelled error.

use crate::support::emulator;

use std::collections::HashMap;
use std::io::Write;

use aws_sdk_greengrass as gg;
use aws_sdk_greengrassv2 as gg2;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use gg::types::{
    ConnectivityInfo, Connector, Core, DeploymentType, Function, FunctionConfiguration,
    FunctionDefaultConfig, FunctionDefaultExecutionConfig, FunctionIsolationMode, Logger,
    LoggerComponent, LoggerDefinitionVersion, LoggerLevel, LoggerType, Subscription,
    SubscriptionDefinitionVersion,
};
use gg2::primitives::Blob;
use gg2::types::{
    ComponentDeploymentSpecification, DeploymentStatus, LambdaFunctionRecipeSource,
    RecipeOutputFormat,
};
use serde_json::json;

const ACCOUNT: &str = emulator::ACCOUNT;

async fn clients(emu: &emulator::Emulator) -> (gg::Client, gg2::Client, aws_sdk_iot::Client) {
    let config = emu.sdk_config().await;
    (
        gg::Client::new(&config),
        gg2::Client::new(&config),
        aws_sdk_iot::Client::new(&config),
    )
}

fn logger() -> Logger {
    Logger::builder()
        .component(LoggerComponent::GreengrassSystem)
        .id("sys")
        .level(LoggerLevel::Info)
        .r#type(LoggerType::FileSystem)
        .space(1024)
        .build()
}

fn connector() -> Connector {
    Connector::builder()
        .connector_arn("arn:aws:greengrass:us-east-1::/connectors/SNS/versions/1")
        .id("sns")
        .parameters("DefaultSNSArn", "arn:aws:sns:us-east-1:123456789012:alerts")
        .build()
}

fn core_thing(group: &str) -> String {
    format!("arn:aws:iot:us-east-1:{ACCOUNT}:thing/{group}_Core")
}

/// A group whose latest version has a core; returns (group id, group version id).
async fn group_with_core(gg: &gg::Client) -> (String, String) {
    let core = Core::builder()
        .certificate_arn(format!("arn:aws:iot:us-east-1:{ACCOUNT}:cert/abc"))
        .id("core")
        .thing_arn(core_thing("grp"))
        .sync_shadow(true)
        .build();
    let cores = gg
        .create_core_definition()
        .name("cores")
        .initial_version(
            gg::types::CoreDefinitionVersion::builder()
                .cores(core)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let group = gg.create_group().name("grp").send().await.unwrap();
    let group_id = group.id().unwrap().to_string();
    let version = gg
        .create_group_version()
        .group_id(&group_id)
        .core_definition_version_arn(cores.latest_version_arn().unwrap())
        .send()
        .await
        .unwrap();
    (group_id, version.version().unwrap().to_string())
}

async fn create_role(emu: &emulator::Emulator, name: &str) -> String {
    let iam = aws_sdk_iam::Client::new(&emu.sdk_config().await);
    let role = iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document("{}")
        .send()
        .await
        .unwrap();
    role.role().unwrap().arn().to_string()
}

// ------------------------------------------------------------------------------------------ V1

#[tokio::test]
async fn v1_service_role_round_trip() {
    let emu = emulator::fresh_v1();
    let (gg, _, _) = clients(&emu).await;
    let role = create_role(&emu, "GreengrassServiceRole").await;
    assert_eq!(
        gg.get_service_role_for_account()
            .send()
            .await
            .unwrap()
            .role_arn(),
        None
    );
    let associated = gg
        .associate_service_role_to_account()
        .role_arn(&role)
        .send()
        .await
        .unwrap();
    let got = gg.get_service_role_for_account().send().await.unwrap();
    assert_eq!(got.role_arn(), Some(role.as_str()));
    assert_eq!(got.associated_at(), associated.associated_at());
    assert!(gg
        .disassociate_service_role_from_account()
        .send()
        .await
        .unwrap()
        .disassociated_at()
        .is_some());
    assert_eq!(
        gg.get_service_role_for_account()
            .send()
            .await
            .unwrap()
            .role_arn(),
        None
    );

    let err = gg
        .associate_service_role_to_account()
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/missing"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_bad_request_exception(), "{err:?}");
}

#[tokio::test]
async fn v1_logger_definition_round_trip() {
    let emu = emulator::fresh_v1();
    let (gg, _, _) = clients(&emu).await;
    let created = gg
        .create_logger_definition()
        .name("loggers")
        .initial_version(LoggerDefinitionVersion::builder().loggers(logger()).build())
        .tags("ggp:hash", "h1")
        .send()
        .await
        .unwrap();
    let id = created.id().unwrap();
    let first = created.latest_version().unwrap();
    let got = gg
        .get_logger_definition()
        .logger_definition_id(id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.name(), Some("loggers"));
    assert_eq!(
        got.tags(),
        Some(&HashMap::from([("ggp:hash".to_string(), "h1".to_string())]))
    );
    let listed = gg.list_logger_definitions().send().await.unwrap();
    assert_eq!(listed.definitions().len(), 1);
    assert_eq!(
        listed.definitions()[0]
            .tags()
            .and_then(|t| t.get("ggp:hash"))
            .map(String::as_str),
        Some("h1")
    );

    let cloud = Logger::builder()
        .component(LoggerComponent::Lambda)
        .id("cw")
        .level(LoggerLevel::Warn)
        .r#type(LoggerType::AwsCloudWatch)
        .build();
    let second = gg
        .create_logger_definition_version()
        .logger_definition_id(id)
        .loggers(logger())
        .loggers(cloud.clone())
        .send()
        .await
        .unwrap();
    let version = gg
        .get_logger_definition_version()
        .logger_definition_id(id)
        .logger_definition_version_id(second.version().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(version.definition().unwrap().loggers(), &[logger(), cloud]);
    let versions = gg
        .list_logger_definition_versions()
        .logger_definition_id(id)
        .send()
        .await
        .unwrap();
    let mut ids: Vec<_> = versions
        .versions()
        .iter()
        .filter_map(|v| v.version())
        .collect();
    ids.sort();
    let mut want = vec![first, second.version().unwrap()];
    want.sort();
    assert_eq!(ids, want);

    gg.update_logger_definition()
        .logger_definition_id(id)
        .name("renamed")
        .send()
        .await
        .unwrap();
    assert_eq!(
        gg.get_logger_definition()
            .logger_definition_id(id)
            .send()
            .await
            .unwrap()
            .name(),
        Some("renamed")
    );
    gg.delete_logger_definition()
        .logger_definition_id(id)
        .send()
        .await
        .unwrap();
    assert!(gg
        .get_logger_definition()
        .logger_definition_id(id)
        .send()
        .await
        .is_err());
}

#[tokio::test]
async fn v1_connector_definition_round_trip() {
    let emu = emulator::fresh_v1();
    let (gg, _, _) = clients(&emu).await;
    let created = gg
        .create_connector_definition()
        .name("connectors")
        .send()
        .await
        .unwrap();
    let id = created.id().unwrap();
    assert_eq!(created.latest_version(), None);
    let v = gg
        .create_connector_definition_version()
        .connector_definition_id(id)
        .connectors(connector())
        .send()
        .await
        .unwrap();
    let got = gg
        .get_connector_definition_version()
        .connector_definition_id(id)
        .connector_definition_version_id(v.version().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(got.definition().unwrap().connectors(), &[connector()]);
    let def = gg
        .get_connector_definition()
        .connector_definition_id(id)
        .send()
        .await
        .unwrap();
    assert_eq!(def.latest_version_arn(), v.arn());
    assert_eq!(
        gg.list_connector_definitions()
            .send()
            .await
            .unwrap()
            .definitions()
            .len(),
        1
    );
    assert_eq!(
        gg.list_connector_definition_versions()
            .connector_definition_id(id)
            .send()
            .await
            .unwrap()
            .versions()
            .len(),
        1
    );
    gg.update_connector_definition()
        .connector_definition_id(id)
        .name("c2")
        .send()
        .await
        .unwrap();
    gg.delete_connector_definition()
        .connector_definition_id(id)
        .send()
        .await
        .unwrap();
    assert!(gg
        .list_connector_definitions()
        .send()
        .await
        .unwrap()
        .definitions()
        .is_empty());
}

#[tokio::test]
async fn v1_definitions_can_be_created_without_initial_version() {
    let emu = emulator::fresh_v1();
    let (gg, _, _) = clients(&emu).await;
    // Each create without InitialVersion succeeds and reports no version.
    macro_rules! bare {
        ($create:ident) => {
            gg.$create()
                .name("x")
                .send()
                .await
                .unwrap()
                .latest_version()
                .is_none()
        };
    }
    let bare = [
        bare!(create_core_definition),
        bare!(create_device_definition),
        bare!(create_function_definition),
        bare!(create_resource_definition),
        bare!(create_subscription_definition),
        bare!(create_logger_definition),
        bare!(create_connector_definition),
    ];
    assert_eq!(bare, [true; 7]);
    let group = gg.create_group().name("g").send().await.unwrap();
    assert_eq!(group.latest_version(), None);
}

#[tokio::test]
async fn v1_function_definition_version_keeps_default_config() {
    let emu = emulator::fresh_v1();
    let (gg, _, _) = clients(&emu).await;
    let function = Function::builder()
        .id("f")
        .function_arn(format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:f:1"))
        .function_configuration(
            FunctionConfiguration::builder()
                .memory_size(16384)
                .timeout(3)
                .pinned(true)
                .build(),
        )
        .build();
    let default = FunctionDefaultConfig::builder()
        .execution(
            FunctionDefaultExecutionConfig::builder()
                .isolation_mode(FunctionIsolationMode::NoContainer)
                .build(),
        )
        .build();
    let d = gg
        .create_function_definition()
        .name("fns")
        .send()
        .await
        .unwrap();
    let v = gg
        .create_function_definition_version()
        .function_definition_id(d.id().unwrap())
        .functions(function.clone())
        .default_config(default.clone())
        .send()
        .await
        .unwrap();
    let got = gg
        .get_function_definition_version()
        .function_definition_id(d.id().unwrap())
        .function_definition_version_id(v.version().unwrap())
        .send()
        .await
        .unwrap();
    let def = got.definition().unwrap();
    assert_eq!(def.default_config(), Some(&default));
    assert_eq!(def.functions(), &[function]);
}

#[tokio::test]
async fn v1_group_version_keeps_logger_and_connector_arns() {
    let emu = emulator::fresh_v1();
    let (gg, _, _) = clients(&emu).await;
    let loggers = gg
        .create_logger_definition()
        .initial_version(LoggerDefinitionVersion::builder().loggers(logger()).build())
        .send()
        .await
        .unwrap();
    let connectors = gg
        .create_connector_definition()
        .initial_version(
            gg::types::ConnectorDefinitionVersion::builder()
                .connectors(connector())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let group = gg.create_group().name("g").send().await.unwrap();
    let v = gg
        .create_group_version()
        .group_id(group.id().unwrap())
        .logger_definition_version_arn(loggers.latest_version_arn().unwrap())
        .connector_definition_version_arn(connectors.latest_version_arn().unwrap())
        .send()
        .await
        .unwrap();
    let got = gg
        .get_group_version()
        .group_id(group.id().unwrap())
        .group_version_id(v.version().unwrap())
        .send()
        .await
        .unwrap();
    let def = got.definition().unwrap();
    assert_eq!(
        def.logger_definition_version_arn(),
        loggers.latest_version_arn()
    );
    assert_eq!(
        def.connector_definition_version_arn(),
        connectors.latest_version_arn()
    );
    assert_eq!(
        gg.list_group_versions()
            .group_id(group.id().unwrap())
            .send()
            .await
            .unwrap()
            .versions()
            .len(),
        1
    );

    let bogus = format!(
        "arn:aws:greengrass:us-east-1:{ACCOUNT}:greengrass/definition/loggers/{0}/versions/{0}",
        "00000000-0000-0000-0000-000000000000"
    );
    let err = gg
        .create_group_version()
        .group_id(group.id().unwrap())
        .logger_definition_version_arn(bogus)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_bad_request_exception(), "{err:?}");
}

#[tokio::test]
async fn v1_subscription_from_a_core_thing_with_underscore() {
    let emu = emulator::fresh_v1();
    let (gg, _, _) = clients(&emu).await;
    let sub = Subscription::builder()
        .id("up")
        .source(core_thing("my_group"))
        .subject("telemetry/#")
        .target("cloud")
        .build();
    let d = gg
        .create_subscription_definition()
        .initial_version(
            SubscriptionDefinitionVersion::builder()
                .subscriptions(sub.clone())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let got = gg
        .get_subscription_definition_version()
        .subscription_definition_id(d.id().unwrap())
        .subscription_definition_version_id(d.latest_version().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(got.definition().unwrap().subscriptions(), &[sub]);
}

#[tokio::test]
async fn v1_group_certificate_authority() {
    let emu = emulator::fresh_v1();
    let (gg, _, _) = clients(&emu).await;
    let group = gg.create_group().name("g").send().await.unwrap();
    let gid = group.id().unwrap();
    let arn = gg
        .create_group_certificate_authority()
        .group_id(gid)
        .send()
        .await
        .unwrap();
    let cas = gg
        .list_group_certificate_authorities()
        .group_id(gid)
        .send()
        .await
        .unwrap();
    let newest = cas.group_certificate_authorities().last().unwrap();
    assert_eq!(
        newest.group_certificate_authority_arn(),
        arn.group_certificate_authority_arn()
    );
    let ca = gg
        .get_group_certificate_authority()
        .group_id(gid)
        .certificate_authority_id(newest.group_certificate_authority_id().unwrap())
        .send()
        .await
        .unwrap();
    let pem = ca.pem_encoded_certificate().unwrap();
    assert!(
        pem.starts_with("-----BEGIN CERTIFICATE-----\n")
            && pem.trim_end().ends_with("-----END CERTIFICATE-----"),
        "{pem}"
    );
    assert!(pem.len() > 1000, "an RSA-2048 certificate: {pem}");
}

#[tokio::test]
async fn v1_connectivity_info() {
    let emu = emulator::fresh_v1();
    let (gg, _, _) = clients(&emu).await;
    let info = ConnectivityInfo::builder()
        .id("lan")
        .host_address("192.0.2.10")
        .port_number(8883)
        .metadata("")
        .build();
    let updated = gg
        .update_connectivity_info()
        .thing_name("grp_Core")
        .connectivity_info(info.clone())
        .send()
        .await
        .unwrap();
    assert!(updated.version().is_some());
    let got = gg
        .get_connectivity_info()
        .thing_name("grp_Core")
        .send()
        .await
        .unwrap();
    assert_eq!(got.connectivity_info(), &[info]);
}

#[tokio::test]
async fn v1_tags() {
    let emu = emulator::fresh_v1();
    let (gg, _, _) = clients(&emu).await;
    let group = gg
        .create_group()
        .name("g")
        .tags("a", "1")
        .send()
        .await
        .unwrap();
    let arn = group.arn().unwrap();
    gg.tag_resource()
        .resource_arn(arn)
        .tags("b", "2")
        .send()
        .await
        .unwrap();
    gg.untag_resource()
        .resource_arn(arn)
        .tag_keys("a")
        .send()
        .await
        .unwrap();
    let tags = gg
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags.tags(),
        Some(&HashMap::from([("b".to_string(), "2".to_string())]))
    );
    assert_eq!(
        gg.get_group()
            .group_id(group.id().unwrap())
            .send()
            .await
            .unwrap()
            .tags(),
        Some(&HashMap::from([("b".to_string(), "2".to_string())]))
    );
}

async fn poll_v1(
    gg: &gg::Client,
    group: &str,
    deployment: &str,
    n: usize,
) -> Vec<gg::operation::get_deployment_status::GetDeploymentStatusOutput> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(
            gg.get_deployment_status()
                .group_id(group)
                .deployment_id(deployment)
                .send()
                .await
                .unwrap(),
        );
    }
    out
}

#[tokio::test]
async fn v1_deployment_progresses_to_success() {
    let emu = emulator::fresh_v1();
    let (gg, _, _) = clients(&emu).await;
    let (group, version) = group_with_core(&gg).await;
    let dep = gg
        .create_deployment()
        .group_id(&group)
        .group_version_id(&version)
        .deployment_type(DeploymentType::NewDeployment)
        .send()
        .await
        .unwrap();
    let statuses: Vec<_> = poll_v1(&gg, &group, dep.deployment_id().unwrap(), 4)
        .await
        .iter()
        .map(|s| s.deployment_status().unwrap().to_string())
        .collect();
    assert_eq!(statuses, ["Building", "InProgress", "Success", "Success"]);
    let listed = gg.list_deployments().group_id(&group).send().await.unwrap();
    assert_eq!(listed.deployments()[0].deployment_id(), dep.deployment_id());

    let reset = gg
        .reset_deployments()
        .group_id(&group)
        .send()
        .await
        .unwrap();
    assert!(reset.deployment_id().is_some());
    let types: Vec<_> = gg
        .list_deployments()
        .group_id(&group)
        .send()
        .await
        .unwrap()
        .deployments()
        .iter()
        .map(|d| d.deployment_type().unwrap().clone())
        .collect();
    assert_eq!(
        types,
        [
            DeploymentType::ResetDeployment,
            DeploymentType::NewDeployment
        ]
    );
}

#[tokio::test]
async fn v1_deployment_fails_when_the_bench_says_so() {
    let emu = emulator::fresh_v1();
    let (gg, _, _) = clients(&emu).await;
    let (group, version) = group_with_core(&gg).await;
    emu.control(
        "/ggp-bench/greengrass/deployment-outcome",
        json!({"groupId": group, "status": "Failure", "errorMessage": "core rejected the deployment"}),
    );
    let dep = gg
        .create_deployment()
        .group_id(&group)
        .group_version_id(&version)
        .deployment_type(DeploymentType::NewDeployment)
        .send()
        .await
        .unwrap();
    let last = poll_v1(&gg, &group, dep.deployment_id().unwrap(), 3)
        .await
        .pop()
        .unwrap();
    assert_eq!(last.deployment_status(), Some("Failure"));
    assert_eq!(last.error_message(), Some("core rejected the deployment"));
    assert_eq!(
        last.error_details()[0].detailed_error_message(),
        Some("core rejected the deployment")
    );
}

/// Removes a top-level member from the JSON body after the SDK serialized it.
#[derive(Debug)]
struct StripMember(&'static str);

impl Intercept for StripMember {
    fn name(&self) -> &'static str {
        "StripMember"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let bytes = request
            .body()
            .bytes()
            .ok_or("body is not in memory")?
            .to_vec();
        let mut body: serde_json::Value = serde_json::from_slice(&bytes)?;
        body.as_object_mut()
            .ok_or("body is not a JSON object")?
            .remove(self.0)
            .ok_or("member not in body")?;
        let bytes = serde_json::to_vec(&body)?;
        request
            .headers_mut()
            .insert("content-length", bytes.len().to_string());
        *request.body_mut() = SdkBody::from(bytes);
        Ok(())
    }
}

#[tokio::test]
async fn v1_missing_required_member_is_bad_request() {
    let emu = emulator::fresh();
    let config = emu.sdk_config().await;
    let gg = gg::Client::new(&config);
    // The SDK sends a Logger without Level (required in the model) as it is.
    let no_level = Logger::builder()
        .component(LoggerComponent::Lambda)
        .id("x")
        .r#type(LoggerType::FileSystem)
        .build();
    let err = gg
        .create_logger_definition()
        .initial_version(LoggerDefinitionVersion::builder().loggers(no_level).build())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_bad_request_exception(), "{err:?}");
    assert!(
        err.meta()
            .message()
            .unwrap()
            .contains("InitialVersion.Loggers[0].Level is required"),
        "{err:?}"
    );

    // A top-level required member removed on the wire.
    let stripping = gg::Client::from_conf(
        gg::config::Builder::from(&config)
            .interceptor(StripMember("RoleArn"))
            .build(),
    );
    let err = stripping
        .associate_service_role_to_account()
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/r"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_bad_request_exception(), "{err:?}");
    assert!(
        err.meta()
            .message()
            .unwrap()
            .contains("RoleArn is required"),
        "{err:?}"
    );
}

// ------------------------------------------------------------------------------------------ V2

fn recipe(name: &str, version: &str) -> Blob {
    Blob::new(
        json!({
            "RecipeFormatVersion": "2020-01-25",
            "ComponentName": name,
            "ComponentVersion": version,
            "ComponentPublisher": "ggp",
            "Manifests": [{"Platform": {"os": "linux"}, "Lifecycle": {"Run": "echo hi"}}]
        })
        .to_string(),
    )
}

fn spec(version: &str) -> ComponentDeploymentSpecification {
    ComponentDeploymentSpecification::builder()
        .component_version(version)
        .build()
        .unwrap()
}

/// Creates a component version and reads it until the service has processed it (REQUESTED, then
/// INITIATED, then DEPLOYABLE), as a client must before deploying it.
async fn create_deployable(gg2: &gg2::Client, name: &str, version: &str) {
    let arn = gg2
        .create_component_version()
        .inline_recipe(recipe(name, version))
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    for _ in 0..5 {
        let d = gg2.describe_component().arn(&arn).send().await.unwrap();
        if d.status()
            .and_then(|s| s.component_state())
            .map(|s| s.as_str())
            == Some("DEPLOYABLE")
        {
            return;
        }
    }
    panic!("{arn} never DEPLOYABLE");
}

#[tokio::test]
async fn v2_component_round_trip() {
    let emu = emulator::fresh();
    let (_, gg2, _) = clients(&emu).await;
    let created = gg2
        .create_component_version()
        .inline_recipe(recipe("com.example.Hello", "1.0.0"))
        .tags("t", "1")
        .send()
        .await
        .unwrap();
    let arn = format!(
        "arn:aws:greengrass:us-east-1:{ACCOUNT}:components:com.example.Hello:versions:1.0.0"
    );
    assert_eq!(created.arn(), Some(arn.as_str()));
    assert_eq!(
        created
            .status()
            .unwrap()
            .component_state()
            .unwrap()
            .as_str(),
        "REQUESTED"
    );
    let mut states = Vec::new();
    for _ in 0..3 {
        let d = gg2.describe_component().arn(&arn).send().await.unwrap();
        states.push(
            d.status()
                .unwrap()
                .component_state()
                .unwrap()
                .as_str()
                .to_string(),
        );
    }
    assert_eq!(states, ["INITIATED", "DEPLOYABLE", "DEPLOYABLE"]);
    let yaml = "RecipeFormatVersion: 2020-01-25\nComponentName: com.example.Hello\nComponentVersion: '1.1.0'\n";
    gg2.create_component_version()
        .inline_recipe(Blob::new(yaml))
        .send()
        .await
        .unwrap();

    let d = gg2.describe_component().arn(&arn).send().await.unwrap();
    assert_eq!(
        (d.component_name(), d.component_version(), d.publisher()),
        (Some("com.example.Hello"), Some("1.0.0"), Some("ggp"))
    );
    assert_eq!(
        d.tags().and_then(|t| t.get("t")).map(String::as_str),
        Some("1")
    );
    let got = gg2
        .get_component()
        .arn(&arn)
        .recipe_output_format(RecipeOutputFormat::Json)
        .send()
        .await
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(got.recipe().as_ref()).unwrap();
    assert_eq!(doc["Manifests"][0]["Lifecycle"]["Run"], "echo hi");
    let as_yaml = gg2
        .get_component()
        .arn(&arn)
        .recipe_output_format(RecipeOutputFormat::Yaml)
        .send()
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(as_yaml.recipe().as_ref())
        .contains("ComponentName: com.example.Hello"));

    let listed = gg2.list_components().send().await.unwrap();
    assert_eq!(listed.components().len(), 1);
    assert_eq!(
        listed.components()[0]
            .latest_version()
            .unwrap()
            .component_version(),
        Some("1.1.0")
    );
    let versions = gg2
        .list_component_versions()
        .arn(format!(
            "arn:aws:greengrass:us-east-1:{ACCOUNT}:components:com.example.Hello"
        ))
        .send()
        .await
        .unwrap();
    let names: Vec<_> = versions
        .component_versions()
        .iter()
        .filter_map(|v| v.component_version())
        .collect();
    assert_eq!(names, ["1.1.0", "1.0.0"]);

    let conflict = gg2
        .create_component_version()
        .inline_recipe(recipe("com.example.Hello", "1.0.0"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(conflict.is_conflict_exception(), "{conflict:?}");
    gg2.delete_component().arn(&arn).send().await.unwrap();
    let gone = gg2
        .describe_component()
        .arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(gone.is_resource_not_found_exception(), "{gone:?}");
}

fn lambda_zip() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("app.py", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(b"def handler(event, context):\n    return event\n")
        .unwrap();
    zip.finish().unwrap().into_inner()
}

#[tokio::test]
async fn v2_lambda_function_component() {
    let emu = emulator::fresh();
    let config = emu.sdk_config().await;
    let (_, gg2, _) = clients(&emu).await;
    let role = create_role(&emu, "lambda-role").await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    lambda
        .create_function()
        .function_name("sensor")
        .runtime(aws_sdk_lambda::types::Runtime::Python312)
        .role(role)
        .handler("app.handler")
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(lambda_zip().into())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let version = lambda
        .publish_version()
        .function_name("sensor")
        .send()
        .await
        .unwrap();
    let created = gg2
        .create_component_version()
        .lambda_function(
            LambdaFunctionRecipeSource::builder()
                .lambda_arn(version.function_arn().unwrap())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        (created.component_name(), created.component_version()),
        ("sensor", "1.0.0")
    );
    let got = gg2
        .get_component()
        .arn(created.arn().unwrap())
        .send()
        .await
        .unwrap();
    let recipe: serde_json::Value = serde_json::from_slice(got.recipe().as_ref()).unwrap();
    assert_eq!(recipe["ComponentType"], "aws.greengrass.lambda");
    assert_eq!(recipe["ComponentSource"], version.function_arn().unwrap());
    assert_eq!(
        recipe["ComponentDependencies"]["aws.greengrass.LambdaLauncher"]["DependencyType"],
        "HARD"
    );
    assert_eq!(
        recipe["ComponentConfiguration"]["DefaultConfiguration"]["containerMode"],
        "GreengrassContainer"
    );
}

async fn poll_v2(gg2: &gg2::Client, id: &str, n: usize) -> Vec<DeploymentStatus> {
    let mut out = Vec::new();
    for _ in 0..n {
        let d = gg2.get_deployment().deployment_id(id).send().await.unwrap();
        out.push(d.deployment_status().unwrap().clone());
    }
    out
}

#[tokio::test]
async fn v2_deployment_progresses_and_is_superseded() {
    let emu = emulator::fresh();
    let (_, gg2, iot) = clients(&emu).await;
    iot.create_thing().thing_name("core1").send().await.unwrap();
    let target = format!("arn:aws:iot:us-east-1:{ACCOUNT}:thing/core1");
    // The thing's core device has connected: it works on what is deployed to it.
    emu.control(
        "/ggp-bench/greengrassv2/core-device",
        json!({"thingName": "core1"}),
    );
    create_deployable(&gg2, "com.example.Hello", "1.0.0").await;
    let first = gg2
        .create_deployment()
        .target_arn(&target)
        .deployment_name("first")
        .components("com.example.Hello", spec("1.0.0"))
        .send()
        .await
        .unwrap();
    assert!(first
        .iot_job_arn()
        .unwrap()
        .ends_with(first.iot_job_id().unwrap()));
    let first_id = first.deployment_id().unwrap();
    assert_eq!(
        poll_v2(&gg2, first_id, 3).await,
        [
            DeploymentStatus::Active,
            DeploymentStatus::Active,
            DeploymentStatus::Completed
        ]
    );
    let second = gg2
        .create_deployment()
        .target_arn(&target)
        .components("com.example.Hello", spec("1.0.0"))
        .send()
        .await
        .unwrap();
    let old = gg2
        .get_deployment()
        .deployment_id(first_id)
        .send()
        .await
        .unwrap();
    assert!(
        !old.is_latest_for_target(),
        "the first deployment is no longer the latest"
    );
    let new = gg2
        .get_deployment()
        .deployment_id(second.deployment_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        (new.revision_id(), new.is_latest_for_target()),
        (Some("2"), true)
    );
    let latest = gg2
        .list_deployments()
        .target_arn(&target)
        .send()
        .await
        .unwrap();
    assert_eq!(latest.deployments().len(), 1);
    let all = gg2
        .list_deployments()
        .target_arn(&target)
        .history_filter(gg2::types::DeploymentHistoryFilter::All)
        .send()
        .await
        .unwrap();
    assert_eq!(all.deployments().len(), 2);

    let missing = gg2
        .create_deployment()
        .target_arn(format!("arn:aws:iot:us-east-1:{ACCOUNT}:thing/ghost"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(missing.is_resource_not_found_exception(), "{missing:?}");
}

#[tokio::test]
async fn v2_deployment_fails_when_the_bench_says_so() {
    let emu = emulator::fresh();
    let (_, gg2, iot) = clients(&emu).await;
    iot.create_thing().thing_name("core1").send().await.unwrap();
    let target = format!("arn:aws:iot:us-east-1:{ACCOUNT}:thing/core1");
    emu.control(
        "/ggp-bench/greengrassv2/core-device",
        json!({"thingName": "core1", "status": "HEALTHY"}),
    );
    emu.control(
        "/ggp-bench/greengrassv2/deployment-outcome",
        json!({"targetArn": target, "status": "FAILED", "reason": "component Hello broke"}),
    );
    let dep = gg2
        .create_deployment()
        .target_arn(&target)
        .send()
        .await
        .unwrap();
    let id = dep.deployment_id().unwrap();
    assert_eq!(
        poll_v2(&gg2, id, 3).await.last(),
        Some(&DeploymentStatus::Failed)
    );
    let effective = gg2
        .list_effective_deployments()
        .core_device_thing_name("core1")
        .send()
        .await
        .unwrap();
    let e = &effective.effective_deployments()[0];
    assert_eq!(e.deployment_id(), id);
    assert_eq!(e.core_device_execution_status().as_str(), "FAILED");
    assert_eq!(e.reason(), Some("component Hello broke"));
}

#[tokio::test]
async fn v2_cancel_and_delete_deployment() {
    let emu = emulator::fresh();
    let (_, gg2, iot) = clients(&emu).await;
    iot.create_thing().thing_name("core1").send().await.unwrap();
    let dep = gg2
        .create_deployment()
        .target_arn(format!("arn:aws:iot:us-east-1:{ACCOUNT}:thing/core1"))
        .send()
        .await
        .unwrap();
    let id = dep.deployment_id().unwrap();
    let active = gg2
        .delete_deployment()
        .deployment_id(id)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(active.is_conflict_exception(), "{active:?}");
    assert!(gg2
        .cancel_deployment()
        .deployment_id(id)
        .send()
        .await
        .unwrap()
        .message()
        .is_some());
    assert_eq!(poll_v2(&gg2, id, 1).await, [DeploymentStatus::Canceled]);
    gg2.delete_deployment()
        .deployment_id(id)
        .send()
        .await
        .unwrap();
    let gone = gg2
        .get_deployment()
        .deployment_id(id)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(gone.is_resource_not_found_exception(), "{gone:?}");
}

#[tokio::test]
async fn v2_core_devices_and_installed_components() {
    let emu = emulator::fresh();
    let (_, gg2, iot) = clients(&emu).await;
    iot.create_thing_group()
        .thing_group_name("fleet")
        .send()
        .await
        .unwrap();
    iot.create_thing().thing_name("core1").send().await.unwrap();
    iot.add_thing_to_thing_group()
        .thing_group_name("fleet")
        .thing_name("core1")
        .send()
        .await
        .unwrap();
    let group_arn = iot
        .describe_thing_group()
        .thing_group_name("fleet")
        .send()
        .await
        .unwrap()
        .thing_group_arn()
        .unwrap()
        .to_string();
    assert!(gg2
        .list_core_devices()
        .send()
        .await
        .unwrap()
        .core_devices()
        .is_empty());
    emu.control(
        "/ggp-bench/greengrassv2/core-device",
        json!({"thingName": "core1", "status": "HEALTHY", "architecture": "armv7l", "coreVersion": "2.12.0"}),
    );
    create_deployable(&gg2, "com.example.Hello", "1.0.0").await;
    let dep = gg2
        .create_deployment()
        .target_arn(&group_arn)
        .components("com.example.Hello", spec("1.0.0"))
        .send()
        .await
        .unwrap();
    poll_v2(&gg2, dep.deployment_id().unwrap(), 3).await;

    let devices = gg2
        .list_core_devices()
        .thing_group_arn(&group_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(devices.core_devices().len(), 1);
    let core = gg2
        .get_core_device()
        .core_device_thing_name("core1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (core.architecture(), core.core_version()),
        (Some("armv7l"), Some("2.12.0"))
    );
    assert_eq!(core.status().unwrap().as_str(), "HEALTHY");
    let installed = gg2
        .list_installed_components()
        .core_device_thing_name("core1")
        .send()
        .await
        .unwrap();
    let names: Vec<_> = installed
        .installed_components()
        .iter()
        .map(|c| (c.component_name().unwrap(), c.component_version().unwrap()))
        .collect();
    assert_eq!(names, [("com.example.Hello", "1.0.0")]);
    let effective = gg2
        .list_effective_deployments()
        .core_device_thing_name("core1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        effective.effective_deployments()[0]
            .core_device_execution_status()
            .as_str(),
        "SUCCEEDED"
    );

    let core_arn = format!("arn:aws:greengrass:us-east-1:{ACCOUNT}:coreDevices:core1");
    gg2.tag_resource()
        .resource_arn(&core_arn)
        .tags("site", "lab")
        .send()
        .await
        .unwrap();
    gg2.untag_resource()
        .resource_arn(&core_arn)
        .tag_keys("nothing")
        .send()
        .await
        .unwrap();
    let tags = gg2
        .list_tags_for_resource()
        .resource_arn(&core_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags.tags().and_then(|t| t.get("site")).map(String::as_str),
        Some("lab")
    );
    gg2.delete_core_device()
        .core_device_thing_name("core1")
        .send()
        .await
        .unwrap();
    let gone = gg2
        .get_core_device()
        .core_device_thing_name("core1")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(gone.is_resource_not_found_exception(), "{gone:?}");
}

#[tokio::test]
async fn v2_missing_required_member_is_validation_exception() {
    let emu = emulator::fresh();
    let (_, gg2, _) = clients(&emu).await;
    // targetArn is required; the Rust SDK sends the request without it.
    let err = gg2
        .create_deployment()
        .deployment_name("no target")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    let gg2::operation::create_deployment::CreateDeploymentError::ValidationException(v) = &err
    else {
        unreachable!()
    };
    assert_eq!(
        v.reason().map(|r| r.as_str()),
        Some("FIELD_VALIDATION_FAILED")
    );
    assert_eq!(v.fields()[0].name(), "targetArn");
    let bad_token = gg2
        .create_component_version()
        .inline_recipe(recipe("com.example.Hello", "1.0.0"))
        .client_token("spaces are not allowed")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(bad_token.is_validation_exception(), "{bad_token:?}");
}

#[tokio::test]
async fn v2_service_role_and_connectivity_info_on_the_shared_paths() {
    let emu = emulator::fresh();
    let (gg, gg2, _) = clients(&emu).await;
    let role = create_role(&emu, "GreengrassServiceRole").await;
    let associated = gg2
        .associate_service_role_to_account()
        .role_arn(&role)
        .send()
        .await
        .unwrap();
    assert!(associated.associated_at().is_some());
    let got = gg2.get_service_role_for_account().send().await.unwrap();
    assert_eq!(got.role_arn(), Some(role.as_str()));
    // one account service role, whichever API set it
    let v1 = gg.get_service_role_for_account().send().await.unwrap();
    assert_eq!(v1.role_arn(), Some(role.as_str()));
    let err = gg2
        .associate_service_role_to_account()
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/missing"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");

    let info = gg2::types::ConnectivityInfo::builder()
        .id("lan")
        .host_address("192.0.2.1")
        .port_number(8883)
        .metadata("")
        .build();
    let updated = gg2
        .update_connectivity_info()
        .thing_name("core1")
        .connectivity_info(info.clone())
        .send()
        .await
        .unwrap();
    assert!(updated.version().is_some());
    let got = gg2
        .get_connectivity_info()
        .thing_name("core1")
        .send()
        .await
        .unwrap();
    assert_eq!(got.connectivity_info(), &[info]);
    let seen_by_v1 = gg
        .get_connectivity_info()
        .thing_name("core1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        seen_by_v1.connectivity_info()[0].host_address(),
        Some("192.0.2.1")
    );
}
