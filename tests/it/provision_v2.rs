//! Greengrass V2 provisioning against the bench emulator: the example project deployed as V2
//! (thing group, component versions with the expected recipes, a thing-group deployment with the
//! public components resolved), a re-run with zero mutating calls, what one code change touches,
//! the deployment awaited when the core device is there (COMPLETED, FAILED), crash recovery at
//! every step, a changed recipe under an existing version refused, and destroy.
//!
//! Lambda packages are small deterministic zips made by the test (provisioning only: no Docker).

use crate::support::emulator;
use crate::support::provision as provision_fixture;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ggp::app::deploy::DeployRequest;
use ggp::app::Context;
use ggp::config::Target;
use ggp::provision::{self, Action, Cloud, DeployReport, ProvisionError};
use ggp::target::v2::Plan as V2Plan;
use provision_fixture::{cloud, example_copy, repo, Setup};
use serde_json::{json, Value};

use emulator::{ACCOUNT, REGION};

const GROUP: &str = "v2-group";

/// One V2 deploy setup (the provisioning fixture's, targeting V2): project root, deployment, the
/// code of each function, options.
type V2Setup = Setup;

fn v2_setup(root: &Path, deployment: &str) -> Setup {
    let mut s = Setup::new(deployment, GROUP);
    s.root = root.to_path_buf();
    s.target = Target::V2;
    s.opts.deployment_timeout = std::time::Duration::from_secs(20);
    s.code = ["HelloPython", "HelloNode", "SensorPython"]
        .iter()
        .map(|f| (f.to_string(), format!("# {f} v1\n")))
        .collect();
    s
}

/// The V2 plan a deploy of `setup` makes (offline: placeholders where the account is unknown).
async fn v2_plan(setup: &Setup, cloud: &Cloud) -> V2Plan {
    match setup.plan(cloud).await {
        ggp::target::Plan::V2(p) => p,
        other => panic!("not a V2 plan: {other:?}"),
    }
}

fn example() -> V2Setup {
    v2_setup(&repo(), "deployments/hello-python.conf")
}

/// A copy of the example project with a deployment of every function V2 can run as a Lambda
/// function component.
fn two_function_project() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for dir in [
        "deployments",
        "functions/HelloPython",
        "functions/HelloNode",
    ] {
        let from = repo().join(dir);
        let to = tmp.path().join(dir);
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(&from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    std::fs::write(
        tmp.path().join("deployments/pair.conf"),
        "conf {\n  functions = [\"HelloPython\", \"HelloNode\"]\n}\n",
    )
    .unwrap();
    tmp
}

/// The token exchange role's `greengrass-v2-by-ggp` policy document (URL-decoded enough to read).
async fn v2_role_policy(cloud: &Cloud) -> String {
    let policy = cloud
        .clients
        .iam
        .get_role_policy()
        .role_name("ggp-example-greengrass-core-role")
        .policy_name("greengrass-v2-by-ggp")
        .send()
        .await
        .unwrap();
    policy
        .policy_document()
        .replace("%2F", "/")
        .replace("%3A", ":")
        .replace("%2A", "*")
}

fn created(r: &DeployReport) -> BTreeSet<(String, String)> {
    r.changes
        .iter()
        .filter(|c| c.action == Action::Create)
        .map(|c| (c.kind.to_string(), c.name.clone()))
        .collect()
}

fn gg(cloud: &Cloud) -> &aws_sdk_greengrassv2::Client {
    &cloud.clients.greengrassv2
}

/// The secret SensorPython reads (`sensor-api-key`), made in the account as its user would; its
/// ARN, with the random suffix Secrets Manager adds.
async fn sensor_secret(cloud: &Cloud) -> String {
    cloud
        .clients
        .secretsmanager
        .create_secret()
        .name("sensor-api-key")
        .secret_string("s3cr3t")
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_string()
}

/// Runs a deploy that must be refused, and gives its provisioning error; `why` names what should
/// have stopped it.
async fn refused_deploy(ctx: &Context, req: &DeployRequest, why: &str) -> ProvisionError {
    match ggp::app::deploy::deploy(ctx, req).await {
        Ok(o) => panic!("deployed {why}: {:?}", o.report),
        Err(e) => provision_fixture::provision_error(e),
    }
}

/// The account holds no Greengrass V2 deployment at all.
async fn assert_no_deployment(cloud: &Cloud) {
    let deployments = gg(cloud).list_deployments().send().await.unwrap();
    assert!(deployments.deployments().is_empty(), "{deployments:?}");
}

/// The account's latest deployment on the thing group, as GetDeployment returns it.
async fn latest_deployment(
    cloud: &Cloud,
) -> aws_sdk_greengrassv2::operation::get_deployment::GetDeploymentOutput {
    let target = format!("arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/{GROUP}");
    let list = gg(cloud)
        .list_deployments()
        .target_arn(&target)
        .send()
        .await
        .unwrap();
    let id = list.deployments()[0].deployment_id().unwrap().to_string();
    gg(cloud)
        .get_deployment()
        .deployment_id(id)
        .send()
        .await
        .unwrap()
}

fn versions_of(
    d: &aws_sdk_greengrassv2::operation::get_deployment::GetDeploymentOutput,
) -> BTreeMap<String, String> {
    d.components()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.component_version().to_string()))
        .collect()
}

/// The recipe the service made for a component version (JSON).
async fn recipe(cloud: &Cloud, name: &str, version: &str) -> Value {
    let arn = format!("arn:aws:greengrass:{REGION}:{ACCOUNT}:components:{name}:versions:{version}");
    let out = gg(cloud)
        .get_component()
        .arn(arn)
        .recipe_output_format(aws_sdk_greengrassv2::types::RecipeOutputFormat::Json)
        .send()
        .await
        .unwrap();
    serde_json::from_slice(out.recipe().as_ref()).unwrap()
}

