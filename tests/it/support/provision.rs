//! Helpers for provisioning tests against the emulator: `ggp deploy` and `ggp plan` through the
//! command layer (`ggp::app`) with the emulator's clients, Lambda packages as small deterministic
//! zips written by the test (provisioning-only tests: no Docker), and a full listing of the
//! account with the random ids taken out, to compare two end states.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use ggp::app::deploy::DeployRequest;
use ggp::app::destroy::DestroyRequest;
use ggp::app::plan::{PlanReport, PlanRequest};
use ggp::app::{self, Context, Ui};
use ggp::config::{ProjectPaths, Target};
use ggp::model::CertificateSource;
use ggp::provision::{
    Clients, Cloud, DeployOptions, DeployReport, DestroyReport, Package, ProvisionError,
};
use serde_json::{json, Value};

use super::emulator::{Emulator, ACCOUNT, REGION};

pub const GROUP: &str = "test-group";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub async fn cloud(emu: &Emulator) -> Cloud {
    let sdk = emu.sdk_config().await;
    Cloud {
        clients: Clients::new(&sdk, None, true),
        account: ACCOUNT.into(),
        region: REGION.into(),
    }
}

/// The emulator's account seen from `region` (another partition's Region gives its ARNs).
pub async fn cloud_in(emu: &Emulator, region: &str) -> Cloud {
    let sdk = emu
        .sdk_config()
        .await
        .into_builder()
        .region(aws_types::region::Region::new(region.to_string()))
        .build();
    Cloud {
        clients: Clients::new(&sdk, None, true),
        account: ACCOUNT.into(),
        region: region.into(),
    }
}

/// Copies a folder tree.
pub fn copy_dir(from: &Path, to: &Path) {
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

/// A copy of the example project with a V1 Docker application deployment connector
/// (`connectors/docker-wordpress.conf`, as GGP's sample `docker-compose-x86-wordpress.conf` has
/// one) whose compose file is `s3://<bucket>/compose/wordpress.yml`, deployed alone by
/// `deployments/docker.conf`.
pub fn docker_connector_project(bucket: &str) -> tempfile::TempDir {
    let tmp = example_copy();
    std::fs::write(
        tmp.path().join("connectors/docker-wordpress.conf"),
        format!(
            "conf {{\n  connector {{\n    connectorArn = \"arn:aws:greengrass:\"${{REGION}}\"::/connectors/DockerApplicationDeployment/versions/5\"\n    parameters {{\n      DockerComposeFileS3Bucket = \"{bucket}\"\n      DockerComposeFileS3Key = \"compose/wordpress.yml\"\n      DockerComposeFileDestinationPath = \"/home/ggc_user/wordpress\"\n      DockerPullBeforeUp = \"True\"\n      DockerContainerStatusLogFrequency = \"30\"\n    }}\n  }}\n}}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("deployments/docker.conf"),
        "conf {\n  functions = []\n  connectors = [\"docker-wordpress\"]\n}\n",
    )
    .unwrap();
    tmp
}

/// A copy of the example project (deployments, functions, connectors) to change.
pub fn example_copy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for d in ["deployments", "functions", "connectors"] {
        copy_dir(&repo().join(d), &tmp.path().join(d));
    }
    tmp
}

/// Replaces the first `from` in `file` by `to` (it must be there).
pub fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "{from:?} not in {}", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

/// A deterministic zip holding one file whose content is `code`.
pub fn package(dir: &Path, function: &str, code: &str) -> Package {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default());
    w.start_file("main.py", opts).unwrap();
    w.write_all(code.as_bytes()).unwrap();
    let bytes = w.finish().unwrap().into_inner();
    let path = dir.join(format!("{function}-{:x}.zip", bytes.len()));
    std::fs::write(&path, &bytes).unwrap();
    Package::from_file(function, &path).unwrap()
}

/// One test's deploy setup: the project, the packages (function → code), options.
pub struct Setup {
    pub root: PathBuf,
    pub deployment: String,
    pub group: String,
    pub target: Target,
    pub code: BTreeMap<String, String>,
    pub certificate: CertificateSource,
    pub opts: DeployOptions,
    pub packages_dir: tempfile::TempDir,
    pub _state_dir: tempfile::TempDir,
}

impl Setup {
    /// The example project's `deployments/all.conf`: four functions and a connector.
    pub fn example() -> Setup {
        Setup::new("deployments/all.conf", GROUP)
    }

