//! Stage 4 of the pipeline: the two targets, Greengrass V1 ([`v1`]) and Greengrass V2 ([`v2`]),
//! each with its plan (derived from the desired state), converge, destroy and bundle.
//!
//! The target is matched here and nowhere else: [`pick`] decides which one a command works on,
//! [`Plan`] and [`Group`] hold either target's plan and deployment target, and the functions of
//! this module hand each operation to the target's own module tree.

pub mod v1;
pub mod v2;

use std::fmt::Write as _;

use serde::Serialize;

use crate::config::Target;
use crate::model::{Artifact, Desired, Role};
use crate::provision::state::State;
use crate::provision::{
    Cloud, DeployOptions, DeployReport, DestroyOptions, DestroyReport, Package, ProvisionError,
};

/// The target a command works on: the `--target` flag, else the deployment's `conf.target`, else
/// what the group's state says it was deployed as, else Greengrass V2 (the service that exists).
pub fn pick(flag: Option<Target>, conf: Option<Target>, state: Option<&State>) -> Target {
    flag.or(conf)
        .or_else(|| state.and_then(deployed_as))
        .unwrap_or(Target::V2)
}

/// What a group's state says it was deployed as: a V2 state names its thing group, a V1 state its
/// group (and no thing group).
pub fn deployed_as(state: &State) -> Option<Target> {
    if state.thing_group_arn.is_some() {
        Some(Target::V2)
    } else if state.group_id.is_some() {
        Some(Target::V1)
    } else {
        None
    }
}

/// What a deployment targets in the account: a V1 group or a V2 thing group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Group {
    V1(v1::GroupInfo),
    V2(v2::ThingGroupInfo),
}

impl Group {
    /// `GROUP_ID` in the functions' environments.
    pub fn id(&self) -> &str {
        match self {
            Group::V1(g) => &g.id,
            Group::V2(g) => &g.id,
        }
    }
}

/// The group (V1) or thing group (V2) named `name`, if it exists.
pub async fn find(
    cloud: &Cloud,
    target: Target,
    name: &str,
) -> Result<Option<Group>, ProvisionError> {
    Ok(match target {
        Target::V1 => v1::find_group(cloud, name).await?.map(Group::V1),
        Target::V2 => v2::find_thing_group(cloud, name).await?.map(Group::V2),
    })
}

/// Finds or creates the group (V1) or thing group (V2): its id is known from here on, so the
/// project can be loaded again with `GROUP_ID` injected before the rest of the deploy.
pub async fn ensure(
    cloud: &Cloud,
    target: Target,
    name: &str,
    opts: &DeployOptions,
) -> Result<Group, ProvisionError> {
    Ok(match target {
        Target::V1 => Group::V1(v1::converge::ensure_group(cloud, name, opts).await?),
        Target::V2 => Group::V2(v2::converge::ensure_thing_group(cloud, name, opts).await?),
    })
}

fn mismatch() -> ProvisionError {
    ProvisionError::Input("internal: a plan of one target with a group of the other".into())
}

/// Converges the account to `plan` and deploys it; a failed or unfinished deployment is in the
/// report and [`DeployReport::result`] gives the error.
pub async fn deploy(
    cloud: &Cloud,
    group: &Group,
    plan: &Plan,
    packages: &[Package],
    opts: &DeployOptions,
) -> Result<DeployReport, ProvisionError> {
    match (group, plan) {
        (Group::V1(g), Plan::V1(p)) => v1::converge::deploy(cloud, g, p, packages, opts).await,
        (Group::V2(g), Plan::V2(p)) => v2::converge::deploy(cloud, g, p, packages, opts).await,
        _ => Err(mismatch()),
    }
}

/// What [`deploy`] would do, without a mutating call (`group` is `None` when it does not exist).
pub async fn diff(
    cloud: &Cloud,
    group: Option<&Group>,
    plan: &Plan,
    packages: &[Package],
    opts: &DeployOptions,
) -> Result<DeployReport, ProvisionError> {
    match (group, plan) {
        (None, Plan::V1(p)) => v1::converge::diff(cloud, None, p, packages, opts).await,
        (Some(Group::V1(g)), Plan::V1(p)) => {
            v1::converge::diff(cloud, Some(g), p, packages, opts).await
        }
        (None, Plan::V2(p)) => v2::converge::diff(cloud, None, p, packages, opts).await,
        (Some(Group::V2(g)), Plan::V2(p)) => {
            v2::converge::diff(cloud, Some(g), p, packages, opts).await
        }
        _ => Err(mismatch()),
    }
}

/// Deletes what ggp made for the group `name` of `target`, and nothing else.
pub async fn destroy(
    cloud: &Cloud,
    target: Target,
    name: &str,
    opts: &DestroyOptions,
) -> Result<DestroyReport, ProvisionError> {
    match target {
        Target::V1 => v1::destroy::destroy(cloud, name, opts).await,
        Target::V2 => v2::destroy::destroy(cloud, name, opts).await,
    }
}

