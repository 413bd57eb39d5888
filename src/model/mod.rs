//! Stage 2 of the pipeline: the desired state of a group, built once from the project and the
//! same for both targets.
//!
//! [`build`] turns a loaded [`Project`] into a [`Desired`]: the IAM roles with their merged
//! policies ([`roles`]), the core's identity (thing, certificate source, IoT policy choice, role
//! alias), the functions with their Lambda functions and environments ([`functions`]), the topic
//! routes between functions, the cloud and the shadow service as typed values ([`routes`]), the
//! local resources and who may use them ([`resources`]), the loggers and connectors, and the
//! artifacts a build would produce per architecture. Each target derives its own plan from it
//! (`target::v1::plan`, `target::v2::plan`); neither reads the other's output.
//!
//! Values not known before the cloud is reached are [`Known::Unknown`] (account, region) or, in
//! values rendered from them (ARNs), their placeholder text. Nothing here touches the network or
//! Docker.

pub mod arn;
pub mod functions;
pub mod known;
pub mod resources;
pub mod roles;
pub mod routes;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde::Serialize;

use crate::arch::Arch;
use crate::config::{ConnectorConf, FunctionRef, Injected, LoggerConf, Project, Warning};
pub use functions::{Function, LambdaFunction, NativeRecipe};
pub use known::Known;
pub use resources::{Access, Resource, ResourceKind};
pub use roles::{merge_policies, Role, Roles};
pub use routes::{Endpoint, Route};

/// Where the core certificate will come from (first match wins, as in GGP).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "kebab-case")]
pub enum CertificateSource {
    /// `--certificate-arn`: used as given; no private key in any output.
    ExistingArn { arn: String },
    /// `--csr FILE`: CreateCertificateFromCsr; the key stays on the device.
    Csr { file: String },
    /// Keys stored for this group are reused; a new group gets new keys.
    StoredOrNew,
    /// `--force-create-new-keys`: new keys; the old certificate is detached and deactivated.
    ForceNew,
}

/// Inputs of the desired state besides the project (the command line's choices).
#[derive(Debug, Clone)]
pub struct Options {
    /// The architectures whose artifacts to list.
    pub archs: Vec<Arch>,
    pub certificate: CertificateSource,
    /// `--core-role-name`: an existing role used as is.
    pub core_role_name: Option<String>,
    /// `--core-policy-name`: an existing IoT policy used as is.
    pub core_policy_name: Option<String>,
    /// `--service-role-exists`.
    pub service_role_exists: bool,
    /// Where build outputs go, relative to the project (GGP: `build/`).
    pub build_dir: PathBuf,
    /// The secrets the functions name, as configured → their full ARNs (with Secrets Manager's
    /// random suffix), as the account answered DescribeSecret; empty offline.
    pub secret_arns: BTreeMap<String, String>,
}

impl Options {
    /// The defaults of `ggp plan` with no flags.
    pub fn new(archs: Vec<Arch>) -> Options {
        Options {
            archs,
            certificate: CertificateSource::StoredOrNew,
            core_role_name: None,
            core_policy_name: None,
            service_role_exists: false,
            build_dir: PathBuf::from("build"),
            secret_arns: BTreeMap::new(),
        }
    }
}

/// Which IoT policy the core gets.
#[derive(Debug, Clone, PartialEq)]
pub enum CorePolicy {
    /// `--core-policy-name`: an existing policy, used as is.
    Existing(String),
    /// `conf.core.iotPolicy`: the configured document.
    Configured(serde_json::Value),
    /// `conf.core.broadIotPolicy = true`: the target's broad form.
    Broad,
    /// The target's least-privilege policy for what the core runs.
    Derived,
}

/// The core device's identity in AWS IoT.
#[derive(Debug, Clone, PartialEq)]
pub struct Core {
    pub thing_name: String,
    pub thing_arn: String,
    pub certificate: CertificateSource,
    pub policy: CorePolicy,
    /// The IoT policy's name: `<thing>_Policy`, or the existing one's.
    pub policy_name: String,
    pub role_alias: String,
    /// The role behind the role alias (the core role).
    pub role_alias_role_arn: String,
    /// Every thing named in the functions' `connectedShadows`, the core's own included.
    pub shadow_things: Vec<String>,
    /// The core's own shadow syncs with the cloud (`conf.syncShadow`).
    pub sync_shadow: bool,
}

