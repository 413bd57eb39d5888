//! Functions that are not local folders, against the bench emulator: existing Lambda alias ARNs and
//! `~wildcards~` used as is in a Greengrass V1 group (their GGP_FUNCTION_CONF settings in the
//! function definition) and as Lambda function components of the aliased version in V2, a second
//! run without a mutating call, destroy leaving them alone, a wildcard that matches nothing; and a
//! git function cloned from a local bare repository (`file://…git:subdir`) and loaded like a
//! local folder.
//!
//! The external functions are made by the test with the SDK. Packages for provisioning are small
//! zips made by the test; one test builds the git function with `ggp build`.

use crate::support::bench;
use crate::support::emulator;
use crate::support::provision as provision_fixture;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, Runtime};
use ggp::config::{load_project, DeploymentSource, Injected, Project, ProjectPaths, Target};
use ggp::provision::{Action, GitCheckouts};
use provision_fixture::{cloud, listing, package, repo, Setup};
use serde_json::{json, Value};

use emulator::{ACCOUNT, REGION};

const GROUP: &str = "ext-group";

const SENSOR_CONF: &str = r#"conf {
  language = "PYTHON3_8"
  functionName = "ExtSensor"
  handlerName = "sensor.handler"
  pinned = true
  timeoutInSeconds = 7
  outputTopics = [
    ${AWS_IOT_THING_NAME}"/sensors/ext/reading"
  ]
  environmentVariables = ${conf.environmentVariables} {
    MODE = "external"
  }
}
"#;

fn alias_arn(name: &str, alias: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}:{alias}")
}

/// Lambda functions ggp did not make: `ext-sensor` (alias live, GGP_FUNCTION_CONF above),
/// `ext-wild-a` (alias prod, a partial GGP_FUNCTION_CONF), `ext-wild-b` (alias prod, none) and
/// `other` (alias prod, not matched by the wildcard), all on `runtime` (`language` of the
/// GGP_FUNCTION_CONF follows it). V1 tests make them on python3.8, what V1 cores run; V2 tests on a
/// runtime Lambda still creates functions on, as someone else's functions made today would be.
async fn external_functions(emu: &emulator::Emulator, dir: &Path, runtime: Runtime) {
    let language = ggp::language::Language::from_lambda_runtime(runtime.as_str())
        .expect("a runtime ggp knows")
        .name();
    let sensor_conf = SENSOR_CONF.replace("\"PYTHON3_8\"", &format!("\"{language}\""));
    let sdk = emu.sdk_config().await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let role = iam
        .create_role()
        .role_name("someone-elses-role")
        .assume_role_policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}).to_string(),
        )
        .send()
        .await
        .unwrap()
        .role
        .unwrap()
        .arn;
    for (name, alias, conf) in [
        ("ext-sensor", "live", Some(sensor_conf.as_str())),
        (
            "ext-wild-a",
            "prod",
            Some(
                "conf {\n  functionName = \"WildA\"\n  pinned = false\n  timeoutInSeconds = 5\n}\n",
            ),
        ),
        ("ext-wild-b", "prod", None),
        ("other", "prod", None),
    ] {
        let zip = std::fs::read(package(dir, name, &format!("# {name}\n")).path).unwrap();
        let mut env = Environment::builder().variables("OWNER", "someone else");
        if let Some(c) = conf {
            env = env.variables("GGP_FUNCTION_CONF", c);
        }
        let created = lambda
            .create_function()
            .function_name(name)
            .runtime(runtime.clone())
            .role(&role)
            .handler("main.handler")
            .timeout(9)
            .environment(env.build())
            .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
            .publish(true)
            .send()
            .await
            .unwrap();
        lambda
            .create_alias()
            .function_name(name)
            .name(alias)
            .function_version(created.version.unwrap())
            .send()
            .await
            .unwrap();
    }
}