#[tokio::test]
async fn the_example_deploys_as_v2_and_a_second_run_changes_nothing() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    let project = two_function_project();
    let setup = v2_setup(project.path(), "deployments/pair.conf");

    let first = setup.deploy(&cloud).await.expect("deploy");
    first
        .result()
        .expect("a deployment waiting for its device is not an error");
    let c = created(&first);
    for (kind, name) in [
        ("iot-thing-group", GROUP),
        ("iam-role", "ggp-example-greengrass-core-role"),
        ("iot-thing", "v2-group_Core"),
        ("iot-policy", "v2-group_Core_Policy"),
        ("iot-role-alias", "ggp-example-greengrass-core-role-alias"),
        ("iot-thing-group-membership", "v2-group_Core in v2-group"),
        ("lambda-function", "v2-group-HelloPython"),
        ("lambda-function", "v2-group-HelloNode"),
        ("greengrassv2-deployment", "v2-group-pair"),
    ] {
        assert!(
            c.contains(&(kind.into(), name.into())),
            "{kind} {name} not created: {c:?}"
        );
    }
    let d = first.deployment.as_ref().unwrap();
    assert!(d.created);
    assert_eq!(d.status, "ACTIVE");
    assert_eq!(d.pending_device.as_deref(), Some("v2-group_Core"));
    assert!(first.render_text().contains("has not connected yet"));

    // The thing is in the thing group, and the group id is GROUP_ID in the functions' environment.
    let iot = &cloud.clients.iot;
    let groups = iot
        .list_thing_groups_for_thing()
        .thing_name("v2-group_Core")
        .send()
        .await
        .unwrap();
    assert_eq!(groups.thing_groups()[0].group_name(), Some(GROUP));
    let tg = iot
        .describe_thing_group()
        .thing_group_name(GROUP)
        .send()
        .await
        .unwrap();

    // The deployment: both function components and the public components it needs, resolved
    // to the newest 2.x the service offers.
    let dep = latest_deployment(&cloud).await;
    assert_eq!(dep.target_arn(), Some(tg.thing_group_arn().unwrap()));
    let versions = versions_of(&dep);
    assert_eq!(
        versions.keys().cloned().collect::<Vec<_>>(),
        [
            "aws.greengrass.LegacySubscriptionRouter",
            "aws.greengrass.LogManager",
            "v2-group-HelloNode",
            "v2-group-HelloPython"
        ]
    );
    let newest = |name: &str| {
        let v = emu.control(
            "/ggp-bench/greengrassv2/public-component",
            json!({"componentName": name, "componentVersion": "2.0.0"}),
        );
        v["versions"][0].as_str().unwrap().to_string()
    };
    assert_eq!(
        versions["aws.greengrass.LogManager"],
        newest("aws.greengrass.LogManager")
    );
    assert_eq!(
        versions["aws.greengrass.LegacySubscriptionRouter"],
        newest("aws.greengrass.LegacySubscriptionRouter")
    );
    let router = &dep.components().unwrap()["aws.greengrass.LegacySubscriptionRouter"];
    let merge: Value =
        serde_json::from_str(router.configuration_update().unwrap().merge().unwrap()).unwrap();
    assert!(
        merge["subscriptions"]
            .as_object()
            .is_some_and(|m| !m.is_empty()),
        "{merge}"
    );

    // The Lambda function component: the recipe the service made from the function.
    let v = &versions["v2-group-HelloPython"];
    assert!(v.starts_with("1.0."), "{v}");
    let r = recipe(&cloud, "v2-group-HelloPython", v).await;
    assert_eq!(r["ComponentType"], "aws.greengrass.lambda", "{r}");
    let text = r.to_string();
    assert!(
        text.contains(&format!(
            "arn:aws:lambda:{REGION}:{ACCOUNT}:function:v2-group-HelloPython:1"
        )),
        "{text}"
    );
    assert!(
        text.contains(tg.thing_group_id().unwrap()),
        "GROUP_ID is the thing group id: {text}"
    );
    assert!(!text.contains("<unknown:"), "{text}");

    // Again: nothing to do, not a single mutating call.
    cloud.clients.recorder().clear();
    let second = setup.deploy(&cloud).await.expect("second deploy");
    assert_eq!(cloud.clients.recorder().mutating(), Vec::<String>::new());
    assert!(!second.changed, "{}", second.render_text());
    assert!(!second.deployment.as_ref().unwrap().created);
    // And the plan against the account agrees.
    let diff = setup.diff(&cloud).await.unwrap();
    assert!(!diff.changed, "{}", diff.render_text());
}

#[tokio::test]
async fn one_code_change_makes_one_new_component_version_and_one_deployment() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    let mut setup = example();
    setup.deploy(&cloud).await.unwrap();
    let before = versions_of(&latest_deployment(&cloud).await);

    setup
        .code
        .insert("HelloPython".into(), "# HelloPython v2\n".into());
    cloud.clients.recorder().clear();
    let plan = setup.diff(&cloud).await.unwrap();
    assert!(plan.changed);
    assert_eq!(cloud.clients.recorder().stats().mutating, 0);

    cloud.clients.recorder().clear();
    let r = setup.deploy(&cloud).await.unwrap();
    let ops: BTreeMap<String, usize> = r.api_calls.mutating_operations.clone();
    assert_eq!(
        ops.keys().cloned().collect::<Vec<_>>(),
        [
            "GreengrassV2.CreateComponentVersion",
            "GreengrassV2.CreateDeployment",
            "Lambda.PublishVersion",
            "Lambda.UpdateAlias",
            "Lambda.UpdateFunctionCode",
        ],
        "{ops:?}"
    );
    assert!(ops.values().all(|n| *n == 1), "{ops:?}");
    let after = versions_of(&latest_deployment(&cloud).await);
    assert_ne!(
        after["v2-group-HelloPython"],
        before["v2-group-HelloPython"]
    );
    // The public components stay where they were.
    assert_eq!(
        after["aws.greengrass.LogManager"],
        before["aws.greengrass.LogManager"]
    );
    let r = recipe(
        &cloud,
        "v2-group-HelloPython",
        &after["v2-group-HelloPython"],
    )
    .await;
    assert!(
        r.to_string().contains("function:v2-group-HelloPython:2"),
        "{r}"
    );
}

#[tokio::test]
async fn a_newer_public_component_does_not_redeploy_a_running_group() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    let setup = example();
    setup.deploy(&cloud).await.unwrap();
    let before = versions_of(&latest_deployment(&cloud).await);
    emu.control(
        "/ggp-bench/greengrassv2/public-component",
        json!({"componentName": "aws.greengrass.LogManager", "componentVersion": "2.99.0"}),
    );
    cloud.clients.recorder().clear();
    let r = setup.deploy(&cloud).await.unwrap();
    assert_eq!(cloud.clients.recorder().mutating(), Vec::<String>::new());
    assert!(!r.changed);
    assert_eq!(versions_of(&latest_deployment(&cloud).await), before);
}

#[tokio::test]
async fn with_its_core_device_connected_the_deployment_is_awaited() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    emu.control(
        "/ggp-bench/greengrassv2/core-device",
        json!({"thingName": "v2-group_Core"}),
    );
    let setup = example();
    let r = setup.deploy(&cloud).await.unwrap();
    let d = r.deployment.as_ref().unwrap();
    assert_eq!(d.pending_device, None);
    // The device's own execution ended it; the thing-group deployment itself stays ACTIVE, as
    // the service keeps it (continuous), so it is not what ggp waits for.
    assert_eq!(d.status, "SUCCEEDED", "{}", r.render_text());
    r.result().unwrap();
    let service = latest_deployment(&cloud).await;
    assert_eq!(service.deployment_status().unwrap().as_str(), "ACTIVE");

    // A change the device rejects: FAILED with the device's reason, exit status 31.
    emu.control(
        "/ggp-bench/greengrassv2/deployment-outcome",
        json!({"status": "FAILED", "reason": "component v2-group-HelloPython broke", "errorStack": ["DEPLOYMENT_FAILURE", "COMPONENT_BROKEN"]}),
    );
    let mut setup = setup;
    setup.code.insert("HelloPython".into(), "# broken\n".into());
    let r = setup.deploy(&cloud).await.unwrap();
    let d = r.deployment.as_ref().unwrap();
    assert_eq!(d.status, "FAILED");
    let e = r.result().unwrap_err();
    assert_eq!(e.exit_code(), 31);
    let msg = e.to_string();
    assert!(
        msg.contains("component v2-group-HelloPython broke"),
        "{msg}"
    );
    assert!(msg.contains("COMPONENT_BROKEN"), "{msg}");

    // The same content again is deployed again (the last one failed), not reported as done.
    emu.control(
        "/ggp-bench/greengrassv2/deployment-outcome",
        json!({"status": "COMPLETED"}),
    );
    let r = setup.deploy(&cloud).await.unwrap();
    assert!(r.deployment.as_ref().unwrap().created);
    r.result().unwrap();
}

