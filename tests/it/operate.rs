//! Operating a deployed group against the bench emulator: `ggp status` (V1 and V2, with zero
//! mutating calls), `ggp diagnose` after a deployment the device fails, `ggp logs` from the
//! emulator's CloudWatch Logs (lines of one component in order, `--follow` until SIGINT, a group
//! that sends nothing there), and a function deployed by ggp reused by a second group through its
//! alias ARN with the same settings (`GGP_FUNCTION_CONF`).
//!
//! The device side is the emulator's control API (core-device registration with its installed
//! components, deployment outcomes with reason and error stack) and log events the test puts with
//! the SDK where LogManager would. Lambda packages are small zips made by the test (no Docker).

use crate::support::emulator;
use crate::support::provision as fixture;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use fixture::{cloud, example_copy, Setup};
use ggp::app::diagnose::{DiagnoseReport, DiagnoseRequest};
use ggp::app::logs::{LogLine, LogsRequest};
use ggp::app::status::{StatusReport, StatusRequest};
use ggp::app::{self, Context};
use ggp::config::Target;
use ggp::provision::Cloud;
use serde_json::{json, Value};

use emulator::{ACCOUNT, REGION};

fn setup(root: &Path, deployment: &str, group: &str, target: Target) -> Setup {
    let mut s = Setup::new(deployment, group);
    s.root = root.to_path_buf();
    s.target = target;
    s.opts.deployment_timeout = Duration::from_secs(20);
    s.code = [("HelloPython".to_string(), "# HelloPython v1\n".to_string())].into();
    s
}

fn status_request(s: &Setup) -> StatusRequest {
    StatusRequest {
        group: s.group.clone(),
        target: Some(s.target),
        state_dir: s.state_path(),
        group_ca: false,
    }
}

async fn status(s: &Setup, cloud: &Cloud) -> StatusReport {
    app::status::status(&s.context(cloud), &status_request(s))
        .await
        .expect("status")
}

async fn diagnose(s: &Setup, cloud: &Cloud) -> DiagnoseReport {
    let req = DiagnoseRequest {
        group: s.group.clone(),
        target: Some(s.target),
        state_dir: s.state_path(),
        since: Duration::from_secs(3600),
    };
    app::diagnose::diagnose(&s.context(cloud), &req)
        .await
        .expect("diagnose")
}

/// Reads with the call recorder cleared first: what the read did must change nothing.
fn assert_no_mutation(cloud: &Cloud, what: &str) {
    let m = cloud.clients.recorder().mutating();
    assert!(m.is_empty(), "{what} made mutating calls: {m:?}");
    assert!(
        cloud.clients.recorder().stats().total > 0,
        "{what} made no call at all"
    );
}

/// The device connects (registers) before the deploy; `outcome` is what it does with the
/// deployments it gets. `autoApply` is for an emulator with device lifecycles (ignored by one
/// without them); the deployment-outcome control is for one without.
fn connect_device(emu: &emulator::Emulator, thing: &str, outcome: Value) {
    let mut auto = outcome.clone();
    if auto["status"] == "COMPLETED" {
        auto["status"] = json!("SUCCEEDED");
    }
    emu.control(
        "/ggp-bench/greengrassv2/core-device",
        json!({"thingName": thing, "status": "HEALTHY", "coreVersion": "2.14.0", "architecture": "amd64", "autoApply": auto}),
    );
    emu.control("/ggp-bench/greengrassv2/deployment-outcome", outcome);
}

