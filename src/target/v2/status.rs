//! Greengrass V2 as `ggp status`, `ggp logs` and `ggp diagnose` see it: the thing group, each core
//! device in it (status, last report, its effective deployment with reason, error stack and
//! error types, its installed components with their lifecycle states), the last deployments ggp
//! made for the thing group, and where LogManager sends the devices' logs.
//!
//! Read only: every call is a Describe/Get/List. The per-device outcome is read from the device's
//! effective deployments (what AWS gives per device), never inferred from the thing-group
//! deployment, which stays ACTIVE on AWS while devices come and go.
//!
//! Not for: deploying or waiting in a deploy (that is [`super::greengrass`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use aws_sdk_greengrassv2::types::{
    DeploymentHistoryFilter, EffectiveDeployment, InstalledComponent,
};
use serde::Serialize;
use serde_json::Value;

use super::greengrass::find_thing_group;
use crate::provision::error::{is_not_found, Doing, ProvisionError};
use crate::provision::{Cloud, TAG_MANAGED_BY};
use crate::target::{Evidence, LogSource, NoCloudLogs};

/// How many of the thing group's deployments are read (newest first).
const DEPLOYMENTS_SHOWN: usize = 5;

/// A V2 group as the account holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupStatus {
    pub group: String,
    pub thing_group: ThingGroup,
    /// The core devices in the thing group, and ggp's core thing `<group>_Core` even before it
    /// connected (`registered: false`).
    pub core_devices: Vec<CoreDevice>,
    /// The thing group's deployments that ggp made, newest first (at most 5).
    pub deployments: Vec<Deployment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThingGroup {
    pub name: String,
    pub arn: String,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CoreDevice {
    pub thing_name: String,
    /// False: no Greengrass core device of this name has connected yet.
    pub registered: bool,
    /// `HEALTHY` or `UNHEALTHY`.
    pub status: Option<String>,
    /// When the device last reported its status (RFC 3339).
    pub last_status_update: Option<String>,
    pub platform: Option<String>,
    pub architecture: Option<String>,
    pub core_version: Option<String>,
    /// The device's execution of the thing group's latest deployment (else its newest one).
    pub effective_deployment: Option<Effective>,
    pub installed_components: Vec<Installed>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Effective {
    pub deployment_id: String,
    pub deployment_name: String,
    pub target_arn: String,
    /// `QUEUED`, `IN_PROGRESS`, `SUCCEEDED`, `COMPLETED`, `FAILED`, `REJECTED`, `TIMED_OUT`,
    /// `CANCELED`.
    pub execution_status: String,
    pub reason: Option<String>,
    /// From the most generic error code to the most specific one (nucleus 2.8.0 or later).
    pub error_stack: Vec<String>,
    pub error_types: Vec<String>,
    pub modified: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Installed {
    pub component_name: String,
    pub component_version: String,
    /// `NEW`, `INSTALLED`, `STARTING`, `RUNNING`, `STOPPING`, `ERRORED`, `BROKEN`, `FINISHED`.
    pub lifecycle_state: String,
    pub lifecycle_state_details: Option<String>,
    pub lifecycle_status_codes: Vec<String>,
    pub is_root: bool,
    pub last_status_change: Option<String>,
    pub last_installation_source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub deployment_id: String,
    pub deployment_name: Option<String>,
    /// `ACTIVE`, `COMPLETED`, `CANCELED`, `FAILED`, `INACTIVE`.
    pub status: String,
    pub revision_id: Option<String>,
    pub created: Option<String>,
    pub is_latest: bool,
    /// Component → version.
    pub components: BTreeMap<String, String>,
    /// Each component's `configurationUpdate.merge` that was given (LogManager's says where logs go).
    #[serde(skip)]
    pub merges: BTreeMap<String, String>,
}

/// An execution status a device does not leave without a new deployment.
pub fn execution_done(status: &str) -> bool {
    matches!(
        status,
        "SUCCEEDED" | "COMPLETED" | "FAILED" | "REJECTED" | "TIMED_OUT" | "CANCELED"
    )
}

/// An execution status that means the device did not apply the deployment.
pub fn execution_failed(status: &str) -> bool {
    matches!(status, "FAILED" | "REJECTED" | "TIMED_OUT" | "CANCELED")
}

fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    t.and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
}

/// The V2 group `name`, read; `None` when there is no thing group of that name.
pub async fn status(cloud: &Cloud, name: &str) -> Result<Option<GroupStatus>, ProvisionError> {
    let Some(g) = find_thing_group(cloud, name).await? else {
        return Ok(None);
    };
    let deployments = deployments(cloud, &g.arn).await?;
    let latest = deployments
        .iter()
        .find(|d| d.is_latest)
        .map(|d| d.deployment_id.clone());
    let mut names = device_names(cloud, &g.arn).await?;
    let core = format!("{name}_Core");
    if !names.contains(&core) {
        names.push(core);
    }
    let mut core_devices = Vec::new();
    for thing in names {
        core_devices.push(core_device(cloud, &thing, latest.as_deref()).await?);
    }
    Ok(Some(GroupStatus {
        group: name.to_string(),
        thing_group: ThingGroup {
            name: g.name,
            arn: g.arn,
            id: g.id,
        },
        core_devices,
        deployments,
    }))
}

/// The core devices the service lists in the thing group, sorted.
async fn device_names(cloud: &Cloud, group_arn: &str) -> Result<Vec<String>, ProvisionError> {
    let mut pages = cloud
        .clients
        .greengrassv2
        .list_core_devices()
        .thing_group_arn(group_arn)
        .into_paginator()
        .items()
        .send();
    let mut out = Vec::new();
    while let Some(d) = pages.next().await {
        let d = d.doing(|| format!("listing the core devices of {group_arn}"))?;
        out.extend(d.core_device_thing_name().map(str::to_string));
    }
    out.sort();
    Ok(out)
}

/// The thing group's newest deployments that ggp made (tag `ggp:managed-by`).
async fn deployments(cloud: &Cloud, target: &str) -> Result<Vec<Deployment>, ProvisionError> {
    let gg = &cloud.clients.greengrassv2;
    let mut pages = gg
        .list_deployments()
        .target_arn(target)
        .history_filter(DeploymentHistoryFilter::All)
        .into_paginator()
        .items()
        .send();
    let mut listed = Vec::new();
    while let Some(d) = pages.next().await {
        listed.push(d.doing(|| format!("listing the deployments of {target}"))?);
    }
    listed.sort_by(|a, b| b.creation_timestamp().cmp(&a.creation_timestamp()));
    let mut out = Vec::new();
    for d in listed {
        if out.len() == DEPLOYMENTS_SHOWN {
            break;
        }
        let Some(id) = d.deployment_id() else {
            continue;
        };
        let full = gg
            .get_deployment()
            .deployment_id(id)
            .send()
            .await
            .doing(|| format!("reading the deployment {id}"))?;
        if full.tags().and_then(|t| t.get(TAG_MANAGED_BY)).is_none() {
            continue;
        }
        let comps = full.components();
        out.push(Deployment {
            deployment_id: id.to_string(),
            deployment_name: full.deployment_name().map(str::to_string),
            status: full
                .deployment_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            revision_id: full.revision_id().map(str::to_string),
            created: time(full.creation_timestamp()),
            is_latest: full.is_latest_for_target(),
            components: comps
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.component_version().to_string()))
                .collect(),
            merges: comps
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| {
                    let m = v.configuration_update()?.merge()?;
                    Some((k.clone(), m.to_string()))
                })
                .collect(),
        });
    }
    Ok(out)
}

