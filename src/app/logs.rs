//! `ggp logs`: a deployed group's log lines from CloudWatch Logs, per component or function,
//! with their timestamps, in order; `--follow` keeps printing lines as they are written until
//! SIGINT. Where the lines are comes from the target ([`crate::target::Status::log_sources`]:
//! LogManager's log groups for V2, Greengrass V1's for V1); a group that sends nothing to
//! CloudWatch is told so, with the deployment setting that would ([`OperateError::NoCloudLogs`]).
//!
//! Read only (DescribeLogGroups, DescribeLogStreams, FilterLogEvents). Also what
//! `ggp diagnose` reads its log lines with ([`read`]).

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::status::{read as read_status, target_of, OperateError};
use super::Context;
use crate::config::Target;
use crate::error::{Error, Result};
use crate::provision::error::{is_not_found, Doing, ProvisionError};
use crate::provision::Cloud;
use crate::target::LogSource;

/// FilterLogEvents takes at most this many stream names.
const STREAMS_PER_CALL: usize = 100;
/// How far back a follow looks again for lines that arrive late (LogManager uploads every
/// `periodicUploadIntervalSec`, 300 s by default, with the lines' own timestamps).
const LATE_WINDOW: Duration = Duration::from_secs(600);

/// `ggp logs`'s inputs.
#[derive(Debug, Clone)]
pub struct LogsRequest {
    pub group: String,
    pub target: Option<Target>,
    pub state_dir: PathBuf,
    pub component: Option<String>,
    /// `--since` (default 1 h; with `--follow` alone nothing before the start is printed).
    pub since: Option<Duration>,
    pub follow: bool,
    /// How often a follow reads again.
    pub poll: Duration,
}

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogLine {
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// RFC 3339.
    pub time: String,
    /// The component or function.
    pub component: String,
    pub log_group: String,
    pub log_stream: String,
    pub message: String,
    #[serde(skip)]
    id: String,
}

impl LogLine {
    pub fn render_text(&self) -> String {
        format!(
            "{} {} {}\n",
            self.time,
            self.component,
            self.message.trim_end_matches(['\n', '\r'])
        )
    }
}

/// Parses `--since`: a duration such as `30s`, `10m`, `2h`, `1d` or `1h30m`.
pub fn parse_since(s: &str) -> Result<Duration> {
    humantime::parse_duration(s.trim()).map_err(|e| {
        Error::Usage(format!(
            "--since {s}: {e} (give a duration such as 30s, 10m, 2h or 1d)"
        ))
    })
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn rfc3339(ms: i64) -> String {
    aws_smithy_types::DateTime::from_millis(ms)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| ms.to_string())
}

/// The group's log sources, with prefixes expanded into their log groups.
pub(crate) async fn sources(
    ctx: &Context,
    t: Target,
    group: &str,
    component: Option<&str>,
) -> Result<Vec<LogSource>> {
    let cloud = ctx.cloud().await?;
    let status = read_status(cloud, t, group).await?;
    let sources = status
        .log_sources(&cloud.region, &cloud.account, component)
        .map_err(OperateError::NoCloudLogs)?;
    let mut out = Vec::new();
    for s in sources {
        if !s.log_group.ends_with('/') {
            out.push(s);
            continue;
        }
        for name in log_groups(cloud, &s.log_group).await? {
            out.push(LogSource {
                label: name.trim_start_matches(s.log_group.as_str()).to_string(),
                log_group: name,
                stream_contains: s.stream_contains.clone(),
            });
        }
    }
    Ok(out)
}

async fn log_groups(cloud: &Cloud, prefix: &str) -> Result<Vec<String>, ProvisionError> {
    let mut pages = cloud
        .clients
        .logs
        .describe_log_groups()
        .log_group_name_prefix(prefix)
        .into_paginator()
        .items()
        .send();
    let mut out = Vec::new();
    while let Some(g) = pages.next().await {
        let g = g.doing(|| format!("listing the log groups under {prefix}"))?;
        out.extend(g.log_group_name().map(str::to_string));
    }
    out.sort();
    Ok(out)
}

/// The group's streams of a log group that may hold lines after `since` (none when the log group
/// does not exist yet: nothing was sent).
async fn streams(cloud: &Cloud, s: &LogSource, since: i64) -> Result<Vec<String>, ProvisionError> {
    let mut pages = cloud
        .clients
        .logs
        .describe_log_streams()
        .log_group_name(&s.log_group)
        .into_paginator()
        .items()
        .send();
    let mut out = Vec::new();
    while let Some(st) = pages.next().await {
        let st = match st {
            Ok(st) => st,
            Err(e) if is_not_found(&e) => return Ok(Vec::new()),
            Err(e) => return Err(e).doing(|| format!("listing the streams of {}", s.log_group)),
        };
        let Some(name) = st.log_stream_name() else {
            continue;
        };
        let ours = s.stream_contains.iter().any(|c| name.contains(c.as_str()));
        let recent = st.last_event_timestamp().is_none_or(|t| t >= since)
            || st.last_ingestion_time().is_some_and(|t| t >= since);
        if ours && recent {
            out.push(name.to_string());
        }
    }
    Ok(out)
}

