//! The provisioning steps both targets share, and how a run is carried out and reported.
//!
//! A run ([`Ctx`]) reads every resource first and changes it only when it differs from the plan,
//! so a second run with nothing changed makes no mutating call at all; a dry run (`ggp plan` with
//! credentials) is the same walk without a single mutating call. Independent branches run
//! concurrently; waits poll with backoff and a deadline ([`Backoff`]), never sleep a fixed time.
//! State ([`state`]) remembers ids between runs but the account is the truth.
//!
//! One file per cloud concern: [`iam`] (roles), [`iot`] (the core's thing, certificate, policy
//! and role alias), [`lambda`] (functions, versions, aliases), [`destroy`] (deleting those), and
//! [`external`] (functions that are not local folders: git, alias ARNs, `~wildcards~`). What only
//! one target has (V1 groups and definitions, V2 thing groups, components and deployments) is in
//! `target::v1` and `target::v2`, which walk these steps in their order.
//!
//! Not for: building packages, planning, or writing installers and bundles.
pub mod authz;
pub mod calls;
pub mod destroy;
pub mod error;
pub mod external;
pub mod iam;
pub mod iot;
pub mod json;
pub mod lambda;
pub mod progress;
pub mod state;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::FunctionRef;
pub use calls::{CallRecorder, CallStats, Clients};
pub use destroy::{DestroyOptions, DestroyReport};
pub use error::ProvisionError;
pub use external::{resolve_functions, resolve_secrets, GitCheckouts};
pub use progress::Progress;
use state::{State, StateStore};

/// Tags ggp puts on what it creates, so `destroy` and a lost state file can find it again.
pub const TAG_MANAGED_BY: &str = "ggp:managed-by";
pub const TAG_GROUP: &str = "ggp:group";
pub const TAG_CONTENT_HASH: &str = "ggp:content-hash";

/// The account and the clients a run talks to.
#[derive(Debug, Clone)]
pub struct Cloud {
    pub clients: Clients,
    pub account: String,
    pub region: String,
}

/// Where to put Lambda packages that are too large for a direct upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Key prefix; `/` or empty is the bucket root.
    pub prefix: String,
}

/// A Lambda package to deploy for one function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// The function name as in function.conf.
    pub function: String,
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
}

impl Package {
    /// The packages of one architecture from the build stage's artifacts.
    pub fn from_artifacts(
        project_root: &Path,
        artifacts: &[crate::build::Artifact],
        arch: crate::arch::Arch,
    ) -> Vec<Package> {
        artifacts
            .iter()
            .filter(|a| a.arch == arch)
            .map(|a| Package {
                function: a.function.clone(),
                path: project_root.join(&a.package),
                sha256: a.sha256.clone(),
                size: a.size,
            })
            .collect()
    }

    /// A package from a zip on disk (hashes it).
    pub fn from_file(function: &str, path: &Path) -> std::io::Result<Package> {
        let bytes = std::fs::read(path)?;
        Ok(Package {
            function: function.to_string(),
            path: path.to_path_buf(),
            sha256: hex(&Sha256::digest(&bytes)),
            size: bytes.len() as u64,
        })
    }
}

/// Inputs of a deploy besides the plan.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// The folder with `state.json` and `core.key` (default `<project>/.ggp/<group>`).
    pub state_dir: PathBuf,
    /// `--csr`: the CSR's PEM text (read by the caller).
    pub csr_pem: Option<String>,
    pub s3: Option<S3Location>,
    /// Packages larger than this go through S3 (Lambda's direct upload limit: 50 MB zipped).
    pub direct_upload_limit: u64,
    /// Lambda versions kept besides those an alias points to.
    pub keep_versions: usize,
    /// How long to wait for the deployment to reach Success or Failure.
    pub deployment_timeout: Duration,
    /// `GGP_FAIL_AFTER`: stop with an error right after this step (crash-recovery tests).
    pub fail_after: Option<String>,
    /// How long to wait for IAM changes to be usable by other services.
    pub propagation_timeout: Duration,
    /// Where changes and waits are shown as they happen (quiet unless the caller says).
    pub progress: Progress,
    /// GGP's credentials of the group (`credentials/<group>/`), adopted on a first run.
    pub ggp_credentials: Option<state::GgpCredentials>,
}

/// Lambda's limit for a zip sent in the request (bigger ones go through S3).
pub const DIRECT_UPLOAD_LIMIT: u64 = 50 * 1000 * 1000;

impl DeployOptions {
    pub fn new(state_dir: PathBuf) -> DeployOptions {
        DeployOptions {
            state_dir,
            csr_pem: None,
            s3: None,
            direct_upload_limit: DIRECT_UPLOAD_LIMIT,
            keep_versions: 3,
            deployment_timeout: Duration::from_secs(300),
            fail_after: None,
            propagation_timeout: Duration::from_secs(120),
            progress: Progress::quiet(),
            ggp_credentials: None,
        }
    }
}