async fn core_device(
    cloud: &Cloud,
    thing: &str,
    latest: Option<&str>,
) -> Result<CoreDevice, ProvisionError> {
    let gg = &cloud.clients.greengrassv2;
    let d = match gg
        .get_core_device()
        .core_device_thing_name(thing)
        .send()
        .await
    {
        Ok(d) => d,
        Err(e) if is_not_found(&e) => {
            return Ok(CoreDevice {
                thing_name: thing.to_string(),
                registered: false,
                status: None,
                last_status_update: None,
                platform: None,
                architecture: None,
                core_version: None,
                effective_deployment: None,
                installed_components: Vec::new(),
            })
        }
        Err(e) => return Err(e).doing(|| format!("reading the core device {thing}")),
    };
    Ok(CoreDevice {
        thing_name: thing.to_string(),
        registered: true,
        status: d.status().map(|s| s.as_str().to_string()),
        last_status_update: time(d.last_status_update_timestamp()),
        platform: d.platform().map(str::to_string),
        architecture: d.architecture().map(str::to_string),
        core_version: d.core_version().map(str::to_string),
        effective_deployment: effective(cloud, thing, latest).await?,
        installed_components: installed(cloud, thing).await?,
    })
}

/// The device's execution of `latest`, else its newest effective deployment.
async fn effective(
    cloud: &Cloud,
    thing: &str,
    latest: Option<&str>,
) -> Result<Option<Effective>, ProvisionError> {
    let mut pages = cloud
        .clients
        .greengrassv2
        .list_effective_deployments()
        .core_device_thing_name(thing)
        .into_paginator()
        .items()
        .send();
    let mut all: Vec<EffectiveDeployment> = Vec::new();
    while let Some(e) = pages.next().await {
        all.push(e.doing(|| format!("listing the deployments of the core device {thing}"))?);
    }
    all.sort_by(|a, b| b.creation_timestamp().cmp(a.creation_timestamp()));
    let pick = all
        .iter()
        .find(|e| Some(e.deployment_id()) == latest)
        .or_else(|| all.first());
    Ok(pick.map(|e| Effective {
        deployment_id: e.deployment_id().to_string(),
        deployment_name: e.deployment_name().to_string(),
        target_arn: e.target_arn().to_string(),
        execution_status: e.core_device_execution_status().as_str().to_string(),
        reason: e.reason().map(str::to_string).filter(|r| !r.is_empty()),
        error_stack: e
            .status_details()
            .map(|s| s.error_stack().to_vec())
            .unwrap_or_default(),
        error_types: e
            .status_details()
            .map(|s| s.error_types().to_vec())
            .unwrap_or_default(),
        modified: time(Some(e.modified_timestamp())),
    }))
}

