//! `ggp plan --target v2` on the example project: the V1 → V2 mapping, golden-tested, and the V1
//! features without a V2 mapping named in the error. Real binary, clean environment, offline.

use crate::support::provision::{docker_connector_project, edit, example_copy};
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn run(root: &Path, args: &[&str]) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::cargo_bin("ggp").unwrap();
    cmd.env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // Golden output must not depend on the day it runs: the runtime table is applied on the
        // day it was read (blocked runtimes warn on V1 and are upgraded on V2).
        .env("GGP_TODAY", ggp::runtimes::READ_ON.to_string())
        .args([
            "--project-dir",
            root.to_str().unwrap(),
            "plan",
            "-g",
            "test-group",
        ])
        .args(["--region", "us-east-1"])
        .args(args);
    cmd.output().unwrap()
}

fn example() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn plan_ok(root: &Path, args: &[&str]) -> String {
    let out = run(root, args);
    assert!(
        out.status.success(),
        "plan {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn plan_json(root: &Path, deployment: &str) -> Value {
    serde_json::from_str(&plan_ok(
        root,
        &[
            "-d",
            deployment,
            "-a",
            "X86_64,ARM64",
            "--target",
            "v2",
            "--json",
        ],
    ))
    .unwrap()
}

#[test]
fn v2_plans_of_the_example_deployments_match_golden_output() {
    let _snapshots = crate::support::snapshots();
    for d in [
        "empty",
        "hello-python",
        "hello-node",
        "sensor-python",
        "hello-executable",
        "all",
    ] {
        let file = format!("deployments/{d}.conf");
        let text = plan_ok(
            example(),
            &["-d", &file, "-a", "X86_64,ARM64", "--target", "v2"],
        );
        insta::assert_snapshot!(format!("plan_v2__plan_v2_{d}"), text);
        insta::assert_json_snapshot!(
            format!("plan_v2__plan_v2_{d}_json"),
            plan_json(example(), &file)
        );
    }
}

#[test]
fn lambda_component_carries_the_function_configuration() {
    let p = plan_json(example(), "deployments/hello-python.conf");
    assert_eq!(p["target"], "v2");
    let c = &p["components"][0];
    assert_eq!(c["componentName"], "test-group-HelloPython");
    let l = &c["request"]["lambdaFunction"];
    let params = &l["componentLambdaParameters"];
    assert_eq!(params["pinned"], true);
    assert_eq!(params["timeoutInSeconds"], 10);
    assert_eq!(params["inputPayloadEncodingType"], "json");
    assert_eq!(
        params["linuxProcessParams"]["isolationMode"],
        "GreengrassContainer"
    );
    assert_eq!(
        params["eventSources"][0],
        serde_json::json!({"topic": "test-group_Core/python/request", "type": "IOT_CORE"})
    );
    assert!(l["lambdaArn"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:lambda:us-east-1:"));
    // The deployment targets the thing group with the component and the router for publish().
    let d = &p["deploymentRequest"];
    assert!(d["targetArn"]
        .as_str()
        .unwrap()
        .ends_with(":thinggroup/test-group"));
    assert!(d["components"]["test-group-HelloPython"].is_object());
    let router: Value = serde_json::from_str(
        d["components"]["aws.greengrass.LegacySubscriptionRouter"]["configurationUpdate"]["merge"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let sub = router["subscriptions"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    assert_eq!(sub["source"], "component:test-group-HelloPython");
    assert_eq!(sub["target"], "cloud");
    // The token exchange role is trusted by the credentials provider; the policy is V2's.
    let trust = p["iam"]["tokenExchangeRole"]["assumeRolePolicy"].to_string();
    assert!(trust.contains("credentials.iot.amazonaws.com"), "{trust}");
    let policy = p["iot"]["policyDocument"].to_string();
    assert!(
        policy.contains("greengrass:ResolveComponentCandidates"),
        "{policy}"
    );
    assert!(policy.contains("rolealias/ggp-example-greengrass-core-role-alias"));
}

#[test]
fn the_whole_example_maps_with_the_executable_as_a_native_component() {
    let p = plan_json(example(), "deployments/all.conf");
    let components = p["deploymentRequest"]["components"].as_object().unwrap();
    for name in [
        "aws.greengrass.ShadowManager",
        "aws.greengrass.Cloudwatch",
        "aws.greengrass.LegacySubscriptionRouter",
        "test-group-HelloExecutable",
        "test-group-SensorPython",
    ] {
        assert!(components.contains_key(name), "{name}");
    }
    // Its Lambda function is not created; its package is still built.
    let lambdas = p["lambda"].to_string();
    assert!(!lambdas.contains("HelloExecutable"), "{lambdas}");
    assert!(p["artifacts"].to_string().contains("HelloExecutable.zip"));
    let c = component_of(&p, "HelloExecutable");
    assert_eq!(c["kind"], "native");
    assert_eq!(c["componentName"], "test-group-HelloExecutable");
    assert_eq!(
        c["componentVersion"],
        "<unknown:COMPONENT_VERSION_HelloExecutable>"
    );
    let r = &c["request"]["recipe"];
    assert_eq!(r["RecipeFormatVersion"], "2020-01-25");
    assert_eq!(r["ComponentType"], "aws.greengrass.generic");
    let m = &r["Manifests"][0];
    assert_eq!(m["Platform"]["os"], "linux");
    assert_eq!(
        m["Lifecycle"]["Run"],
        "{artifacts:decompressedPath}/HelloExecutable/hello"
    );
    assert_eq!(m["Lifecycle"]["Setenv"]["STAGE"], "example");
    assert_eq!(
        m["Lifecycle"]["Setenv"]["AWS_IOT_THING_NAME"],
        "test-group_Core"
    );
    let a = &m["Artifacts"][0];
    assert_eq!(a["Unarchive"], "ZIP");
    assert_eq!(a["Uri"], "<unknown:ARTIFACT_URI_HelloExecutable_X86_64>");
    // It publishes to HelloPython: over IPC, allowed by its access control, no router entry.
    let acl = &r["ComponentConfiguration"]["DefaultConfiguration"]["accessControl"]
        ["aws.greengrass.ipc.pubsub"]["test-group-HelloExecutable:pubsub:1"];
    assert_eq!(
        acl["operations"],
        serde_json::json!(["aws.greengrass#PublishToTopic"])
    );
    assert_eq!(
        acl["resources"],
        serde_json::json!(["test-group_Core/sensors/native/reading"])
    );
    assert!(routes(&p)
        .iter()
        .all(|(s, _, _)| s != "component:test-group-HelloExecutable"));
    // The token exchange role reads the group's artifacts in ggp's bucket.
    let role = p["iam"]["tokenExchangeRole"]["v2InlinePolicy"].to_string();
    assert!(
        role.contains("arn:aws:s3:::ggp-artifacts-<unknown:ACCOUNT_ID>-us-east-1/ggp/*")
            || role.contains("arn:aws:s3:::<unknown:ARTIFACT_BUCKET>/ggp/*"),
        "{role}"
    );
    assert!(role.contains("s3:GetObject"), "{role}");
}

#[test]
fn an_executable_run_as_root_requires_privilege() {
    let tmp = example_copy();
    edit(
        &tmp.path().join("functions/HelloExecutable/function.conf"),
        "pinned = true",
        "pinned = true\n  uid = 0\n  gid = 0",
    );
    let p = plan_json(tmp.path(), "deployments/hello-executable.conf");
    let run = &p["components"][0]["request"]["recipe"]["Manifests"][0]["Lifecycle"]["Run"];
    assert_eq!(run["RequiresPrivilege"], true, "{run}");
    assert_eq!(
        run["Script"],
        "{artifacts:decompressedPath}/HelloExecutable/hello"
    );
}

#[test]
fn an_executable_with_a_volume_mounted_elsewhere_is_refused() {
    let tmp = example_copy();
    edit(
        &tmp.path().join("functions/HelloExecutable/function.conf"),
        "greengrassContainer = false",
        "greengrassContainer = true\n  localVolumeResources = [{ sourcePath = \"/var/lib/x\", destinationPath = \"/x\", readWrite = false }]",
    );
    let out = run(
        tmp.path(),
        &["-d", "deployments/hello-executable.conf", "--target", "v2"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("1 V1 feature(s) have no Greengrass V2 mapping"),
        "{err}"
    );
    assert!(
        err.contains(
            "function HelloExecutable: executable with the volume /var/lib/x mounted at /x"
        ),
        "{err}"
    );
}

/// The `merge` configuration of a public component in the plan's deployment.
fn merged(p: &Value, component: &str) -> Value {
    let c = &p["deploymentRequest"]["components"][component];
    assert_eq!(
        c["componentVersion"],
        format!("<unknown:VERSION_{component}>"),
        "{component}"
    );
    serde_json::from_str(c["configurationUpdate"]["merge"].as_str().unwrap()).unwrap()
}

/// The plan's component of `function`.
fn component_of<'a>(p: &'a Value, function: &str) -> &'a Value {
    p["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["function"] == function)
        .unwrap_or_else(|| panic!("no component of {function}"))
}

/// The legacy subscription router entries, as (source, subject, target).
fn routes(p: &Value) -> Vec<(String, String, String)> {
    let r = merged(p, "aws.greengrass.LegacySubscriptionRouter");
    let mut v: Vec<_> = r["subscriptions"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(id, s)| {
            assert_eq!(s["id"], id.as_str());
            let f = |k: &str| s[k].as_str().unwrap().to_string();
            (f("source"), f("subject"), f("target"))
        })
        .collect();
    v.sort();
    v
}

fn strings(v: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    v.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

#[test]
fn connected_shadows_map_to_shadow_manager() {
    let p = plan_json(example(), "deployments/sensor-python.conf");
    // The core's own classic shadow, synced both ways (the core syncs it in V1: syncShadow).
    assert_eq!(
        merged(&p, "aws.greengrass.ShadowManager"),
        serde_json::json!({"synchronize": {
            "coreThing": {"classic": true, "namedShadows": []},
            "direction": "betweenDeviceAndCloud"
        }})
    );
    // Function ↔ GGShadowService subscriptions go through the router, both ways.
    let f = "component:test-group-SensorPython";
    let sm = "component:aws.greengrass.ShadowManager";
    let shadow = "$aws/things/test-group_Core/shadow/#";
    assert_eq!(
        routes(&p),
        strings(&[
            (sm, shadow, f),
            (f, shadow, sm),
            (f, "test-group_Core/sensors/#", "cloud"),
        ])
    );
    let c = &p["components"][0]["request"]["lambdaFunction"];
    assert_eq!(c["componentName"], "test-group-SensorPython");
    let deps = &c["componentDependencies"];
    for name in [
        "aws.greengrass.ShadowManager",
        "aws.greengrass.LegacySubscriptionRouter",
        "aws.greengrass.SecretManager",
    ] {
        assert_eq!(
            deps[name],
            serde_json::json!({"versionRequirement": ">=2.0.0 <3.0.0", "dependencyType": "HARD"}),
            "{name}"
        );
    }
    // Shadow messages are not Lambda event sources (the router delivers them).
    let sources = c["componentLambdaParameters"]["eventSources"].to_string();
    assert!(!sources.contains("shadow"), "{sources}");
}

#[test]
fn shadows_of_other_things_are_synced_as_shadow_documents() {
    let tmp = example_copy();
    edit(
        &tmp.path().join("functions/SensorPython/function.conf"),
        "${AWS_IOT_THING_NAME}\n  ]",
        "${AWS_IOT_THING_NAME}\n    \"pump-1\"\n  ]",
    );
    let p = plan_json(tmp.path(), "deployments/sensor-python.conf");
    assert_eq!(
        merged(&p, "aws.greengrass.ShadowManager")["synchronize"],
        serde_json::json!({
            "coreThing": {"classic": true, "namedShadows": []},
            "shadowDocuments": [{"thingName": "pump-1", "classic": true, "namedShadows": []}],
            "direction": "betweenDeviceAndCloud"
        })
    );
    let r = routes(&p);
    assert!(r.contains(&(
        "component:test-group-SensorPython".into(),
        "$aws/things/pump-1/shadow/#".into(),
        "component:aws.greengrass.ShadowManager".into()
    )));
    // The core's minimal policy lets it sync that thing's shadow.
    let policy = p["iot"]["policyDocument"].to_string();
    assert!(
        policy.contains(":topicfilter/$aws/things/pump-1/shadow/*"),
        "{policy}"
    );
    assert!(policy.contains(":thing/pump-1\""), "{policy}");
}

#[test]
fn the_cloudwatch_metrics_connector_maps_to_the_cloudwatch_component() {
    let _snapshots = crate::support::snapshots();
    let tmp = example_copy();
    // HelloPython sends metrics to the connector.
    edit(
        &tmp.path().join("functions/HelloPython/function.conf"),
        "outputTopics = [",
        "outputTopics = [\n    \"cloudwatch/metric/put\"",
    );
    std::fs::write(
        tmp.path().join("deployments/metrics.conf"),
        "conf {\n  functions = [\"HelloPython\"]\n  connectors = [\"cloudwatch-metrics\"]\n}\n",
    )
    .unwrap();
    let p = plan_json(tmp.path(), "deployments/metrics.conf");
    assert_eq!(
        merged(&p, "aws.greengrass.Cloudwatch"),
        serde_json::json!({
            "PublishInterval": 10,
            "PublishRegion": "us-east-1",
            "MaxMetricsToRetain": 5000,
            "InputTopic": "cloudwatch/metric/put"
        })
    );
    let f = "component:test-group-HelloPython";
    assert_eq!(
        routes(&p),
        strings(&[
            (
                f,
                "cloudwatch/metric/put",
                "component:aws.greengrass.Cloudwatch"
            ),
            (f, "test-group_Core/python/hello", "cloud"),
        ])
    );
    let warnings = p["warnings"].to_string();
    assert!(
        warnings.contains("IsolationMode, MemorySize do not apply to aws.greengrass.Cloudwatch"),
        "{warnings}"
    );
    // The connector's core role policy reaches the token exchange role.
    let role = p["iam"]["tokenExchangeRole"]["inlinePolicy"].to_string();
    assert!(role.contains("cloudwatch:PutMetricData"), "{role}");
    insta::assert_json_snapshot!(
        "plan_v2__plan_v2_metrics_deployment",
        p["deploymentRequest"]
    );
}

#[test]
fn the_whole_example_maps_once_the_executable_has_a_recipe() {
    let tmp = example_copy();
    std::fs::write(
        tmp.path().join("functions/HelloExecutable/recipe.yaml"),
        "ComponentName: com.example.HelloExecutable\nComponentVersion: \"1.0.0\"\n",
    )
    .unwrap();
    let p = plan_json(tmp.path(), "deployments/all.conf");
    let components = p["deploymentRequest"]["components"].as_object().unwrap();
    for name in [
        "aws.greengrass.ShadowManager",
        "aws.greengrass.Cloudwatch",
        "aws.greengrass.LegacySubscriptionRouter",
        "com.example.HelloExecutable",
        "test-group-SensorPython",
    ] {
        assert!(components.contains_key(name), "{name}");
    }
}

/// Issue 14: the Docker application deployment connector had no V2 mapping, so a GGP project
/// using it (2 of the 33 deployments of GGP's public sample project) failed `ggp plan --target
/// v2`. AWS's V1→V2 guidance: a component of one's own that depends on
/// aws.greengrass.DockerApplicationManager, the compose file as its artifact.
#[test]
fn a_docker_application_connector_becomes_a_component_with_the_compose_file_as_artifact() {
    let tmp = docker_connector_project("users-compose-bucket");
    let p = plan_json(tmp.path(), "deployments/docker.conf");
    let c = p["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["componentName"] == "test-group-docker-wordpress")
        .unwrap_or_else(|| panic!("no component for the connector: {}", p["components"]));
    assert_eq!(c["kind"], "recipe", "{c}");
    let recipe: Value =
        serde_json::from_str(c["request"]["inlineRecipe"].as_str().unwrap()).unwrap();
    assert_eq!(
        recipe["ComponentDependencies"]["aws.greengrass.DockerApplicationManager"]
            ["DependencyType"],
        "HARD"
    );
    let m = &recipe["Manifests"][0];
    assert_eq!(
        m["Artifacts"][0]["URI"],
        "s3://users-compose-bucket/compose/wordpress.yml"
    );
    assert_eq!(
        m["Lifecycle"]["Run"]["Script"],
        "docker-compose -f {artifacts:path}/wordpress.yml pull && docker-compose -f {artifacts:path}/wordpress.yml up"
    );
    assert_eq!(m["Lifecycle"]["Run"]["RequiresPrivilege"], true);
    assert_eq!(
        m["Lifecycle"]["Shutdown"]["Script"],
        "docker-compose -f {artifacts:path}/wordpress.yml down"
    );
    let version = recipe["ComponentVersion"].as_str().unwrap();
    assert!(version.starts_with("1.0."), "{version}");
    assert_eq!(
        p["deploymentRequest"]["components"]["test-group-docker-wordpress"]["componentVersion"],
        version
    );
    // The token exchange role reads the compose file; what has no V2 meaning is named.
    let role = p["iam"]["tokenExchangeRole"]["v2InlinePolicy"].to_string();
    assert!(
        role.contains("arn:aws:s3:::users-compose-bucket/compose/wordpress.yml"),
        "{role}"
    );
    let warnings = p["warnings"].to_string();
    assert!(
        warnings.contains("DockerComposeFileDestinationPath, DockerContainerStatusLogFrequency"),
        "{warnings}"
    );
    // The same project gives the same version; an S3 object version cannot be an artifact.
    assert_eq!(
        plan_json(tmp.path(), "deployments/docker.conf")["components"],
        p["components"]
    );
    edit(
        &tmp.path().join("connectors/docker-wordpress.conf"),
        "DockerPullBeforeUp",
        "DockerComposeFileS3Version = \"3\"\n      DockerPullBeforeUp",
    );
    let out = run(
        tmp.path(),
        &["-d", "deployments/docker.conf", "--target", "v2"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("DockerComposeFileS3Version"), "{err}");
}

/// Issue 14, "V1 is checked for the same class of gaps": V1's least-privilege core policy allowed
/// only `<thing>/*` topics, so a cloud subscription on another topic was denied to the core that
/// relays it. The V1 policy now adds the cloud topics it does not cover, as V2's does; covered
/// ones add nothing (the example's V1 policy is unchanged: its golden snapshot holds).
#[test]
fn a_v1_cloud_subscription_outside_the_things_topics_is_in_the_v1_core_policy() {
    let tmp = example_copy();
    edit(
        &tmp.path().join("functions/HelloPython/function.conf"),
        "fromCloudSubscriptions = [",
        "fromCloudSubscriptions = [\n    \"fleet/commands/#\"",
    );
    edit(
        &tmp.path().join("functions/HelloPython/function.conf"),
        "toCloudSubscriptions = [",
        "toCloudSubscriptions = [\n    \"telemetry/hello\"",
    );
    let out = run(
        tmp.path(),
        &[
            "-d",
            "deployments/hello-python.conf",
            "--target",
            "v1",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p: Value = serde_json::from_slice(&out.stdout).unwrap();
    let doc = p["iot"]["policyDocument"].to_string();
    let a = "arn:aws:iot:us-east-1:<unknown:ACCOUNT_ID>";
    for want in [
        format!("{a}:topicfilter/fleet/commands/#"),
        format!("{a}:topic/fleet/commands/*"),
        format!("{a}:topic/telemetry/hello"),
    ] {
        assert!(doc.contains(&want), "{want} not in {doc}");
    }
    // The thing's own topics stay covered by `<thing>/*`: not listed again.
    assert!(!doc.contains("test-group_Core/python/request\""), "{doc}");
}

#[test]
fn a_connector_without_a_v2_mapping_is_named() {
    let tmp = example_copy();
    edit(
        &tmp.path().join("connectors/cloudwatch-metrics.conf"),
        "CloudWatchMetricsConnector",
        "SNSConnector",
    );
    std::fs::write(
        tmp.path().join("deployments/sns.conf"),
        "conf {\n  functions = []\n  connectors = [\"cloudwatch-metrics\"]\n}\n",
    )
    .unwrap();
    let out = run(
        tmp.path(),
        &["-d", "deployments/sns.conf", "--target", "v2"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "connector cloudwatch-metrics (SNSConnector): Greengrass V2 has no connectors"
        ),
        "{err}"
    );
}

#[test]
fn conf_target_decides_and_the_flag_overrides() {
    // The example project says `target = v1`.
    let v1 = plan_ok(example(), &["-d", "deployments/empty.conf"]);
    assert!(v1.contains("Greengrass V1"), "{v1}");
    let v2 = plan_ok(
        example(),
        &["-d", "deployments/empty.conf", "--target", "v2"],
    );
    assert!(v2.contains("Greengrass V2"), "{v2}");
    assert!(v2.contains("thing group test-group (the deployment target)"));
}

#[test]
fn a_recipe_in_the_function_folder_makes_a_native_component() {
    let tmp = example_copy();
    let recipe = "RecipeFormatVersion: \"2020-01-25\"\nComponentName: com.example.HelloExecutable\nComponentVersion: \"1.0.0\"\nManifests:\n  - Platform: { os: linux }\n    Lifecycle: { Run: \"{artifacts:path}/hello\" }\n";
    std::fs::write(
        tmp.path().join("functions/HelloExecutable/recipe.yaml"),
        recipe,
    )
    .unwrap();
    let p = plan_json(tmp.path(), "deployments/hello-executable.conf");
    let c = &p["components"][0];
    assert_eq!(c["kind"], "recipe");
    assert_eq!(c["componentName"], "com.example.HelloExecutable");
    assert_eq!(c["componentVersion"], "1.0.0");
    assert_eq!(c["request"]["inlineRecipe"], recipe);
    // Its Lambda function is not created, nor built.
    assert_eq!(p["lambda"], serde_json::json!([]));
    assert_eq!(p["artifacts"], serde_json::json!([]));
    assert_eq!(
        p["deploymentRequest"]["components"]["com.example.HelloExecutable"]["componentVersion"],
        "1.0.0"
    );
}

/// Issue 14: V1's FATAL went into the nucleus `logging.level` and LogManager's `minimumLogLevel`,
/// which accept TRACE, DEBUG, INFO, WARN and ERROR only.
#[test]
fn fatal_log_level_becomes_error_for_the_nucleus_and_log_manager_with_a_warning() {
    let tmp = example_copy();
    let defaults = tmp.path().join("deployments/deployment.defaults.conf");
    edit(
        &defaults,
        "loggerLevel = \"ERROR\"\n      loggerType = \"AWSCloudWatch\"",
        "loggerLevel = \"FATAL\"\n      loggerType = \"AWSCloudWatch\"",
    );
    edit(
        &defaults,
        "component = \"GreengrassSystem\"\n      loggerLevel = \"INFO\"",
        "component = \"GreengrassSystem\"\n      loggerLevel = \"FATAL\"",
    );
    let p = plan_json(tmp.path(), "deployments/hello-python.conf");
    assert_eq!(
        p["nucleusLogging"]["level"], "ERROR",
        "{}",
        p["nucleusLogging"]
    );
    let logs = merged(&p, "aws.greengrass.LogManager");
    let levels = &logs["logsUploaderConfiguration"]["componentLogsConfigurationMap"];
    assert_eq!(
        levels["test-group-HelloPython"]["minimumLogLevel"], "ERROR",
        "{logs}"
    );
    assert!(!p.to_string().contains("\"FATAL\""), "{p}");
    let warnings: Vec<String> = p["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .filter(|w| w.contains("FATAL"))
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains("component = Lambda, loggerType = AWSCloudWatch"),
        "{warnings:?}"
    );
    assert!(warnings[0].contains("minimumLogLevel"), "{warnings:?}");
    assert!(
        warnings[1].contains("component = GreengrassSystem, loggerType = FileSystem"),
        "{warnings:?}"
    );
    assert!(warnings[1].contains("logging.level"), "{warnings:?}");
}

/// Issue 14: a native component (compiled per architecture) was published with one manifest whose
/// platform said only `os: linux`, so an ARM core would take an x86-64 package.
#[test]
fn arch_specific_package_has_one_manifest_per_built_architecture() {
    let p: Value = serde_json::from_str(&plan_ok(
        example(),
        &[
            "-d",
            "deployments/hello-executable.conf",
            "-a",
            "X86_64,ARM64,ARM32,ARMV6L_RASPBIAN",
            "--target",
            "v2",
            "--json",
        ],
    ))
    .unwrap();
    let c = component_of(&p, "HelloExecutable");
    let manifests = c["request"]["recipe"]["Manifests"].as_array().unwrap();
    let got: Vec<(String, String)> = manifests
        .iter()
        .map(|m| {
            assert_eq!(m["Platform"]["os"], "linux", "{m}");
            assert_eq!(m["Artifacts"].as_array().unwrap().len(), 1, "{m}");
            (
                m["Platform"]["architecture"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                m["Artifacts"][0]["Uri"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("amd64", "X86_64"),
        ("aarch64", "ARM64"),
        ("arm", "ARM32"),
        ("arm", "ARMV6L_RASPBIAN"),
    ]
    .iter()
    .map(|(a, n)| {
        (
            a.to_string(),
            format!("<unknown:ARTIFACT_URI_HelloExecutable_{n}>"),
        )
    })
    .collect();
    assert_eq!(got, want);
}