#[tokio::test]
async fn a_crash_at_any_step_then_a_rerun_converges() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    let steps = example().plan(&cloud).await.steps();
    assert!(steps.contains(&"after-components".to_string()), "{steps:?}");
    assert!(
        steps.contains(&"after-lambda:HelloPython".to_string()),
        "{steps:?}"
    );
    for step in &steps {
        emu.reset();
        let mut setup = example();
        setup.opts.fail_after = Some(step.clone());
        let e = setup.deploy(&cloud).await.unwrap_err();
        assert!(
            matches!(e, ProvisionError::Injected(ref s) if s == step),
            "{step}: {e}"
        );
        setup.opts.fail_after = None;
        let r = setup
            .deploy(&cloud)
            .await
            .unwrap_or_else(|e| panic!("{step}: {e}"));
        r.result().unwrap();
        cloud.clients.recorder().clear();
        let again = setup.deploy(&cloud).await.unwrap();
        assert_eq!(
            cloud.clients.recorder().mutating(),
            Vec::<String>::new(),
            "after a crash at {step}, the re-run left work: {}",
            again.render_text()
        );
        // One deployment, one component version, one thing group: nothing made twice.
        let comps = gg(&cloud)
            .list_component_versions()
            .arn(format!(
                "arn:aws:greengrass:{REGION}:{ACCOUNT}:components:v2-group-HelloPython"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(comps.component_versions().len(), 1, "{step}");
        let deps = gg(&cloud)
            .list_deployments()
            .history_filter(aws_sdk_greengrassv2::types::DeploymentHistoryFilter::All)
            .send()
            .await
            .unwrap();
        assert_eq!(deps.deployments().len(), 1, "{step}");
    }
}

#[tokio::test]
async fn a_recipe_changed_under_its_version_is_refused_before_any_deployment() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    let project = two_function_project();
    let recipe_path = project.path().join("functions/HelloNode/recipe.yaml");
    let recipe_text = |run: &str| {
        format!(
            "RecipeFormatVersion: '2020-01-25'\nComponentName: com.example.HelloNative\nComponentVersion: '1.0.0'\nManifests:\n  - Platform:\n      os: linux\n    Lifecycle:\n      Run: \"{run}\"\n"
        )
    };
    std::fs::write(&recipe_path, recipe_text("echo hello")).unwrap();
    let setup = v2_setup(project.path(), "deployments/pair.conf");
    let r = setup.deploy(&cloud).await.unwrap();
    assert!(created(&r).contains(&(
        "greengrass-component".into(),
        "com.example.HelloNative 1.0.0".into()
    )));
    // No Lambda function for a function that has a recipe.
    assert!(!created(&r).iter().any(|(_, n)| n == "v2-group-HelloNode"));
    let dep = latest_deployment(&cloud).await;
    assert_eq!(versions_of(&dep)["com.example.HelloNative"], "1.0.0");

    std::fs::write(&recipe_path, recipe_text("echo changed")).unwrap();
    cloud.clients.recorder().clear();
    let e = setup.deploy(&cloud).await.unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("functions/HelloNode/recipe.yaml") && msg.contains("ComponentVersion"),
        "{msg}"
    );
    assert_eq!(e.exit_code(), 33);
    assert!(
        !cloud
            .clients
            .recorder()
            .mutating()
            .iter()
            .any(|c| c.starts_with("GreengrassV2.")),
        "{:?}",
        cloud.clients.recorder().mutating()
    );
}

#[tokio::test]
async fn destroy_v2_removes_what_ggp_made_and_only_that() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    // Something of the user's in the same account, to be kept.
    let user_tg = cloud
        .clients
        .iot
        .create_thing_group()
        .thing_group_name("users-own")
        .send()
        .await
        .unwrap();
    let setup = example();
    emu.control(
        "/ggp-bench/greengrassv2/core-device",
        json!({"thingName": "v2-group_Core"}),
    );
    setup.deploy(&cloud).await.unwrap().result().unwrap();
    let report = setup.destroy(&cloud).await.unwrap();
    let deleted: BTreeSet<&str> = report
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .map(|c| c.kind)
        .collect();
    for kind in [
        "greengrassv2-deployment",
        "greengrass-component",
        "greengrass-core-device",
        "lambda-function",
        "iot-thing",
        "iot-certificate",
        "iot-policy",
        "iot-thing-group",
        "iot-role-alias",
        "iam-role",
    ] {
        assert!(
            deleted.contains(kind),
            "{kind} not deleted: {}",
            report.render_text()
        );
    }
    assert!(!setup.opts.state_dir.exists());
    let iot = &cloud.clients.iot;
    let groups = iot.list_thing_groups().send().await.unwrap();
    let names: Vec<_> = groups
        .thing_groups()
        .iter()
        .filter_map(|g| g.group_name())
        .collect();
    assert_eq!(names, [user_tg.thing_group_name().unwrap()]);
    assert!(iot.list_things().send().await.unwrap().things().is_empty());
    let comps = gg(&cloud).list_components().send().await.unwrap();
    assert!(comps.components().is_empty());
    let fns = cloud.clients.lambda.list_functions().send().await.unwrap();
    assert!(fns.functions().is_empty());
    // Again: nothing left to delete.
    let again = setup.destroy(&cloud).await.unwrap();
    assert!(
        again.changes.iter().all(|c| c.action != Action::Delete),
        "{}",
        again.render_text()
    );
}

// ------------------------------------------------------------------------------------------------
// The executable function as a native component, its package in S3
// ------------------------------------------------------------------------------------------------

const BUCKET: &str = "ggp-artifacts-123456789012-us-east-1";

/// The full example (`deployments/all.conf`): four functions, one of them the executable, and
/// the CloudWatch connector.
fn full_example(root: &Path) -> V2Setup {
    let mut s = v2_setup(root, "deployments/all.conf");
    s.code
        .insert("HelloExecutable".into(), "# HelloExecutable v1\n".into());
    s
}