/// What happened (deploy) or would happen (plan) to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
    Unchanged,
}

impl Action {
    fn word(self, dry_run: bool) -> &'static str {
        match (self, dry_run) {
            (Action::Create, false) => "created",
            (Action::Update, false) => "updated",
            (Action::Delete, false) => "deleted",
            (Action::Create, true) => "create",
            (Action::Update, true) => "update",
            (Action::Delete, true) => "delete",
            (Action::Unchanged, _) => "unchanged",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `iam-role`, `iot-thing`, `lambda-function`, `greengrass-function-definition`, …
    pub kind: &'static str,
    pub name: String,
    pub action: Action,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

/// How the deployment ended (or, for `plan`, whether one would be made).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentOutcome {
    pub id: Option<String>,
    /// `Success`, `Failure`, `InProgress`, … (`plan`: `would-deploy` or `deployed`).
    pub status: String,
    /// True when this run created the deployment.
    pub created: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// How long this run waited for it.
    pub waited_seconds: u64,
    /// Greengrass V2: the core device that has not connected yet, so the deployment (active on
    /// the thing group) was not awaited; the device applies it when it first connects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_device: Option<String>,
}

/// The result of [`deploy`] or [`diff`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployReport {
    pub group: String,
    pub group_id: Option<String>,
    /// True for `plan` (nothing was changed).
    pub dry_run: bool,
    /// True when something was (or would be) created, updated or deleted.
    pub changed: bool,
    pub changes: Vec<Change>,
    pub deployment: Option<DeploymentOutcome>,
    pub certificate_arn: Option<String>,
    /// Where the private key is, when ggp holds it.
    pub private_key: Option<String>,
    pub state_file: String,
    pub warnings: Vec<String>,
    /// Greengrass V2: the account's answers to what the core needs (IoT TestAuthorization, IAM
    /// SimulatePrincipalPolicy), asked before the deployment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preflight: Option<authz::Preflight>,
    pub api_calls: CallStats,
}

impl DeployReport {
    /// Ok when the deployment succeeded (or, for a dry run, always); the deployment's failure or
    /// timeout otherwise.
    pub fn result(&self) -> Result<(), ProvisionError> {
        let Some(d) = self.deployment.as_ref().filter(|_| !self.dry_run) else {
            return Ok(());
        };
        let id = d.id.clone().unwrap_or_default();
        if d.pending_device.is_some() {
            return Ok(());
        }
        match d.status.as_str() {
            // V1, then the V2 deployment and core-device execution statuses.
            "Success" | "COMPLETED" | "SUCCEEDED" => Ok(()),
            "Failure" | "FAILED" | "CANCELED" | "INACTIVE" | "REJECTED" | "TIMED_OUT" => {
                Err(ProvisionError::DeploymentFailed {
                    group: self.group.clone(),
                    deployment_id: id,
                    message: d
                        .error_message
                        .clone()
                        .unwrap_or_else(|| "the service gave no error message".into()),
                })
            }
            other => Err(ProvisionError::DeploymentTimedOut {
                group: self.group.clone(),
                deployment_id: id,
                status: other.to_string(),
                waited: Duration::from_secs(d.waited_seconds),
            }),
        }
    }

    pub fn render_text(&self) -> String {
        let mut o = String::new();
        let w = &mut o;
        let _ = writeln!(
            w,
            "{} group {}{}",
            if self.dry_run {
                "Changes for"
            } else {
                "Deployed"
            },
            self.group,
            self.group_id
                .as_deref()
                .map(|i| format!(" ({i})"))
                .unwrap_or_default()
        );
        let width = self.changes.iter().map(|c| c.kind.len()).max().unwrap_or(0);
        for c in &self.changes {
            let _ = write!(
                w,
                "  {:<9} {:<width$}  {}",
                c.action.word(self.dry_run),
                c.kind,
                c.name
            );
            if !c.details.is_empty() {
                let _ = write!(w, ": {}", c.details.join("; "));
            }
            let _ = writeln!(w);
        }
        if let Some(d) = &self.deployment {
            let _ = writeln!(
                w,
                "deployment {}: {}{}",
                d.id.as_deref().unwrap_or("(new)"),
                d.status,
                d.error_message
                    .as_deref()
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default()
            );
            if let Some(t) = &d.pending_device {
                let _ = writeln!(
                    w,
                    "  not awaited: the core device {t} has not connected yet; it applies this deployment when it does"
                );
            }
        }
        if !self.changed {
            let _ = writeln!(w, "no change");
        }
        if let Some(k) = &self.private_key {
            let _ = writeln!(w, "private key: {k}");
        }
        let _ = writeln!(w, "state: {}", self.state_file);
        for x in &self.warnings {
            let _ = writeln!(w, "warning: {x}");
        }
        let _ = writeln!(
            w,
            "API calls: {} ({} mutating)",
            self.api_calls.total, self.api_calls.mutating
        );
        o
    }
}

