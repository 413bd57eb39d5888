//! Lambda runtimes AWS has blocked (`src/runtimes.rs`): ggp's table equals the emulator's; a V2
//! project with PYTHON3_7 and NODEJS12_X functions is refused by `ggp plan` (offline and with
//! credentials) and `ggp deploy` before any change, naming both functions; `upgradeRuntime = true`
//! (per project, overridden per function) plans python3.11/nodejs22.x and deploys on the bench;
//! V1 only warns.

use std::path::Path;

use assert_cmd::Command;
use ggp::config::Target;
use ggp::runtimes::{Date, TABLE};

use crate::support::emulator;
use crate::support::provision::{cloud, copy_dir, edit, repo, Setup};

/// The emulator's table: the `"runtime": ("dep", "create", "update"),` lines of runtimes.py.
fn emulator_table() -> Vec<(String, [Date; 3])> {
    let file = repo().join("bench/emulator/ggp_emulator/runtimes.py");
    let text = std::fs::read_to_string(&file).unwrap();
    let mut rows = Vec::new();
    for line in text.lines().map(str::trim) {
        let Some((name, rest)) = line.split_once("\": (") else {
            continue;
        };
        let Some(name) = name.strip_prefix('"') else {
            continue;
        };
        let dates: Vec<Date> = rest
            .trim_end_matches("),")
            .split(',')
            .map(|d| d.trim().trim_matches('"').parse().unwrap())
            .collect();
        rows.push((name.to_string(), [dates[0], dates[1], dates[2]]));
    }
    rows
}

#[test]
fn the_emulator_refuses_exactly_the_runtimes_and_dates_of_ggps_table() {
    let ours: Vec<(String, [Date; 3])> = TABLE
        .iter()
        .map(|r| {
            (
                r.runtime.to_string(),
                [r.deprecation, r.block_create, r.block_update],
            )
        })
        .collect();
    assert_eq!(emulator_table(), ours);
    let py =
        std::fs::read_to_string(repo().join("bench/emulator/ggp_emulator/runtimes.py")).unwrap();
    assert!(py.contains(&format!("READ_ON = \"{}\"", ggp::runtimes::READ_ON)));
}

/// A V2 project (copy of the example) whose HelloPython is PYTHON3_7 and HelloNode NODEJS12_X,
/// without `upgradeRuntime`.
fn legacy_project() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for d in [
        "deployments",
        "functions/HelloPython",
        "functions/HelloNode",
    ] {
        copy_dir(&repo().join(d), &tmp.path().join(d));
    }
    let defaults = tmp.path().join("deployments/deployment.defaults.conf");
    edit(&defaults, "  target = v1\n", "  target = v2\n");
    edit(&defaults, "  upgradeRuntime = true\n", "");
    edit(
        &tmp.path().join("functions/HelloPython/function.conf"),
        "PYTHON3_8",
        "PYTHON3_7",
    );
    std::fs::write(
        tmp.path().join("deployments/two.conf"),
        "conf { functions = [\"HelloPython\", \"HelloNode\"] }\n",
    )
    .unwrap();
    tmp
}

fn ggp(root: &Path, args: &[&str], today: &str) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    Command::cargo_bin("ggp")
        .unwrap()
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("GGP_TODAY", today)
        .arg("--project-dir")
        .arg(root)
        .args(args)
        .output()
        .unwrap()
}

const PLAN: &[&str] = &[
    "plan",
    "-g",
    "rt",
    "-d",
    "deployments/two.conf",
    "--region",
    "us-east-1",
];

fn assert_refused(out: &std::process::Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    for needle in [
        "function HelloPython (functions/HelloPython/function.conf): runtime python3.7, creating blocked since 2024-01-09",
        "function HelloNode (functions/HelloNode/function.conf): runtime nodejs12.x, creating blocked since 2023-03-31",
        "upgradeRuntime = true",
    ] {
        assert!(stderr.contains(needle), "missing {needle:?} in:\n{stderr}");
    }
}

#[test]
fn a_v2_plan_of_blocked_runtimes_is_refused_naming_each_function() {
    let p = legacy_project();
    assert_refused(&ggp(p.path(), PLAN, "2026-12-04"));
    // Before the block dates the same project plans.
    let out = ggp(p.path(), PLAN, "2023-03-01");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A bad GGP_TODAY is a usage error naming it.
    let out = ggp(p.path(), PLAN, "2026-02-30");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("GGP_TODAY"));
}