/// Base64 of the bytes a hex string names (S3/Greengrass digests are base64 sha256).
fn hex_to_base64(hex: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

async fn keys_under(cloud: &Cloud, bucket: &str, prefix: &str) -> Vec<String> {
    cloud
        .clients
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn the_full_example_deploys_as_v2_with_the_executable_as_a_native_component() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    let setup = full_example(&repo());
    // Issue 14: SensorPython's secret is named without its ARN's random suffix. Missing, it stops
    // the deploy before any change; made, the deployment names its real ARN.
    cloud.clients.recorder().clear();
    let err = setup.deploy(&cloud).await.unwrap_err().to_string();
    assert!(
        err.contains("function SensorPython: secret sensor-api-key do(es) not exist in us-east-1"),
        "{err}"
    );
    let m = cloud.clients.recorder().mutating();
    assert!(m.is_empty(), "{m:?}");
    let secret = sensor_secret(&cloud).await;
    assert!(
        secret.len() > "arn:aws:secretsmanager:us-east-1:123456789012:secret:sensor-api-key".len(),
        "{secret}"
    );

    let first = setup.deploy(&cloud).await.expect("deploy");
    first.result().expect("deployed, waiting for its device");
    let c = created(&first);
    assert!(
        c.contains(&("s3-bucket".into(), BUCKET.into())),
        "{}",
        first.render_text()
    );
    // No Lambda function for the executable.
    assert!(
        !c.iter()
            .any(|(k, n)| k == "lambda-function" && n.contains("HelloExecutable")),
        "{c:?}"
    );
    let fns = cloud.clients.lambda.list_functions().send().await.unwrap();
    let mut names: Vec<_> = fns
        .functions()
        .iter()
        .filter_map(|f| f.function_name())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "v2-group-HelloNode",
            "v2-group-HelloPython",
            "v2-group-SensorPython"
        ]
    );

    // The deployment holds every function's component and the public components they need.
    let dep = latest_deployment(&cloud).await;
    let versions = versions_of(&dep);
    for name in [
        "v2-group-HelloExecutable",
        "v2-group-HelloPython",
        "v2-group-HelloNode",
        "v2-group-SensorPython",
        "aws.greengrass.LegacySubscriptionRouter",
        "aws.greengrass.ShadowManager",
        "aws.greengrass.Cloudwatch",
        "aws.greengrass.SecretManager",
        "aws.greengrass.LogManager",
    ] {
        assert!(
            versions.contains_key(name),
            "{name} not deployed: {versions:?}"
        );
    }

    // SecretManager reads the secret by its real ARN.
    let sm = dep.components().unwrap()["aws.greengrass.SecretManager"]
        .configuration_update()
        .and_then(|u| u.merge())
        .unwrap_or_default()
        .to_string();
    assert!(sm.contains(&format!("{{\"arn\":\"{secret}\"}}")), "{sm}");

    // The native component: ggp's recipe, its artifact in S3 with the digest the service filled.
    let v = &versions["v2-group-HelloExecutable"];
    assert!(v.starts_with("1.0."), "{v}");
    assert!(c.contains(&(
        "greengrass-component".into(),
        format!("v2-group-HelloExecutable {v}")
    )));
    let r = recipe(&cloud, "v2-group-HelloExecutable", v).await;
    assert_eq!(r["ComponentType"], "aws.greengrass.generic", "{r}");
    assert_eq!(r["ComponentVersion"], json!(v));
    // Built for one architecture (issue 14: arch-specific packages name it).
    assert_eq!(r["Manifests"].as_array().unwrap().len(), 1, "{r}");
    let m = &r["Manifests"][0];
    assert_eq!(
        m["Platform"],
        json!({"os": "linux", "architecture": "amd64"}),
        "{r}"
    );
    assert_eq!(
        m["Lifecycle"]["Run"],
        "{artifacts:decompressedPath}/HelloExecutable/hello"
    );
    assert_eq!(m["Lifecycle"]["Setenv"]["STAGE"], "example");
    let tg = cloud
        .clients
        .iot
        .describe_thing_group()
        .thing_group_name(GROUP)
        .send()
        .await
        .unwrap();
    assert_eq!(
        m["Lifecycle"]["Setenv"]["GROUP_ID"],
        json!(tg.thing_group_id().unwrap())
    );
    let key = format!("ggp/{GROUP}/v2-group-HelloExecutable/{v}/HelloExecutable.zip");
    let a = &m["Artifacts"][0];
    assert_eq!(a["Uri"], json!(format!("s3://{BUCKET}/{key}")), "{r}");
    assert_eq!(a["Unarchive"], "ZIP");
    let pkg = setup
        .packages()
        .into_iter()
        .find(|p| p.function == "HelloExecutable")
        .unwrap();
    assert_eq!(a["Digest"], json!(hex_to_base64(&pkg.sha256)), "{r}");
    assert_eq!(a["Algorithm"], "SHA-256");
    assert!(
        c.contains(&("s3-object".into(), format!("s3://{BUCKET}/{key}"))),
        "{c:?}"
    );
    assert_eq!(
        keys_under(&cloud, BUCKET, &format!("ggp/{GROUP}/")).await,
        std::slice::from_ref(&key)
    );
    let tags = cloud
        .clients
        .s3
        .get_bucket_tagging()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    assert!(tags
        .tag_set()
        .iter()
        .any(|t| t.key() == "ggp:managed-by" && t.value() == "ggp"));
    // It publishes to HelloPython over IPC: allowed by its access control, no router entry.
    let acl = &r["ComponentConfiguration"]["DefaultConfiguration"]["accessControl"];
    assert!(
        acl["aws.greengrass.ipc.pubsub"]
            .to_string()
            .contains("v2-group_Core/sensors/native/reading"),
        "{r}"
    );
    let router = &dep.components().unwrap()["aws.greengrass.LegacySubscriptionRouter"];
    let merge = router.configuration_update().unwrap().merge().unwrap();
    assert!(
        !merge.contains("component:v2-group-HelloExecutable"),
        "{merge}"
    );

    // The token exchange role may read the artifacts.
    let doc = v2_role_policy(&cloud).await;
    assert!(
        doc.contains(&format!("arn:aws:s3:::{BUCKET}/ggp/*")),
        "{doc}"
    );

    // The connected shadow's thing (the core's own here) exists; ShadowManager syncs it.
    cloud
        .clients
        .iot
        .describe_thing()
        .thing_name("v2-group_Core")
        .send()
        .await
        .unwrap();
    let sm = &dep.components().unwrap()["aws.greengrass.ShadowManager"];
    assert!(sm
        .configuration_update()
        .unwrap()
        .merge()
        .unwrap()
        .contains("coreThing"));

    // Again: not a single mutating call, no upload.
    cloud.clients.recorder().clear();
    let second = setup.deploy(&cloud).await.expect("second deploy");
    assert_eq!(cloud.clients.recorder().mutating(), Vec::<String>::new());
    assert!(!second.changed, "{}", second.render_text());
    let diff = setup.diff(&cloud).await.unwrap();
    assert!(!diff.changed, "{}", diff.render_text());
}

