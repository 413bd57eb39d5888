//! The Greengrass V1 plan: what a V1 deploy creates or converges, derived from the desired state.
//!
//! Roles (core, Lambda, service), the core's IoT identity with its V1 policy, the Lambda
//! functions, and the content of every group definition (function definition in
//! [`super::function_definition`], the others in [`super::definitions`]). Provisioning converges
//! the account to this same plan, so `plan` and `deploy` cannot disagree.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use super::definitions;
use super::function_definition::function_definition;
use crate::config::{has_placeholder, FunctionRef, Target};
use crate::language::Language;
use crate::model::{Artifact, CertificateSource, CoreIot, Desired, Known, LambdaFunction, Role};
use crate::target::{render_role, render_tail, PlanError};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IamPlan {
    pub core_role: Role,
    /// Absent when the deployment has no functions (GGP created it only then).
    pub lambda_role: Option<Role>,
    /// Absent with `--service-role-exists`.
    pub service_role: Option<Role>,
}

/// The content of each Greengrass definition version, as the API takes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupPlan {
    pub group_name: String,
    pub core_definition: Value,
    pub function_definition: Value,
    pub subscription_definition: Value,
    pub resource_definition: Value,
    pub logger_definition: Value,
    pub connector_definition: Option<Value>,
    /// `allowFunctionsToRunAsRoot` in the core's config.json.
    pub allow_functions_to_run_as_root: bool,
    /// The core certificate's ARN in the core definition: unknown until the certificate exists
    /// (the definition shows its placeholder).
    #[serde(skip)]
    pub certificate_arn: Known<String>,
}

impl GroupPlan {
    /// The core definition with the core certificate's ARN, now known.
    pub fn core_definition_with(&self, certificate_arn: &str) -> Value {
        let mut core = self.core_definition.clone();
        if !self.certificate_arn.is_known() {
            if let Some(c) = core["Cores"].get_mut(0) {
                c["CertificateArn"] = Value::String(certificate_arn.to_string());
            }
        }
        core
    }
}

/// Everything a V1 run would do.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub group: String,
    pub deployment: String,
    pub target: Target,
    pub account: String,
    pub region: String,
    pub files: Vec<String>,
    /// `conf.functions` entries not resolved yet (git URLs, alias ARNs, `~wildcards~`): a deploy
    /// resolves them first; an offline plan lists them.
    pub external_functions: Vec<FunctionRef>,
    /// Existing Lambda functions used as is (resolved alias ARNs and wildcards): function name →
    /// the version its alias points to. Not created, changed or deleted by ggp.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub existing_versions: BTreeMap<String, String>,
    pub iam: IamPlan,
    pub iot: CoreIot,
    pub lambda: Vec<LambdaFunction>,
    pub greengrass: GroupPlan,
    pub artifacts: Vec<Artifact>,
    pub warnings: Vec<String>,
}

/// A Greengrass V1 core (1.11) runs Python up to 3.8.
fn check_runtimes(desired: &Desired) -> Result<(), PlanError> {
    for f in &desired.functions {
        if let Language::Python(3, m) = f.conf.language {
            if m > 8 {
                return Err(PlanError::Unsupported(format!(
                    "function {}: {} cannot run on a Greengrass V1 core (1.11 runs python2.7, python3.7 and python3.8); use --target v2",
                    f.name(), f.conf.language
                )));
            }
        }
    }
    Ok(())
}

/// The V1 plan of `desired`. Fails only for things no V1 deploy could do.
pub fn derive(desired: &Desired) -> Result<Plan, PlanError> {
    check_runtimes(desired)?;
    let greengrass = GroupPlan {
        group_name: desired.group.clone(),
        core_definition: definitions::core_definition(desired),
        function_definition: function_definition(desired),
        subscription_definition: definitions::subscription_definition(desired),
        resource_definition: definitions::resource_definition(desired),
        logger_definition: definitions::logger_definition(desired),
        connector_definition: definitions::connector_definition(desired),
        allow_functions_to_run_as_root: desired.runs_as_root(),
        certificate_arn: definitions::certificate_arn(desired),
    };
    let mut warnings: Vec<String> = desired
        .config_warnings
        .iter()
        .map(ToString::to_string)
        .collect();
    if greengrass.allow_functions_to_run_as_root {
        warnings.push(
            "a function runs as root: config.json will set allowFunctionsToRunAsRoot = yes".into(),
        );
    }
    warnings.extend(desired.external_note());
    let r = &desired.roles;
    Ok(Plan {
        group: desired.group.clone(),
        deployment: desired.deployment.clone(),
        target: Target::V1,
        account: desired.account(),
        region: desired.region(),
        files: desired.files.clone(),
        external_functions: desired.external_functions.clone(),
        existing_versions: desired.existing_versions(),
        iam: IamPlan {
            core_role: r.core.clone(),
            lambda_role: r.lambda.clone(),
            service_role: r.service.clone(),
        },
        iot: desired.core.iot(
            super::policy::document(desired),
            desired.core.shadow_things.clone(),
        ),
        lambda: desired.lambdas().cloned().collect(),
        greengrass,
        artifacts: desired.artifacts.clone(),
        warnings,
    })
}

impl Plan {
    /// True when some value is still a placeholder (fine for `plan`, fatal for `deploy`).
    pub fn has_placeholders(&self) -> bool {
        serde_json::to_string(self)
            .map(|s| has_placeholder(&s))
            .unwrap_or(false)
    }