#[test]
fn upgrade_runtime_plans_python3_11_and_nodejs22_and_says_so() {
    let p = legacy_project();
    let defaults = p.path().join("deployments/deployment.defaults.conf");
    edit(
        &defaults,
        "  target = v2\n",
        "  target = v2\n  upgradeRuntime = true\n",
    );
    let out = ggp(p.path(), PLAN, "2026-12-04");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("python3.11") && stdout.contains("nodejs22.x"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("python3.7") || stdout.contains("upgraded from python3.7 to python3.11"),
        "{stdout}"
    );
    for w in [
        "function HelloPython: upgraded from python3.7 to python3.11 (upgradeRuntime",
        "function HelloNode: upgraded from nodejs12.x to nodejs22.x (upgradeRuntime",
    ] {
        assert!(
            stdout.contains(w) || stderr.contains(w),
            "missing {w:?}:\n{stdout}\n{stderr}"
        );
    }
    // Per function: HelloNode says false, so it alone is refused.
    edit(
        &p.path().join("functions/HelloNode/function.conf"),
        "conf {\n",
        "conf {\n  upgradeRuntime = false\n",
    );
    let out = ggp(p.path(), PLAN, "2026-12-04");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("function HelloNode (functions/HelloNode/function.conf)"),
        "{stderr}"
    );
    assert!(!stderr.contains("function HelloPython ("), "{stderr}");
    // A non-boolean is refused with its line.
    edit(
        &p.path().join("functions/HelloNode/function.conf"),
        "upgradeRuntime = false",
        "upgradeRuntime = maybe",
    );
    let out = ggp(p.path(), PLAN, "2026-12-04");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("functions/HelloNode/function.conf:2")
            && stderr.contains("expected a boolean"),
        "{stderr}"
    );
}

#[test]
fn on_v1_a_blocked_runtime_is_a_warning() {
    let p = legacy_project();
    let mut args = PLAN.to_vec();
    args.extend(["--target", "v1"]);
    let out = ggp(p.path(), &args, "2026-12-04");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains(
            "function HelloPython: Lambda blocks creating python3.7 functions since 2024-01-09"
        ),
        "{all}"
    );
    assert!(all.contains("no runtime to upgrade to"), "{all}");
    assert!(
        all.contains("python3.7, handler"),
        "V1 keeps the runtime: {all}"
    );
}

fn setup(root: &Path) -> Setup {
    let mut s = Setup::new("deployments/two.conf", "rt-group");
    s.root = root.to_path_buf();
    s.target = Target::V2;
    s.opts.deployment_timeout = std::time::Duration::from_secs(20);
    s.code = ["HelloPython", "HelloNode"]
        .iter()
        .map(|f| (f.to_string(), format!("# {f} v1\n")))
        .collect();
    s
}

#[tokio::test]
async fn a_v2_deploy_of_blocked_runtimes_changes_nothing_and_deploys_after_the_setting() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    let p = legacy_project();
    let s = setup(p.path());
    let ctx = s.context(&cloud);
    let e = ggp::app::deploy::deploy(&ctx, &s.request())
        .await
        .unwrap_err();
    assert_eq!(e.exit_code(), 3, "{e}");
    let text = e.to_string();
    assert!(
        text.contains(
            "function HelloPython (functions/HelloPython/function.conf): runtime python3.7"
        ),
        "{text}"
    );
    assert!(
        text.contains("function HelloNode (functions/HelloNode/function.conf): runtime nodejs12.x"),
        "{text}"
    );
    // With credentials, plan refuses the same way.
    let e = s.plan_report(&cloud, false).await.unwrap_err();
    assert_eq!(e.exit_code(), 3, "{e}");
    // Nothing was created.
    let lambda = cloud.clients.lambda.list_functions().send().await.unwrap();
    assert!(lambda.functions().is_empty(), "{lambda:?}");
    let groups = cloud.clients.iot.list_thing_groups().send().await.unwrap();
    assert!(groups.thing_groups().is_empty(), "{groups:?}");

    edit(
        &p.path().join("deployments/deployment.defaults.conf"),
        "  target = v2\n",
        "  target = v2\n  upgradeRuntime = true\n",
    );
    let report = s.deploy(&cloud).await.unwrap();
    report.result().unwrap();
    let mut runtimes: Vec<String> = Vec::new();
    for f in cloud
        .clients
        .lambda
        .list_functions()
        .send()
        .await
        .unwrap()
        .functions()
    {
        runtimes.push(
            f.runtime()
                .map(|r| r.as_str().to_string())
                .unwrap_or_default(),
        );
    }
    runtimes.sort();
    assert_eq!(runtimes, ["nodejs22.x", "python3.11"]);
}