/// The lines of one source from `since` on (ms), in the order CloudWatch Logs gives them.
async fn source_lines(
    cloud: &Cloud,
    s: &LogSource,
    since: i64,
) -> Result<Vec<LogLine>, ProvisionError> {
    let names = streams(cloud, s, since).await?;
    let mut out = Vec::new();
    for chunk in names.chunks(STREAMS_PER_CALL) {
        let mut pages = cloud
            .clients
            .logs
            .filter_log_events()
            .log_group_name(&s.log_group)
            .set_log_stream_names(Some(chunk.to_vec()))
            .start_time(since)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(p) => p,
                Err(err) if is_not_found(&err) => break,
                Err(err) => {
                    return Err(err).doing(|| format!("reading the log group {}", s.log_group))
                }
            };
            for e in page.events() {
                let ts = e.timestamp().unwrap_or(0);
                let stream = e.log_stream_name().unwrap_or_default().to_string();
                let message = e.message().unwrap_or_default().to_string();
                out.push(LogLine {
                    id: e
                        .event_id()
                        .map(str::to_string)
                        .unwrap_or_else(|| format!("{stream}\u{0}{ts}\u{0}{message}")),
                    timestamp: ts,
                    time: rfc3339(ts),
                    component: s.label.clone(),
                    log_group: s.log_group.clone(),
                    log_stream: stream,
                    message,
                });
            }
        }
    }
    Ok(out)
}

/// Every line of `sources` from `since` on (ms), sorted by time (lines of one time keep the
/// order CloudWatch Logs gave them).
pub(crate) async fn read(cloud: &Cloud, sources: &[LogSource], since: i64) -> Result<Vec<LogLine>> {
    let mut all = Vec::new();
    for s in sources {
        all.extend(source_lines(cloud, s, since).await?);
    }
    all.sort_by_key(|l| l.timestamp);
    Ok(all)
}

/// What a `ggp logs` run printed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogsSummary {
    pub lines: usize,
    /// The log groups read.
    pub log_groups: Vec<String>,
}

/// Reads the group's lines and hands each to `out`, in order; with `follow`, keeps reading every
/// `poll` and hands on the lines not seen before, until SIGINT. `ready` is called once a follow
/// waits for new lines (after SIGINT is caught, so a Ctrl-C from then on stops it cleanly).
pub async fn logs(
    ctx: &Context,
    req: &LogsRequest,
    out: &mut (dyn FnMut(&LogLine) -> Result<()> + Send),
    ready: &mut (dyn FnMut(&LogsSummary) + Send),
) -> Result<LogsSummary> {
    let t = target_of(ctx, req.target, &req.state_dir, &req.group)?;
    let stop = if req.follow {
        Some(super::interrupt()?)
    } else {
        None
    };
    let cloud = ctx.cloud().await?;
    let sources = sources(ctx, t, &req.group, req.component.as_deref()).await?;
    let start = now_ms();
    let since = match (req.since, req.follow) {
        (Some(d), _) => start - d.as_millis() as i64,
        (None, false) => start - 3_600_000,
        (None, true) => start,
    };
    let mut summary = LogsSummary {
        lines: 0,
        log_groups: sources.iter().map(|s| s.log_group.clone()).collect(),
    };
    // Lines already there when a follow starts and older than --since are seen, not printed.
    let window = since.min(start - LATE_WINDOW.as_millis() as i64);
    let mut seen: BTreeMap<i64, HashSet<String>> = BTreeMap::new();
    for l in read(cloud, &sources, window).await? {
        let new = seen.entry(l.timestamp).or_default().insert(l.id.clone());
        if new && l.timestamp >= since {
            out(&l)?;
            summary.lines += 1;
        }
    }
    let Some(mut stop) = stop else {
        return Ok(summary);
    };
    ready(&summary);
    loop {
        tokio::select! {
            _ = &mut stop => return Ok(summary),
            _ = tokio::time::sleep(req.poll) => {}
        }
        let from = now_ms() - LATE_WINDOW.as_millis() as i64;
        let lines = tokio::select! {
            _ = &mut stop => return Ok(summary),
            r = read(cloud, &sources, from) => r?,
        };
        for l in lines {
            if seen.entry(l.timestamp).or_default().insert(l.id.clone()) {
                out(&l)?;
                summary.lines += 1;
            }
        }
        // What is older than the window is never read again.
        seen = seen.split_off(&from);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_human_durations() {
        assert_eq!(parse_since("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_since("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_since("2d").unwrap(), Duration::from_secs(172_800));
        let e = parse_since("ten minutes").unwrap_err().to_string();
        assert!(e.contains("--since ten minutes"), "{e}");
    }

    #[test]
    fn lines_render_with_their_time_and_component() {
        let l = LogLine {
            timestamp: 1_700_000_000_123,
            time: rfc3339(1_700_000_000_123),
            component: "g-HelloPython".into(),
            log_group: "/aws/greengrass/UserComponent/us-east-1/g-HelloPython".into(),
            log_stream: "/2023/11/14/thing/g_Core".into(),
            message: "hello\n".into(),
            id: "1".into(),
        };
        assert_eq!(
            l.render_text(),
            "2023-11-14T22:13:20.123Z g-HelloPython hello\n"
        );
    }
}