#[tokio::test]
async fn a_code_change_of_the_executable_makes_one_new_version_and_one_upload() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    sensor_secret(&cloud).await;
    let mut setup = full_example(&repo());
    setup.deploy(&cloud).await.unwrap().result().unwrap();
    let before = versions_of(&latest_deployment(&cloud).await);

    setup
        .code
        .insert("HelloExecutable".into(), "# HelloExecutable v2\n".into());
    cloud.clients.recorder().clear();
    let plan = setup.diff(&cloud).await.unwrap();
    assert!(plan.changed);
    assert_eq!(cloud.clients.recorder().stats().mutating, 0);

    cloud.clients.recorder().clear();
    let r = setup.deploy(&cloud).await.unwrap();
    r.result().unwrap();
    let ops: BTreeMap<String, usize> = r.api_calls.mutating_operations.clone();
    assert_eq!(
        ops.keys().cloned().collect::<Vec<_>>(),
        [
            "GreengrassV2.CreateComponentVersion",
            "GreengrassV2.CreateDeployment",
            "S3.PutObject",
        ],
        "{ops:?}"
    );
    assert!(ops.values().all(|n| *n == 1), "{ops:?}");
    let after = versions_of(&latest_deployment(&cloud).await);
    let (old, new) = (
        &before["v2-group-HelloExecutable"],
        &after["v2-group-HelloExecutable"],
    );
    assert_ne!(old, new);
    for (k, v) in &before {
        if k != "v2-group-HelloExecutable" {
            assert_eq!(&after[k], v, "{k}");
        }
    }
    let r = recipe(&cloud, "v2-group-HelloExecutable", new).await;
    assert!(
        r["Manifests"][0]["Artifacts"][0]["Uri"]
            .as_str()
            .unwrap()
            .contains(&format!("/{new}/HelloExecutable.zip")),
        "{r}"
    );
    assert_eq!(
        keys_under(&cloud, BUCKET, &format!("ggp/{GROUP}/"))
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn artifacts_go_to_the_given_bucket_and_directory() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    cloud
        .clients
        .s3
        .create_bucket()
        .bucket("users-bucket")
        .send()
        .await
        .unwrap();
    let mut setup = v2_setup(&repo(), "deployments/hello-executable.conf");
    setup.code = [("HelloExecutable".to_string(), "# exe\n".to_string())].into();
    setup.opts.s3 = Some(provision::S3Location {
        bucket: "users-bucket".into(),
        prefix: "/builds/".into(),
    });
    setup.deploy(&cloud).await.unwrap().result().unwrap();
    let v = versions_of(&latest_deployment(&cloud).await)["v2-group-HelloExecutable"].clone();
    assert_eq!(
        keys_under(&cloud, "users-bucket", "").await,
        [format!(
            "builds/ggp/{GROUP}/v2-group-HelloExecutable/{v}/HelloExecutable.zip"
        )]
    );
    // No bucket of ggp's.
    let buckets = cloud.clients.s3.list_buckets().send().await.unwrap();
    assert_eq!(buckets.buckets().len(), 1);
    let doc = v2_role_policy(&cloud).await;
    assert!(
        doc.contains("arn:aws:s3:::users-bucket/builds/ggp/*"),
        "{doc}"
    );
    assert!(!doc.contains("ggp-artifacts-"), "{doc}");
    assert!(!doc.contains("ggp-artifacts-"), "{doc}");
    cloud.clients.recorder().clear();
    setup.deploy(&cloud).await.unwrap();
    assert_eq!(cloud.clients.recorder().mutating(), Vec::<String>::new());

    // destroy takes the group's artifacts out of the user's bucket (known from the state) and
    // leaves the bucket and everything else in it.
    cloud
        .clients
        .s3
        .put_object()
        .bucket("users-bucket")
        .key("builds/keep.txt")
        .body(b"mine".to_vec().into())
        .send()
        .await
        .unwrap();
    let report = setup.destroy(&cloud).await.unwrap();
    assert!(
        report
            .changes
            .iter()
            .any(|c| c.kind == "s3-object" && c.name.starts_with("s3://users-bucket/builds/ggp/")),
        "{}",
        report.render_text()
    );
    assert_eq!(
        keys_under(&cloud, "users-bucket", "").await,
        ["builds/keep.txt"]
    );
}

/// Issue 14: an artifact bucket in another Region than the core was used as is, and the service
/// left every component version with an artifact there FAILED (Greengrass reads artifacts only
/// from the component's Region; the emulator models that). ggp now reads the bucket's Region first
/// and stops naming both Regions before any role, certificate or component is made; a bucket that
/// does not exist is named the same way.
#[tokio::test]
async fn an_artifact_bucket_in_another_region_is_refused_before_the_core_is_made() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    cloud
        .clients
        .s3
        .create_bucket()
        .bucket("users-eu-bucket")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut setup = v2_setup(&repo(), "deployments/hello-executable.conf");
    setup.code = [("HelloExecutable".to_string(), "# exe\n".to_string())].into();
    cloud.clients.recorder().clear();
    for (bucket, says) in [
        (
            "users-eu-bucket",
            "is in eu-west-1, but the core is in us-east-1",
        ),
        ("users-missing-bucket", "(--s3-bucket) does not exist"),
    ] {
        setup.opts.s3 = Some(provision::S3Location {
            bucket: bucket.into(),
            prefix: String::new(),
        });
        let err = setup.deploy(&cloud).await.unwrap_err();
        let msg = err.to_string();
        for part in [
            bucket,
            says,
            "before any role, certificate or component was made",
        ] {
            assert!(msg.contains(part), "{part} not in: {msg}");
        }
        // Only the thing group (made first, its id is GROUP_ID) was there to make.
        let m = cloud.clients.recorder().mutating();
        assert!(m.iter().all(|c| c == "IoT.CreateThingGroup"), "{m:?}");
    }
    let things = cloud.clients.iot.list_things().send().await.unwrap();
    assert!(things.things().is_empty(), "{things:?}");
    let components = gg(&cloud).list_components().send().await.unwrap();
    assert!(components.components().is_empty(), "{components:?}");
}