/// The device reports its installed components (as the nucleus does after a deployment).
fn report_components(emu: &emulator::Emulator, thing: &str, health: &str, components: Value) {
    emu.control(
        "/ggp-bench/greengrassv2/core-device",
        json!({"thingName": thing, "status": health, "coreVersion": "2.14.0", "architecture": "amd64", "installedComponents": components}),
    );
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// LogManager's stream name for a device today: `/yyyy/MM/dd/thing/<thing>`.
fn stream_of(thing: &str) -> String {
    let day = aws_smithy_types::DateTime::from_millis(now_ms())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap();
    format!(
        "/{}/{}/{}/thing/{thing}",
        &day[0..4],
        &day[5..7],
        &day[8..10]
    )
}

/// Puts log events (ms ago, message) into `group`/`stream`, as LogManager uploads them.
async fn put_lines(cloud: &Cloud, group: &str, stream: &str, lines: &[(i64, &str)]) {
    let logs = &cloud.clients.logs;
    let _ = logs.create_log_group().log_group_name(group).send().await;
    let _ = logs
        .create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await;
    let now = now_ms();
    let mut req = logs
        .put_log_events()
        .log_group_name(group)
        .log_stream_name(stream);
    for (ago, m) in lines {
        req = req.log_events(
            InputLogEvent::builder()
                .timestamp(now - ago)
                .message(*m)
                .build()
                .unwrap(),
        );
    }
    req.send().await.expect("PutLogEvents");
}

fn component_group(component: &str) -> String {
    format!("/aws/greengrass/UserComponent/{REGION}/{component}")
}

#[tokio::test]
async fn v2_status_shows_the_device_its_deployment_and_running_components_without_a_change() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    let project = example_copy();
    let s = setup(
        project.path(),
        "deployments/hello-python.conf",
        "ops-v2",
        Target::V2,
    );
    connect_device(&emu, "ops-v2_Core", json!({"status": "COMPLETED"}));
    let r = s.deploy(&cloud).await.expect("deploy");
    r.result().expect("the deployment succeeds");

    cloud.clients.recorder().clear();
    let first = status(&s, &cloud).await;
    assert_no_mutation(&cloud, "ggp status");
    // The device reports what it runs: every component of the deployment, RUNNING.
    let ggp::target::Status::V2(v2) = &first.status else {
        panic!("not a V2 status")
    };
    let deployed = &v2.latest().expect("ggp's deployment").components;
    let running: Vec<Value> = deployed
        .iter()
        .map(|(n, v)| json!({"componentName": n, "componentVersion": v, "lifecycleState": "RUNNING", "isRoot": true}))
        .collect();
    report_components(&emu, "ops-v2_Core", "HEALTHY", json!(running));

    cloud.clients.recorder().clear();
    let report = status(&s, &cloud).await;
    assert_no_mutation(&cloud, "ggp status");
    report.result().expect("nothing failed");
    assert!(report.status.settled());
    let j = report.to_json();
    assert_eq!(j["target"], "v2", "{j:#}");
    assert_eq!(j["thingGroup"]["name"], "ops-v2");
    let devices = j["coreDevices"].as_array().unwrap();
    assert_eq!(devices.len(), 1, "{j:#}");
    let d = &devices[0];
    assert_eq!(d["thingName"], "ops-v2_Core");
    assert_eq!(d["registered"], true);
    assert_eq!(d["status"], "HEALTHY");
    assert!(
        d["lastStatusUpdate"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{d:#}"
    );
    let e = &d["effectiveDeployment"];
    assert_eq!(e["executionStatus"], "SUCCEEDED", "{d:#}");
    assert_eq!(e["deploymentId"], j["deployments"][0]["deploymentId"]);
    let comps = d["installedComponents"].as_array().unwrap();
    assert_eq!(comps.len(), deployed.len(), "{d:#}");
    assert!(
        comps.iter().all(|c| c["lifecycleState"] == "RUNNING"),
        "{d:#}"
    );
    assert!(
        comps
            .iter()
            .any(|c| c["componentName"] == "ops-v2-HelloPython"),
        "{d:#}"
    );
    assert_eq!(j["deployments"][0]["isLatest"], true);
    let text = report.render_text();
    assert!(text.contains("core device ops-v2_Core: HEALTHY"), "{text}");
    assert!(text.contains("ops-v2-HelloPython"), "{text}");

    // The same through the binary: `ggp status --json` prints that report on stdout, exit 0.
    let home = tempfile::tempdir().unwrap();
    let out = ggp_command(&emu, &s.state_path(), home.path())
        .args(["--project-dir", project.path().to_str().unwrap()])
        .args(["status", "-g", "ops-v2", "--target", "v2", "--json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let pd = &printed["coreDevices"][0];
    assert_eq!(pd["thingName"], "ops-v2_Core", "{printed:#}");
    assert_eq!(
        pd["effectiveDeployment"]["executionStatus"], "SUCCEEDED",
        "{printed:#}"
    );
    assert_eq!(
        pd["installedComponents"], d["installedComponents"],
        "{printed:#}"
    );

    // A thing group that does not exist: exit 50, not an empty report.
    let mut other = status_request(&s);
    let empty = tempfile::tempdir().unwrap();
    other.group = "no-such-group".into();
    other.state_dir = empty.path().join("no-such-group");
    let e = app::status::status(&s.context(&cloud), &other)
        .await
        .unwrap_err();
    assert_eq!(e.exit_code(), 50, "{e}");
    assert!(e.to_string().contains("no-such-group"), "{e}");
}

#[tokio::test]
async fn v2_a_deployment_the_device_fails_is_failed_in_status_and_diagnosed_with_the_component_and_fix(
) {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    let project = example_copy();
    let s = setup(
        project.path(),
        "deployments/hello-python.conf",
        "ops-fail",
        Target::V2,
    );
    let reason = "Error occurred while processing deployment. {serviceName=ops-fail-HelloPython, currentState=BROKEN}";
    connect_device(
        &emu,
        "ops-fail_Core",
        json!({"status": "FAILED", "reason": reason, "errorStack": ["DEPLOYMENT_FAILURE", "COMPONENT_UPDATE_ERROR", "COMPONENT_BROKEN"], "errorTypes": ["USER_COMPONENT_ERROR"]}),
    );
    let r = s.deploy(&cloud).await.expect("deploy runs");
    assert_eq!(r.result().unwrap_err().exit_code(), 31);
    report_components(
        &emu,
        "ops-fail_Core",
        "UNHEALTHY",
        json!([
            {"componentName": "ops-fail-HelloPython", "componentVersion": "1.0.0", "lifecycleState": "BROKEN", "isRoot": true,
             "lifecycleStateDetails": "Script exited with code 1", "lifecycleStatusCodes": ["RUN_ERRORED"]},
            {"componentName": "aws.greengrass.LambdaLauncher", "componentVersion": "2.0.13", "lifecycleState": "RUNNING", "isRoot": false}
        ]),
    );
    // What LogManager uploaded of the broken component.
    put_lines(
        &cloud,
        &component_group("ops-fail-HelloPython"),
        &stream_of("ops-fail_Core"),
        &[
            (60_000, "Traceback (most recent call last):"),
            (59_000, "MemoryError"),
        ],
    )
    .await;

    cloud.clients.recorder().clear();
    let report = status(&s, &cloud).await;
    assert_no_mutation(&cloud, "ggp status");
    let e = report.result().unwrap_err();
    assert_eq!(ggp::error::Failure::exit_code(&e), 51);
    assert!(e.to_string().contains(reason), "{e}");
    let text = report.render_text();
    assert!(text.contains("FAILED"), "{text}");
    assert!(text.contains(reason), "{text}");
    assert!(
        text.contains("DEPLOYMENT_FAILURE > COMPONENT_UPDATE_ERROR > COMPONENT_BROKEN"),
        "{text}"
    );
    assert!(
        text.contains("ops-fail-HelloPython 1.0.0 BROKEN [RUN_ERRORED]"),
        "{text}"
    );
    let j = report.to_json();
    assert_eq!(
        j["coreDevices"][0]["effectiveDeployment"]["executionStatus"],
        "FAILED"
    );
    assert_eq!(j["coreDevices"][0]["effectiveDeployment"]["reason"], reason);

    cloud.clients.recorder().clear();
    let d = diagnose(&s, &cloud).await;
    assert_no_mutation(&cloud, "ggp diagnose");
    assert_eq!(ggp::error::Failure::exit_code(&d.result().unwrap_err()), 53);
    let broken = d
        .findings
        .iter()
        .find(|f| f.pattern == "component-broken")
        .unwrap_or_else(|| panic!("{}", d.render_text()));
    assert_eq!(broken.component.as_deref(), Some("ops-fail-HelloPython"));
    assert_eq!(broken.device.as_deref(), Some("ops-fail_Core"));
    assert!(broken.evidence.contains("COMPONENT_BROKEN"), "{broken:?}");
    assert!(
        broken
            .fix
            .contains("ggp logs -g ops-fail --component ops-fail-HelloPython"),
        "{broken:?}"
    );
    let ids: Vec<&str> = d.findings.iter().map(|f| f.pattern.as_str()).collect();
    assert!(ids.contains(&"lifecycle-error"), "{ids:?}");
    // From the component's log lines.
    let oom = d
        .findings
        .iter()
        .find(|f| f.pattern == "out-of-memory")
        .unwrap_or_else(|| panic!("{}", d.render_text()));
    assert_eq!(oom.component.as_deref(), Some("ops-fail-HelloPython"));
    assert!(oom.evidence.contains("MemoryError"));
    assert!(oom.fix.contains("memorySizeInKb"));
    assert_eq!(d.log_lines_read, 2);
    let text = d.render_text();
    assert!(text.contains("component ops-fail-HelloPython"), "{text}");
    assert!(text.contains("fix: "), "{text}");
}

#[tokio::test]
async fn v1_status_shows_the_group_its_deployment_and_definitions_and_the_group_ca() {
    let emu = emulator::fresh_v1();
    let cloud = cloud(&emu).await;
    let project = example_copy();
    let s = setup(
        project.path(),
        "deployments/hello-python.conf",
        "ops-v1",
        Target::V1,
    );
    s.deploy(&cloud)
        .await
        .expect("deploy")
        .result()
        .expect("Success");

    cloud.clients.recorder().clear();
    let report = status(&s, &cloud).await;
    assert_no_mutation(&cloud, "ggp status");
    report.result().expect("nothing failed");
    assert!(report.status.settled());
    let j = report.to_json();
    assert_eq!(j["target"], "v1", "{j:#}");
    assert_eq!(j["group"], "ops-v1");
    assert_eq!(j["deployments"][0]["status"], "Success", "{j:#}");
    let defs = &j["definitions"];
    assert!(
        defs["cores"][0]
            .as_str()
            .unwrap()
            .ends_with("thing/ops-v1_Core"),
        "{defs:#}"
    );
    let f = defs["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["functionArn"]
                .as_str()
                .unwrap()
                .contains(":function:ops-v1-HelloPython:")
        })
        .unwrap_or_else(|| panic!("{defs:#}"));
    assert_eq!(f["pinned"], true);
    assert_eq!(f["timeoutSeconds"], 10);
    assert!(!defs["subscriptions"].as_array().unwrap().is_empty());
    let text = report.render_text();
    assert!(text.contains("Greengrass V1 group ops-v1"), "{text}");
    assert!(text.contains("Success"), "{text}");

    // --group-ca: the group's certificate authority, as GGP's --get-group-ca gave it.
    let mut req = status_request(&s);
    req.group_ca = true;
    cloud.clients.recorder().clear();
    let ca = app::status::status(&s.context(&cloud), &req).await.unwrap();
    assert_no_mutation(&cloud, "ggp status --group-ca");
    let pem = ca.render_text();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    assert!(
        pem.trim_end().ends_with("-----END CERTIFICATE-----"),
        "{pem}"
    );
    // A V2 group has none: a usage error.
    req.target = Some(Target::V2);
    let e = app::status::status(&s.context(&cloud), &req)
        .await
        .unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
}

#[tokio::test]
async fn v1_a_failed_deployment_is_failed_in_status_and_diagnosed_with_the_function_and_fix() {
    let emu = emulator::fresh_v1();
    let cloud = cloud(&emu).await;
    let project = example_copy();
    let s = setup(
        project.path(),
        "deployments/hello-python.conf",
        "ops-v1f",
        Target::V1,
    );
    let arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:ops-v1f-HelloPython:ggc");
    let message = format!(
        "worker {arn} failed to start: exec: \"python3.8\": executable file not found in $PATH"
    );
    emu.control(
        "/ggp-bench/greengrass/deployment-outcome",
        json!({"status": "Failure", "errorMessage": "Deployment failed: a function could not start", "errorDetails": [{"DetailedErrorCode": "GG-WORKER-START", "DetailedErrorMessage": message}]}),
    );
    let r = s.deploy(&cloud).await.expect("deploy runs");
    assert_eq!(r.result().unwrap_err().exit_code(), 31);

    cloud.clients.recorder().clear();
    let report = status(&s, &cloud).await;
    assert_no_mutation(&cloud, "ggp status");
    let e = report.result().unwrap_err();
    assert_eq!(ggp::error::Failure::exit_code(&e), 51);
    let text = report.render_text();
    assert!(
        text.lines().any(|l| l.contains(" Failure ")
            && l.ends_with(": Deployment failed: a function could not start")),
        "{text}"
    );
    assert!(text.contains(&message), "{text}");

    cloud.clients.recorder().clear();
    let d = diagnose(&s, &cloud).await;
    assert_no_mutation(&cloud, "ggp diagnose");
    assert_eq!(ggp::error::Failure::exit_code(&d.result().unwrap_err()), 53);
    let f = d
        .findings
        .iter()
        .find(|f| f.pattern == "missing-runtime")
        .unwrap_or_else(|| panic!("{}", d.render_text()));
    assert_eq!(f.component.as_deref(), Some("ops-v1f-HelloPython"));
    assert!(f.fix.contains("install the runtime"), "{f:?}");
    assert!(f.evidence.contains("executable file not found"), "{f:?}");
}

fn logs_request(s: &Setup, component: Option<&str>, since: Option<Duration>) -> LogsRequest {
    LogsRequest {
        group: s.group.clone(),
        target: Some(s.target),
        state_dir: s.state_path(),
        component: component.map(str::to_string),
        since,
        follow: false,
        poll: Duration::from_millis(200),
    }
}

async fn read_logs(ctx: &Context, req: &LogsRequest) -> Result<Vec<LogLine>, ggp::error::Error> {
    let mut lines = Vec::new();
    app::logs::logs(
        ctx,
        req,
        &mut |l| {
            lines.push(l.clone());
            Ok(())
        },
        &mut |_| {},
    )
    .await?;
    Ok(lines)
}

#[tokio::test]
async fn logs_of_one_component_since_ten_minutes_in_order() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    let project = example_copy();
    let s = setup(
        project.path(),
        "deployments/hello-python.conf",
        "ops-logs",
        Target::V2,
    );
    s.deploy(&cloud).await.expect("deploy");
    let ours = stream_of("ops-logs_Core");
    let hello = component_group("ops-logs-HelloPython");
    // Two uploads, the second with a line older than the first's last one.
    put_lines(
        &cloud,
        &hello,
        &ours,
        &[
            (1_200_000, "too old"),
            (180_000, "first"),
            (60_000, "third"),
        ],
    )
    .await;
    put_lines(&cloud, &hello, &ours, &[(120_000, "second")]).await;
    // Another device's stream in the same log group, and another component's log group.
    put_lines(
        &cloud,
        &hello,
        &stream_of("someone-else_Core"),
        &[(90_000, "not ours")],
    )
    .await;
    put_lines(
        &cloud,
        &component_group("ops-logs-Other"),
        &ours,
        &[(90_000, "other component")],
    )
    .await;

    let ctx = s.context(&cloud);
    cloud.clients.recorder().clear();
    let lines = read_logs(
        &ctx,
        &logs_request(&s, Some("HelloPython"), Some(Duration::from_secs(600))),
    )
    .await
    .unwrap();
    assert_no_mutation(&cloud, "ggp logs");
    let messages: Vec<&str> = lines.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(messages, ["first", "second", "third"]);
    assert!(lines.iter().all(|l| l.component == "ops-logs-HelloPython"));
    assert!(lines.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
    let text = lines[0].render_text();
    assert!(text.ends_with(" ops-logs-HelloPython first\n"), "{text}");
    assert!(text.starts_with(&lines[0].time), "{text}");

    // The full component name works too; an unknown one is named with the ones there are.
    let same = read_logs(
        &ctx,
        &logs_request(
            &s,
            Some("ops-logs-HelloPython"),
            Some(Duration::from_secs(600)),
        ),
    )
    .await
    .unwrap();
    assert_eq!(same.len(), 3);
    let e = read_logs(&ctx, &logs_request(&s, Some("Nope"), None))
        .await
        .unwrap_err();
    assert_eq!(e.exit_code(), 52, "{e}");
    assert!(e.to_string().contains("ops-logs-HelloPython"), "{e}");
}

#[tokio::test]
async fn logs_of_a_group_that_sends_nothing_to_cloudwatch_name_the_setting() {
    let project = example_copy();
    std::fs::write(
        project.path().join("deployments/quiet.conf"),
        "conf {\n  functions = [\"HelloPython\"]\n  loggers = [\n    { component = \"Lambda\", loggerLevel = \"INFO\", loggerType = \"FileSystem\", space = 1024 }\n  ]\n}\n",
    )
    .unwrap();
    // Each target on its emulator: V1's runs on the V1-era clock (support/emulator.rs says why).
    for (target, group) in [(Target::V2, "quiet-v2"), (Target::V1, "quiet-v1")] {
        let emu = match target {
            Target::V1 => emulator::fresh_v1(),
            Target::V2 => emulator::fresh(),
        };
        let cloud = cloud(&emu).await;
        let s = setup(project.path(), "deployments/quiet.conf", group, target);
        s.deploy(&cloud).await.expect("deploy");
        let e = read_logs(&s.context(&cloud), &logs_request(&s, None, None))
            .await
            .unwrap_err();
        assert_eq!(e.exit_code(), 52, "{target:?}: {e}");
        assert!(e.to_string().contains("sends no logs to CloudWatch"), "{e}");
        let hint = e.hint().unwrap();
        assert!(hint.contains("loggerType = AWSCloudWatch"), "{hint}");
        assert!(hint.contains("conf.loggers"), "{hint}");
        // diagnose says so instead of failing.
        let d = diagnose(&s, &cloud).await;
        assert!(
            d.logs_not_read
                .as_deref()
                .unwrap()
                .contains("AWSCloudWatch"),
            "{d:?}"
        );
        assert!(d.findings.is_empty(), "{}", d.render_text());
        d.result().unwrap();
    }
}

/// The `ggp` binary pointed at the emulator.
fn ggp_command(emu: &emulator::Emulator, state: &Path, home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ggp"));
    c.env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "emulator-secret-access-key")
        .env("AWS_REGION", REGION)
        .env("GGP_STATE_DIR", state)
        .args(["--endpoint-url", &emu.url]);
    c
}

#[tokio::test]
async fn logs_follow_prints_a_line_written_after_it_started_then_stops_on_sigint() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    let project = example_copy();
    let s = setup(
        project.path(),
        "deployments/hello-python.conf",
        "ops-follow",
        Target::V2,
    );
    s.deploy(&cloud).await.expect("deploy");
    let hello = component_group("ops-follow-HelloPython");
    let stream = stream_of("ops-follow_Core");
    put_lines(&cloud, &hello, &stream, &[(30_000, "before the start")]).await;

    let home = tempfile::tempdir().unwrap();
    let mut child = ggp_command(&emu, &s.state_path(), home.path())
        .args(["--project-dir", project.path().to_str().unwrap()])
        .args([
            "logs",
            "-g",
            "ops-follow",
            "--target",
            "v2",
            "--component",
            "HelloPython",
            "--follow",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (out_tx, out_rx) = std::sync::mpsc::channel::<String>();
    let (err_tx, err_rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = out_tx.send(l);
        }
    });
    std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = err_tx.send(l);
        }
    });
    let mut err_lines = Vec::new();
    loop {
        let l = err_rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("ggp logs --follow never said it follows: {err_lines:?}"));
        let ready = l.contains("following");
        err_lines.push(l);
        if ready {
            break;
        }
    }
    put_lines(&cloud, &hello, &stream, &[(0, "after the start")]).await;
    let line = out_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the new line is printed");
    assert!(
        line.ends_with(" ops-follow-HelloPython after the start"),
        "{line}"
    );

    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "ggp logs --follow did not stop on SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        code.code(),
        Some(0),
        "stopped cleanly: {code:?} {err_lines:?}"
    );
    let rest: Vec<String> = out_rx.try_iter().collect();
    assert!(
        !rest.iter().any(|l| l.contains("before the start")),
        "a line written before the start is not printed: {rest:?}"
    );
}