/// A plan that cannot be made for the target (a runtime or a feature it cannot run).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("{0}")]
    Unsupported(String),
    /// The derived core policy is over AWS IoT's size limit.
    #[error("the core's IoT policy {policy} would be {size} characters (white space not counted); AWS IoT refuses a policy document over {max}", max = crate::target::v2::policy::IOT_POLICY_MAX_CHARS)]
    PolicyTooLarge { policy: String, size: usize },
}

impl crate::error::Failure for PlanError {
    fn exit_code(&self) -> i32 {
        crate::error::exit::FAILURE
    }
    fn hint(&self) -> Option<String> {
        Some(match self {
            PlanError::Unsupported(_) => "change what the message names (or the target, with --target); `ggp plan` re-checks without touching AWS or Docker".into(),
            PlanError::PolicyTooLarge { .. } => "too many cloud topics for one policy: write the core's policy yourself with wildcards (conf.core.role.iotPolicy) or name one (--core-policy-name); the preflight checks it either way".into(),
        })
    }
}

/// The plan of one target (one is made per run, so the size of the larger one does not matter).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[allow(clippy::large_enum_variant)]
pub enum Plan {
    V1(v1::Plan),
    V2(v2::Plan),
}

impl Plan {
    /// The plan of `target` for `desired`.
    pub fn derive(desired: &Desired, target: Target) -> Result<Plan, PlanError> {
        Ok(match target {
            Target::V1 => Plan::V1(v1::derive(desired)?),
            Target::V2 => Plan::V2(v2::derive(desired)?),
        })
    }

    pub fn target(&self) -> Target {
        match self {
            Plan::V1(_) => Target::V1,
            Plan::V2(_) => Target::V2,
        }
    }

    pub fn render_text(&self) -> String {
        match self {
            Plan::V1(p) => p.render_text(),
            Plan::V2(p) => p.render_text(),
        }
    }

    pub fn artifacts(&self) -> &[Artifact] {
        match self {
            Plan::V1(p) => &p.artifacts,
            Plan::V2(p) => &p.artifacts,
        }
    }

    /// The step boundaries where `GGP_FAIL_AFTER` can stop a deploy of this plan, in order.
    pub fn steps(&self) -> Vec<String> {
        match self {
            Plan::V1(p) => v1::converge::steps(p),
            Plan::V2(p) => v2::converge::steps(p),
        }
    }
}

/// One role's lines of a rendered plan.
pub(crate) fn render_role(w: &mut String, label: &str, r: &Role) {
    let how = if r.managed {
        "(create or converge)"
    } else {
        "(existing, used as is)"
    };
    let _ = writeln!(w, "  {label} {} {how}", r.name);
    for p in &r.managed_policies {
        let _ = writeln!(w, "    attach {p}");
    }
    if let Some(p) = &r.inline_policy {
        let n = p["Statement"].as_array().map_or(0, Vec::len);
        let _ = writeln!(w, "    inline policy inline-by-ggp: {n} statement(s)");
    }
    if let Some(p) = &r.v2_inline_policy {
        let n = p["Statement"].as_array().map_or(0, Vec::len);
        let _ = writeln!(
            w,
            "    inline policy greengrass-v2-by-ggp: {n} statement(s)"
        );
    }
}

/// The `Artifacts` and `Warnings` sections of a rendered plan.
pub(crate) fn render_tail(w: &mut String, artifacts: &[Artifact], warnings: &[String]) {
    let _ = writeln!(w, "\nArtifacts");
    if artifacts.is_empty() {
        let _ = writeln!(w, "  (none)");
    }
    for a in artifacts {
        let _ = writeln!(
            w,
            "  {} {} ({}) -> {} [builder {}]",
            a.function, a.arch, a.platform, a.package, a.builder
        );
    }
    if !warnings.is_empty() {
        let _ = writeln!(w, "\nWarnings");
        for x in warnings {
            let _ = writeln!(w, "  {x}");
        }
    }
}

/// What an offline bundle is made from, for either target: the group's stored state (certificate,
/// key, thing, endpoints), the project when `-d` was given (loggers, runtimes), and the choices of
/// the command line.
#[derive(Debug, Clone)]
pub struct BundleJob<'a> {
    pub group: &'a str,
    pub state: &'a crate::bundle::stored::Stored,
    /// The account's `iot:Data-ATS` and `iot:CredentialProvider` endpoints.
    pub endpoints: (String, String),
    pub project: Option<&'a crate::config::Project>,
    /// `-a` (V1: one bundle per architecture; V2 needs none).
    pub archs: &'a [crate::arch::Arch],
    /// V1: `--script`, `--oem` (the bundle itself is always written).
    pub script: bool,
    pub oem: bool,
    /// V1 config.json: `--mqtt-port` (default 8883) and `--no-systemd`.
    pub mqtt_port: u16,
    pub use_systemd: bool,
    /// `--core-software`, `--core-software-sha256`, and the folders searched without it.
    pub core_software: Option<&'a std::path::Path>,
    pub core_software_sha256: Option<&'a str>,
    pub search_dirs: Vec<std::path::PathBuf>,
    /// V1 `--split-secrets`.
    pub split_secrets: bool,
    pub include_debs: &'a [std::path::PathBuf],
    /// V1 `--hsi`.
    pub hsi: Option<&'a v1::bundle::Pkcs11>,
    pub out_dir: &'a std::path::Path,
    /// The mtime of every archive member (`SOURCE_DATE_EPOCH`, default 0).
    pub epoch: u64,
}