/// Issue 14: `arn:aws` was hard-coded, so in China (`aws-cn`) or GovCloud (`aws-us-gov`) the core
/// policy, the roles and the thing group ARN named resources of another partition, which AWS's
/// authorization never matches. In cn-north-1 every ARN ggp writes is `arn:aws-cn:`, the
/// preflight (TestAuthorization, SimulatePrincipalPolicy) finds everything allowed, and the
/// deployment targets the thing group's real ARN.
#[tokio::test]
async fn in_china_every_arn_is_of_the_aws_cn_partition() {
    let emu = emulator::fresh();
    let cloud = provision_fixture::cloud_in(&emu, "cn-north-1").await;
    let setup = example();
    let r = setup.deploy(&cloud).await.unwrap();
    r.result().expect("deployed in cn-north-1");
    let target = format!("arn:aws-cn:iot:cn-north-1:{ACCOUNT}:thinggroup/{GROUP}");
    let listed = gg(&cloud)
        .list_deployments()
        .target_arn(&target)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.deployments().len(), 1, "{listed:?}");
    let role = v2_role_policy(&cloud).await;
    let iot = &cloud.clients.iot;
    let names = iot.list_policies().send().await.unwrap();
    assert!(!names.policies().is_empty(), "no core policy");
    let mut policy = String::new();
    for p in names.policies() {
        let name = p.policy_name().unwrap();
        let doc = iot.get_policy().policy_name(name).send().await.unwrap();
        policy.push_str(doc.policy_document().unwrap_or_default());
    }
    assert!(!role.contains("arn:aws:"), "{role}");
    assert!(!policy.contains("arn:aws:"), "{policy}");
    // The role alias hands out the token exchange role by its aws-cn ARN.
    let aliases = iot.list_role_aliases().send().await.unwrap();
    let alias = aliases.role_aliases().first().expect("a role alias");
    let described = iot
        .describe_role_alias()
        .role_alias(alias)
        .send()
        .await
        .unwrap();
    let role_arn = described
        .role_alias_description()
        .and_then(|d| d.role_arn())
        .unwrap_or_default();
    assert!(role_arn.starts_with("arn:aws-cn:iam::"), "{role_arn}");
    assert!(
        policy.contains(&format!("arn:aws-cn:iot:cn-north-1:{ACCOUNT}:rolealias/")),
        "{policy}"
    );
}

/// Issue 14: a Docker application deployment connector deploys on V2 as the component ggp writes
/// for it. The service reads the compose file at CreateComponentVersion (the emulator leaves the
/// version FAILED when it is missing, as the service does), and the preflight asks IAM whether the
/// token exchange role may read it.
#[tokio::test]
async fn a_docker_application_connector_deploys_with_its_compose_file() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    let s3 = &cloud.clients.s3;
    s3.create_bucket()
        .bucket("users-compose")
        .send()
        .await
        .unwrap();
    let tmp = provision_fixture::docker_connector_project("users-compose");
    let mut setup = v2_setup(tmp.path(), "deployments/docker.conf");
    setup.code.clear();
    // The compose file is not there yet: the service cannot make the component.
    let err = setup.deploy(&cloud).await.unwrap_err();
    let msg = err.to_string();
    for part in [
        "v2-group-docker-wordpress",
        "s3://users-compose/compose/wordpress.yml",
    ] {
        assert!(msg.contains(part), "{part} not in: {msg}");
    }
    s3.put_object()
        .bucket("users-compose")
        .key("compose/wordpress.yml")
        .body(b"services:\n  web:\n    image: wordpress\n".to_vec().into())
        .send()
        .await
        .unwrap();
    let r = setup.deploy(&cloud).await.unwrap();
    r.result().expect("deployed");
    let d = latest_deployment(&cloud).await;
    let components = d.components().unwrap();
    assert!(
        components.contains_key("v2-group-docker-wordpress"),
        "{components:?}"
    );
    let pre = r.preflight.as_ref().expect("a preflight");
    let read = pre
        .checks
        .iter()
        .find(|c| c.action == "s3:GetObject")
        .unwrap_or_else(|| panic!("no check of the compose file: {pre:?}"));
    assert!(
        read.resource
            .ends_with(":s3:::users-compose/compose/wordpress.yml"),
        "{read:?}"
    );
    assert!(read.allowed(), "{read:?}");
}

/// Issue 14: a Lambda package with native code (a C extension, built for the one `-a`
/// architecture) was published as a component for any Linux (`os: linux`), so a core of another
/// architecture would install code it cannot run. Its component now names the architecture (an
/// arm64 device fails it, as its nucleus would); a pure package still runs anywhere.
#[tokio::test]
async fn a_lambda_package_with_native_code_is_a_component_for_its_architecture_only() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    let mut setup = example();
    // An x86-64 ELF header (EM_X86_64 = 62 at offset 18), as a C extension starts.
    let mut elf = String::from("\u{7f}ELF\u{2}\u{1}\u{1}");
    elf.push_str(&"\u{0}".repeat(11));
    elf.push_str("\u{3e}\u{0}");
    setup.code.insert("HelloPython".into(), elf);
    setup.deploy(&cloud).await.unwrap().result().unwrap();
    let platforms = |r: &Value| -> Vec<Value> {
        r["Manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Platform"].clone())
            .collect()
    };
    let version = versions_of(&latest_deployment(&cloud).await)["v2-group-HelloPython"].clone();
    let native = recipe(&cloud, "v2-group-HelloPython", &version).await;
    assert_eq!(
        platforms(&native),
        [json!({"os": "linux", "architecture": "amd64"})]
    );
    // An arm64 core device of the group connects: its nucleus finds no manifest of that component
    // for its platform and fails the deployment (the emulator matches platforms as the nucleus
    // does), where the old `os: linux` component would have been installed and failed to load.
    emu.control(
        "/ggp-bench/greengrassv2/core-device",
        json!({"thingName": format!("{GROUP}_Core"), "architecture": "aarch64"}),
    );
    let e = setup.deploy(&cloud).await.unwrap().result().unwrap_err();
    assert_eq!(e.exit_code(), 31, "{e}");
    let msg = e.to_string();
    for part in [
        format!("No manifest of v2-group-HelloPython@{version}"),
        "architecture aarch64".to_string(),
    ] {
        assert!(msg.contains(&part), "{part} not in: {msg}");
    }
    // The same function with pure Python: any Linux, so the arm64 device installs it.
    setup.code.insert("HelloPython".into(), "# pure\n".into());
    setup.deploy(&cloud).await.unwrap().result().unwrap();
    let version = versions_of(&latest_deployment(&cloud).await)["v2-group-HelloPython"].clone();
    let pure = recipe(&cloud, "v2-group-HelloPython", &version).await;
    assert_eq!(platforms(&pure), [json!({"os": "linux"})]);
}