#[tokio::test]
async fn a_function_ggp_deployed_carries_its_conf_and_a_second_group_reuses_it_by_alias_arn() {
    let emu = emulator::fresh_v1();
    let cloud = cloud(&emu).await;
    let project = example_copy();
    let a = setup(
        project.path(),
        "deployments/hello-python.conf",
        "reuse-a",
        Target::V1,
    );
    a.deploy(&cloud).await.expect("deploy a").result().unwrap();

    let alias_arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:reuse-a-HelloPython:ggc");
    let cfg = cloud
        .clients
        .lambda
        .get_function_configuration()
        .function_name(&alias_arn)
        .send()
        .await
        .unwrap();
    let text = std::fs::read_to_string(project.path().join("functions/HelloPython/function.conf"))
        .unwrap();
    let env = cfg.environment().unwrap().variables().unwrap();
    assert_eq!(
        env.get("GGP_FUNCTION_CONF"),
        Some(&text),
        "the function.conf text, as GGP wrote it"
    );
    // A second deploy of the same group changes nothing (the variable is compared too).
    let again = a.deploy(&cloud).await.unwrap();
    assert!(
        again
            .changes
            .iter()
            .filter(|c| c.kind == "lambda-function")
            .all(|c| c.action == ggp::provision::Action::Unchanged),
        "{}",
        again.render_text()
    );

    std::fs::write(
        project.path().join("deployments/reuse.conf"),
        format!("conf {{\n  functions = [\"{alias_arn}\"]\n}}\n"),
    )
    .unwrap();
    let b = setup(
        project.path(),
        "deployments/reuse.conf",
        "reuse-b",
        Target::V1,
    );
    let mut b = b;
    b.code.clear();
    b.deploy(&cloud).await.expect("deploy b").result().unwrap();

    let fa = function_of(&status(&a, &cloud).await, "reuse-a-HelloPython");
    let fb = function_of(&status(&b, &cloud).await, "reuse-a-HelloPython");
    assert_eq!(
        fb.function_arn, alias_arn,
        "b uses a's function by its alias ARN"
    );
    assert_eq!(
        (
            fb.pinned,
            fb.timeout_seconds,
            fb.memory_size_kb,
            &fb.isolation_mode,
            &fb.encoding_type
        ),
        (
            fa.pinned,
            fa.timeout_seconds,
            fa.memory_size_kb,
            &fa.isolation_mode,
            &fa.encoding_type
        ),
        "the same settings"
    );
    assert_eq!(
        (fb.pinned, fb.timeout_seconds),
        (Some(true), Some(10)),
        "function.conf's, not the defaults'"
    );
    // b made no Lambda function of its own.
    let names: Vec<String> = cloud
        .clients
        .lambda
        .list_functions()
        .send()
        .await
        .unwrap()
        .functions()
        .iter()
        .filter_map(|f| f.function_name().map(str::to_string))
        .collect();
    assert!(!names.iter().any(|n| n.starts_with("reuse-b")), "{names:?}");
}