/// A copy of the example project's deployments and HelloPython, with `deployments/<name>.conf`
/// listing `functions`.
fn project_with(name: &str, functions: &[&str]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for dir in ["deployments", "functions/HelloPython"] {
        let to = tmp.path().join(dir);
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(repo().join(dir)).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    let list: Vec<String> = functions.iter().map(|f| format!("{f:?}")).collect();
    std::fs::write(
        tmp.path().join(format!("deployments/{name}.conf")),
        format!("conf {{\n  functions = [{}]\n}}\n", list.join(", ")),
    )
    .unwrap();
    tmp
}

/// A deploy of `deployment` in the project at `root` to `target`, with packages for HelloPython
/// and the git function.
fn run(root: &Path, deployment: &str, target: Target) -> Setup {
    let mut s = Setup::new(deployment, GROUP);
    s.root = root.to_path_buf();
    s.target = target;
    s.code = ["HelloPython", "GitFn"]
        .iter()
        .map(|f| (f.to_string(), format!("# {f} v1\n")))
        .collect();
    s
}

fn v1(plan: ggp::target::Plan) -> ggp::target::v1::Plan {
    match plan {
        ggp::target::Plan::V1(p) => p,
        other => panic!("not a V1 plan: {other:?}"),
    }
}

fn v2(plan: ggp::target::Plan) -> ggp::target::v2::Plan {
    match plan {
        ggp::target::Plan::V2(p) => p,
        other => panic!("not a V2 plan: {other:?}"),
    }
}

/// The V1 plan of a project already loaded (and its git functions added).
fn plan_of(p: &Project, injected: &Injected) -> ggp::target::v1::Plan {
    let opts = ggp::model::Options::new(vec![ggp::arch::Arch::X86_64]);
    v1(ggp::target::Plan::derive(&ggp::model::build(p, injected, &opts), Target::V1).unwrap())
}

/// The account's Lambda functions not made by ggp, as the listing shows them.
fn external_listing(l: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for (name, f) in l["lambda"].as_object().unwrap() {
        if !name.starts_with(GROUP) {
            out.insert(name.clone(), f.clone());
        }
    }
    Value::Object(out)
}

#[tokio::test]
async fn v1_alias_arns_and_wildcards_are_used_as_is() {
    let emu = emulator::fresh_v1();
    let cloud = cloud(&emu).await;
    let zips = tempfile::tempdir().unwrap();
    external_functions(&emu, zips.path(), Runtime::Python38).await;
    let before = external_listing(&listing(&emu).await);
    let sensor = alias_arn("ext-sensor", "live");
    let project = project_with("external", &["HelloPython", &sensor, "~^ext-wild-~:prod"]);

    // Offline: listed as resolved at deploy time, no Lambda planned for them.
    let paths = ProjectPaths::new(project.path());
    let source = DeploymentSource::from_arg("deployments/external.conf", &paths);
    let offline = Injected::offline(GROUP, Some(REGION.into()));
    let p = load_project(&paths, &source, &offline, &BTreeMap::new()).unwrap();
    let run = run(project.path(), "deployments/external.conf", Target::V1);
    let offline_plan = plan_of(&p, &offline);
    assert_eq!(offline_plan.external_functions.len(), 2);
    assert!(offline_plan
        .render_text()
        .contains("resolved at deploy time"));
    assert_eq!(offline_plan.lambda.len(), 1);

    let first = run.deploy(&cloud).await.expect("deploy");
    first.result().expect("deployment succeeded");
    let l = listing(&emu).await;
    // Only HelloPython was made; the external functions are as they were.
    let made: Vec<&String> = l["lambda"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| k.starts_with(GROUP))
        .collect();
    assert_eq!(made, vec!["ext-group-HelloPython"]);
    assert_eq!(external_listing(&l), before);
    assert!(first
        .changes
        .iter()
        .all(|c| c.kind != "lambda-function" || c.name.starts_with(GROUP)));

    let fdef = &l["greengrass"]["definitions"]["function"][0]["content"];
    let functions = fdef["functions"].as_array().unwrap();
    let by_id = |id: &str| {
        functions
            .iter()
            .find(|f| f["id"] == id)
            .unwrap_or_else(|| panic!("{id} not in {fdef}"))
    };
    assert_eq!(
        functions.len(),
        5,
        "GGIPDetector, HelloPython, 3 external: {fdef}"
    );
    let s = by_id("ExtSensor");
    assert_eq!(s["arn"], json!(sensor));
    assert_eq!(s["variables"]["MODE"], "external");
    assert_eq!(s["variables"]["AWS_IOT_THING_NAME"], "ext-group_Core");
    assert!(
        s["config"]
            .as_str()
            .unwrap()
            .ends_with("Some(true) Some(7)"),
        "pinned, 7 s from GGP_FUNCTION_CONF: {s}"
    );
    let a = by_id("WildA");
    assert_eq!(a["arn"], json!(alias_arn("ext-wild-a", "prod")));
    assert!(
        a["config"]
            .as_str()
            .unwrap()
            .ends_with("Some(false) Some(5)"),
        "{a}"
    );
    // No GGP_FUNCTION_CONF: function.defaults.conf with the Lambda's name, handler and timeout.
    let b = by_id("ext-wild-b");
    assert_eq!(b["arn"], json!(alias_arn("ext-wild-b", "prod")));
    assert!(
        b["config"]
            .as_str()
            .unwrap()
            .ends_with("Some(false) Some(9)"),
        "{b}"
    );
    assert!(functions
        .iter()
        .all(|f| f["arn"] != json!(alias_arn("other", "prod"))));
    // Every function sees the external ones too.
    let hello = by_id("HelloPython");
    assert_eq!(hello["variables"]["LOCAL_LAMBDA_ExtSensor"], json!(sensor));
    // ExtSensor's output topic reaches HelloPython's input topic.
    let subs = l["greengrass"]["definitions"]["subscription"][0]["content"].to_string();
    assert!(
        subs.contains(&format!(
            "Some(\\\"{sensor}\\\") Some(\\\"ext-group_Core/sensors/ext/reading\\\") Some(\\\"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ext-group-HelloPython:ggc\\\")"
        )),
        "{subs}"
    );

    // `ggp plan` with credentials resolves them too (reads only) and sees no change.
    cloud.clients.recorder().clear();
    let report = run.plan_report(&cloud, false).await.unwrap();
    let diff = report.changes.unwrap();
    let plan = v1(report.plan);
    assert_eq!(
        plan.existing_versions.len(),
        3,
        "{:?}",
        plan.existing_versions
    );
    assert!(!diff.changed, "{}", diff.render_text());
    assert_eq!(cloud.clients.recorder().mutating(), Vec::<String>::new());

    // The second run reads only.
    cloud.clients.recorder().clear();
    let second = run.deploy(&cloud).await.expect("second deploy");
    second.result().unwrap();
    assert_eq!(cloud.clients.recorder().mutating(), Vec::<String>::new());
    assert!(!second.changed, "{}", second.render_text());

    // Someone moves an external alias to a new version: the next run deploys it (a new function
    // definition version and deployment), still without touching the function.
    let sdk = emu.sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let zip = std::fs::read(package(zips.path(), "ext-wild-b", "# ext-wild-b v2\n").path).unwrap();
    lambda
        .update_function_code()
        .function_name("ext-wild-b")
        .zip_file(Blob::new(zip))
        .send()
        .await
        .unwrap();
    let v2 = lambda
        .publish_version()
        .function_name("ext-wild-b")
        .send()
        .await
        .unwrap()
        .version
        .unwrap();
    lambda
        .update_alias()
        .function_name("ext-wild-b")
        .name("prod")
        .function_version(&v2)
        .send()
        .await
        .unwrap();
    let moved = external_listing(&listing(&emu).await);
    cloud.clients.recorder().clear();
    let third = run.deploy(&cloud).await.expect("third deploy");
    third.result().unwrap();
    assert!(
        third.deployment.as_ref().unwrap().created,
        "{}",
        third.render_text()
    );
    let mutating = cloud.clients.recorder().mutating();
    assert!(!mutating.is_empty());
    assert!(
        mutating
            .iter()
            .all(|c| !c.to_ascii_lowercase().starts_with("lambda.")),
        "{mutating:?}"
    );
    assert_eq!(external_listing(&listing(&emu).await), moved);

    // Destroy removes what ggp made and leaves the external functions.
    let report = run.destroy(&cloud).await.unwrap();
    assert!(report
        .changes
        .iter()
        .any(|c| c.action == Action::Delete && c.name == "ext-group-HelloPython"));
    let after = listing(&emu).await;
    assert_eq!(external_listing(&after), moved);
    assert!(after["lambda"].get("ext-group-HelloPython").is_none());
}

#[tokio::test]
async fn a_wildcard_that_matches_nothing_is_an_error_naming_it() {
    let emu = emulator::fresh_v1();
    let cloud = cloud(&emu).await;
    let zips = tempfile::tempdir().unwrap();
    external_functions(&emu, zips.path(), Runtime::Python38).await;
    let project = project_with("nomatch", &["HelloPython", "~^nothing-here~:prod"]);
    let run = run(project.path(), "deployments/nomatch.conf", Target::V1);
    let e = run.plan_report(&cloud, false).await.unwrap_err();
    assert_eq!(e.exit_code(), 36);
    assert!(e.to_string().contains("~^nothing-here~:prod"), "{e}");
    assert!(e.to_string().contains("matches no Lambda function"), "{e}");
    assert_eq!(cloud.clients.recorder().mutating(), Vec::<String>::new());
}

#[tokio::test]
async fn v2_alias_arn_is_a_lambda_component_of_the_aliased_version() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    let zips = tempfile::tempdir().unwrap();
    external_functions(&emu, zips.path(), Runtime::Python311).await;
    let before = external_listing(&listing(&emu).await);
    let sensor = alias_arn("ext-sensor", "live");
    let project = project_with("external", &["HelloPython", &sensor]);
    let run = run(project.path(), "deployments/external.conf", Target::V2);

    // Offline: a V2 plan lists it instead of refusing it.
    let offline_plan = v2(run.plan(&cloud).await);
    assert_eq!(offline_plan.external_functions.len(), 1);

    let first = run.deploy(&cloud).await.expect("deploy");
    first.result().expect("deployment succeeded");
    assert!(
        first.changes.iter().any(|c| c.action == Action::Create
            && c.kind == "greengrass-component"
            && c.name.starts_with("ext-group-ExtSensor ")),
        "{}",
        first.render_text()
    );
    let plan = v2(run.plan_report(&cloud, false).await.unwrap().plan);
    let c = plan
        .components
        .iter()
        .find(|c| c.function == "ExtSensor")
        .unwrap();
    assert_eq!(
        c.request["lambdaFunction"]["lambdaArn"],
        json!(format!(
            "arn:aws:lambda:{REGION}:{ACCOUNT}:function:ext-sensor:1"
        ))
    );
    assert_eq!(
        c.request["lambdaFunction"]["componentLambdaParameters"]["environmentVariables"]["MODE"],
        "external"
    );
    assert!(plan
        .lambda
        .iter()
        .all(|l| !l.function_name.contains("ExtSensor")));
    let gg = aws_sdk_greengrassv2::Client::new(&emu.sdk_config().await);
    let versions = gg
        .list_component_versions()
        .arn(format!(
            "arn:aws:greengrass:{REGION}:{ACCOUNT}:components:ext-group-ExtSensor"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(versions.component_versions().len(), 1);
    assert_eq!(external_listing(&listing(&emu).await), before);

    cloud.clients.recorder().clear();
    let second = run.deploy(&cloud).await.expect("second deploy");
    second.result().unwrap();
    assert_eq!(cloud.clients.recorder().mutating(), Vec::<String>::new());

    run.destroy(&cloud).await.unwrap();
    assert_eq!(external_listing(&listing(&emu).await), before);
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=ggp test",
            "-c",
            "user.email=test@example.com",
        ])
        .args(["-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A bare repository holding `GitFn/` (a Python function) and `README`.
fn bare_repository(tmp: &Path) -> PathBuf {
    let work = tmp.join("work");
    let fun = work.join("GitFn");
    std::fs::create_dir_all(&fun).unwrap();
    std::fs::write(
        fun.join("function.conf"),
        "conf {\n  language = \"PYTHON3_8\"\n  functionName = \"GitFn\"\n  handlerName = \"git_fn.handler\"\n  pinned = false\n  timeoutInSeconds = 4\n  inputTopics = [${AWS_IOT_THING_NAME}\"/git/in\"]\n}\n",
    )
    .unwrap();
    std::fs::write(
        fun.join("git_fn.py"),
        "def handler(event, context):\n    return event\n",
    )
    .unwrap();
    std::fs::write(work.join("README"), "functions for ggp\n").unwrap();
    git(&work, &["init", "--quiet"]);
    git(&work, &["add", "."]);
    git(&work, &["commit", "--quiet", "-m", "GitFn"]);
    let bare = tmp.join("functions.git");
    git(
        tmp,
        &["clone", "--quiet", "--bare", "work", "functions.git"],
    );
    bare
}

#[tokio::test]
async fn a_git_function_is_cloned_loaded_and_deployed_like_a_local_folder() {
    let emu = emulator::fresh_v1();
    let cloud = cloud(&emu).await;
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repository(tmp.path());
    let url = format!("file://{}:GitFn", bare.display());
    let project = project_with("git", &["HelloPython", &url]);

    // Offline: not cloned, listed.
    let paths = ProjectPaths::new(project.path());
    let source = DeploymentSource::from_arg("deployments/git.conf", &paths);
    let offline = Injected::offline(GROUP, Some(REGION.into()));
    let mut p = load_project(&paths, &source, &offline, &BTreeMap::new()).unwrap();
    let run = run(project.path(), "deployments/git.conf", Target::V1);
    assert_eq!(plan_of(&p, &offline).external_functions.len(), 1);

    // Cloned and loaded: a function like a local one, built from the checkout.
    let checkouts = GitCheckouts::clone_all(&p).unwrap();
    checkouts
        .add_to(&mut p, &offline, &BTreeMap::new())
        .unwrap();
    let f = p
        .functions
        .iter()
        .find(|f| f.function_name == "GitFn")
        .unwrap();
    let folder = paths.folder_of(f);
    assert!(folder.join("git_fn.py").is_file(), "{}", folder.display());
    assert!(!folder.starts_with(project.path()));
    assert_eq!(f.timeout_in_seconds, 4);
    let plan = plan_of(&p, &offline);
    assert!(plan.external_functions.is_empty());
    let l = plan
        .lambda
        .iter()
        .find(|l| l.function_name == "ext-group-GitFn")
        .unwrap();
    assert_eq!(l.source, url);
    assert!(plan.artifacts.iter().any(|a| a.function == "GitFn"));
    drop(checkouts);
    assert!(!folder.exists(), "the checkout is temporary");

    // A function.conf that is not there is an error naming the entry.
    let missing = format!("file://{}:Nope", bare.display());
    let project2 = project_with("git2", &[&missing]);
    let paths2 = ProjectPaths::new(project2.path());
    let p2 = load_project(
        &paths2,
        &DeploymentSource::from_arg("deployments/git2.conf", &paths2),
        &offline,
        &BTreeMap::new(),
    )
    .unwrap();
    let e = GitCheckouts::clone_all(&p2).unwrap_err();
    assert!(e.to_string().contains(":Nope"), "{e}");

    // Deployed (its package made by the test, as for local functions here).
    let first = run.deploy(&cloud).await.expect("deploy");
    first.result().unwrap();
    let made = listing(&emu).await;
    assert_eq!(made["lambda"]["ext-group-GitFn"]["timeout"], 4);
    cloud.clients.recorder().clear();
    let second = run.deploy(&cloud).await.expect("second deploy");
    second.result().unwrap();
    assert_eq!(cloud.clients.recorder().mutating(), Vec::<String>::new());
}

/// `ggp build` of a deployment with a git function: cloned from the bare repository and built like
/// a local folder (with the bench's engine settings; a Python function without requirements is
/// packaged without the engine); the package holds the repository's handler and only its subdir.
#[test]
fn ggp_build_clones_and_builds_a_git_function() {
    let bench_env = bench::bench_env();
    let mut env: BTreeMap<String, String> = bench_env
        .iter()
        .filter(|(k, _)| k.as_str() == "DOCKER_HOST" || k.starts_with("GGP_BUILDER_IMAGE_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    bench::require(&env, "DOCKER_HOST");
    if let Some(ca) = bench_env.get("GGP_BENCH_CA_BUNDLE") {
        env.insert("GGP_CA_BUNDLE".into(), ca.clone());
    }
    for k in ["PATH", "HOME"] {
        if let Ok(v) = std::env::var(k) {
            env.insert(k.into(), v);
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repository(tmp.path());
    let url = format!("file://{}:GitFn", bare.display());
    let project = project_with("git", &[&url]);
    let out = Command::new(env!("CARGO_BIN_EXE_ggp"))
        .arg("--project-dir")
        .arg(project.path())
        .args([
            "--json",
            "build",
            "-d",
            "deployments/git.conf",
            "-a",
            "X86_64",
        ])
        .env_clear()
        .envs(&env)
        .output()
        .unwrap();
    let text = format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    let zip_path = project.path().join("build/functions/X86_64/GitFn.zip");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut data).unwrap();
        files.insert(
            f.name().unwrap().to_string(),
            String::from_utf8_lossy(&data).into_owned(),
        );
    }
    let names: Vec<&String> = files.keys().collect();
    let handler = files
        .get("git_fn.py")
        .unwrap_or_else(|| panic!("{names:?}\n{text}"));
    assert!(handler.contains("def handler(event, context)"));
    assert!(
        !names.iter().any(|n| n.contains("README")),
        "only the subdir: {names:?}"
    );
}

/// `ggp` run against the emulator from `root`, as a user would.
fn ggp_cli(
    emu: &emulator::Emulator,
    root: &Path,
    state: &Path,
    args: &[&str],
) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ggp"))
        .env_clear()
        .env("HOME", state)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "emulator-secret-access-key")
        .env("AWS_REGION", REGION)
        .env("GGP_STATE_DIR", state)
        .arg("--project-dir")
        .arg(root)
        .args(["--endpoint-url", &emu.url])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Through the binary: `plan --offline` lists them, `deploy --target v1` of a deployment made of
/// an alias ARN and a wildcard only (nothing to build), a second deploy without a mutating call,
/// and a wildcard that matches nothing: exit 36 naming it.
#[tokio::test]
async fn the_ggp_binary_deploys_existing_functions_and_names_an_empty_wildcard() {
    let emu = emulator::fresh_v1();
    let zips = tempfile::tempdir().unwrap();
    external_functions(&emu, zips.path(), Runtime::Python38).await;
    let sensor = alias_arn("ext-sensor", "live");
    let project = project_with("only-external", &[&sensor, "~^ext-wild-~:prod"]);
    std::fs::write(
        project.path().join("deployments/empty-wildcard.conf"),
        "conf {\n  functions = [\"~^nobody~:prod\"]\n}\n",
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let deploy: &[&str] = &[
        "deploy",
        "-g",
        GROUP,
        "-d",
        "deployments/only-external.conf",
        "--target",
        "v1",
    ];

    let (code, out, err) = ggp_cli(
        &emu,
        project.path(),
        &state,
        &[
            "plan",
            "--offline",
            "-g",
            GROUP,
            "-d",
            "deployments/only-external.conf",
            "--target",
            "v1",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("external: {sensor} (resolved at deploy time)")),
        "{out}"
    );
    assert!(
        out.contains("external: ~^ext-wild-~:prod (resolved at deploy time)"),
        "{out}"
    );

    let (code, out, err) = ggp_cli(&emu, project.path(), &state, deploy);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        !out.contains("lambda-function"),
        "nothing built or made: {out}"
    );

    let (code, out, err) = ggp_cli(
        &emu,
        project.path(),
        &state,
        &[&["--json"][..], deploy].concat(),
    );
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["changed"], false, "{out}");
    assert_eq!(report["apiCalls"]["mutating"], 0, "{out}");

    let (code, out, err) = ggp_cli(
        &emu,
        project.path(),
        &state,
        &[
            "deploy",
            "-g",
            GROUP,
            "-d",
            "deployments/empty-wildcard.conf",
            "--target",
            "v1",
        ],
    );
    assert_eq!(code, 36, "{out}\n{err}");
    assert!(err.contains("~^nobody~:prod"), "{err}");
}

/// Issue 14: an alias pointing at `$LATEST` gave a lambdaArn `…:$LATEST`, which
/// CreateComponentVersion refuses (a component imports a published version). The V2 plan now
/// names the function, the alias and the commands that fix it, before anything (even the thing group)
/// is made.
#[tokio::test]
async fn v2_alias_on_latest_is_refused_naming_the_alias_before_any_change() {
    let emu = emulator::fresh();
    let cloud = cloud(&emu).await;
    let zips = tempfile::tempdir().unwrap();
    external_functions(&emu, zips.path(), Runtime::Python311).await;
    let lambda = aws_sdk_lambda::Client::new(&emu.sdk_config().await);
    lambda
        .create_alias()
        .function_name("ext-wild-b")
        .name("edge")
        .function_version("$LATEST")
        .send()
        .await
        .unwrap();
    let edge = alias_arn("ext-wild-b", "edge");
    let project = project_with("edge", &["HelloPython", &edge]);
    let run = run(project.path(), "deployments/edge.conf", Target::V2);
    cloud.clients.recorder().clear();
    let ctx = run.context(&cloud);
    let e = match ggp::app::deploy::deploy(&ctx, &run.request()).await {
        Ok(o) => panic!("deployed an alias on $LATEST: {:?}", o.report),
        Err(e) => e,
    };
    assert_eq!(e.exit_code(), 1, "{e}");
    let msg = e.to_string();
    for part in [
        edge.as_str(),
        "points at $LATEST",
        "aws lambda publish-version --function-name",
        "--name edge",
    ] {
        assert!(msg.contains(part), "{part} not in: {msg}");
    }
    // The plan is checked before anything is made: not even the thing group.
    let mutating = cloud.clients.recorder().mutating();
    assert!(mutating.is_empty(), "{mutating:?}");
}