/// Issue 15 item 3: a GGP user migrating keeps the core's keys in `credentials/<group>/`, which ggp
/// never read, so the first run found the certificate on the thing without its key. They are
/// adopted when the certificate is the thing's: no new certificate, ggp's own 0600 copy of the key;
/// GGP's credentials of another core are refused naming both certificate ids.
#[tokio::test]
async fn ggp_credentials_of_the_group_are_adopted_without_a_new_certificate() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    let iot = &cloud.clients.iot;
    let thing = format!("{GROUP}_Core");
    // What GGP left: the core thing with its certificate, and the key files next to the project.
    let ggp_keys = |project: &Path, keys: &aws_sdk_iot::operation::create_keys_and_certificate::CreateKeysAndCertificateOutput| {
        let dir = project.join("credentials").join(GROUP);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("core.pem"), keys.certificate_pem().unwrap()).unwrap();
        std::fs::write(
            dir.join("core.key"),
            keys.key_pair().unwrap().private_key().unwrap(),
        )
        .unwrap();
    };
    let new_keys = || async {
        iot.create_keys_and_certificate()
            .set_as_active(true)
            .send()
            .await
            .unwrap()
    };
    let first = new_keys().await;
    iot.create_thing().thing_name(&thing).send().await.unwrap();
    iot.attach_thing_principal()
        .thing_name(&thing)
        .principal(first.certificate_arn().unwrap())
        .send()
        .await
        .unwrap();
    let project = example_copy();
    ggp_keys(project.path(), &first);
    let setup = v2_setup(project.path(), "deployments/hello-python.conf");
    cloud.clients.recorder().clear();
    let r = setup.deploy(&cloud).await.unwrap();
    r.result().unwrap();
    assert_eq!(r.certificate_arn.as_deref(), first.certificate_arn());
    let m = cloud.clients.recorder().mutating();
    assert!(
        !m.iter().any(|c| c.contains("Certificate")),
        "a certificate was made or changed: {m:?}"
    );
    let key = r.private_key.as_deref().expect("ggp holds the key now");
    assert_eq!(
        std::fs::read_to_string(key).unwrap(),
        first.key_pair().unwrap().private_key().unwrap()
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{key}");
    }
    assert!(
        r.changes.iter().any(|c| c.kind == "iot-certificate"
            && c.details.iter().any(|d| d.contains("adopted from GGP's"))),
        "{}",
        r.render_text()
    );

    // GGP's credentials of another core (a certificate the thing does not carry): refused.
    let other = new_keys().await;
    let project2 = example_copy();
    ggp_keys(project2.path(), &other);
    let setup2 = v2_setup(project2.path(), "deployments/hello-python.conf");
    let msg = setup2.deploy(&cloud).await.unwrap_err().to_string();
    for id in [
        other.certificate_id().unwrap(),
        first.certificate_id().unwrap(),
    ] {
        assert!(msg.contains(id), "{id} not in: {msg}");
    }
}

#[tokio::test]
async fn the_things_of_connected_shadows_are_created() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    sensor_secret(&cloud).await;
    let project = example_copy();
    let conf = project.path().join("functions/SensorPython/function.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(
        &conf,
        text.replacen(
            "connectedShadows = [\n    ${AWS_IOT_THING_NAME}\n",
            "connectedShadows = [\n    ${AWS_IOT_THING_NAME}\n    \"v2-pump\"\n",
            1,
        ),
    )
    .unwrap();
    let setup = v2_setup(project.path(), "deployments/sensor-python.conf");
    assert_eq!(
        v2_plan(&setup, &cloud).await.iot.core.shadow_things,
        ["v2-pump"]
    );
    let r = setup.deploy(&cloud).await.unwrap();
    assert!(
        created(&r).contains(&("iot-thing".into(), "v2-pump".into())),
        "{}",
        r.render_text()
    );
    cloud
        .clients
        .iot
        .describe_thing()
        .thing_name("v2-pump")
        .send()
        .await
        .unwrap();
    cloud.clients.recorder().clear();
    setup.deploy(&cloud).await.unwrap();
    assert_eq!(cloud.clients.recorder().mutating(), Vec::<String>::new());
}

#[tokio::test]
async fn destroy_v2_removes_the_groups_artifacts_and_an_emptied_bucket() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    sensor_secret(&cloud).await;
    let setup = full_example(&repo());
    setup.deploy(&cloud).await.unwrap().result().unwrap();
    // Something of the user's in ggp's bucket: kept, and so is the bucket.
    let s3 = &cloud.clients.s3;
    s3.put_object()
        .bucket(BUCKET)
        .key("users/own.txt")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"mine"))
        .send()
        .await
        .unwrap();
    let report = setup.destroy(&cloud).await.unwrap();
    assert!(
        report
            .changes
            .iter()
            .any(|c| c.kind == "s3-object" && c.action == Action::Delete),
        "{}",
        report.render_text()
    );
    assert!(keys_under(&cloud, BUCKET, &format!("ggp/{GROUP}/"))
        .await
        .is_empty());
    assert_eq!(keys_under(&cloud, BUCKET, "").await, ["users/own.txt"]);
    assert!(!report.changes.iter().any(|c| c.kind == "s3-bucket"));

    // Once the bucket is empty, the next destroy removes it (it is ggp's).
    s3.delete_object()
        .bucket(BUCKET)
        .key("users/own.txt")
        .send()
        .await
        .unwrap();
    let again = setup.destroy(&cloud).await.unwrap();
    assert!(
        again
            .changes
            .iter()
            .any(|c| c.kind == "s3-bucket" && c.action == Action::Delete),
        "{}",
        again.render_text()
    );
    assert!(s3.head_bucket().bucket(BUCKET).send().await.is_err());
}

/// A V1 group and a V2 group of one project share the core role (the deployment defaults name
/// it): each keeps its own inline policy, so deploying one never undoes the other.
#[tokio::test]
async fn a_v1_and_a_v2_group_sharing_the_core_role_leave_each_other_alone() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    let v1 = provision_fixture::Setup::new("deployments/empty.conf", "shared-v1");
    let v2 = v2_setup(&repo(), "deployments/empty.conf");
    v1.deploy(&cloud).await.unwrap().result().unwrap();
    v2.deploy(&cloud).await.unwrap();
    for round in 0..2 {
        cloud.clients.recorder().clear();
        v1.deploy(&cloud).await.unwrap();
        v2.deploy(&cloud).await.unwrap();
        assert_eq!(
            cloud.clients.recorder().mutating(),
            Vec::<String>::new(),
            "round {round}"
        );
    }
    let iam = &cloud.clients.iam;
    let names = iam
        .list_role_policies()
        .role_name("ggp-example-greengrass-core-role")
        .send()
        .await
        .unwrap();
    let mut names = names.policy_names().to_vec();
    names.sort();
    assert_eq!(names, ["greengrass-v2-by-ggp", "inline-by-ggp"]);
}