/// A package a build would produce.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    pub function: String,
    pub arch: Arch,
    pub platform: &'static str,
    pub builder: String,
    pub image_repository: String,
    pub package: String,
}

/// The desired state of a group.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub group: String,
    /// The deployment's name (its file name without `.conf`).
    pub deployment: String,
    pub account: Known<String>,
    pub region: Known<String>,
    /// The configuration files read.
    pub files: Vec<String>,
    pub roles: Roles,
    pub core: Core,
    pub functions: Vec<Function>,
    /// Every function's `LOCAL_LAMBDA_<NAME>` → alias ARN, in every function's environment (GGP).
    pub local_lambdas: Vec<(String, String)>,
    /// `conf.functions` entries not resolved yet (git URLs, alias ARNs, `~wildcards~`): a deploy
    /// resolves them first; an offline plan lists them.
    pub external_functions: Vec<FunctionRef>,
    pub routes: Vec<Route>,
    pub resources: Vec<Resource>,
    pub loggers: Vec<LoggerConf>,
    pub connectors: Vec<ConnectorConf>,
    pub artifacts: Vec<Artifact>,
    /// What loading the configuration found (unknown keys, risky settings).
    pub config_warnings: Vec<Warning>,
    /// See [`Options::secret_arns`].
    pub secret_arns: BTreeMap<String, String>,
}

impl Desired {
    /// The account as rendered in ARNs (its placeholder while unknown).
    pub fn account(&self) -> String {
        self.account.render()
    }

    pub fn region(&self) -> String {
        self.region.render()
    }

    /// The ARN of a secret a function names: the account's full ARN when it was resolved
    /// ([`Options::secret_arns`]), else built from the name ([`resources::secret_arn`]).
    pub fn secret_arn(&self, secret: &str) -> String {
        self.secret_arns
            .get(secret)
            .cloned()
            .unwrap_or_else(|| resources::secret_arn(&self.region(), &self.account(), secret))
    }

    /// Function name → alias ARN, to address route endpoints ([`routes::address`]).
    pub fn alias_arns(&self) -> HashMap<&str, &str> {
        self.functions
            .iter()
            .map(|f| (f.name(), f.alias_arn.as_str()))
            .collect()
    }

    /// Every function's `LOCAL_LAMBDA_<NAME>` as JSON, built once: cloned into each function's
    /// environment ([`Function::environment_with`]); with N functions that is N² entries in all.
    pub fn local_lambda_map(&self) -> serde_json::Map<String, serde_json::Value> {
        self.local_lambdas
            .iter()
            .map(|(k, arn)| (k.clone(), serde_json::Value::String(arn.clone())))
            .collect()
    }

    pub fn function(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.name() == name)
    }

    /// The Lambda functions ggp creates (not those used as is).
    pub fn lambdas(&self) -> impl Iterator<Item = &LambdaFunction> {
        self.functions.iter().filter_map(|f| f.lambda.as_ref())
    }

    /// Existing Lambda functions used as is: function name → the version its alias points to.
    pub fn existing_versions(&self) -> BTreeMap<String, String> {
        self.functions
            .iter()
            .filter_map(|f| {
                let e = f.conf.existing.as_ref()?;
                Some((f.name().to_string(), e.version.clone()))
            })
            .collect()
    }

    /// True when some function runs as root (uid or gid 0).
    pub fn runs_as_root(&self) -> bool {
        self.functions.iter().any(|f| f.conf.runs_as_root())
    }

    /// The note an offline plan gives about functions it could not resolve.
    pub fn external_note(&self) -> Option<String> {
        (!self.external_functions.is_empty()).then(|| format!("{} function(s) are not local folders (git URLs, existing aliases or ~wildcards~); they are resolved at deploy time", self.external_functions.len()))
    }
}