/// One run's shared context: clients, whether to change anything, what was done, the state.
pub(crate) struct Ctx<'a> {
    pub cloud: &'a Cloud,
    pub apply: bool,
    pub group: String,
    changes: Mutex<Vec<Change>>,
    warnings: Mutex<Vec<String>>,
    preflight: Mutex<Option<authz::Preflight>>,
    state: Mutex<State>,
    pub store: StateStore,
    fail_after: Option<String>,
    roles_created: AtomicBool,
    pub propagation_timeout: Duration,
    /// Where changes and waits are shown as they happen (stderr).
    pub progress: Progress,
}

impl<'a> Ctx<'a> {
    pub fn new(
        cloud: &'a Cloud,
        apply: bool,
        group: &str,
        store: StateStore,
        fail_after: Option<String>,
        propagation_timeout: Duration,
    ) -> Result<Ctx<'a>, ProvisionError> {
        let state = store.load(group)?;
        Ok(Ctx {
            progress: Progress::quiet(),
            cloud,
            apply,
            group: group.to_string(),
            changes: Mutex::new(Vec::new()),
            warnings: Mutex::new(Vec::new()),
            preflight: Mutex::new(None),
            state: Mutex::new(state),
            store,
            fail_after,
            roles_created: AtomicBool::new(false),
            propagation_timeout,
        })
    }

    /// A deploy (`apply`) or its dry run, as `opts` say.
    pub fn for_run(
        cloud: &'a Cloud,
        apply: bool,
        group: &str,
        opts: &DeployOptions,
    ) -> Result<Ctx<'a>, ProvisionError> {
        let mut ctx = Ctx::new(
            cloud,
            apply,
            group,
            StateStore::new(&opts.state_dir),
            opts.fail_after.clone().filter(|_| apply),
            opts.propagation_timeout,
        )?;
        if apply {
            ctx.progress = opts.progress.clone();
        }
        Ok(ctx)
    }

    pub fn c(&self) -> &Clients {
        &self.cloud.clients
    }

    /// What happened to one resource (a dry run: what would), shown as it happens when it changed.
    pub fn record(&self, kind: &'static str, name: &str, action: Action, details: Vec<String>) {
        if self.apply && action != Action::Unchanged {
            self.progress
                .line(&format!("{} {kind} {name}", action.word(false)));
        }
        if let Ok(mut c) = self.changes.lock() {
            c.push(Change {
                kind,
                name: name.to_string(),
                action,
                details,
            });
        }
    }

    pub fn warn(&self, message: impl Into<String>) {
        let m = message.into();
        tracing::warn!("{m}");
        if let Ok(mut w) = self.warnings.lock() {
            w.push(m);
        }
    }

    /// Read the state.
    pub fn state<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&s)
    }

    /// Change the state in memory (written at the next checkpoint; nothing in a dry run).
    pub fn update_state(&self, f: impl FnOnce(&mut State)) {
        if self.apply {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut s);
        }
    }

    /// Write the state now (after something that must not be lost, like a new key).
    pub fn save_state(&self) -> Result<(), ProvisionError> {
        if !self.apply {
            return Ok(());
        }
        let s = self.state(Clone::clone);
        self.store.save(&s)
    }

    /// A step boundary: persist the state, then stop if `GGP_FAIL_AFTER` names this step.
    pub fn checkpoint(&self, step: &str) -> Result<(), ProvisionError> {
        self.save_state()?;
        if self.apply && self.fail_after.as_deref() == Some(step) {
            return Err(ProvisionError::Injected(step.to_string()));
        }
        Ok(())
    }

    pub fn note_role_created(&self) {
        self.roles_created.store(true, Ordering::SeqCst);
    }

    /// True when a role was created in this run (its first uses may need to wait for IAM).
    pub fn roles_created(&self) -> bool {
        self.roles_created.load(Ordering::SeqCst)
    }

    pub(crate) fn finish(
        &self,
        group_id: Option<String>,
        deployment: Option<DeploymentOutcome>,
    ) -> DeployReport {
        let mut changes = self.changes.lock().map(|c| c.clone()).unwrap_or_default();
        changes.sort_by_key(|c| (kind_rank(c.kind), c.name.clone()));
        let warnings = self.warnings.lock().map(|w| w.clone()).unwrap_or_default();
        let changed = changes.iter().any(|c| c.action != Action::Unchanged)
            || deployment.as_ref().is_some_and(|d| d.created);
        let (cert, key) = self.state(|s| {
            (
                s.certificate.as_ref().map(|c| c.arn.clone()),
                s.certificate
                    .as_ref()
                    .filter(|c| {
                        matches!(
                            c.origin,
                            state::CertOrigin::Created | state::CertOrigin::Adopted
                        )
                    })
                    .map(|_| self.store.key_path().display().to_string()),
            )
        });
        DeployReport {
            group: self.group.clone(),
            group_id,
            dry_run: !self.apply,
            changed,
            changes,
            deployment,
            certificate_arn: cert,
            private_key: key,
            state_file: self.store.state_path().display().to_string(),
            warnings,
            preflight: self.preflight.lock().ok().and_then(|p| p.clone()),
            api_calls: self.c().recorder().stats(),
        }
    }

    /// Keeps the preflight's answers for the report.
    pub(crate) fn set_preflight(&self, p: authz::Preflight) {
        if let Ok(mut slot) = self.preflight.lock() {
            *slot = Some(p);
        }
    }

    /// True when this run creates, updates or deletes (or would) something of one of `kinds`.
    pub(crate) fn changes_any(&self, kinds: &[&str]) -> bool {
        self.changes.lock().is_ok_and(|c| {
            c.iter()
                .any(|c| c.action != Action::Unchanged && kinds.contains(&c.kind))
        })
    }
}

