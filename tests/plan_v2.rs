//! `ggp plan --target v2` on the example project: the V1 → V2 mapping, golden-tested, and the V1
//! features without a V2 mapping named in the error. Real binary, clean environment, offline.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn run(root: &Path, args: &[&str]) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::cargo_bin("ggp").unwrap();
    cmd.env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
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
    for d in ["empty", "hello-python", "hello-node"] {
        let file = format!("deployments/{d}.conf");
        let text = plan_ok(
            example(),
            &["-d", &file, "-a", "X86_64,ARM64", "--target", "v2"],
        );
        insta::assert_snapshot!(format!("plan_v2_{d}"), text);
        insta::assert_json_snapshot!(format!("plan_v2_{d}_json"), plan_json(example(), &file));
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
fn v1_features_without_a_v2_mapping_are_each_named() {
    let out = run(example(), &["-d", "deployments/all.conf", "--target", "v2"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for name in [
        "connector cloudwatch-metrics",
        "function HelloExecutable: executable",
        "function SensorPython: connectedShadows",
    ] {
        assert!(err.contains(name), "missing {name:?} in:\n{err}");
    }
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

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}

#[test]
fn a_recipe_in_the_function_folder_makes_a_native_component() {
    let tmp = tempfile::tempdir().unwrap();
    for d in ["deployments", "functions", "connectors"] {
        copy_dir(&example().join(d), &tmp.path().join(d));
    }
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
