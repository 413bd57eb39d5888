//! `ggp diagnose`: a deployed group's known failure patterns as findings, each with its fix. The
//! inputs are what the devices reported about the latest deployment (V2: each device's error
//! stack, error types and reason, and its components in ERRORED or BROKEN with their status
//! codes; V1: the deployment's error message and details) and the group's log lines in
//! CloudWatch Logs; the patterns are the table in [`crate::diagnose`].
//!
//! Read only, like `ggp status` and `ggp logs`. Exit 53 when there is a finding.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::logs::{read as read_logs, sources, LogLine};
use super::status::{read as read_status, target_of, OperateError};
use super::Context;
use crate::config::Target;
use crate::diagnose::{match_codes, match_text, Finding};
use crate::error::Result;
use crate::target::Evidence;

/// `ggp diagnose`'s inputs.
#[derive(Debug, Clone)]
pub struct DiagnoseRequest {
    pub group: String,
    pub target: Option<Target>,
    pub state_dir: PathBuf,
    /// How far back the logs are read.
    pub since: Duration,
}

/// The findings, and what was looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagnoseReport {
    pub group: String,
    pub target: Target,
    pub findings: Vec<Finding>,
    /// Device reports read (failed executions, broken components, V1 deployment errors).
    pub reports_read: usize,
    pub log_lines_read: usize,
    /// Why the logs were not read, when they were not.
    pub logs_not_read: Option<String>,
}

impl DiagnoseReport {
    pub fn render_text(&self) -> String {
        let mut o = String::new();
        let w = &mut o;
        let _ = writeln!(
            w,
            "Diagnosis of {} ({} device report(s), {} log line(s) read)",
            self.group, self.reports_read, self.log_lines_read
        );
        if let Some(n) = &self.logs_not_read {
            let _ = writeln!(w, "logs not read: {n}");
        }
        if self.findings.is_empty() {
            let _ = writeln!(w, "no known failure pattern found");
        }
        for (i, f) in self.findings.iter().enumerate() {
            let _ = writeln!(
                w,
                "\n{}. {}{}",
                i + 1,
                f.title,
                f.component
                    .as_deref()
                    .map(|c| format!(" — component {c}"))
                    .unwrap_or_default()
            );
            let _ = writeln!(
                w,
                "   seen in: {}{}{}",
                f.seen_in,
                f.device
                    .as_deref()
                    .map(|d| format!(" (device {d})"))
                    .unwrap_or_default(),
                if f.occurrences > 1 {
                    format!(", {} times", f.occurrences)
                } else {
                    String::new()
                }
            );
            let _ = writeln!(w, "   evidence: {}", f.evidence);
            let _ = writeln!(w, "   fix: {}", f.fix);
            let _ = writeln!(w, "   rule: {} ({})", f.pattern, f.source);
        }
        o
    }

    /// Exit 53 when there is a finding.
    pub fn result(&self) -> Result<(), OperateError> {
        if self.findings.is_empty() {
            return Ok(());
        }
        Err(OperateError::Findings {
            group: self.group.clone(),
            count: self.findings.len(),
        })
    }
}

/// The findings of one device report: the pattern of its most specific code, every pattern its
/// messages match, or (when nothing is known) the failure as it was reported.
pub fn from_evidence(group: &str, e: &Evidence) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let mut add = |p: &crate::diagnose::Pattern, evidence: String| {
        if out.iter().any(|f| f.pattern == p.id) {
            return;
        }
        let mut f = Finding::of(p, group, e.component.as_deref());
        f.device = e.device.clone();
        f.seen_in = e.source.clone();
        f.evidence = evidence;
        out.push(f);
    };
    if let Some((p, code)) = match_codes(e.codes.iter().map(String::as_str)) {
        add(p, format!("{} ({})", code, e.status));
    }
    for t in &e.texts {
        for p in match_text(t) {
            add(p, t.clone());
        }
    }
    if out.is_empty() {
        let c = e.component.as_deref().unwrap_or("the component");
        out.push(Finding {
            pattern: "unrecognized".into(),
            title: format!("{} ({}) with no known pattern", e.source, e.status),
            component: e.component.clone(),
            device: e.device.clone(),
            seen_in: e.source.clone(),
            evidence: e
                .codes
                .iter()
                .chain(&e.texts)
                .cloned()
                .collect::<Vec<_>>()
                .join("; "),
            occurrences: 1,
            fix: format!("read what {c} logged: `ggp logs -g {group}{} --since 1h`; fix that and deploy again", e.component.as_deref().map(|c| format!(" --component {c}")).unwrap_or_default()),
            source: "ggp".into(),
        });
    }
    out
}

/// The findings of log lines: one per pattern and component, with the first line as evidence.
pub fn from_logs(group: &str, lines: &[LogLine]) -> Vec<Finding> {
    let mut by: BTreeMap<(String, String), Finding> = BTreeMap::new();
    for l in lines {
        for p in match_text(&l.message) {
            by.entry((p.id.to_string(), l.component.clone()))
                .and_modify(|f| f.occurrences += 1)
                .or_insert_with(|| {
                    let mut f = Finding::of(
                        p,
                        group,
                        Some(&l.component)
                            .filter(|c| !c.is_empty())
                            .map(String::as_str),
                    );
                    f.seen_in = format!("{} {}", l.log_group, l.log_stream);
                    f.evidence = format!("{} {}", l.time, l.message.trim_end());
                    f
                });
        }
    }
    by.into_values().collect()
}

/// Reads the group's reports and logs and matches them against the patterns.
pub async fn diagnose(ctx: &Context, req: &DiagnoseRequest) -> Result<DiagnoseReport> {
    let t = target_of(ctx, req.target, &req.state_dir, &req.group)?;
    let cloud = ctx.cloud().await?;
    let status = read_status(cloud, t, &req.group).await?;
    let evidence = status.evidence();
    let mut findings: Vec<Finding> = evidence
        .iter()
        .flat_map(|e| from_evidence(&req.group, e))
        .collect();
    let mut report = DiagnoseReport {
        group: req.group.clone(),
        target: t,
        findings: Vec::new(),
        reports_read: evidence.len(),
        log_lines_read: 0,
        logs_not_read: None,
    };
    match sources(ctx, t, &req.group, None).await {
        Ok(sources) => {
            let since = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.saturating_sub(req.since).as_millis() as i64)
                .unwrap_or(0);
            let lines = read_logs(cloud, &sources, since).await?;
            report.log_lines_read = lines.len();
            for f in from_logs(&req.group, &lines) {
                // A log finding the device's report already gave is counted, not repeated.
                match findings
                    .iter_mut()
                    .find(|x| x.pattern == f.pattern && x.component == f.component)
                {
                    Some(x) => x.occurrences += f.occurrences,
                    None => findings.push(f),
                }
            }
        }
        Err(e) => match e.stage::<OperateError>() {
            Some(OperateError::NoCloudLogs(n)) => {
                report.logs_not_read = Some(format!("{}; to send them: {}", n.why, n.setting));
            }
            _ => return Err(e),
        },
    }
    report.findings = findings;
    Ok(report)
}
