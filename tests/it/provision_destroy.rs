//! `destroy` against the bench emulator: the account ends as it was before the deploy (full
//! listings compared), what the user brought stays, and roles shared with another group stay
//! until the last group goes.
//!
//! Lambda packages are small deterministic zips made by the test (provisioning-only: no Docker).

use crate::support::emulator;
use crate::support::provision as provision_fixture;

use ggp::provision::{self, Action};
use provision_fixture::{cloud, differences, listing, Setup, GROUP};
use serde_json::json;

/// Things a user has in the account that have nothing to do with ggp's group, some of them
/// with names ggp could mistake for its own.
async fn unrelated(cloud: &provision::Cloud) {
    let c = &cloud.clients;
    c.iam
        .create_role()
        .role_name("someone-elses-role")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":"ec2.amazonaws.com"}}]}"#,
        )
        .send()
        .await
        .unwrap();
    c.iot
        .create_thing()
        .thing_name("someone-elses-thing")
        .send()
        .await
        .unwrap();
    c.iot
        .create_policy()
        .policy_name("someone-elses-policy")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let zip = provision_fixture::package(&std::env::temp_dir(), "x", "x");
    c.lambda
        .create_function()
        .function_name(format!("{GROUP}-not-from-ggp"))
        .runtime(aws_sdk_lambda::types::Runtime::Python312)
        .role("arn:aws:iam::123456789012:role/someone-elses-role")
        .handler("main.handler")
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(
                    std::fs::read(&zip.path).unwrap(),
                ))
                .build(),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn destroy_leaves_the_account_as_it_was_before_the_deploy() {
    let emu = emulator::fresh_v1();
    let cloud = cloud(&emu).await;
    unrelated(&cloud).await;
    let before = listing(&emu).await;

    let mut setup = Setup::example();
    setup.deploy(&cloud).await.unwrap().result().unwrap();
    // A second certificate (the first is retired) and a changed function make the teardown
    // cover replaced certificates and several Lambda versions too.
    setup.certificate = ggp::model::CertificateSource::ForceNew;
    setup
        .code
        .insert("HelloNode".into(), "// HelloNode v2\n".into());
    setup.deploy(&cloud).await.unwrap().result().unwrap();
    assert_ne!(listing(&emu).await, before);

    let report = setup.destroy(&cloud).await.unwrap();
    let after = listing(&emu).await;
    let diff = differences(&before, &after);
    assert!(
        diff.is_empty(),
        "destroy left the account different:\n{}\n{}",
        diff.join("\n"),
        report.render_text()
    );
    assert!(!setup.state_path().exists(), "the state folder is removed");
    let deleted: Vec<&str> = report
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .map(|c| c.kind)
        .collect();
    for kind in [
        "greengrass-deployment",
        "greengrass-group",
        "greengrass-core-definition",
        "greengrass-connector-definition",
        "lambda-function",
        "iot-certificate",
        "iot-thing",
        "iot-policy",
        "iot-role-alias",
        "iam-role",
        "greengrass-service-role",
    ] {
        assert!(deleted.contains(&kind), "{kind} not deleted: {deleted:?}");
    }
    assert_eq!(
        deleted.iter().filter(|k| **k == "iot-certificate").count(),
        2
    );

    // Again: nothing left to delete, and it says so.
    cloud.clients.recorder().clear();
    let again = setup.destroy(&cloud).await.unwrap();
    assert!(again.changes.iter().all(|c| c.action != Action::Delete));
    assert_eq!(cloud.clients.recorder().mutating(), Vec::<String>::new());
    assert!(again.render_text().contains("nothing to delete"));
}

#[tokio::test]
async fn destroy_without_the_state_file_finds_everything_from_the_account() {
    let emu = emulator::fresh_v1();
    let cloud = cloud(&emu).await;
    let before = listing(&emu).await;
    let setup = Setup::example();
    setup.deploy(&cloud).await.unwrap().result().unwrap();
    std::fs::remove_dir_all(setup.state_path()).unwrap();
    setup.destroy(&cloud).await.unwrap();
    let diff = differences(&before, &listing(&emu).await);
    assert!(diff.is_empty(), "{}", diff.join("\n"));
}

#[tokio::test]
async fn roles_shared_with_another_group_stay_until_the_last_group_goes() {
    let emu = emulator::fresh_v1();
    let cloud = cloud(&emu).await;
    let before = listing(&emu).await;
    let one = Setup::new("deployments/all.conf", "group-one");
    let two = Setup::new("deployments/hello-python.conf", "group-two");
    one.deploy(&cloud).await.unwrap().result().unwrap();
    two.deploy(&cloud).await.unwrap().result().unwrap();

    let report = one.destroy(&cloud).await.unwrap();
    let l = listing(&emu).await;
    let roles = &l["iam"]["roles"];
    for r in [
        "ggp-example-greengrass-core-role",
        "ggp-example-greengrass-lambda-role",
        "ggp-example-greengrass-service-role",
    ] {
        assert!(
            roles.get(r).is_some(),
            "{r} was deleted though group-two uses it"
        );
    }
    assert!(l["iot"]["roleAliases"]
        .get("ggp-example-greengrass-core-role-alias")
        .is_some());
    assert_eq!(
        l["greengrass"]["serviceRole"],
        "arn:aws:iam::123456789012:role/ggp-example-greengrass-service-role"
    );
    assert!(l["greengrass"]["groups"].get("group-one").is_none());
    assert!(l["greengrass"]["groups"].get("group-two").is_some());
    assert!(l["lambda"].get("group-one-HelloNode").is_none());
    assert!(l["lambda"].get("group-two-HelloPython").is_some());
    assert!(l["iot"]["things"].get("group-one_Core").is_none());
    assert_eq!(
        l["iot"]["things"]["group-two_Core"]["ggpGroup"],
        json!("group-two")
    );
    let kept: Vec<&str> = report
        .changes
        .iter()
        .filter(|c| c.action == Action::Unchanged)
        .map(|c| c.name.as_str())
        .collect();
    assert!(
        kept.iter().any(|k| k.contains("core-role")),
        "the report says what was kept and why: {}",
        report.render_text()
    );

    // group-two still deploys without a change, then goes, and with it the shared roles.
    cloud.clients.recorder().clear();
    two.deploy(&cloud).await.unwrap().result().unwrap();
    assert_eq!(cloud.clients.recorder().mutating(), Vec::<String>::new());
    two.destroy(&cloud).await.unwrap();
    let diff = differences(&before, &listing(&emu).await);
    assert!(diff.is_empty(), "{}", diff.join("\n"));
}