/// Writes the target's offline bundle(s) for a provisioned core.
pub fn bundle(
    target: Target,
    job: &BundleJob,
) -> Result<Vec<crate::bundle::Written>, crate::bundle::BundleError> {
    match target {
        Target::V1 => v1::bundle::from_job(job),
        Target::V2 => v2::bundle::from_job(job).map(|w| vec![w]),
    }
}

/// A group as `ggp status` shows it, for either target (read without a mutating call).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "target")]
pub enum Status {
    #[serde(rename = "v1")]
    V1(v1::status::GroupStatus),
    #[serde(rename = "v2")]
    V2(v2::status::GroupStatus),
}

/// The group `name` of `target` as the account holds it; `None` when it does not exist.
pub async fn status(
    cloud: &Cloud,
    target: Target,
    name: &str,
) -> Result<Option<Status>, ProvisionError> {
    Ok(match target {
        Target::V1 => v1::status::status(cloud, name).await?.map(Status::V1),
        Target::V2 => v2::status::status(cloud, name).await?.map(Status::V2),
    })
}

/// The group certificate authorities (PEM) of a Greengrass V1 group; V2 has none (its core
/// devices authenticate client devices with the certificate authority of the client device
/// auth component).
pub async fn group_ca(
    cloud: &Cloud,
    status: &Status,
) -> Result<Option<Vec<String>>, ProvisionError> {
    match status {
        Status::V1(s) => v1::status::group_ca(cloud, &s.group_id).await.map(Some),
        Status::V2(_) => Ok(None),
    }
}

impl Status {
    pub fn target(&self) -> Target {
        match self {
            Status::V1(_) => Target::V1,
            Status::V2(_) => Target::V2,
        }
    }

    /// True when the latest deployment will not change any more without a new one.
    pub fn settled(&self) -> bool {
        match self {
            Status::V1(s) => s.settled(),
            Status::V2(s) => s.settled(),
        }
    }

    /// Why the latest deployment failed (per device for V2); empty when it did not.
    pub fn failures(&self) -> Vec<String> {
        match self {
            Status::V1(s) => s.failures(),
            Status::V2(s) => s.failures(),
        }
    }

    /// Where the group's logs are in CloudWatch Logs, or why it sends none there.
    pub fn log_sources(
        &self,
        region: &str,
        account: &str,
        component: Option<&str>,
    ) -> Result<Vec<LogSource>, NoCloudLogs> {
        match self {
            Status::V1(s) => s.log_sources(region, account, component),
            Status::V2(s) => s.log_sources(region, component),
        }
    }

    /// What the devices reported about the latest deployment, for `ggp diagnose`.
    pub fn evidence(&self) -> Vec<Evidence> {
        match self {
            Status::V1(s) => s.evidence(),
            Status::V2(s) => s.evidence(),
        }
    }

    pub fn render_text(&self) -> String {
        match self {
            Status::V1(s) => s.render_text(),
            Status::V2(s) => s.render_text(),
        }
    }
}

/// One CloudWatch Logs log group a group writes to, and which of its streams are the group's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogSource {
    /// The component or function the lines are from; empty when `log_group` ends with `/` and
    /// stands for every log group under it (each labelled with the rest of its name).
    pub label: String,
    pub log_group: String,
    /// A stream is the group's when its name contains one of these.
    pub stream_contains: Vec<String>,
}

/// The group sends nothing (or not what was asked for) to CloudWatch Logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the group {group} sends no logs to CloudWatch Logs: {why}")]
pub struct NoCloudLogs {
    pub group: String,
    pub why: String,
    /// The deployment setting that would send them.
    pub setting: String,
}

/// What a device (or the service) reported about a failure: the input of `ggp diagnose`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// Where it was read (`deployment ID on DEVICE`, `component NAME on DEVICE`).
    pub source: String,
    pub device: Option<String>,
    /// The component (V2) or function (V1) it names, when it names one.
    pub component: Option<String>,
    /// The execution status or lifecycle state.
    pub status: String,
    /// Error codes, the most specific first: V2 error stack (reversed) and types or lifecycle
    /// status codes, V1 detailed error codes.
    pub codes: Vec<String>,
    /// Messages: the reason, lifecycle details, V1 error message and details.
    pub texts: Vec<String>,
}

/// Why a deploy takes one `-a`.
pub fn one_architecture(target: Target) -> &'static str {
    match target {
        Target::V1 => "a Greengrass V1 group has one core: give one architecture with -a",
        Target::V2 => "a deploy builds the Lambda functions for one architecture: give one -a",
    }
}