async fn installed(cloud: &Cloud, thing: &str) -> Result<Vec<Installed>, ProvisionError> {
    let mut pages = cloud
        .clients
        .greengrassv2
        .list_installed_components()
        .core_device_thing_name(thing)
        .into_paginator()
        .items()
        .send();
    let mut out: Vec<Installed> = Vec::new();
    while let Some(c) = pages.next().await {
        let c: InstalledComponent =
            c.doing(|| format!("listing the components of the core device {thing}"))?;
        out.push(Installed {
            component_name: c.component_name().unwrap_or_default().to_string(),
            component_version: c.component_version().unwrap_or_default().to_string(),
            lifecycle_state: c
                .lifecycle_state()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            lifecycle_state_details: c.lifecycle_state_details().map(str::to_string),
            lifecycle_status_codes: c.lifecycle_status_codes().to_vec(),
            is_root: c.is_root(),
            last_status_change: time(c.last_status_change_timestamp()),
            last_installation_source: c.last_installation_source().map(str::to_string),
        });
    }
    out.sort_by(|a, b| a.component_name.cmp(&b.component_name));
    Ok(out)
}

impl GroupStatus {
    /// The thing group's latest deployment ggp made.
    pub fn latest(&self) -> Option<&Deployment> {
        self.deployments.iter().find(|d| d.is_latest)
    }

    /// The connected devices' executions of the latest deployment.
    fn executions(&self) -> impl Iterator<Item = (&CoreDevice, Option<&Effective>)> {
        let latest = self.latest().map(|d| d.deployment_id.as_str());
        self.core_devices
            .iter()
            .filter(|d| d.registered)
            .map(move |d| {
                (
                    d,
                    d.effective_deployment
                        .as_ref()
                        .filter(|e| Some(e.deployment_id.as_str()) == latest),
                )
            })
    }

    /// True when nothing more will happen without a new deployment: the latest deployment ended
    /// on the service's side, or every connected device ended its execution of it. With no
    /// device connected a thing-group deployment waits for one: not settled.
    pub fn settled(&self) -> bool {
        let Some(latest) = self.latest() else {
            return true;
        };
        if matches!(latest.status.as_str(), "COMPLETED" | "FAILED" | "CANCELED") {
            return true;
        }
        let mut any = false;
        for (_, e) in self.executions() {
            any = true;
            if !e.is_some_and(|e| execution_done(&e.execution_status)) {
                return false;
            }
        }
        any
    }

