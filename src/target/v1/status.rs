//! Greengrass V1 as `ggp status`, `ggp logs` and `ggp diagnose` see it: the group, its latest
//! deployment's status (with the error the core reported), the deployment history, the
//! definitions of the group version that was deployed, the group's certificate authority (GGP's
//! `--get-group-ca`), and where the core's loggers send logs.
//!
//! Read only: every call is a Get/List. Not for: deploying (that is [`super::greengrass`]).

use std::fmt::Write as _;

use aws_sdk_greengrass::types as gg;
use serde::Serialize;

use super::greengrass::find_group;
use crate::provision::error::{Doing, ProvisionError};
use crate::provision::Cloud;
use crate::target::{Evidence, LogSource, NoCloudLogs};

/// How many past deployments get their status read.
const HISTORY_SHOWN: usize = 5;

/// A V1 group as the account holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupStatus {
    pub group: String,
    pub group_id: String,
    pub group_arn: String,
    pub latest_version: Option<String>,
    /// Newest first (at most 5), each with its status.
    pub deployments: Vec<Deployment>,
    /// The definitions of the group version the latest deployment deployed (else the latest
    /// group version's).
    pub definitions: Option<Definitions>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub deployment_id: String,
    pub deployment_type: Option<String>,
    pub created_at: Option<String>,
    /// The group version it deployed.
    pub group_version_arn: Option<String>,
    /// `Building`, `InProgress`, `Success`, `Failure`.
    pub status: String,
    pub error_message: Option<String>,
    pub error_details: Vec<ErrorDetail>,
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    pub code: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Definitions {
    pub group_version: String,
    /// Core thing ARNs.
    pub cores: Vec<String>,
    pub functions: Vec<Function>,
    pub subscriptions: Vec<Subscription>,
    pub loggers: Vec<Logger>,
    /// Resource id → name.
    pub resources: Vec<(String, String)>,
    /// Connector ARNs.
    pub connectors: Vec<String>,
    /// Device thing ARNs.
    pub devices: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Function {
    pub function_arn: String,
    pub pinned: Option<bool>,
    pub memory_size_kb: Option<i32>,
    pub timeout_seconds: Option<i32>,
    pub isolation_mode: Option<String>,
    pub encoding_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subscription {
    pub source: String,
    pub target: String,
    pub subject: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Logger {
    /// `GreengrassSystem` or `Lambda`.
    pub component: String,
    /// `FileSystem` or `AWSCloudWatch`.
    pub r#type: String,
    pub level: String,
}

/// The id and version of a definition (or group) version ARN `…/<id>/versions/<version>`.
fn ids(arn: &str) -> Option<(String, String)> {
    let (head, version) = arn.rsplit_once("/versions/")?;
    let id = head.rsplit('/').next()?;
    Some((id.to_string(), version.to_string()))
}

/// `arn:aws:lambda:R:A:function:NAME[:QUALIFIER]` → NAME.
pub fn lambda_name(function_arn: &str) -> Option<&str> {
    function_arn.split(":function:").nth(1)?.split(':').next()
}

/// The V1 group `name`, read; `None` when there is no group of that name.
pub async fn status(cloud: &Cloud, name: &str) -> Result<Option<GroupStatus>, ProvisionError> {
    let Some(g) = find_group(cloud, name).await? else {
        return Ok(None);
    };
    let deployments = deployments(cloud, &g.id, name).await?;
    let version_arn = deployments
        .first()
        .and_then(|d| d.group_version_arn.clone())
        .or_else(|| g.latest_version_arn.clone());
    let definitions = match version_arn {
        Some(arn) => Some(definitions(cloud, &g.id, &arn).await?),
        None => None,
    };
    Ok(Some(GroupStatus {
        group: name.to_string(),
        group_id: g.id,
        group_arn: g.arn,
        latest_version: g.latest_version,
        deployments,
        definitions,
    }))
}

async fn deployments(
    cloud: &Cloud,
    group_id: &str,
    name: &str,
) -> Result<Vec<Deployment>, ProvisionError> {
    let c = &cloud.clients.greengrass;
    let mut all: Vec<gg::Deployment> = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let p = c
            .list_deployments()
            .group_id(group_id)
            .set_next_token(token.clone())
            .send()
            .await
            .doing(|| format!("listing the deployments of the group {name}"))?;
        all.extend(p.deployments().iter().cloned());
        match p.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    // ISO 8601 timestamps sort as text.
    all.sort_by(|a, b| b.created_at().cmp(&a.created_at()));
    let mut out = Vec::new();
    for d in all.into_iter().take(HISTORY_SHOWN) {
        let id = d.deployment_id().unwrap_or_default().to_string();
        let s = c
            .get_deployment_status()
            .group_id(group_id)
            .deployment_id(&id)
            .send()
            .await
            .doing(|| format!("reading the status of deployment {id}"))?;
        out.push(Deployment {
            deployment_type: d.deployment_type().map(|t| t.as_str().to_string()),
            created_at: d.created_at().map(str::to_string),
            group_version_arn: d.group_arn().map(str::to_string),
            status: s.deployment_status().unwrap_or_default().to_string(),
            error_message: s.error_message().map(str::to_string),
            error_details: s
                .error_details()
                .iter()
                .map(|e| ErrorDetail {
                    code: e.detailed_error_code().map(str::to_string),
                    message: e.detailed_error_message().map(str::to_string),
                })
                .collect(),
            updated_at: s.updated_at().map(str::to_string),
            deployment_id: id,
        });
    }
    Ok(out)
}

/// The definitions of the group version `version_arn`.
async fn definitions(
    cloud: &Cloud,
    group_id: &str,
    version_arn: &str,
) -> Result<Definitions, ProvisionError> {
    let c = &cloud.clients.greengrass;
    let (_, vid) = ids(version_arn).ok_or_else(|| ProvisionError::Call {
        doing: "reading the deployed group version".into(),
        message: format!("{version_arn} is not a group version ARN"),
    })?;
    let v = c
        .get_group_version()
        .group_id(group_id)
        .group_version_id(&vid)
        .send()
        .await
        .doing(|| format!("reading the group version {vid}"))?;
    let v = v
        .definition()
        .cloned()
        .unwrap_or_else(|| gg::GroupVersion::builder().build());
    let mut d = Definitions {
        group_version: vid,
        ..Definitions::default()
    };
    let doing = |arn: &str| format!("reading the definition version {arn}");
    if let Some((id, ver)) = v.core_definition_version_arn().and_then(ids) {
        let out = c
            .get_core_definition_version()
            .core_definition_id(id)
            .core_definition_version_id(ver)
            .send()
            .await
            .doing(|| doing(v.core_definition_version_arn().unwrap_or_default()))?;
        d.cores = out
            .definition()
            .map(|x| {
                x.cores()
                    .iter()
                    .map(|c| c.thing_arn().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default();
    }
    if let Some((id, ver)) = v.function_definition_version_arn().and_then(ids) {
        let out = c
            .get_function_definition_version()
            .function_definition_id(id)
            .function_definition_version_id(ver)
            .send()
            .await
            .doing(|| doing(v.function_definition_version_arn().unwrap_or_default()))?;
        d.functions = out
            .definition()
            .map(|x| x.functions().iter().map(function).collect())
            .unwrap_or_default();
    }
    if let Some((id, ver)) = v.subscription_definition_version_arn().and_then(ids) {
        let out = c
            .get_subscription_definition_version()
            .subscription_definition_id(id)
            .subscription_definition_version_id(ver)
            .send()
            .await
            .doing(|| doing(v.subscription_definition_version_arn().unwrap_or_default()))?;
        d.subscriptions = out
            .definition()
            .map(|x| {
                x.subscriptions()
                    .iter()
                    .map(|s| Subscription {
                        source: s.source().unwrap_or_default().to_string(),
                        target: s.target().unwrap_or_default().to_string(),
                        subject: s.subject().unwrap_or_default().to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
    }
    if let Some((id, ver)) = v.logger_definition_version_arn().and_then(ids) {
        let out = c
            .get_logger_definition_version()
            .logger_definition_id(id)
            .logger_definition_version_id(ver)
            .send()
            .await
            .doing(|| doing(v.logger_definition_version_arn().unwrap_or_default()))?;
        d.loggers = out
            .definition()
            .map(|x| {
                x.loggers()
                    .iter()
                    .map(|l| Logger {
                        component: l
                            .component()
                            .map(|x| x.as_str().to_string())
                            .unwrap_or_default(),
                        r#type: l
                            .r#type()
                            .map(|x| x.as_str().to_string())
                            .unwrap_or_default(),
                        level: l
                            .level()
                            .map(|x| x.as_str().to_string())
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
    }
    other_definitions(cloud, &v, &mut d).await?;
    Ok(d)
}

/// The resource, connector and device definitions of a group version.
async fn other_definitions(
    cloud: &Cloud,
    v: &gg::GroupVersion,
    d: &mut Definitions,
) -> Result<(), ProvisionError> {
    let c = &cloud.clients.greengrass;
    let doing = |arn: Option<&str>| format!("reading the definition version {}", arn.unwrap_or(""));
    if let Some((id, ver)) = v.resource_definition_version_arn().and_then(ids) {
        let out = c
            .get_resource_definition_version()
            .resource_definition_id(id)
            .resource_definition_version_id(ver)
            .send()
            .await
            .doing(|| doing(v.resource_definition_version_arn()))?;
        d.resources = out
            .definition()
            .map(|x| {
                x.resources()
                    .iter()
                    .map(|r| {
                        (
                            r.id().unwrap_or_default().to_string(),
                            r.name().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
    }
    if let Some((id, ver)) = v.connector_definition_version_arn().and_then(ids) {
        let out = c
            .get_connector_definition_version()
            .connector_definition_id(id)
            .connector_definition_version_id(ver)
            .send()
            .await
            .doing(|| doing(v.connector_definition_version_arn()))?;
        d.connectors = out
            .definition()
            .map(|x| {
                x.connectors()
                    .iter()
                    .map(|c| c.connector_arn().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default();
    }
    if let Some((id, ver)) = v.device_definition_version_arn().and_then(ids) {
        let out = c
            .get_device_definition_version()
            .device_definition_id(id)
            .device_definition_version_id(ver)
            .send()
            .await
            .doing(|| doing(v.device_definition_version_arn()))?;
        d.devices = out
            .definition()
            .map(|x| {
                x.devices()
                    .iter()
                    .map(|d| d.thing_arn().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default();
    }
    Ok(())
}

fn function(f: &gg::Function) -> Function {
    let cfg = f.function_configuration();
    Function {
        function_arn: f.function_arn().unwrap_or_default().to_string(),
        pinned: cfg.and_then(|c| c.pinned()),
        memory_size_kb: cfg.and_then(|c| c.memory_size()),
        timeout_seconds: cfg.and_then(|c| c.timeout()),
        isolation_mode: cfg
            .and_then(|c| c.environment())
            .and_then(|e| e.execution())
            .and_then(|x| x.isolation_mode())
            .map(|m| m.as_str().to_string()),
        encoding_type: cfg
            .and_then(|c| c.encoding_type())
            .map(|e| e.as_str().to_string()),
    }
}

/// Every group certificate authority of the group, PEM, in the order the service lists them (a
/// core trusting the concatenation trusts each; GGP's `--get-group-ca` wrote the group's CA to
/// `build/<group>_Core_CA.pem`).
pub async fn group_ca(cloud: &Cloud, group_id: &str) -> Result<Vec<String>, ProvisionError> {
    let c = &cloud.clients.greengrass;
    let list = c
        .list_group_certificate_authorities()
        .group_id(group_id)
        .send()
        .await
        .doing(|| format!("listing the certificate authorities of the group {group_id}"))?;
    let mut out = Vec::new();
    for ca in list.group_certificate_authorities() {
        let Some(id) = ca.group_certificate_authority_id() else {
            continue;
        };
        let pem = c
            .get_group_certificate_authority()
            .group_id(group_id)
            .certificate_authority_id(id)
            .send()
            .await
            .doing(|| format!("reading the group certificate authority {id}"))?;
        out.extend(pem.pem_encoded_certificate().map(str::to_string));
    }
    Ok(out)
}

impl GroupStatus {
    pub fn latest(&self) -> Option<&Deployment> {
        self.deployments.first()
    }

    /// True when the latest deployment ended (or there is none).
    pub fn settled(&self) -> bool {
        self.latest()
            .is_none_or(|d| matches!(d.status.as_str(), "Success" | "Failure"))
    }

    /// Why the latest deployment failed, when it did.
    pub fn failures(&self) -> Vec<String> {
        let Some(d) = self.latest().filter(|d| d.status == "Failure") else {
            return Vec::new();
        };
        let mut s = format!("deployment {}: Failure", d.deployment_id);
        if let Some(m) = &d.error_message {
            let _ = write!(s, " ({m})");
        }
        vec![s]
    }

    /// The Lambda functions of the deployed function definition that belong to the account (not
    /// GGIPDetector and the like), by Lambda name.
    fn function_names(&self) -> Vec<String> {
        self.definitions
            .iter()
            .flat_map(|d| &d.functions)
            .filter(|f| !f.function_arn.contains(":lambda:::"))
            .filter_map(|f| lambda_name(&f.function_arn).map(str::to_string))
            .collect()
    }

    /// Where the core's logs are in CloudWatch Logs, as the deployed logger definition says
    /// (AWS IoT Greengrass V1 Developer Guide, "Monitoring with AWS IoT Greengrass logs": system
    /// components in `/aws/greengrass/GreengrassSystem/<component>`, functions in
    /// `/aws/greengrass/Lambda/<region>/<account>/<function>`, the core's streams
    /// `<date>/<account>/<group id>/<core name>`). `component` keeps one function (its name in
    /// function.conf or its Lambda name) or system component (`GGConnManager`, `runtime`…).
    pub fn log_sources(
        &self,
        region: &str,
        account: &str,
        component: Option<&str>,
    ) -> Result<Vec<LogSource>, NoCloudLogs> {
        let none = |why: String| {
            NoCloudLogs {
            group: self.group.clone(),
            why,
            setting: "a logger with loggerType = AWSCloudWatch in the deployment's conf.loggers (component GreengrassSystem and/or Lambda): ggp puts it in the group's logger definition".into(),
        }
        };
        let loggers: Vec<&Logger> = self
            .definitions
            .iter()
            .flat_map(|d| &d.loggers)
            .filter(|l| l.r#type == "AWSCloudWatch")
            .collect();
        if loggers.is_empty() {
            return Err(none(format!(
                "its deployed logger definition has no AWSCloudWatch logger, so its core sends no logs to CloudWatch Logs{}",
                if self.definitions.is_none() { " (the group has no version yet)" } else { "" }
            )));
        }
        let system = loggers.iter().any(|l| l.component == "GreengrassSystem");
        let lambda = loggers.iter().any(|l| l.component == "Lambda");
        let streams = vec![format!("/{}/", self.group_id)];
        let source = |label: &str, log_group: String| LogSource {
            label: label.to_string(),
            log_group,
            stream_contains: streams.clone(),
        };
        let functions = self.function_names();
        let function_group = |f: &str| format!("/aws/greengrass/Lambda/{region}/{account}/{f}");
        let mut out = Vec::new();
        match component {
            Some(c) => {
                let as_function = crate::model::functions::lambda_name(&self.group, c);
                if let Some(f) = functions.iter().find(|f| **f == c || **f == as_function) {
                    if !lambda {
                        return Err(none(format!("its loggers send no Lambda logs to CloudWatch Logs, and {c} is a function")));
                    }
                    out.push(source(f, function_group(f)));
                } else if system {
                    out.push(source(c, format!("/aws/greengrass/GreengrassSystem/{c}")));
                } else {
                    return Err(none(format!("{c} is not a function of the deployed group, and its loggers send no system logs to CloudWatch Logs")));
                }
            }
            None => {
                if system {
                    out.push(LogSource {
                        label: String::new(),
                        log_group: "/aws/greengrass/GreengrassSystem/".into(),
                        stream_contains: streams.clone(),
                    });
                }
                if lambda {
                    for f in &functions {
                        out.push(source(f, function_group(f)));
                    }
                }
            }
        }
        Ok(out)
    }

    /// What `ggp diagnose` reads: the latest deployment's error message and details, with the
    /// deployed function they name, if any.
    pub fn evidence(&self) -> Vec<Evidence> {
        let Some(d) = self.latest().filter(|d| d.status == "Failure") else {
            return Vec::new();
        };
        let mut texts: Vec<String> = d.error_message.iter().cloned().collect();
        texts.extend(d.error_details.iter().filter_map(|e| e.message.clone()));
        let all = texts.join("\n");
        let component = self
            .function_names()
            .into_iter()
            .filter(|f| all.contains(f.as_str()))
            .max_by_key(String::len);
        vec![Evidence {
            source: format!("deployment {}", d.deployment_id),
            device: self
                .definitions
                .as_ref()
                .and_then(|x| x.cores.first())
                .and_then(|t| t.rsplit('/').next())
                .map(str::to_string),
            component,
            status: d.status.clone(),
            codes: d
                .error_details
                .iter()
                .filter_map(|e| e.code.clone())
                .collect(),
            texts,
        }]
    }

    pub fn render_text(&self) -> String {
        let mut o = String::new();
        let w = &mut o;
        let _ = writeln!(
            w,
            "Greengrass V1 group {} ({}), latest version {}",
            self.group,
            self.group_id,
            self.latest_version.as_deref().unwrap_or("none")
        );
        let _ = writeln!(w, "deployments (newest first)");
        if self.deployments.is_empty() {
            let _ = writeln!(w, "  (none)");
        }
        for d in &self.deployments {
            let _ = writeln!(
                w,
                "  {} {} {} created {}{}",
                d.deployment_id,
                d.deployment_type.as_deref().unwrap_or("-"),
                d.status,
                d.created_at.as_deref().unwrap_or("?"),
                d.error_message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            );
            for e in &d.error_details {
                let _ = writeln!(
                    w,
                    "    {}{}",
                    e.code
                        .as_deref()
                        .map(|c| format!("{c}: "))
                        .unwrap_or_default(),
                    e.message.as_deref().unwrap_or("")
                );
            }
        }
        if let Some(d) = &self.definitions {
            render_definitions(w, d);
        }
        o
    }
}

fn render_definitions(w: &mut String, d: &Definitions) {
    let _ = writeln!(w, "deployed group version {}", d.group_version);
    for c in &d.cores {
        let _ = writeln!(w, "  core {c}");
    }
    for f in &d.functions {
        let _ = writeln!(
            w,
            "  function {} ({}, {} s, {} KB{})",
            f.function_arn,
            f.isolation_mode.as_deref().unwrap_or("group default"),
            f.timeout_seconds.map_or("-".into(), |t| t.to_string()),
            f.memory_size_kb.map_or("-".into(), |m| m.to_string()),
            if f.pinned == Some(true) {
                ", pinned"
            } else {
                ""
            }
        );
    }
    for s in &d.subscriptions {
        let _ = writeln!(
            w,
            "  subscription {} -> {} : {}",
            s.source, s.target, s.subject
        );
    }
    for l in &d.loggers {
        let _ = writeln!(w, "  logger {} {} {}", l.component, l.r#type, l.level);
    }
    for (id, name) in &d.resources {
        let _ = writeln!(w, "  resource {id} ({name})");
    }
    for c in &d.connectors {
        let _ = writeln!(w, "  connector {c}");
    }
    for x in &d.devices {
        let _ = writeln!(w, "  device {x}");
    }
}
