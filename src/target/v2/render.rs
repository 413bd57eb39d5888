//! The human-readable form of a Greengrass V2 plan.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::plan::Plan;
use super::recipe::{ComponentKind, ComponentPlan};
use crate::model::CertificateSource;
use crate::target::{render_role, render_tail};

fn strings(v: &Value, sep: &str) -> String {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o.as_str())
        .collect::<Vec<_>>()
        .join(sep)
}

impl Plan {
    /// The human-readable form.
    pub fn render_text(&self) -> String {
        let mut o = String::new();
        let w = &mut o;
        let _ = writeln!(
            w,
            "Plan for group {} (deployment {}, Greengrass V2, account {}, region {})",
            self.group, self.deployment, self.account, self.region
        );
        self.render_iam_iot(w);
        let _ = writeln!(w, "\nLambda");
        if self.lambda.is_empty() {
            let _ = writeln!(w, "  (no functions)");
        }
        for l in &self.lambda {
            let _ = writeln!(
                w,
                "  {} ({}, {}, handler {}) published version, alias {}",
                l.function_name, l.source, l.runtime, l.handler, l.alias
            );
        }
        for e in &self.external_functions {
            let _ = writeln!(w, "  external: {} (resolved at deploy time)", e.display());
        }
        let _ = writeln!(w, "\nComponents (created only when the version is absent)");
        if self.components.is_empty() {
            let _ = writeln!(w, "  (none)");
        }
        for c in &self.components {
            render_component(w, c);
        }
        self.render_deployment(w);
        render_tail(w, &self.artifacts, &self.warnings);
        o
    }

    fn render_iam_iot(&self, w: &mut String) {
        let _ = writeln!(w, "\nIAM");
        for (label, r) in [
            ("token exchange role", Some(&self.iam.token_exchange_role)),
            ("lambda role", self.iam.lambda_role.as_ref()),
        ] {
            let Some(r) = r else {
                let _ = writeln!(w, "  {label}: not needed");
                continue;
            };
            render_role(w, label, r);
        }
        let i = &self.iot;
        let _ = writeln!(w, "\nIoT");
        let _ = writeln!(
            w,
            "  thing group {} (the deployment target)",
            i.thing_group_name
        );
        let _ = writeln!(w, "  thing {} in {}", i.core.thing_name, i.thing_group_name);
        let cert = match &i.core.certificate {
            CertificateSource::ExistingArn { arn } => format!("existing {arn}"),
            CertificateSource::Csr { file } => format!("from CSR {file}"),
            CertificateSource::StoredOrNew => "stored keys for this group, or new keys".into(),
            CertificateSource::ForceNew => "new keys".into(),
        };
        let _ = writeln!(w, "  certificate: {cert}");
        let how = if i.core.policy_managed {
            "(create or new version)"
        } else {
            "(existing, used as is)"
        };
        let _ = writeln!(w, "  policy {} {how}", i.core.policy_name);
        let _ = writeln!(
            w,
            "  role alias {} -> {}",
            i.core.role_alias, i.core.role_alias_role_arn
        );
    }

    fn render_deployment(&self, w: &mut String) {
        let dr = &self.deployment_request;
        let _ = writeln!(
            w,
            "\nDeployment {} on {}",
            dr["deploymentName"].as_str().unwrap_or(""),
            dr["targetArn"].as_str().unwrap_or("")
        );
        for (name, c) in dr["components"].as_object().into_iter().flatten() {
            let _ = writeln!(
                w,
                "  {name} {}{}",
                c["componentVersion"].as_str().unwrap_or(""),
                if c.get("configurationUpdate").is_some() {
                    " (configuration merged)"
                } else {
                    ""
                }
            );
        }
        let _ = writeln!(
            w,
            "  then: created only if the component set changed, awaited to COMPLETED or FAILED"
        );
        if let Some(l) = &self.nucleus_logging {
            let _ = writeln!(
                w,
                "\nNucleus logging (config.yaml): level {} totalLogsSizeKB {}",
                l["level"].as_str().unwrap_or(""),
                l["totalLogsSizeKB"]
            );
        }
    }
}

fn render_component(w: &mut String, c: &ComponentPlan) {
    let _ = writeln!(
        w,
        "  {} {} ({})",
        c.component_name,
        c.component_version,
        match c.kind {
            ComponentKind::Lambda => "Lambda function component",
            ComponentKind::Recipe => "native component from its recipe",
            ComponentKind::Native => "native component ggp writes for the executable",
        }
    );
    if c.kind == ComponentKind::Native {
        render_native(w, c);
    }
    let p = &c.request["lambdaFunction"]["componentLambdaParameters"];
    if p.is_object() {
        render_lambda(w, p);
    }
}

fn render_native(w: &mut String, c: &ComponentPlan) {
    let m = &c.request["recipe"]["Manifests"][0];
    let run = &m["Lifecycle"]["Run"];
    let _ = writeln!(
        w,
        "    artifact {} (Unarchive ZIP) uploaded to S3; run {}{}",
        c.request["package"].as_str().unwrap_or(""),
        run["Script"].as_str().or(run.as_str()).unwrap_or(""),
        if run["RequiresPrivilege"] == json!(true) {
            " as root"
        } else {
            ""
        }
    );
    let acl =
        &c.request["recipe"]["ComponentConfiguration"]["DefaultConfiguration"]["accessControl"];
    for (service, policies) in acl.as_object().into_iter().flatten() {
        for p in policies.as_object().into_iter().flatten().map(|(_, p)| p) {
            let _ = writeln!(
                w,
                "    {service} {} {}",
                strings(&p["operations"], ","),
                strings(&p["resources"], " ")
            );
        }
    }
}

fn render_lambda(w: &mut String, p: &Value) {
    let _ = writeln!(
        w,
        "    pinned={} timeout={}s isolation={} env={}",
        p["pinned"],
        p["timeoutInSeconds"],
        p["linuxProcessParams"]["isolationMode"]
            .as_str()
            .unwrap_or(""),
        p["environmentVariables"].as_object().map_or(0, |m| m.len())
    );
    for e in p["eventSources"].as_array().into_iter().flatten() {
        let _ = writeln!(
            w,
            "    event source {} {}",
            e["type"].as_str().unwrap_or(""),
            e["topic"].as_str().unwrap_or("")
        );
    }
    let cp = &p["linuxProcessParams"]["containerParams"];
    for v in cp["volumes"].as_array().into_iter().flatten() {
        let _ = writeln!(
            w,
            "    volume {} -> {} {}",
            v["sourcePath"].as_str().unwrap_or(""),
            v["destinationPath"].as_str().unwrap_or(""),
            v["permission"].as_str().unwrap_or("")
        );
    }
    for v in cp["devices"].as_array().into_iter().flatten() {
        let _ = writeln!(
            w,
            "    device {} {}",
            v["path"].as_str().unwrap_or(""),
            v["permission"].as_str().unwrap_or("")
        );
    }
}
