//! Stage 1 of the pipeline: the user's project, read and checked.
//!
//! Entry point: [`load_project`]. It merges the HOCON files the way GGP did (Typesafe Config
//! semantics, injected values, environment fallback), reads them into the typed model and
//! validates them, returning every problem at once with `file:line` and key path.
//! Nothing here touches the network or Docker.

pub mod hocon;
pub mod model;
mod project;
pub mod reader;
pub mod validate;

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

pub use model::*;
pub use project::{load_function_conf, load_project, DeploymentSource, Project, ProjectPaths};

/// A position in a config file. `line == 0` means the whole file (position unknown).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub col: usize,
}

impl Location {
    pub fn file(f: impl Into<String>) -> Location {
        Location {
            file: f.into(),
            line: 0,
            col: 0,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.col) {
            (0, _) => write!(f, "{}", self.file),
            (l, 0) => write!(f, "{}:{l}", self.file),
            (l, c) => write!(f, "{}:{l}:{c}", self.file),
        }
    }
}

/// A configuration problem. Each names the file and, where known, line and key path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read: {message}", path.display())]
    Io { path: PathBuf, message: String },
    #[error("{at}: syntax error: {message}")]
    Syntax { at: Location, message: String },
    #[error("{at}: {message}")]
    Substitution {
        at: Location,
        path: String,
        message: String,
    },
    #[error("{at}: {key}: {message}")]
    Invalid {
        at: Location,
        key: String,
        message: String,
    },
}

impl ConfigError {
    pub fn location(&self) -> Option<&Location> {
        match self {
            ConfigError::Io { .. } => None,
            ConfigError::Syntax { at, .. }
            | ConfigError::Substitution { at, .. }
            | ConfigError::Invalid { at, .. } => Some(at),
        }
    }
}

/// Every problem found in a project, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl crate::error::Failure for ConfigErrors {
    fn exit_code(&self) -> i32 {
        crate::error::exit::CONFIG
    }
    fn hint(&self) -> Option<String> {
        Some(
            "fix the lines named above; `ggp plan` re-checks without touching AWS or Docker".into(),
        )
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors(vec![e])
    }
}

/// A non-fatal finding (unknown key, risky setting), with its location.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Warning {
    pub at: Location,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: warning: {}", self.at, self.message)
    }
}

/// Values ggp injects into configs before resolving them. Unknown values (not yet created, or
/// not known offline) are explicit placeholders, never empty strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Injected {
    pub group_name: String,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub group_id: Option<String>,
}

/// The text an unknown value renders as, e.g. `<unknown:GROUP_ID>`.
pub fn placeholder(name: &str) -> String {
    format!("<unknown:{name}>")
}

/// True when `s` contains a placeholder that must be replaced before it reaches AWS.
pub fn has_placeholder(s: &str) -> bool {
    s.contains("<unknown:")
}

impl Injected {
    pub fn offline(group_name: &str, region: Option<String>) -> Injected {
        Injected {
            group_name: group_name.to_string(),
            account_id: None,
            region,
            group_id: None,
        }
    }

    pub fn thing_name(&self) -> String {
        format!("{}_Core", self.group_name)
    }

    pub fn account(&self) -> String {
        self.account_id
            .clone()
            .unwrap_or_else(|| placeholder("ACCOUNT_ID"))
    }

    pub fn region(&self) -> String {
        self.region.clone().unwrap_or_else(|| placeholder("REGION"))
    }

    pub fn group_id(&self) -> String {
        self.group_id
            .clone()
            .unwrap_or_else(|| placeholder("GROUP_ID"))
    }

    pub fn thing_arn(&self) -> String {
        format!(
            "{}:thing/{}",
            crate::model::arn::prefix("iot", &self.region(), &self.account()),
            self.thing_name()
        )
    }

    /// What a deployment configuration sees (GGP: `withValue` over the file).
    pub fn for_deployment(&self) -> Vec<(String, String)> {
        vec![
            ("ACCOUNT_ID".into(), self.account()),
            ("REGION".into(), self.region()),
            ("AWS_IOT_THING_NAME".into(), self.thing_name()),
        ]
    }

    /// What function and connector configurations see (GGP's default environment, as fallback).
    pub fn for_function(&self) -> Vec<(String, String)> {
        vec![
            ("GROUP_ID".into(), self.group_id()),
            ("AWS_IOT_THING_NAME".into(), self.thing_name()),
            ("AWS_IOT_THING_ARN".into(), self.thing_arn()),
            ("AWS_GREENGRASS_GROUP_NAME".into(), self.group_name.clone()),
            ("REGION".into(), self.region()),
            ("ACCOUNT_ID".into(), self.account()),
        ]
    }
}
