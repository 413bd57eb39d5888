//! Greengrass V1 provisioning against the bench emulator: a full deploy of the example project,
//! idempotence (a second run makes no mutating call), what exactly one code change touches,
//! crash recovery at every step boundary, a failed deployment, and `plan` with credentials.
//!
//! Lambda packages are small deterministic zips made by the test (provisioning-only: no Docker).

use crate::support::emulator;
use crate::support::provision as provision_fixture;

use std::collections::BTreeSet;

use ggp::model::CertificateSource;
use ggp::provision::{self, Action, ProvisionError};
use provision_fixture::{cloud, listing, Setup, GROUP};
use serde_json::json;

fn sorted(v: Vec<String>) -> Vec<String> {
    let mut v = v;
    v.sort();
    v
}

#[tokio::test]
async fn full_deploy_then_a_second_run_changes_nothing() {
    let emu = emulator::fresh_v1();
    let cloud = cloud(&emu).await;
    let setup = Setup::example();

    let first = setup.deploy(&cloud).await.expect("deploy");
    first.result().expect("deployment succeeded");
    let d = first.deployment.as_ref().unwrap();
    assert_eq!(d.status, "Success");
    assert!(d.created);
    assert!(first.changed);
    let created: BTreeSet<(&str, &str)> = first
        .changes
        .iter()
        .filter(|c| c.action == Action::Create)
        .map(|c| (c.kind, c.name.as_str()))
        .collect();
    for want in [
        ("greengrass-group", GROUP),
        ("iam-role", "ggp-example-greengrass-core-role"),
        ("iam-role", "ggp-example-greengrass-lambda-role"),
        ("iam-role", "ggp-example-greengrass-service-role"),
        ("iot-thing", "test-group_Core"),
        ("iot-policy", "test-group_Core_Policy"),
        ("iot-role-alias", "ggp-example-greengrass-core-role-alias"),
        ("lambda-function", "test-group-HelloPython"),
        ("lambda-function", "test-group-SensorPython"),
        (
            "greengrass-function-definition",
            "test-group_Function_Definition",
        ),
        (
            "greengrass-connector-definition",
            "test-group_Connector_Definition",
        ),
    ] {
        assert!(created.contains(&want), "{want:?} not created: {created:?}");
    }

    // What the account now holds.
    let l = listing(&emu).await;
    let group = &l["greengrass"]["groups"][GROUP];
    assert_eq!(group["versions"], 1);
    assert_eq!(group["deployments"], json!(["Some(NewDeployment)"]));
    assert_eq!(
        group["role"],
        "arn:aws:iam::123456789012:role/ggp-example-greengrass-core-role"
    );
    assert_eq!(
        group["uses"].as_array().unwrap().len(),
        6,
        "core, function, subscription, resource, logger and connector: {}",
        group["uses"]
    );
    assert_eq!(
        l["greengrass"]["serviceRole"],
        "arn:aws:iam::123456789012:role/ggp-example-greengrass-service-role"
    );
    let cert = &l["iot"]["certificates"][0];
    assert_eq!(cert["status"], "ACTIVE");
    assert_eq!(cert["policies"], json!(["test-group_Core_Policy"]));
    assert_eq!(cert["things"], json!(["test-group_Core"]));
    assert_eq!(
        l["iot"]["things"]["test-group_Core"],
        json!({"ggpGroup": GROUP, "ggpCertificate": "cert0"})
    );
    let f = &l["lambda"]["test-group-HelloPython"];
    assert_eq!(f["runtime"], "python3.8");
    assert_eq!(f["handler"], "hello.function_handler");
    assert_eq!(f["memory"], 128);
    assert_eq!(f["timeout"], 10);
    assert_eq!(f["aliases"], json!({"ggc": "1"}));
    let core_role = &l["iam"]["roles"]["ggp-example-greengrass-core-role"];
    assert_eq!(
        core_role["attached"],
        json!(["arn:aws:iam::aws:policy/CloudWatchLogsFullAccess"])
    );
    assert!(core_role["inline"]["inline-by-ggp"].is_string());
    let fdef = &l["greengrass"]["definitions"]["function"][0]["content"];
    let functions = fdef["functions"].as_array().unwrap();
    assert_eq!(
        functions.len(),
        5,
        "GGIPDetector and four functions: {fdef}"
    );
    assert_eq!(functions[0]["id"], "GGIPDetector");
    let hello = functions.iter().find(|f| f["id"] == "HelloPython").unwrap();
    assert_eq!(
        hello["arn"],
        "arn:aws:lambda:us-east-1:123456789012:function:test-group-HelloPython:ggc"
    );
    assert_eq!(
        hello["variables"]["LOCAL_LAMBDA_HelloNode"],
        "arn:aws:lambda:us-east-1:123456789012:function:test-group-HelloNode:ggc"
    );
    assert_eq!(hello["variables"]["GROUP_ID"], "<id of test-group>");
    assert!(first.group_id.is_some());
    let exe = functions
        .iter()
        .find(|f| f["id"] == "HelloExecutable")
        .unwrap();
    assert!(
        exe["execution"].as_str().unwrap().contains("NoContainer"),
        "{exe}"
    );
    assert!(
        exe["config"].as_str().unwrap().contains("None Some(true)"),
        "NoContainer: no memory size ({exe})"
    );
    // State and key, 0600.
    let state = setup.state_path();
    assert!(state.join("state.json").is_file());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(state.join("core.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // The second run: reads only, and says so.
    cloud.clients.recorder().clear();
    let second = setup.deploy(&cloud).await.expect("second deploy");
    second.result().unwrap();
    assert_eq!(cloud.clients.recorder().mutating(), Vec::<String>::new());
    assert!(!second.changed, "{}", second.render_text());
    assert!(second.changes.iter().all(|c| c.action == Action::Unchanged));
    assert!(!second.deployment.as_ref().unwrap().created);
    assert!(second.render_text().contains("no change"));
    let diff = provision_fixture::differences(&l, &listing(&emu).await);
    assert!(diff.is_empty(), "{}", diff.join("\n"));
}

#[tokio::test]
async fn one_code_change_touches_exactly_its_function_and_what_deploys_it() {
    let emu = emulator::fresh_v1();
    let cloud = cloud(&emu).await;
    let mut setup = Setup::example();
    setup.deploy(&cloud).await.unwrap().result().unwrap();

    setup
        .code
        .insert("HelloPython".into(), "# HelloPython v2\n".into());
    cloud.clients.recorder().clear();
    let report = setup.deploy(&cloud).await.unwrap();
    report.result().unwrap();
    assert_eq!(
        sorted(cloud.clients.recorder().mutating()),
        sorted(
            [
                "Lambda.UpdateFunctionCode",
                "Lambda.PublishVersion",
                "Lambda.UpdateAlias",
                "Greengrass.CreateFunctionDefinitionVersion",
                // the definition's content-hash tag follows its new version
                "Greengrass.TagResource",
                "Greengrass.CreateGroupVersion",
                "Greengrass.CreateDeployment",
            ]
            .map(String::from)
            .to_vec()
        )
    );
    let changed: Vec<(&str, &str)> = report
        .changes
        .iter()
        .filter(|c| c.action != Action::Unchanged)
        .map(|c| (c.kind, c.name.as_str()))
        .collect();
    assert_eq!(
        changed,
        vec![
            ("lambda-function", "test-group-HelloPython"),
            (
                "greengrass-function-definition",
                "test-group_Function_Definition"
            ),
            ("greengrass-group-version", "test-group (version)"),
        ]
    );
    let l = listing(&emu).await;
    assert_eq!(
        l["lambda"]["test-group-HelloPython"]["aliases"],
        json!({"ggc": "2"})
    );
    assert_eq!(
        l["lambda"]["test-group-HelloNode"]["aliases"],
        json!({"ggc": "1"})
    );
    assert_eq!(l["greengrass"]["groups"][GROUP]["versions"], 2);
    assert_eq!(
        l["greengrass"]["groups"][GROUP]["deployments"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(report.deployment.as_ref().unwrap().created);
}

#[tokio::test]
async fn a_crash_at_any_step_then_a_rerun_ends_as_a_clean_run() {
    let emu = emulator::fresh_v1();
    let cloud_ = cloud(&emu).await;
    let setup = Setup::example();
    setup.deploy(&cloud_).await.unwrap().result().unwrap();
    let clean = listing(&emu).await;
    let steps = setup.plan(&cloud_).await.steps();
    assert!(
        steps.contains(&"after-lambda:HelloNode".to_string()),
        "{steps:?}"
    );
    assert!(steps.len() >= 14, "{steps:?}");
    drop(setup);

    for step in steps {
        emu.reset();
        let mut setup = Setup::example();
        setup.opts.fail_after = Some(step.clone());
        match setup.deploy(&cloud_).await {
            Err(ProvisionError::Injected(s)) => assert_eq!(s, step),
            Err(e) => panic!("{step}: unexpected error {e}"),
            Ok(r) => panic!("{step}: the run did not stop: {}", r.render_text()),
        }
        setup.opts.fail_after = None;
        let report = setup
            .deploy(&cloud_)
            .await
            .unwrap_or_else(|e| panic!("re-run after {step}: {e}"));
        report.result().unwrap();
        let now = listing(&emu).await;
        let diff = provision_fixture::differences(&clean, &now);
        assert!(
            diff.is_empty(),
            "after a crash at {step} and a re-run, the account differs from a clean run's:\n{}",
            diff.join("\n")
        );
    }
}

#[tokio::test]
async fn a_failed_deployment_is_an_error_with_the_service_message() {
    let emu = emulator::fresh_v1();
    let cloud = cloud(&emu).await;
    emu.control(
        "/ggp-bench/greengrass/deployment-outcome",
        json!({"status": "Failure", "errorMessage": "GG-42: the core could not download the function"}),
    );
    let setup = Setup::example();
    let report = setup.deploy(&cloud).await.expect("the walk completes");
    let d = report.deployment.as_ref().unwrap();
    assert_eq!(d.status, "Failure");
    let err = report.result().unwrap_err();
    assert_eq!(err.exit_code(), 31);
    assert!(
        err.to_string()
            .contains("GG-42: the core could not download the function"),
        "{err}"
    );
    // A re-run with nothing changed deploys again (the last deployment failed) …
    emu.control(
        "/ggp-bench/greengrass/deployment-outcome",
        json!({"status": "Success"}),
    );
    cloud.clients.recorder().clear();
    let again = setup.deploy(&cloud).await.unwrap();
    again.result().unwrap();
    assert_eq!(
        cloud.clients.recorder().mutating(),
        vec!["Greengrass.CreateDeployment".to_string()]
    );
}

#[tokio::test]
async fn a_deployment_still_running_at_the_deadline_times_out_and_a_rerun_awaits_it() {
    let emu = emulator::fresh_v1();
    let cloud = cloud(&emu).await;
    emu.control("/ggp-bench/config", json!({"deploymentPolls": 1000}));
    let mut setup = Setup::example();
    setup.opts.deployment_timeout = std::time::Duration::from_millis(500);
    let report = setup.deploy(&cloud).await.unwrap();
    let err = report.result().unwrap_err();
    assert_eq!(err.exit_code(), 32, "{err}");
    emu.control("/ggp-bench/config", json!({"deploymentPolls": 0}));
    cloud.clients.recorder().clear();
    let again = setup.deploy(&cloud).await.unwrap();
    again.result().unwrap();
    assert_eq!(cloud.clients.recorder().mutating(), Vec::<String>::new());
    assert!(!again.deployment.unwrap().created);
}

#[tokio::test]
async fn plan_with_credentials_shows_the_difference_and_changes_nothing() {
    let emu = emulator::fresh_v1();
    let cloud = cloud(&emu).await;
    let mut setup = Setup::example();
    let before = setup.diff(&cloud).await.unwrap();
    assert!(before.dry_run && before.changed);
    assert_eq!(cloud.clients.recorder().mutating(), Vec::<String>::new());
    let not_created: Vec<_> = before
        .changes
        .iter()
        .filter(|c| c.action != Action::Create)
        .collect();
    assert!(not_created.is_empty(), "{not_created:?}");
    assert!(before.render_text().contains("create"));

    setup.deploy(&cloud).await.unwrap().result().unwrap();
    cloud.clients.recorder().clear();
    let after = setup.diff(&cloud).await.unwrap();
    assert!(!after.changed, "{}", after.render_text());
    assert_eq!(cloud.clients.recorder().mutating(), Vec::<String>::new());

    setup
        .code
        .insert("HelloNode".into(), "// HelloNode v2\n".into());
    let changed = setup.diff(&cloud).await.unwrap();
    let updates: Vec<(&str, Action)> = changed
        .changes
        .iter()
        .filter(|c| c.action != Action::Unchanged)
        .map(|c| (c.kind, c.action))
        .collect();
    assert_eq!(
        updates,
        vec![
            ("lambda-function", Action::Update),
            ("greengrass-function-definition", Action::Update),
            ("greengrass-group-version", Action::Create),
        ]
    );
    assert_eq!(cloud.clients.recorder().mutating(), Vec::<String>::new());
}

#[tokio::test]
async fn forced_new_keys_retire_the_old_certificate() {
    let emu = emulator::fresh_v1();
    let cloud = cloud(&emu).await;
    let mut setup = Setup::example();
    setup.deploy(&cloud).await.unwrap().result().unwrap();
    let key1 = std::fs::read_to_string(setup.state_path().join("core.key")).unwrap();
    setup.certificate = CertificateSource::ForceNew;
    let r = setup.deploy(&cloud).await.unwrap();
    r.result().unwrap();
    let key2 = std::fs::read_to_string(setup.state_path().join("core.key")).unwrap();
    assert_ne!(key1, key2);
    let l = listing(&emu).await;
    let certs = l["iot"]["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 2);
    assert_eq!(certs[0]["status"], "INACTIVE");
    assert_eq!(certs[0]["things"], json!([]));
    assert_eq!(certs[0]["policies"], json!([]));
    assert_eq!(certs[1]["status"], "ACTIVE");
    assert_eq!(certs[1]["things"], json!(["test-group_Core"]));
    assert_eq!(certs[1]["policies"], json!(["test-group_Core_Policy"]));
    assert_eq!(
        l["iot"]["things"]["test-group_Core"]["ggpCertificate"],
        "cert1"
    );
    assert!(l["greengrass"]["definitions"]["core"][0]["content"]
        .to_string()
        .contains("cert1"));
    // Back to the stored keys: nothing changes.
    setup.certificate = CertificateSource::StoredOrNew;
    cloud.clients.recorder().clear();
    setup.deploy(&cloud).await.unwrap().result().unwrap();
    assert_eq!(cloud.clients.recorder().mutating(), Vec::<String>::new());
}

#[tokio::test]
async fn a_lost_state_file_is_rebuilt_from_the_account() {
    let emu = emulator::fresh_v1();
    let cloud = cloud(&emu).await;
    let setup = Setup::example();
    setup.deploy(&cloud).await.unwrap().result().unwrap();
    let state = std::fs::read_to_string(setup.state_path().join("state.json")).unwrap();
    std::fs::remove_dir_all(setup.state_path()).unwrap();
    cloud.clients.recorder().clear();
    let r = setup.deploy(&cloud).await.unwrap();
    r.result().unwrap();
    assert_eq!(cloud.clients.recorder().mutating(), Vec::<String>::new());
    assert!(
        r.warnings.iter().any(|w| w.contains("private key")),
        "{:?}",
        r.warnings
    );
    let rebuilt: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(setup.state_path().join("state.json")).unwrap(),
    )
    .unwrap();
    let original: serde_json::Value = serde_json::from_str(&state).unwrap();
    for key in [
        "groupId",
        "certificate",
        "definitions",
        "functions",
        "roles",
        "deployment",
    ] {
        assert_eq!(rebuilt[key], original[key], "{key}");
    }
}

#[tokio::test]
async fn large_packages_go_through_s3() {
    let emu = emulator::fresh_v1();
    let cloud = cloud(&emu).await;
    let mut setup = Setup::example();
    setup.opts.direct_upload_limit = 10;
    let err = setup.deploy(&cloud).await.unwrap_err();
    assert_eq!(err.exit_code(), 36, "{err}");
    assert!(err.to_string().contains("--s3-bucket"), "{err}");

    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&emu.sdk_config().await)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket().bucket("packages").send().await.unwrap();
    setup.opts.s3 = Some(provision::S3Location {
        bucket: "packages".into(),
        prefix: "/ggp/".into(),
    });
    cloud.clients.recorder().clear();
    setup.deploy(&cloud).await.unwrap().result().unwrap();
    let puts = cloud
        .clients
        .recorder()
        .mutating()
        .iter()
        .filter(|m| *m == "S3.PutObject")
        .count();
    assert_eq!(puts, 4);
    let keys: Vec<String> = s3
        .list_objects_v2()
        .bucket("packages")
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    assert_eq!(keys.len(), 4);
    assert!(
        keys.iter().all(|k| k.starts_with("ggp/test-group-")),
        "{keys:?}"
    );
}

#[tokio::test]
async fn two_groups_with_one_name_are_an_error() {
    let emu = emulator::fresh_v1();
    let cloud = cloud(&emu).await;
    for _ in 0..2 {
        cloud
            .clients
            .greengrass
            .create_group()
            .name(GROUP)
            .send()
            .await
            .unwrap();
    }
    let err = Setup::example().deploy(&cloud).await.unwrap_err();
    assert_eq!(err.exit_code(), 33);
    assert!(
        err.to_string()
            .contains("2 Greengrass groups are named test-group"),
        "{err}"
    );
}

#[tokio::test]
async fn drift_is_converged_roles_policies_and_versions() {
    let emu = emulator::fresh_v1();
    let cloud = cloud(&emu).await;
    let mut setup = Setup::example();
    setup.deploy(&cloud).await.unwrap().result().unwrap();

    // Someone attached a policy by hand and changed the trust policy: converged back.
    let iam = &cloud.clients.iam;
    iam.attach_role_policy()
        .role_name("ggp-example-greengrass-core-role")
        .policy_arn("arn:aws:iam::aws:policy/AWSIoTFullAccess")
        .send()
        .await
        .unwrap();
    iam.update_assume_role_policy()
        .role_name("ggp-example-greengrass-lambda-role")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":"ec2.amazonaws.com"}}]}"#,
        )
        .send()
        .await
        .unwrap();
    cloud.clients.recorder().clear();
    setup.deploy(&cloud).await.unwrap().result().unwrap();
    assert_eq!(
        sorted(cloud.clients.recorder().mutating()),
        vec![
            "IAM.DetachRolePolicy".to_string(),
            "IAM.UpdateAssumeRolePolicy".to_string()
        ]
    );

    // The IoT policy document (conf.core.role.iotPolicy) changes six times: a new default version
    // each time, never more than five versions.
    let project = provision_fixture::example_copy();
    setup.root = project.path().to_path_buf();
    let conf = project.path().join("deployments/all.conf");
    // By its full path: a relative one is looked up in the current folder (the repository) first.
    setup.deployment = conf.display().to_string();
    let original = std::fs::read_to_string(&conf).unwrap();
    for i in 0..6 {
        let action = if i % 2 == 0 {
            "iot:Connect"
        } else {
            "iot:Publish"
        };
        std::fs::write(
            &conf,
            format!("{original}\nconf.core.role.iotPolicy = {{Version = \"2012-10-17\", Statement = [{{Effect = Allow, Action = [\"{action}\"], Resource = [\"*\"]}}]}}\n"),
        )
        .unwrap();
        setup.deploy(&cloud).await.unwrap().result().unwrap();
        let l = listing(&emu).await;
        let p = &l["iot"]["policies"]["test-group_Core_Policy"];
        assert!(p["versions"].as_u64().unwrap() <= 5, "{p}");
        let want = if i % 2 == 0 {
            "iot:Connect"
        } else {
            "iot:Publish"
        };
        assert!(p["document"].as_str().unwrap().contains(want), "{p}");
    }
    let l = listing(&emu).await;
    assert_eq!(
        l["iot"]["policies"]["test-group_Core_Policy"]["versions"],
        5
    );
}
