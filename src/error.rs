//! The errors that reach `main`, and the exit status each one gives.
//!
//! Every stage returns its own error type; they meet here. `main` prints the message (one line of
//! cause, then a `hint:` line where there is something to do) and exits with [`Error::exit_code`].
//! Nothing below `main` exits the process.

use crate::config::ConfigErrors;

/// Exit statuses, documented in the README. Distinct per failure class so scripts can branch.
pub mod exit {
    pub const OK: i32 = 0;
    /// A runtime failure with no more specific class.
    pub const FAILURE: i32 = 1;
    /// Bad command line, or a command that is not implemented yet.
    pub const USAGE: i32 = 2;
    /// The project's configuration is invalid.
    pub const CONFIG: i32 = 3;
    // 10–19: AWS credentials, region and endpoints (`ggp doctor` uses the same codes).
    pub use crate::aws::error::code::*;
    /// `ggp doctor`: the Docker engine does not answer.
    pub const DOCKER_UNAVAILABLE: i32 = 19;
    // 20–29: `ggp build`.
    /// A function's build failed (a build step, the package checks).
    pub const BUILD_FAILED: i32 = 20;
    /// `ggp build`: no Docker engine answers at DOCKER_HOST.
    pub const BUILD_DOCKER_ABSENT: i32 = 21;
    /// `ggp build`: the Docker engine refused access.
    pub const BUILD_DOCKER_PERMISSION: i32 = 22;
    /// `ggp build`: the Docker engine stopped answering mid-build.
    pub const BUILD_DOCKER_DIED: i32 = 23;
    /// `ggp build`: a builder image is missing or of another architecture.
    pub const BUILD_IMAGE: i32 = 24;
    /// `ggp build`: reading sources or writing packages failed.
    pub const BUILD_IO: i32 = 25;
    // 30–39: provisioning (`deploy`, `plan` with credentials, `destroy`): PROVISION_CALL_FAILED 30,
    // DEPLOYMENT_FAILED 31, DEPLOYMENT_TIMED_OUT 32, PROVISION_CONFLICT 33, PROVISION_STATE 34,
    // PROVISION_INJECTED 35, PROVISION_INPUT 36, IAM_PROPAGATION 37.
    pub use crate::provision::error::code::*;
    // 40–49: the offline bundle (`ggp bundle`, `--bundle`, `--script`, `--oem`): BUNDLE_INPUT 40,
    // BUNDLE_CORE_SOFTWARE_MISSING 41, BUNDLE_CORE_SOFTWARE_UNVERIFIED 42, BUNDLE_IO 43,
    // BUNDLE_STATE 44, BUNDLE_UPLOAD 45.
    pub use crate::bundle::code::*;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    #[error("`ggp {0}` is not implemented yet")]
    NotImplemented(&'static str),
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
    #[error("{0}")]
    Aws(#[from] crate::aws::AwsError),
    #[error("{0}")]
    Doctor(#[from] crate::doctor::DoctorFailed),
    #[error("{0}")]
    Build(#[from] crate::build::BuildError),
    #[error("{0}")]
    Bundle(#[from] crate::bundle::BundleError),
    #[error("{0}")]
    Provision(#[from] crate::provision::ProvisionError),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config(_) => exit::CONFIG,
            Error::NotImplemented(_) | Error::Usage(_) => exit::USAGE,
            Error::Io { .. } | Error::Other(_) => exit::FAILURE,
            Error::Aws(e) => e.exit_code(),
            Error::Doctor(d) => d.exit_code,
            Error::Build(e) => e.exit_code(),
            Error::Bundle(e) => e.exit_code(),
            Error::Provision(e) => e.exit_code(),
        }
    }

    /// A second line telling the user what to do, where there is something to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::NotImplemented(_) => {
                Some("this stage has not landed yet; `ggp plan` shows what it will do".into())
            }
            Error::Config(_) => Some(
                "fix the lines named above; `ggp plan` re-checks without touching AWS or Docker"
                    .into(),
            ),
            Error::Aws(e) => Some(e.hint()),
            Error::Doctor(d) => Some(d.hint.clone()),
            Error::Build(e) => e.hint(),
            Error::Bundle(e) => e.hint(),
            Error::Provision(e) => e.hint(),
            _ => None,
        }
    }

    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