/// Issue 14: an existing `--core-role-name` role was used unchecked, though on V2 it is the token
/// exchange role and must trust `credentials.iot.amazonaws.com`. Without that trust the deploy
/// stops before any change, naming the role and the missing statement; the role is left as is.
#[tokio::test]
async fn unchecked_core_role_without_the_credentials_provider_trust_is_refused() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    let iam = &cloud.clients.iam;
    let lambda_only = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}]});
    iam.create_role()
        .role_name("users-own-role")
        .assume_role_policy_document(lambda_only.to_string())
        .send()
        .await
        .unwrap();
    let setup = example();
    let mut req = setup.request();
    req.model.core_role_name = Some("users-own-role".into());
    let ctx = setup.context(&cloud);
    let err = refused_deploy(&ctx, &req, "with an untrusted role").await;
    let msg = err.to_string();
    assert!(matches!(err, ProvisionError::Input(_)), "{err:?}");
    for part in [
        "users-own-role",
        "--core-role-name",
        "credentials.iot.amazonaws.com",
        "sts:AssumeRole",
        "does not rewrite a role it did not create",
    ] {
        assert!(msg.contains(part), "{part} not in: {msg}");
    }
    // Nothing of the core was made, and the role is as the user left it.
    let things = cloud.clients.iot.list_things().send().await.unwrap();
    assert!(things.things().is_empty(), "{things:?}");
    let role = iam
        .get_role()
        .role_name("users-own-role")
        .send()
        .await
        .unwrap();
    let doc = ggp::provision::iam::parse_policy(
        role.role().unwrap().assume_role_policy_document().unwrap(),
    )
    .unwrap();
    assert_eq!(doc, lambda_only);

    // With the trust added, the same role is used as is.
    let trusted = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": ["lambda.amazonaws.com", "credentials.iot.amazonaws.com"]}}]});
    iam.update_assume_role_policy()
        .role_name("users-own-role")
        .policy_document(trusted.to_string())
        .send()
        .await
        .unwrap();
    // Trusted but with no access of its own: the preflight (IAM SimulatePrincipalPolicy) finds
    // that LogManager could not write the logs, and nothing is deployed (exit 38).
    let err = refused_deploy(&ctx, &req, "with a role that cannot write logs").await;
    assert_eq!(ggp::error::Failure::exit_code(&err), 38, "{err:?}");
    let msg = err.to_string();
    for part in [
        "logs:CreateLogGroup",
        "logs:PutLogEvents",
        "arn:aws:iam::123456789012:role/users-own-role",
        "log-group:/aws/greengrass/UserComponent/us-east-1/v2-group-HelloPython",
        "nothing was deployed",
    ] {
        assert!(msg.contains(part), "{part} not in: {msg}");
    }
    assert_no_deployment(&cloud).await;

    // With the access the installer's GreengrassV2TokenExchangeRoleAccess grants, it deploys.
    iam.put_role_policy()
        .role_name("users-own-role")
        .policy_name("TokenExchangeRoleAccess")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "s3:GetBucketLocation"], "Resource": "*"}]})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    let report = ggp::app::deploy::deploy(&ctx, &req)
        .await
        .map_err(provision_fixture::provision_error)
        .expect("deploy with a trusted role with access")
        .report;
    report.result().expect("deployed");
}

/// Issue 14: a component version the service marked FAILED, with the same content, was reused
/// forever (the deploy saw it "unchanged"). It is deleted and created again, and the run says so.
#[tokio::test]
async fn failed_component_reuse_deletes_and_recreates_the_failed_version() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    let setup = example();
    setup.deploy(&cloud).await.expect("first deploy");
    let name = "v2-group-HelloPython";
    let version = versions_of(&latest_deployment(&cloud).await)[name].clone();
    let arn = format!("arn:aws:greengrass:{REGION}:{ACCOUNT}:components:{name}:versions:{version}");
    emu.control(
        "/ggp-bench/greengrassv2/component-state",
        json!({"arn": arn, "state": "FAILED", "message": "artifact unreachable"}),
    );

    let second = setup.deploy(&cloud).await.expect("second deploy");
    let label = format!("{name} {version}");
    let change = second
        .changes
        .iter()
        .find(|c| c.kind == "greengrass-component" && c.name == label)
        .unwrap_or_else(|| panic!("no change of {label}: {:?}", second.changes));
    assert_eq!(change.action, Action::Create, "{change:?}");
    assert!(
        change
            .details
            .iter()
            .any(|d| d.contains("FAILED (artifact unreachable)")),
        "{change:?}"
    );
    let state = gg(&cloud)
        .describe_component()
        .arn(&arn)
        .send()
        .await
        .unwrap()
        .status()
        .and_then(|s| s.component_state().cloned());
    assert_eq!(
        state,
        Some(aws_sdk_greengrassv2::types::CloudComponentState::Deployable)
    );
}

/// Issue 14: a core policy the user names (`--core-policy-name`) was used unchecked. AWS's own
/// minimal V2 policy, as the Developer Guide gives it, allows none of the components' topics, so
/// HelloPython's IoT Core event source (`<thing>/python/request`) would be denied on the device.
/// The preflight asks IoT TestAuthorization with the core certificate: the deploy stops with
/// exit 38 naming the action, the topic filter and the policy, and no deployment is made; with
/// the topics added to the policy, the same command deploys.
#[tokio::test]
async fn a_named_core_policy_without_the_event_source_topic_is_denied_by_the_preflight() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    let thing = format!("{GROUP}_Core");
    let mut users = ggp::target::v2::policy::minimal_v2_iot_policy(
        REGION,
        ACCOUNT,
        &thing,
        "ggp-example-greengrass-core-role-alias",
    );
    let iot = &cloud.clients.iot;
    iot.create_policy()
        .policy_name("users-core-policy")
        .policy_document(users.to_string())
        .send()
        .await
        .unwrap();
    let setup = example();
    let mut req = setup.request();
    req.model.core_policy_name = Some("users-core-policy".into());
    let ctx = setup.context(&cloud);
    let err = refused_deploy(&ctx, &req, "with a policy missing the topics").await;
    assert_eq!(ggp::error::Failure::exit_code(&err), 38, "{err:?}");
    let msg = err.to_string();
    for part in [
        format!(
            "iot:Subscribe on arn:aws:iot:{REGION}:{ACCOUNT}:topicfilter/{thing}/python/request"
        ),
        format!("iot:Receive on arn:aws:iot:{REGION}:{ACCOUNT}:topic/{thing}/python/request"),
        "allowed by no statement of users-core-policy".into(),
        "iot:TestAuthorization".into(),
        "nothing was deployed".into(),
    ] {
        assert!(msg.contains(&part), "{part} not in: {msg}");
    }
    // Only the denied needs are named: connecting and the jobs topics are allowed.
    assert!(!msg.contains(":client/"), "{msg}");
    assert!(!msg.contains("jobs/notify-next"), "{msg}");
    assert_no_deployment(&cloud).await;

    // The user adds the topics (a new default version of their policy): the deploy goes through.
    let topics = ggp::target::v2::policy::CloudTopics {
        subscribe: [format!("{thing}/python/request")].into(),
        publish: [format!("{thing}/python/hello")].into(),
    };
    ggp::target::v2::policy::add_cloud_topics(&mut users, REGION, ACCOUNT, &topics);
    iot.create_policy_version()
        .policy_name("users-core-policy")
        .policy_document(users.to_string())
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    let report = ggp::app::deploy::deploy(&ctx, &req)
        .await
        .map_err(provision_fixture::provision_error)
        .expect("deploy with the topics allowed")
        .report;
    report.result().expect("deployed");
}