    /// The human-readable form.
    pub fn render_text(&self) -> String {
        let mut o = String::new();
        let w = &mut o;
        let _ = writeln!(
            w,
            "Plan for group {} (deployment {}, Greengrass {:?}, account {}, region {})",
            self.group, self.deployment, self.target, self.account, self.region
        );
        self.render_iam(w);
        self.render_iot(w);
        self.render_lambda(w);
        self.render_group(w);
        render_tail(w, &self.artifacts, &self.warnings);
        o
    }

    fn render_iam(&self, w: &mut String) {
        let _ = writeln!(w, "\nIAM");
        for (label, r) in [
            ("core role", Some(&self.iam.core_role)),
            ("lambda role", self.iam.lambda_role.as_ref()),
            ("service role", self.iam.service_role.as_ref()),
        ] {
            match r {
                None => {
                    let _ = writeln!(w, "  {label}: not managed");
                }
                Some(r) => render_role(w, label, r),
            }
        }
        if self.iam.service_role.is_some() {
            let _ = writeln!(
                w,
                "    associate to the account's Greengrass service (only if not already this role)"
            );
        }
    }

    fn render_iot(&self, w: &mut String) {
        let _ = writeln!(w, "\nIoT");
        let _ = writeln!(
            w,
            "  thing {} ({})",
            self.iot.thing_name, self.iot.thing_arn
        );
        let cert = match &self.iot.certificate {
            CertificateSource::ExistingArn { arn } => format!("existing {arn}"),
            CertificateSource::Csr { file } => {
                format!("from CSR {file} (private key stays on the device)")
            }
            CertificateSource::StoredOrNew => "stored keys for this group, or new keys".into(),
            CertificateSource::ForceNew => {
                "new keys; the old certificate is detached and deactivated".into()
            }
        };
        let _ = writeln!(w, "  certificate: {cert}");
        let _ = writeln!(
            w,
            "  policy {} {}",
            self.iot.policy_name,
            if self.iot.policy_managed {
                "(create or new version)"
            } else {
                "(existing, used as is)"
            }
        );
        let _ = writeln!(
            w,
            "  role alias {} -> {}",
            self.iot.role_alias, self.iot.role_alias_role_arn
        );
        for t in &self.iot.shadow_things {
            let _ = writeln!(w, "  shadow thing {t}");
        }
    }

    fn render_lambda(&self, w: &mut String) {
        let _ = writeln!(w, "\nLambda");
        if self.lambda.is_empty() {
            let _ = writeln!(w, "  (no functions)");
        }
        for l in &self.lambda {
            let _ = writeln!(
                w,
                "  {} ({}, {}, handler {}) alias {}",
                l.function_name, l.source, l.runtime, l.handler, l.alias
            );
        }
        for (name, version) in &self.existing_versions {
            let _ = writeln!(w, "  {name} (existing, used as is) version {version}");
        }
        for e in &self.external_functions {
            let _ = writeln!(w, "  external: {} (resolved at deploy time)", e.display());
        }
    }

    fn render_group(&self, w: &mut String) {
        let g = &self.greengrass;
        let _ = writeln!(w, "\nGreengrass group {}", g.group_name);
        let count = |v: &Value, k: &str| v[k].as_array().map_or(0, Vec::len);
        let _ = writeln!(
            w,
            "  core definition: 1 core, syncShadow {}",
            g.core_definition["Cores"][0]["SyncShadow"]
        );
        let _ = writeln!(
            w,
            "  function definition: {} function(s), default isolation {}",
            count(&g.function_definition, "Functions"),
            g.function_definition["DefaultConfig"]["Execution"]["IsolationMode"]
                .as_str()
                .unwrap_or("")
        );
        for f in g.function_definition["Functions"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let c = &f["FunctionConfiguration"];
            let iso = c["Environment"]["Execution"]["IsolationMode"]
                .as_str()
                .unwrap_or("default");
            let vars = c["Environment"]["Variables"]
                .as_object()
                .map_or(0, |m| m.len());
            let _ = writeln!(
                w,
                "    {} pinned={} timeout={}s isolation={iso} env={vars}",
                f["Id"].as_str().unwrap_or(""),
                c["Pinned"],
                c["Timeout"]
            );
        }
        self.render_subscriptions(w);
        let _ = writeln!(
            w,
            "  resource definition: {} resource(s)",
            count(&g.resource_definition, "Resources")
        );
        for r in g.resource_definition["Resources"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let _ = writeln!(w, "    {}", r["Id"].as_str().unwrap_or(""));
        }
        let _ = writeln!(
            w,
            "  logger definition: {} logger(s)",
            count(&g.logger_definition, "Loggers")
        );
        match &g.connector_definition {
            Some(c) => {
                let _ = writeln!(
                    w,
                    "  connector definition: {} connector(s)",
                    count(c, "Connectors")
                );
            }
            None => {
                let _ = writeln!(w, "  connector definition: none");
            }
        }
        let _ = writeln!(w, "  then: a group version if anything changed, and a deployment awaited to Success or Failure");
    }

    fn render_subscriptions(&self, w: &mut String) {
        let subs = &self.greengrass.subscription_definition["Subscriptions"];
        let _ = writeln!(
            w,
            "  subscription definition: {} subscription(s)",
            subs.as_array().map_or(0, Vec::len)
        );
        for s in subs.as_array().into_iter().flatten() {
            let short = |v: &Value| {
                v.as_str()
                    .map(|s| {
                        s.rsplit(':')
                            .nth(1)
                            .filter(|_| s.starts_with("arn:aws") && s.contains(":lambda:"))
                            .map_or(s.to_string(), str::to_string)
                    })
                    .unwrap_or_default()
            };
            let _ = writeln!(
                w,
                "    {} -> {} on {}",
                short(&s["Source"]),
                short(&s["Target"]),
                s["Subject"].as_str().unwrap_or("")
            );
        }
    }
}
