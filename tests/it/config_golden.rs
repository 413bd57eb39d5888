//! The user's own configuration (the seed notes) resolves exactly as GGP resolved it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ggp::config::hocon::{load, Layer};
use ggp::config::{load_project, DeploymentSource, Injected, ProjectPaths};

fn seed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed")
}

fn injected() -> Injected {
    Injected {
        group_name: "test-group".into(),
        account_id: Some("123456789012".into()),
        region: Some("ap-northeast-2".into()),
        group_id: Some("0b1f2c3d-group".into()),
    }
}

/// GGP's merge: injected values over the deployment file over deployment.defaults.conf.
fn resolve_deployment(deployment: &Path) -> serde_json::Value {
    let layers = [
        Layer::Values("injected by ggp", injected().for_deployment()),
        Layer::File(deployment.to_path_buf()),
        Layer::File(seed().join("deployments/deployment.defaults.conf")),
    ];
    load(&layers, &BTreeMap::new()).unwrap().value["conf"].clone()
}

#[test]
fn seed_deployment_defaults_resolve() {
    let _snapshots = crate::support::snapshots();
    let conf = resolve_deployment(&seed().join("deployments/test.conf"));
    insta::assert_json_snapshot!("config_golden__seed_deployment_conf", conf);
    assert_eq!(
        conf["core"]["role"]["iamPolicy"]["Statement"][0]["Resource"][0],
        "arn:aws:iam::123456789012:role/sehwan-edge-dev-greengrass-core-role"
    );
    assert_eq!(
        conf["service"]["role"]["iamPolicy"]["Statement"][0]["Resource"][0],
        "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:*"
    );
}

#[test]
fn overriding_the_role_name_changes_the_arn_built_from_it() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("override.conf");
    std::fs::write(
        &f,
        "conf {\n  functions = [\"sehwanTest\"]\n  core.role.name = \"overridden-core-role\"\n}\n",
    )
    .unwrap();
    let conf = resolve_deployment(&f);
    assert_eq!(conf["core"]["role"]["name"], "overridden-core-role");
    assert_eq!(
        conf["core"]["role"]["iamPolicy"]["Statement"][0]["Resource"][0],
        "arn:aws:iam::123456789012:role/overridden-core-role"
    );
    // The rest of the defaults are still there (deep merge), and the alias is untouched.
    assert_eq!(
        conf["core"]["role"]["alias"],
        "sehwan-dege-dev-greengrass-core-role-alias"
    );
    assert_eq!(conf["loggers"].as_array().unwrap().len(), 2);
}

#[test]
fn seed_function_defaults_resolve_with_injected_values() {
    let _snapshots = crate::support::snapshots();
    let paths = ProjectPaths::new(seed());
    let source = DeploymentSource::File(seed().join("deployments/test.conf"));
    let project = load_project(&paths, &source, &injected(), &BTreeMap::new()).unwrap();
    let f = &project.functions[0];
    insta::assert_json_snapshot!("config_golden__seed_function_conf", f);
    assert_eq!(
        f.environment_variables["AWS_IOT_THING_ARN"],
        "arn:aws:iot:ap-northeast-2:123456789012:thing/test-group_Core"
    );
    assert_eq!(f.environment_variables["GROUP_ID"], "0b1f2c3d-group");
    assert_eq!(f.memory_size_in_kb, 32768);
    assert_eq!(project.deployment.loggers.as_ref().unwrap().len(), 2);
}

#[test]
fn unknown_values_are_placeholders_not_empty_strings() {
    let paths = ProjectPaths::new(seed());
    let source = DeploymentSource::File(seed().join("deployments/test.conf"));
    let project = load_project(
        &paths,
        &source,
        &Injected::offline("test-group", None),
        &BTreeMap::new(),
    )
    .unwrap();
    let env = &project.functions[0].environment_variables;
    assert_eq!(env["GROUP_ID"], "<unknown:GROUP_ID>");
    assert_eq!(
        env["AWS_IOT_THING_ARN"],
        "arn:aws:iot:<unknown:REGION>:<unknown:ACCOUNT_ID>:thing/test-group_Core"
    );
    let policy = project
        .deployment
        .core_role
        .iam_policy
        .as_ref()
        .unwrap()
        .to_string();
    assert!(
        policy.contains(
            "arn:aws:iam::<unknown:ACCOUNT_ID>:role/sehwan-edge-dev-greengrass-core-role"
        ),
        "{policy}"
    );
}