fn kind_rank(kind: &str) -> usize {
    const ORDER: &[&str] = &[
        "greengrass-group",
        "iot-thing-group",
        "iam-role",
        "greengrass-service-role",
        "iot-thing",
        "iot-certificate",
        "iot-policy",
        "iot-attachment",
        "iot-role-alias",
        "greengrass-group-role",
        "lambda-function",
        "greengrass-core-definition",
        "greengrass-function-definition",
        "greengrass-subscription-definition",
        "greengrass-resource-definition",
        "greengrass-logger-definition",
        "greengrass-connector-definition",
        "greengrass-group-version",
        "iot-thing-group-membership",
        "greengrass-component",
        "greengrassv2-deployment",
    ];
    ORDER.iter().position(|k| *k == kind).unwrap_or(ORDER.len())
}

/// Polls with exponential backoff until a deadline: `next().await` waits the next interval and
/// returns false once the deadline has passed.
pub(crate) struct Backoff {
    delay: Duration,
    max: Duration,
    deadline: Instant,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration, total: Duration) -> Backoff {
        Backoff {
            delay: first,
            max,
            deadline: Instant::now() + total,
        }
    }

    pub async fn next(&mut self) -> bool {
        let now = Instant::now();
        if now >= self.deadline {
            return false;
        }
        let wait = self.delay.min(self.deadline - now);
        tokio::time::sleep(wait).await;
        self.delay = (self.delay * 2).min(self.max);
        true
    }
}

/// sha256 of the canonical JSON of `v` (object keys sorted), hex, 32 characters.
pub(crate) fn content_hash(v: &serde_json::Value) -> String {
    let mut s = String::new();
    canonical(v, &mut s);
    hex(&Sha256::digest(s.as_bytes()))[..32].to_string()
}

fn canonical(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String((*k).clone()).to_string());
                out.push(':');
                canonical(&m[*k], out);
            }
            out.push('}');
        }
        serde_json::Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Entries of `conf.functions` that reach a deploy unresolved (the caller did not run
/// [`resolve_functions`]) are refused rather than silently left out.
pub(crate) fn unresolved_refused(refs: &[FunctionRef]) -> Result<(), ProvisionError> {
    if refs.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = refs.iter().map(FunctionRef::display).collect();
    Err(ProvisionError::Input(format!(
        "functions that are not local folders were not resolved (resolve_functions): {}",
        names.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_hash_ignores_key_order() {
        let a = json!({"b": 1, "a": [1, {"y": 2, "x": 3}]});
        let b = json!({"a": [1, {"x": 3, "y": 2}], "b": 1});
        assert_eq!(content_hash(&a), content_hash(&b));
        assert_ne!(content_hash(&a), content_hash(&json!({"a": [1], "b": 1})));
    }

    #[tokio::test]
    async fn backoff_stops_at_the_deadline() {
        let mut b = Backoff::new(
            Duration::from_millis(1),
            Duration::from_millis(4),
            Duration::from_millis(30),
        );
        let start = Instant::now();
        let mut n = 0;
        while b.next().await {
            n += 1;
            assert!(n < 100);
        }
        assert!(start.elapsed() >= Duration::from_millis(30));
        // How many sleeps fit depends on how late the scheduler wakes us (a loaded CI machine
        // overshoots each 1-4 ms sleep); what matters is that it retried and then stopped.
        assert!(n >= 1, "{n}");
    }
}