/// The desired state of `project`'s group, with the values `injected` knows.
pub fn build(project: &Project, injected: &Injected, opts: &Options) -> Desired {
    let d = &project.deployment;
    let account = Known::from_option(injected.account_id.clone(), "ACCOUNT_ID");
    let region = Known::from_option(injected.region.clone(), "REGION");
    let (account_s, region_s) = (account.render(), region.render());
    let group = injected.group_name.clone();
    let thing = injected.thing_name();

    let roles = roles::build(
        project,
        &region_s,
        &account_s,
        opts.core_role_name.as_deref(),
        opts.service_role_exists,
    );
    let policy = match (&opts.core_policy_name, &d.core_role.iot_policy) {
        (Some(n), _) => CorePolicy::Existing(n.clone()),
        (None, Some(doc)) => CorePolicy::Configured(doc.clone()),
        (None, None) if d.broad_iot_policy => CorePolicy::Broad,
        (None, None) => CorePolicy::Derived,
    };
    let core = Core {
        thing_arn: injected.thing_arn(),
        certificate: opts.certificate.clone(),
        policy_name: match &policy {
            CorePolicy::Existing(n) => n.clone(),
            _ => format!("{thing}_Policy"),
        },
        policy,
        role_alias: d.core_role.alias.clone().unwrap_or_default(),
        role_alias_role_arn: roles.core.arn.clone(),
        shadow_things: roles::dedup(
            project
                .functions
                .iter()
                .flat_map(|f| f.connected_shadows.clone()),
        ),
        sync_shadow: d.sync_shadow,
        thing_name: thing,
    };
    let (resources, access) = resources::build(project, &region_s, &account_s);
    let lambda_role_arn = roles::role_arn(&region_s, &account_s, &d.lambda_role.name);
    let (functions, local_lambdas) = functions::build(
        project,
        &group,
        &region_s,
        &account_s,
        &lambda_role_arn,
        access,
    );
    let routes = routes::build(&functions);
    let artifacts = artifacts(project, opts);
    Desired {
        group,
        deployment: d.name.clone(),
        account,
        region,
        files: project.files.clone(),
        roles,
        core,
        local_lambdas,
        external_functions: unresolved(project),
        routes,
        resources,
        loggers: d.effective_loggers(),
        connectors: project.connectors.clone(),
        artifacts,
        config_warnings: project.warnings.clone(),
        functions,
        secret_arns: opts.secret_arns.clone(),
    }
}

/// The packages a build of the project's functions makes, per architecture (none for existing
/// functions used as is).
fn artifacts(project: &Project, opts: &Options) -> Vec<Artifact> {
    let mut artifacts = Vec::new();
    for f in project.functions.iter().filter(|f| f.existing.is_none()) {
        for &arch in &opts.archs {
            artifacts.push(Artifact {
                function: f.function_name.clone(),
                arch,
                platform: arch.docker_platform(),
                builder: f
                    .build_image
                    .clone()
                    .unwrap_or_else(|| crate::build::default_builder_image(arch)),
                image_repository: format!("ggp/{}", f.function_name.to_ascii_lowercase()),
                package: opts
                    .build_dir
                    .join("functions")
                    .join(arch.name())
                    .join(format!("{}.zip", f.function_name))
                    .display()
                    .to_string(),
            });
        }
    }
    artifacts
}

/// The `conf.functions` entries that are not local folders and were not resolved into functions
/// (offline: all of them; after `provision::resolve_functions`: none).
pub fn unresolved(project: &Project) -> Vec<FunctionRef> {
    project
        .deployment
        .functions
        .iter()
        .filter(|r| !matches!(r, FunctionRef::Local { .. }))
        .filter(|r| {
            !project
                .functions
                .iter()
                .any(|f| f.resolved_from.as_ref() == Some(*r))
        })
        .cloned()
        .collect()
}

/// The core's IoT resources as a target plans them (the policy document is the target's): what
/// the shared IoT step converges.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CoreIot {
    pub thing_name: String,
    pub thing_arn: String,
    pub certificate: CertificateSource,
    pub policy_name: String,
    /// False when an existing policy is used as is (`--core-policy-name`).
    pub policy_managed: bool,
    pub policy_document: Option<serde_json::Value>,
    pub role_alias: String,
    pub role_alias_role_arn: String,
    /// Things created for `connectedShadows` (the core's own thing is never created twice).
    pub shadow_things: Vec<String>,
}

impl Core {
    /// The IoT plan of the core with `document` as its policy (`None` for an existing one) and
    /// `shadow_things` to create.
    pub fn iot(&self, document: Option<serde_json::Value>, shadow_things: Vec<String>) -> CoreIot {
        CoreIot {
            thing_name: self.thing_name.clone(),
            thing_arn: self.thing_arn.clone(),
            certificate: self.certificate.clone(),
            policy_name: self.policy_name.clone(),
            policy_managed: !matches!(self.policy, CorePolicy::Existing(_)),
            policy_document: document,
            role_alias: self.role_alias.clone(),
            role_alias_role_arn: self.role_alias_role_arn.clone(),
            shadow_things,
        }
    }
}