#[test]
fn environment_fills_what_is_not_injected() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("env.conf");
    std::fs::write(&f, "conf {\n  functions = []\n  environmentVariables { STAGE = ${STAGE_FROM_ENV}, OPT = ${?NOT_SET} }\n}\n").unwrap();
    let layers = [
        Layer::Values("injected by ggp", injected().for_deployment()),
        Layer::File(f),
        Layer::File(seed().join("deployments/deployment.defaults.conf")),
    ];
    let env: BTreeMap<String, String> = [("STAGE_FROM_ENV".to_string(), "prod".to_string())].into();
    let conf = load(&layers, &env).unwrap().value["conf"].clone();
    assert_eq!(conf["environmentVariables"]["STAGE"], "prod");
    assert!(conf["environmentVariables"].get("OPT").is_none());
    // An injected value wins over the environment (GGP: withValue).
    let env: BTreeMap<String, String> = [
        ("STAGE_FROM_ENV".to_string(), "x".to_string()),
        ("ACCOUNT_ID".to_string(), "999".to_string()),
    ]
    .into();
    let layers = [
        Layer::Values("injected by ggp", injected().for_deployment()),
        Layer::File(seed().join("deployments/test.conf")),
        Layer::File(seed().join("deployments/deployment.defaults.conf")),
    ];
    let conf = load(&layers, &env).unwrap().value["conf"].clone();
    assert_eq!(
        conf["core"]["role"]["iamPolicy"]["Statement"][0]["Resource"][0],
        "arn:aws:iam::123456789012:role/sehwan-edge-dev-greengrass-core-role"
    );
}

#[test]
fn hocon_features_ggp_projects_use() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("inc.conf"), "included { from = \"inc\" }\n").unwrap();
    let f = d.path().join("f.conf");
    std::fs::write(
        &f,
        r#"include required("inc.conf")
// comment
unquoted.key.path = yes
list = [1, 2]
list += 3
path = "/bin"
path = ${path}":/usr/bin"
obj { a = 1 }
obj = ${obj} { b = 2 }
late = ${value}
value = 1
value = 2
"quoted.key" = x
"#,
    )
    .unwrap();
    let v = load(&[Layer::File(f)], &BTreeMap::new()).unwrap().value;
    assert_eq!(v["included"]["from"], "inc");
    assert_eq!(
        v["unquoted"]["key"]["path"], "yes",
        "yes is a string; the typed reader coerces it"
    );
    assert_eq!(v["list"], serde_json::json!([1, 2, 3]));
    assert_eq!(v["path"], "/bin:/usr/bin");
    assert_eq!(v["obj"], serde_json::json!({"a": 1, "b": 2}));
    assert_eq!(v["late"], 2, "substitutions see the last assignment");
    assert_eq!(v["quoted.key"], "x");
}

#[test]
fn a_function_s_cloudformation_template_is_named_in_a_warning() {
    let project = crate::support::provision::example_copy();
    let root = project.path();
    std::fs::write(
        root.join("functions/HelloPython/function.cf.yaml"),
        "Resources:\n  B:\n    Type: AWS::S3::Bucket\n",
    )
    .unwrap();
    let paths = ProjectPaths::new(root.to_path_buf());
    let source = DeploymentSource::File(root.join("deployments/hello-python.conf"));
    let offline = Injected::offline("my.group", None);
    let p = load_project(&paths, &source, &offline, &BTreeMap::new()).unwrap();
    let w: Vec<String> = p.warnings.iter().map(|w| w.to_string()).collect();
    let cf: Vec<&String> = w.iter().filter(|w| w.contains("CloudFormation")).collect();
    assert_eq!(cf.len(), 1, "{w:?}");
    assert!(
        cf[0].starts_with("functions/HelloPython/function.cf.yaml: warning: "),
        "{}",
        cf[0]
    );
    assert!(
        cf[0].contains("--stack-name my-group-HelloPython"),
        "{}",
        cf[0]
    );
    // Without the file, no such warning.
    std::fs::remove_file(root.join("functions/HelloPython/function.cf.yaml")).unwrap();
    let p = load_project(&paths, &source, &offline, &BTreeMap::new()).unwrap();
    assert!(!p
        .warnings
        .iter()
        .any(|w| w.message.contains("CloudFormation")));
}