    pub fn new(deployment: &str, group: &str) -> Setup {
        let state_dir = tempfile::tempdir().unwrap();
        let mut opts = DeployOptions::new(state_dir.path().join(group));
        opts.deployment_timeout = std::time::Duration::from_secs(30);
        opts.propagation_timeout = std::time::Duration::from_secs(5);
        let code = [
            "HelloPython",
            "HelloNode",
            "HelloExecutable",
            "SensorPython",
        ]
        .iter()
        .map(|f| (f.to_string(), format!("# {f} v1\n")))
        .collect();
        Setup {
            root: repo(),
            deployment: deployment.into(),
            group: group.into(),
            target: Target::V1,
            code,
            certificate: CertificateSource::StoredOrNew,
            opts,
            packages_dir: tempfile::tempdir().unwrap(),
            _state_dir: state_dir,
        }
    }

    pub fn state_path(&self) -> PathBuf {
        self.opts.state_dir.clone()
    }

    /// `ggp destroy` of this setup's group.
    pub async fn destroy(&self, cloud: &Cloud) -> Result<DestroyReport, ProvisionError> {
        destroy(cloud, &self.group, self.target, &self.opts.state_dir).await
    }

    /// The command layer's context for this project, its AWS calls going to `cloud`.
    pub fn context(&self, cloud: &Cloud) -> Context {
        context(&self.root, cloud)
    }

    pub fn packages(&self) -> Vec<Package> {
        self.code
            .iter()
            .map(|(f, c)| package(self.packages_dir.path(), f, c))
            .collect()
    }

    /// What `ggp deploy -g GROUP -d DEPLOYMENT --target T` asks for, with the test's packages.
    pub fn request(&self) -> DeployRequest {
        let mut model = ggp::model::Options::new(Vec::new());
        model.certificate = self.certificate.clone();
        DeployRequest {
            group: self.group.clone(),
            deployment: self.deployment.clone(),
            target: Some(self.target),
            archs: vec![ggp::arch::Arch::X86_64],
            model,
            provision: self.opts.clone(),
            packages: Some(self.packages()),
            outputs: None,
        }
    }

    /// `ggp deploy` (the command layer's whole sequence).
    pub async fn deploy(&self, cloud: &Cloud) -> Result<DeployReport, ProvisionError> {
        let ctx = self.context(cloud);
        app::deploy::deploy(&ctx, &self.request())
            .await
            .map(|o| o.report)
            .map_err(provision_error)
    }

    /// `ggp plan` with credentials: what a deploy would change.
    pub async fn diff(&self, cloud: &Cloud) -> Result<DeployReport, ProvisionError> {
        self.plan_report(cloud, false)
            .await
            .map(|r| r.changes.expect("an online plan"))
            .map_err(provision_error)
    }

    /// `ggp plan` (`--offline` or with credentials): the plan, and the changes against the account.
    pub async fn plan_report(
        &self,
        cloud: &Cloud,
        offline: bool,
    ) -> Result<PlanReport, ggp::error::Error> {
        let ctx = self.context(cloud);
        app::plan::plan(&ctx, &self.plan_request(offline)).await
    }

    fn plan_request(&self, offline: bool) -> PlanRequest {
        let mut model = ggp::model::Options::new(vec![ggp::arch::Arch::X86_64]);
        model.certificate = self.certificate.clone();
        PlanRequest {
            group: self.group.clone(),
            deployment: self.deployment.clone(),
            target: Some(self.target),
            model,
            offline,
            state_dir: self.opts.state_dir.clone(),
            packages: Some(self.packages()),
        }
    }

    /// The offline plan (what `ggp plan --offline` shows).
    pub async fn plan(&self, cloud: &Cloud) -> ggp::target::Plan {
        let ctx = self.context(cloud);
        app::plan::plan(&ctx, &self.plan_request(true))
            .await
            .unwrap()
            .plan
    }
}

/// `ggp destroy -g GROUP --target T --state-dir DIR` through the command layer.
pub async fn destroy(
    cloud: &Cloud,
    group: &str,
    target: Target,
    state_dir: &Path,
) -> Result<DestroyReport, ProvisionError> {
    let req = DestroyRequest {
        group: group.to_string(),
        target: Some(target),
        state_dir: state_dir.to_path_buf(),
    };
    app::destroy::destroy(&context(&repo(), cloud), &req)
        .await
        .map_err(provision_error)
}

/// A command-layer context for the project at `root` whose AWS calls go to `cloud`, with an empty
/// environment (no credentials, no `GGP_*` settings from the test process).
pub fn context(root: &Path, cloud: &Cloud) -> Context {
    Context::new(
        BTreeMap::new(),
        ProjectPaths::new(root),
        ggp::aws::AwsOptions::default(),
        Ui::default(),
    )
    .with_cloud(cloud.clone())
}