    /// Why the latest deployment failed, per device, when it did.
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(l) = self.latest().filter(|l| l.status == "FAILED") {
            if !self
                .executions()
                .any(|(_, e)| e.is_some_and(|e| execution_failed(&e.execution_status)))
            {
                out.push(format!("deployment {} is FAILED", l.deployment_id));
            }
        }
        for (d, e) in self.executions() {
            if let Some(e) = e.filter(|e| execution_failed(&e.execution_status)) {
                let mut s = format!("{}: {}", d.thing_name, e.execution_status);
                if let Some(r) = &e.reason {
                    let _ = write!(s, " ({r})");
                }
                out.push(s);
            }
        }
        out
    }

    /// Where the devices' logs are in CloudWatch Logs, as the latest deployment's LogManager
    /// configuration says; `component` keeps one (a component name, or a function name of the
    /// group). LogManager (AWS IoT Greengrass V2 Developer Guide, "Log manager"): component logs
    /// in `/aws/greengrass/UserComponent/<region>/<component>`, the nucleus's in
    /// `/aws/greengrass/GreengrassSystemComponent/<region>/System`, each device's in the stream
    /// `/<yyyy>/<MM>/<dd>/thing/<thing name>`.
    pub fn log_sources(
        &self,
        region: &str,
        component: Option<&str>,
    ) -> Result<Vec<LogSource>, NoCloudLogs> {
        let none = |why: String| {
            NoCloudLogs {
            group: self.group.clone(),
            why,
            setting: "a logger with loggerType = AWSCloudWatch in the deployment's conf.loggers (component GreengrassSystem for the nucleus, Lambda for the functions' components): ggp deploys it as aws.greengrass.LogManager".into(),
        }
        };
        let Some(latest) = self.latest() else {
            return Err(none(format!(
                "ggp has made no deployment for the thing group {}",
                self.group
            )));
        };
        let Some(merge) = latest.merges.get(super::public::LOG_MANAGER) else {
            return Err(none(format!(
                "its deployment {} has no {}, so its devices send no logs to CloudWatch Logs",
                latest.deployment_id,
                super::public::LOG_MANAGER
            )));
        };
        let cfg: Value = serde_json::from_str(merge).unwrap_or_default();
        let up = &cfg["logsUploaderConfiguration"];
        let mut wanted: Vec<(String, String)> = Vec::new();
        let system = up["systemLogsConfiguration"]["uploadToCloudWatch"].as_str() == Some("true")
            || up["systemLogsConfiguration"]["uploadToCloudWatch"].as_bool() == Some(true);
        if system {
            wanted.push((
                "System".into(),
                format!("/aws/greengrass/GreengrassSystemComponent/{region}/System"),
            ));
        }
        for name in up["componentLogsConfigurationMap"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            wanted.push((
                name.clone(),
                format!("/aws/greengrass/UserComponent/{region}/{name}"),
            ));
        }
        let streams: Vec<String> = self
            .core_devices
            .iter()
            .map(|d| format!("/thing/{}", d.thing_name))
            .collect();
        let picked: Vec<(String, String)> = match component {
            None => wanted,
            Some(c) => {
                let function = crate::model::functions::lambda_name(&self.group, c);
                let known: Vec<String> = wanted.iter().map(|(n, _)| n.clone()).collect();
                let found: Vec<(String, String)> = wanted
                    .into_iter()
                    .filter(|(n, _)| n == c || *n == function)
                    .collect();
                if found.is_empty() {
                    return Err(none(format!(
                        "{c} is not among the components whose logs its LogManager uploads ({})",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    )));
                }
                found
            }
        };
        Ok(picked
            .into_iter()
            .map(|(label, log_group)| LogSource {
                label,
                log_group,
                stream_contains: streams.clone(),
            })
            .collect())
    }

    /// What `ggp diagnose` reads: each connected device's execution of the latest deployment
    /// (its error stack, error types and reason) and each component it reports ERRORED or
    /// BROKEN (its status codes and details).
    pub fn evidence(&self) -> Vec<Evidence> {
        let components: Vec<String> = self
            .latest()
            .map(|d| d.components.keys().cloned().collect())
            .unwrap_or_default();
        let mut out = Vec::new();
        for (d, e) in self.executions() {
            let bad: Vec<&Installed> = d
                .installed_components
                .iter()
                .filter(|c| matches!(c.lifecycle_state.as_str(), "ERRORED" | "BROKEN"))
                .collect();
            if let Some(e) = e.filter(|e| execution_failed(&e.execution_status)) {
                let reason = e.reason.clone().unwrap_or_default();
                // The component the device names: one it reports broken, else one the reason names.
                let component = bad.first().map(|c| c.component_name.clone()).or_else(|| {
                    components
                        .iter()
                        .filter(|c| reason.contains(c.as_str()))
                        .max_by_key(|c| c.len())
                        .cloned()
                });
                out.push(Evidence {
                    source: format!("deployment {} on {}", e.deployment_id, d.thing_name),
                    device: Some(d.thing_name.clone()),
                    component,
                    status: e.execution_status.clone(),
                    // The stack goes from generic to specific: most specific first here.
                    codes: e
                        .error_stack
                        .iter()
                        .rev()
                        .chain(&e.error_types)
                        .cloned()
                        .collect(),
                    texts: e.reason.iter().cloned().collect(),
                });
            }
            for c in bad {
                out.push(Evidence {
                    source: format!("component {} on {}", c.component_name, d.thing_name),
                    device: Some(d.thing_name.clone()),
                    component: Some(c.component_name.clone()),
                    status: c.lifecycle_state.clone(),
                    codes: c.lifecycle_status_codes.clone(),
                    texts: c.lifecycle_state_details.iter().cloned().collect(),
                });
            }
        }
        out
    }

    pub fn render_text(&self) -> String {
        let mut o = String::new();
        let w = &mut o;
        let g = &self.thing_group;
        let _ = writeln!(w, "Greengrass V2 thing group {} ({})", g.name, g.arn);
        for d in &self.core_devices {
            render_device(w, d);
        }
        let _ = writeln!(w, "deployments by ggp (newest first)");
        if self.deployments.is_empty() {
            let _ = writeln!(w, "  (none)");
        }
        for d in &self.deployments {
            let _ = writeln!(
                w,
                "  {} {} {}{} created {}",
                d.deployment_id,
                d.deployment_name.as_deref().unwrap_or("-"),
                d.status,
                if d.is_latest { " (latest)" } else { "" },
                d.created.as_deref().unwrap_or("?")
            );
            for (c, v) in &d.components {
                let _ = writeln!(w, "    {c} {v}");
            }
        }
        o
    }
}