fn function_of(r: &StatusReport, lambda: &str) -> ggp::target::v1::status::Function {
    let ggp::target::Status::V1(s) = &r.status else {
        panic!("not V1")
    };
    s.definitions
        .as_ref()
        .unwrap()
        .functions
        .iter()
        .find(|f| ggp::target::v1::status::lambda_name(&f.function_arn) == Some(lambda))
        .cloned()
        .unwrap_or_else(|| panic!("{lambda} not in {:?}", s.definitions))
}

#[test]
fn deploy_takes_the_csr_as_pem_text_as_well_as_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    let csr_file = dir.path().join("c.csr");
    let ok = Command::new("openssl")
        .args([
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=ops-csr",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&csr_file)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let pem = std::fs::read_to_string(&csr_file).unwrap();
    let emu = emulator::fresh();
    let home = tempfile::tempdir().unwrap();
    let project = example_copy();
    for (group, value) in [
        ("csr-text", pem.clone()),
        ("csr-file", csr_file.display().to_string()),
    ] {
        let state = dir.path().join(group);
        let out = ggp_command(&emu, &state, home.path())
            .args(["--project-dir", project.path().to_str().unwrap()])
            .args([
                "deploy",
                "-g",
                group,
                "-d",
                "EMPTY",
                "--target",
                "v2",
                "--deployment-timeout",
                "5",
            ])
            .arg("--csr")
            .arg(&value)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{group}: {err}");
        let state_text = std::fs::read_to_string(state.join("state.json")).unwrap();
        let state_json: Value = serde_json::from_str(&state_text).unwrap();
        assert_eq!(
            state_json["certificate"]["origin"], "csr",
            "{group}: {state_text}"
        );
        assert!(
            !state.join("core.key").exists(),
            "no key is made: it stays with the CSR's owner"
        );
    }
    // PEM text that is no CSR (a certificate block, not a key: no key material is committed) is
    // refused with the flag named.
    let out = ggp_command(&emu, &dir.path().join("bad"), home.path())
        .args(["--project-dir", project.path().to_str().unwrap()])
        .args(["deploy", "-g", "csr-bad", "-d", "EMPTY", "--target", "v2"])
        .args([
            "--csr",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the PEM text given with --csr is not a certificate signing request"),
        "{err}"
    );
}

/// Runs the bundle of `s`'s provisioned core on a device stand-in (no network; the emulator's unix
/// sockets at /ggp-bench): install.sh starts the nucleus in the background, which uses its identity,
/// takes its deployment, "runs" the components (`fail`: the one that breaks), uploads their log
/// lines as LogManager would and reports. Waits for the report; gives the device's output.
fn run_device(s: &Setup, emu: &emulator::Emulator, fail: Option<&str>) -> String {
    let env = crate::support::bench::bench_env();
    let zip = std::path::PathBuf::from(crate::support::bench::require(
        &env,
        "GGP_CORE_SOFTWARE_DIR",
    ))
    .join("greengrass-nucleus-latest.zip");
    let out = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let bundled = ggp_command(emu, &s.state_path(), home.path())
        .args(["--project-dir", s.root.to_str().unwrap()])
        .args([
            "bundle",
            "-g",
            &s.group,
            "--target",
            "v2",
            "--core-software",
        ])
        .arg(&zip)
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        bundled.status.success(),
        "ggp bundle: {}",
        String::from_utf8_lossy(&bundled.stderr)
    );
    let sockets = tempfile::Builder::new()
        .prefix("gs")
        .tempdir_in("/tmp")
        .unwrap();
    emu.control("/ggp-bench/unix-sockets", json!({"dir": sockets.path()}));
    let mut extra = vec![
        "-v".to_string(),
        format!("{}:/ggp-bench:ro", sockets.path().display()),
        "-e".into(),
        "GGP_BENCH_SOCKETS=/ggp-bench".into(),
    ];
    if let Some(f) = fail {
        extra.extend(["-e".into(), format!("GGP_BENCH_FAIL_COMPONENT={f}")]);
    }
    let g = &s.group;
    let script = format!(
        "set -e; mkdir /tmp/x; tar -xzf /b/ggp-v2-{g}.tar.gz -C /tmp/x; /tmp/x/ggp-v2-{g}/install.sh; \
         for i in $(seq 90); do grep -q 'identity: reported deployment\\|no deployment for' /greengrass/v2/logs/greengrass.log && break; sleep 1; done; \
         cat /greengrass/v2/logs/greengrass.log"
    );
    let (ok, text) =
        crate::support::bench::on_device(ggp::arch::Arch::X86_64, out.path(), &extra, &script);
    assert!(ok, "the device failed:\n{text}");
    text
}

/// Issue 16 item 5 (and issue 14 item 5): `status`, `logs` and `diagnose` end to end with the
/// device stand-in itself, not the bench's control API: it installs the bundle of the core ggp
/// provisioned, connects, applies the deployment, writes its components' log lines to CloudWatch
/// Logs with the token exchange role's credentials, and reports; then a deployment it breaks.
#[tokio::test]
async fn the_device_stand_in_runs_the_deployment_and_status_logs_and_diagnose_show_it() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    let project = example_copy();
    let mut s = setup(
        project.path(),
        "deployments/hello-python.conf",
        "ops-dev",
        Target::V2,
    );
    let r = s.deploy(&cloud).await.expect("deploy");
    assert!(r.deployment.as_ref().unwrap().pending_device.is_some());
    let text = run_device(&s, &emu, None);
    for want in [
        "identity: connected as the core device ops-dev_Core",
        "identity: uploaded 1 log line(s) of ops-dev-HelloPython",
        "identity: reported deployment",
    ] {
        assert!(text.contains(want), "missing {want:?}:\n{text}");
    }

    cloud.clients.recorder().clear();
    let report = status(&s, &cloud).await;
    assert_no_mutation(&cloud, "ggp status");
    report.result().expect("nothing failed");
    let j = report.to_json();
    let d = &j["coreDevices"][0];
    assert_eq!(d["thingName"], "ops-dev_Core", "{j:#}");
    assert_eq!(d["status"], "HEALTHY", "{j:#}");
    assert_eq!(
        d["effectiveDeployment"]["executionStatus"], "SUCCEEDED",
        "{j:#}"
    );
    let comps = d["installedComponents"].as_array().unwrap();
    assert!(
        comps
            .iter()
            .any(|c| c["componentName"] == "ops-dev-HelloPython"),
        "{d:#}"
    );
    assert!(
        comps.iter().all(|c| c["lifecycleState"] == "RUNNING"),
        "{d:#}"
    );
    let ctx = s.context(&cloud);
    let lines = read_logs(
        &ctx,
        &logs_request(&s, Some("HelloPython"), Some(Duration::from_secs(600))),
    )
    .await
    .expect("logs");
    let text: String = lines.iter().map(|l| format!("{}\n", l.message)).collect();
    assert!(
        text.contains("ops-dev-HelloPython: STAND-IN component"),
        "{text}"
    );

    // A new version the device breaks: FAILED with its reason in status, and diagnosed.
    s.code
        .insert("HelloPython".into(), "# HelloPython v2\n".into());
    s.opts.deployment_timeout = Duration::from_secs(1);
    let _ = s.deploy(&cloud).await.expect("deploy runs");
    let text = run_device(&s, &emu, Some("HelloPython"));
    assert!(text.contains("identity: reported deployment"), "{text}");
    cloud.clients.recorder().clear();
    let report = status(&s, &cloud).await;
    assert_no_mutation(&cloud, "ggp status");
    let e = report.result().unwrap_err();
    assert_eq!(ggp::error::Failure::exit_code(&e), 51);
    assert!(
        e.to_string()
            .contains("serviceName=ops-dev-HelloPython, currentState=BROKEN"),
        "{e}"
    );
    let d = diagnose(&s, &cloud).await;
    let broken = d
        .findings
        .iter()
        .find(|f| f.pattern == "component-broken")
        .unwrap_or_else(|| panic!("{}", d.render_text()));
    assert_eq!(broken.component.as_deref(), Some("ops-dev-HelloPython"));
    assert!(
        broken
            .fix
            .contains("ggp logs -g ops-dev --component ops-dev-HelloPython"),
        "{broken:?}"
    );
}
