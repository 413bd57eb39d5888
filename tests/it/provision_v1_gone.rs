//! A V1 run against an endpoint that no longer serves Greengrass V1 (the V1 cloud service was
//! discontinued on 2026-10-07) says so and names `--target v2`; other ListGroups failures do not.
use crate::support::http_stub;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use ggp::provision::{Clients, Cloud};
use ggp::target::v1::find_group;
use http_stub::{Reply, Stub};

async fn find_group_error(status: u16, body: &'static str) -> String {
    let stub = Stub::start(move |_| Reply::json(status, body));
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(&stub.url)
        .load()
        .await;
    let cloud = Cloud {
        clients: Clients::new(
            &sdk,
            Some(RetryConfig::standard().with_max_attempts(1)),
            false,
        ),
        account: "123456789012".into(),
        region: "us-east-1".into(),
    };
    find_group(&cloud, "g")
        .await
        .expect_err("ListGroups must fail")
        .to_string()
}

#[tokio::test]
async fn a_404_to_list_groups_says_v1_is_gone_and_names_target_v2() {
    let e = find_group_error(404, r#"{"message":"Not Found"}"#).await;
    assert!(e.contains("listing the Greengrass groups"), "{e}");
    assert!(e.contains("no longer serves Greengrass V1"), "{e}");
    assert!(e.contains("--target v2"), "{e}");
}

#[tokio::test]
async fn an_unknown_operation_says_v1_is_gone() {
    let e = find_group_error(400, r#"{"__type":"UnknownOperationException"}"#).await;
    assert!(e.contains("no longer serves Greengrass V1"), "{e}");
}

#[tokio::test]
async fn other_failures_are_not_blamed_on_the_v1_shutdown() {
    let e = find_group_error(403, r#"{"message":"not authorized"}"#).await;
    assert!(e.contains("listing the Greengrass groups"), "{e}");
    assert!(!e.contains("Greengrass V1"), "{e}");
}
