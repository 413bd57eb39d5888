//! `ggp::aws::connect` as a library call, with the environment handed over as a value (the process
//! environment of this test binary is never read or changed): endpoint precedence per service, S3
//! path-style addressing against the emulator, and the account asked of STS once.

use crate::support::emulator;

use std::collections::BTreeMap;

use ggp::aws::{connect, AwsError, AwsOptions, EnvVars, Service};

fn env(home: &std::path::Path, pairs: &[(&str, &str)]) -> EnvVars {
    let mut e: EnvVars = BTreeMap::new();
    e.insert("HOME".into(), home.display().to_string());
    e.insert("AWS_EC2_METADATA_DISABLED".into(), "true".into());
    e.insert("AWS_ACCESS_KEY_ID".into(), "AKIALIBRARYTEST001".into());
    e.insert("AWS_SECRET_ACCESS_KEY".into(), "library-secret".into());
    e.insert("AWS_REGION".into(), "us-east-1".into());
    for (k, v) in pairs {
        e.insert(k.to_string(), v.to_string());
    }
    e
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn endpoint_precedence_per_service() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".aws")).unwrap();
    std::fs::write(
        home.path().join(".aws/config"),
        "[profile emu]\nendpoint_url = http://profile-global:1\nservices = emu-services\n\n[services emu-services]\niot =\n  endpoint_url = http://profile-iot:2\n",
    )
    .unwrap();
    let vars = env(
        home.path(),
        &[
            ("AWS_PROFILE", "emu"),
            ("AWS_ENDPOINT_URL_LAMBDA", "http://env-lambda:3"),
            ("AWS_ENDPOINT_URL_GREENGRASSV2", "http://env-ggv2:4"),
        ],
    );
    let aws = rt()
        .block_on(connect(&AwsOptions::default(), &vars))
        .unwrap();
    assert_eq!(
        Service::GreengrassV2.env_var(),
        "AWS_ENDPOINT_URL_GREENGRASSV2"
    );
    // per-service variable, then the profile's services section, then the profile's endpoint_url
    assert_eq!(
        aws.endpoint(Service::Lambda).as_deref(),
        Some("http://env-lambda:3")
    );
    assert_eq!(
        aws.endpoint(Service::GreengrassV2).as_deref(),
        Some("http://env-ggv2:4")
    );
    assert_eq!(
        aws.endpoint(Service::Iot).as_deref(),
        Some("http://profile-iot:2")
    );
    assert_eq!(
        aws.endpoint(Service::Sts).as_deref(),
        Some("http://profile-global:1")
    );

    // AWS_ENDPOINT_URL beats the profile, and --endpoint-url beats everything
    let vars = env(
        home.path(),
        &[
            ("AWS_PROFILE", "emu"),
            ("AWS_ENDPOINT_URL", "http://env-global:5"),
            ("AWS_ENDPOINT_URL_LAMBDA", "http://env-lambda:3"),
        ],
    );
    let aws = rt()
        .block_on(connect(&AwsOptions::default(), &vars))
        .unwrap();
    assert_eq!(
        aws.endpoint(Service::Iot).as_deref(),
        Some("http://env-global:5")
    );
    assert_eq!(
        aws.endpoint(Service::Lambda).as_deref(),
        Some("http://env-lambda:3")
    );
    let opts = AwsOptions {
        endpoint_url: Some("http://flag:6".into()),
        ..Default::default()
    };
    let aws = rt().block_on(connect(&opts, &vars)).unwrap();
    for s in Service::ALL {
        assert_eq!(aws.endpoint(s).as_deref(), Some("http://flag:6"), "{s}");
    }

    // no override anywhere: AWS's own endpoints
    let vars = env(home.path(), &[]);
    let aws = rt()
        .block_on(connect(&AwsOptions::default(), &vars))
        .unwrap();
    assert_eq!(aws.endpoint(Service::S3), None);
    assert_eq!(
        aws.endpoint_display(Service::Iot),
        "https://iot.us-east-1.amazonaws.com"
    );
}

/// `bucket.localhost` does not resolve here, so only path-style requests reach the emulator:
/// the adapter's S3 client works, a plain client from the same config does not.
#[test]
fn s3_uses_path_style_when_the_endpoint_is_overridden() {
    let emu = emulator::shared();
    let port = emu.url.rsplit(':').next().unwrap();
    let home = tempfile::tempdir().unwrap();
    let vars = env(
        home.path(),
        &[("AWS_ENDPOINT_URL", &format!("http://localhost:{port}"))],
    );
    rt().block_on(async {
        let aws = connect(&AwsOptions::default(), &vars).await.unwrap();
        let s3 = aws.s3();
        s3.create_bucket()
            .bucket("ggp-path-style")
            .send()
            .await
            .expect("create bucket, path-style");
        s3.put_object()
            .bucket("ggp-path-style")
            .key("functions/a.zip")
            .body(aws_sdk_s3::primitives::ByteStream::from_static(b"zip"))
            .send()
            .await
            .expect("put object, path-style");
        let got = s3
            .get_object()
            .bucket("ggp-path-style")
            .key("functions/a.zip")
            .send()
            .await
            .expect("get object")
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        assert_eq!(&got[..], b"zip");

        let virtual_host = aws_sdk_s3::Client::new(aws.sdk_config());
        let err = virtual_host
            .head_bucket()
            .bucket("ggp-path-style")
            .send()
            .await
            .expect_err("virtual-host addressing cannot reach bucket.localhost");
        assert!(
            matches!(err, aws_sdk_s3::error::SdkError::DispatchFailure(_)),
            "{err:?}"
        );
    });
}

#[test]
fn account_is_asked_once() {
    let emu = emulator::shared();
    let home = tempfile::tempdir().unwrap();
    let vars = env(home.path(), &[("AWS_ENDPOINT_URL", &emu.url)]);
    rt().block_on(async {
        let aws = connect(&AwsOptions::default(), &vars).await.unwrap();
        let first = aws.identity().await.unwrap();
        let second = aws.identity().await.unwrap();
        assert!(
            std::ptr::eq(first, second),
            "the second call reuses the first answer"
        );
        assert_eq!(aws.account().await.unwrap(), emulator::ACCOUNT);
        assert_eq!(aws.credential_source().provider, "EnvironmentVariable");
        assert_eq!(aws.region().name, "us-east-1");
    });
}

#[test]
fn connect_returns_the_first_missing_piece() {
    let home = tempfile::tempdir().unwrap();
    let mut vars = env(home.path(), &[]);
    vars.remove("AWS_REGION");
    let err = rt()
        .block_on(connect(&AwsOptions::default(), &vars))
        .unwrap_err();
    assert!(matches!(err, AwsError::RegionMissing { .. }), "{err}");
    assert_eq!(err.exit_code(), ggp::error::exit::REGION_MISSING);

    vars.remove("AWS_ACCESS_KEY_ID");
    let err = rt()
        .block_on(connect(&AwsOptions::default(), &vars))
        .unwrap_err();
    assert!(matches!(err, AwsError::NoCredentials { .. }), "{err}");

    // an empty variable counts as unset (CI systems export empty ones)
    let vars = env(
        home.path(),
        &[("AWS_REGION", ""), ("AWS_DEFAULT_REGION", "eu-west-2")],
    );
    let aws = rt()
        .block_on(connect(&AwsOptions::default(), &vars))
        .unwrap();
    assert_eq!(aws.region().name, "eu-west-2");
}