fn render_device(w: &mut String, d: &CoreDevice) {
    if !d.registered {
        let _ = writeln!(
            w,
            "core device {}: not connected yet (it applies the thing group's deployment when it first connects)",
            d.thing_name
        );
        return;
    }
    let _ = writeln!(
        w,
        "core device {}: {}, last report {}{}",
        d.thing_name,
        d.status.as_deref().unwrap_or("?"),
        d.last_status_update.as_deref().unwrap_or("?"),
        match (&d.platform, &d.architecture, &d.core_version) {
            (Some(p), Some(a), Some(v)) => format!(" ({p}/{a}, nucleus {v})"),
            (Some(p), Some(a), None) => format!(" ({p}/{a})"),
            _ => String::new(),
        }
    );
    match &d.effective_deployment {
        None => {
            let _ = writeln!(w, "  deployment: none received yet");
        }
        Some(e) => {
            let _ = writeln!(
                w,
                "  deployment {} ({}): {}{}",
                e.deployment_id,
                e.deployment_name,
                e.execution_status,
                e.reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            );
            if !e.error_stack.is_empty() {
                let _ = writeln!(w, "    error stack: {}", e.error_stack.join(" > "));
            }
            if !e.error_types.is_empty() {
                let _ = writeln!(w, "    error types: {}", e.error_types.join(", "));
            }
        }
    }
    if d.installed_components.is_empty() {
        let _ = writeln!(w, "  components: none reported");
    }
    for c in &d.installed_components {
        let _ = write!(
            w,
            "  {} {} {}",
            c.component_name, c.component_version, c.lifecycle_state
        );
        if !c.lifecycle_status_codes.is_empty() {
            let _ = write!(w, " [{}]", c.lifecycle_status_codes.join(", "));
        }
        if let Some(x) = &c.lifecycle_state_details {
            let _ = write!(w, ": {x}");
        }
        let _ = writeln!(w);
    }
}