/// The provisioning error of a command, which a test may match on.
pub fn provision_error(e: ggp::error::Error) -> ProvisionError {
    match e.stage::<ProvisionError>() {
        Some(p) => p.clone(),
        None => panic!("not a provisioning error: {e} (exit {})", e.exit_code()),
    }
}

/// Everything in the (emulated) account that a deploy could touch, with the random ids of
/// certificates, groups and definitions replaced by names, so two end states compare equal.
pub async fn listing(emu: &Emulator) -> Value {
    let sdk = emu.sdk_config().await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let iot = aws_sdk_iot::Client::new(&sdk);
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let gg = aws_sdk_greengrass::Client::new(&sdk);

    // IAM
    let mut roles = BTreeMap::new();
    for r in iam.list_roles().send().await.unwrap().roles {
        let name = r.role_name.clone();
        let attached: BTreeSet<String> = iam
            .list_attached_role_policies()
            .role_name(&name)
            .send()
            .await
            .unwrap()
            .attached_policies
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.policy_arn)
            .collect();
        let mut inline = BTreeMap::new();
        for p in iam
            .list_role_policies()
            .role_name(&name)
            .send()
            .await
            .unwrap()
            .policy_names
        {
            let doc = iam
                .get_role_policy()
                .role_name(&name)
                .policy_name(&p)
                .send()
                .await
                .unwrap()
                .policy_document;
            inline.insert(p, doc);
        }
        let tags: BTreeMap<String, String> = iam
            .get_role()
            .role_name(&name)
            .send()
            .await
            .unwrap()
            .role
            .map(|r| {
                r.tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        roles.insert(
            name,
            json!({"trust": r.assume_role_policy_document, "attached": attached, "inline": inline, "tags": tags}),
        );
    }
    let local_policies: BTreeSet<String> = iam
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .send()
        .await
        .unwrap()
        .policies
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.policy_name)
        .collect();

    // Group ids appear in function environments: named by group name.
    let mut group_ids: BTreeMap<String, String> = BTreeMap::new();
    for g in gg.list_groups().send().await.unwrap().groups() {
        group_ids.insert(
            g.id().unwrap().to_string(),
            format!("<id of {}>", g.name().unwrap()),
        );
    }

    // IoT: certificates get names in order of creation date, so ids never appear.
    let mut certs = iot
        .list_certificates()
        .send()
        .await
        .unwrap()
        .certificates
        .unwrap_or_default();
    certs.sort_by_key(|c| c.creation_date.map(|d| d.as_nanos()));
    let mut cert_names: BTreeMap<String, String> = group_ids.clone();
    let mut cert_list = Vec::new();
    for (i, c) in certs.iter().enumerate() {
        let arn = c.certificate_arn.clone().unwrap();
        let name = format!("cert{i}");
        cert_names.insert(arn.clone(), name.clone());
        cert_names.insert(c.certificate_id.clone().unwrap(), name.clone());
        let policies: BTreeSet<String> = iot
            .list_attached_policies()
            .target(&arn)
            .send()
            .await
            .unwrap()
            .policies
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.policy_name)
            .collect();
        let things: BTreeSet<String> = iot
            .list_principal_things()
            .principal(&arn)
            .send()
            .await
            .unwrap()
            .things
            .unwrap_or_default()
            .into_iter()
            .collect();
        cert_list.push(json!({"name": name, "status": c.status.as_ref().map(|s| s.as_str().to_string()), "policies": policies, "things": things}));
    }
    // Longest first: an ARN before the id inside it.
    let mut renames: Vec<(String, String)> = cert_names.clone().into_iter().collect();
    renames.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
    let rename = |s: &str| -> String {
        let mut out = s.to_string();
        for (k, v) in &renames {
            out = out.replace(k.as_str(), v);
        }
        out
    };
    let mut things = BTreeMap::new();
    for t in iot
        .list_things()
        .send()
        .await
        .unwrap()
        .things
        .unwrap_or_default()
    {
        let attrs: BTreeMap<String, String> = t
            .attributes
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, rename(&v)))
            .collect();
        things.insert(t.thing_name.unwrap(), json!(attrs));
    }
    let mut policies = BTreeMap::new();
    for p in iot
        .list_policies()
        .send()
        .await
        .unwrap()
        .policies
        .unwrap_or_default()
    {
        let name = p.policy_name.unwrap();
        let got = iot.get_policy().policy_name(&name).send().await.unwrap();
        let versions = iot
            .list_policy_versions()
            .policy_name(&name)
            .send()
            .await
            .unwrap()
            .policy_versions
            .unwrap_or_default()
            .len();
        policies.insert(
            name,
            json!({"document": got.policy_document, "versions": versions}),
        );
    }
    let mut aliases = BTreeMap::new();
    for a in iot
        .list_role_aliases()
        .send()
        .await
        .unwrap()
        .role_aliases
        .unwrap_or_default()
    {
        let d = iot
            .describe_role_alias()
            .role_alias(&a)
            .send()
            .await
            .unwrap()
            .role_alias_description
            .unwrap();
        aliases.insert(a, json!(d.role_arn));
    }

    // Lambda
    let mut functions = BTreeMap::new();
    for f in lambda
        .list_functions()
        .send()
        .await
        .unwrap()
        .functions
        .unwrap_or_default()
    {
        let name = f.function_name.clone().unwrap();
        let versions: Vec<String> = lambda
            .list_versions_by_function()
            .function_name(&name)
            .send()
            .await
            .unwrap()
            .versions
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| v.version)
            .collect();
        let aliases: BTreeMap<String, String> = lambda
            .list_aliases()
            .function_name(&name)
            .send()
            .await
            .unwrap()
            .aliases
            .unwrap_or_default()
            .into_iter()
            .map(|a| (a.name.unwrap(), a.function_version.unwrap()))
            .collect();
        let env: BTreeMap<String, String> = f
            .environment
            .and_then(|e| e.variables)
            .map(|m| m.into_iter().map(|(k, v)| (k, rename(&v))).collect())
            .unwrap_or_default();
        functions.insert(
            name,
            json!({"runtime": f.runtime.map(|r| r.as_str().to_string()), "handler": f.handler, "role": f.role,
                   "memory": f.memory_size, "timeout": f.timeout, "code": f.code_sha256, "env": env,
                   "versions": versions, "aliases": aliases}),
        );
    }

    // Greengrass: definitions by name with their latest content; groups with the names of the
    // definitions their latest version uses.
    let mut def_names: BTreeMap<String, String> = BTreeMap::new();
    let mut definitions = BTreeMap::new();
    macro_rules! defs {
        ($kind:literal, $list:ident, $list_versions:ident, $get_version:ident, $id:ident, $vid:ident, $content:expr) => {{
            let mut v = Vec::new();
            for d in gg.$list().send().await.unwrap().definitions() {
                let name = d.name().unwrap_or("").to_string();
                let mut content = Value::Null;
                let mut versions = 0;
                if let (Some(id), Some(ver)) = (d.id(), d.latest_version()) {
                    let out = gg.$get_version().$id(id).$vid(ver).send().await.unwrap();
                    content = $content(out.definition.unwrap());
                    def_names.insert(d.latest_version_arn().unwrap().to_string(), format!("{}:{name}", $kind));
                    versions = gg.$list_versions().$id(id).send().await.unwrap().versions().len();
                }
                let mut tags: BTreeMap<String, String> =
                    d.tags().cloned().unwrap_or_default().into_iter().collect();
                tags.remove("ggp:content-hash");
                v.push(json!({"name": name, "versions": versions, "tags": tags, "content": content}));
            }
            v.sort_by_key(|x| x.to_string());
            definitions.insert($kind, v);
        }};
    }
    let map = |m: Option<&std::collections::HashMap<String, String>>| -> BTreeMap<String, String> {
        m.map(|m| m.iter().map(|(k, v)| (k.clone(), rename(v))).collect())
            .unwrap_or_default()
    };
    defs!(
        "core",
        list_core_definitions,
        list_core_definition_versions,
        get_core_definition_version,
        core_definition_id,
        core_definition_version_id,
        |d: aws_sdk_greengrass::types::CoreDefinitionVersion| {
            json!(d.cores().iter().map(|c| json!({
            "id": c.id(), "thing": c.thing_arn(), "certificate": c.certificate_arn().map(&rename), "syncShadow": c.sync_shadow()
        })).collect::<Vec<_>>())
        }
    );
    defs!(
        "function",
        list_function_definitions,
        list_function_definition_versions,
        get_function_definition_version,
        function_definition_id,
        function_definition_version_id,
        |d: aws_sdk_greengrass::types::FunctionDefinitionVersion| json!({
            "default": format!("{:?}", d.default_config()),
            "functions": d.functions().iter().map(|f| {
                let c = f.function_configuration();
                let e = c.and_then(|c| c.environment());
                json!({"id": f.id(), "arn": f.function_arn(),
                    "config": c.map(|c| format!("{:?} {:?} {:?} {:?} {:?}", c.encoding_type(), c.executable(), c.memory_size(), c.pinned(), c.timeout())),
                    "execution": e.map(|e| format!("{:?} {:?} {:?}", e.access_sysfs(), e.execution(), e.resource_access_policies())),
                    "variables": map(e.and_then(|e| e.variables()))})
            }).collect::<Vec<_>>()})
    );
    defs!(
        "subscription",
        list_subscription_definitions,
        list_subscription_definition_versions,
        get_subscription_definition_version,
        subscription_definition_id,
        subscription_definition_version_id,
        |d: aws_sdk_greengrass::types::SubscriptionDefinitionVersion| {
            let mut v: Vec<String> = d
                .subscriptions()
                .iter()
                .map(|s| {
                    format!(
                        "{:?} {:?} {:?} {:?}",
                        s.id(),
                        s.source(),
                        s.subject(),
                        s.target()
                    )
                })
                .collect();
            v.sort();
            json!(v)
        }
    );
    defs!(
        "resource",
        list_resource_definitions,
        list_resource_definition_versions,
        get_resource_definition_version,
        resource_definition_id,
        resource_definition_version_id,
        |d: aws_sdk_greengrass::types::ResourceDefinitionVersion| json!(d
            .resources()
            .iter()
            .map(|r| format!("{r:?}"))
            .collect::<Vec<_>>())
    );
    defs!(
        "logger",
        list_logger_definitions,
        list_logger_definition_versions,
        get_logger_definition_version,
        logger_definition_id,
        logger_definition_version_id,
        |d: aws_sdk_greengrass::types::LoggerDefinitionVersion| json!(d
            .loggers()
            .iter()
            .map(|r| format!("{r:?}"))
            .collect::<Vec<_>>())
    );
    defs!(
        "connector",
        list_connector_definitions,
        list_connector_definition_versions,
        get_connector_definition_version,
        connector_definition_id,
        connector_definition_version_id,
        |d: aws_sdk_greengrass::types::ConnectorDefinitionVersion| json!(d
            .connectors()
            .iter()
            .map(|c| json!({
                "id": c.id(), "arn": c.connector_arn(), "parameters": map(c.parameters())
            }))
            .collect::<Vec<_>>())
    );
    let mut groups = BTreeMap::new();
    for g in gg.list_groups().send().await.unwrap().groups() {
        let id = g.id().unwrap();
        let versions = gg
            .list_group_versions()
            .group_id(id)
            .send()
            .await
            .unwrap()
            .versions()
            .len();
        let mut uses = BTreeSet::new();
        if let Some(v) = g.latest_version() {
            let gv = gg
                .get_group_version()
                .group_id(id)
                .group_version_id(v)
                .send()
                .await
                .unwrap()
                .definition
                .unwrap();
            for a in [
                gv.core_definition_version_arn(),
                gv.function_definition_version_arn(),
                gv.subscription_definition_version_arn(),
                gv.resource_definition_version_arn(),
                gv.logger_definition_version_arn(),
                gv.connector_definition_version_arn(),
                gv.device_definition_version_arn(),
            ]
            .into_iter()
            .flatten()
            {
                uses.insert(
                    def_names
                        .get(a)
                        .cloned()
                        .unwrap_or_else(|| format!("UNKNOWN {a}")),
                );
            }
        }
        let deployments: Vec<String> = gg
            .list_deployments()
            .group_id(id)
            .send()
            .await
            .unwrap()
            .deployments()
            .iter()
            .map(|d| format!("{:?}", d.deployment_type()))
            .collect();
        let role = gg
            .get_associated_role()
            .group_id(id)
            .send()
            .await
            .ok()
            .and_then(|r| r.role_arn);
        groups.insert(
            g.name().unwrap().to_string(),
            json!({"versions": versions, "uses": uses, "deployments": deployments, "role": role}),
        );
    }
    let service_role = gg
        .get_service_role_for_account()
        .send()
        .await
        .unwrap()
        .role_arn;

    json!({
        "iam": {"roles": roles, "localPolicies": local_policies},
        "iot": {"things": things, "certificates": cert_list, "policies": policies, "roleAliases": aliases},
        "lambda": functions,
        "greengrass": {"groups": groups, "definitions": definitions, "serviceRole": service_role},
    })
}

/// The JSON paths where `a` and `b` differ, with both values (for readable assertion messages).
pub fn differences(a: &Value, b: &Value) -> Vec<String> {
    fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for k in keys {
                    walk(
                        &format!("{path}.{k}"),
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                        out,
                    );
                }
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                for (i, (p, q)) in x.iter().zip(y).enumerate() {
                    walk(&format!("{path}[{i}]"), p, q, out);
                }
            }
            _ if a != b => out.push(format!("{path}: {a} != {b}")),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk("", a, b, &mut out);
    out
}
