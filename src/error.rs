//! Exit statuses, and the error sum that reaches `main`.
//!
//! This module imports no stage, so every stage can use it without a cycle: each stage's error
//! type implements [`Failure`] (its exit status and its hint) and converts into [`Error`] with
//! `?`. `main` prints the message (one line of cause, then a `hint:` line where there is something
//! to do) and exits with [`Error::exit_code`]. Nothing below `main` exits the process.

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
    /// No credentials from any link of the chain.
    pub const NO_CREDENTIALS: i32 = 10;
    /// `--profile` / `AWS_PROFILE` names a profile that the config files do not define.
    pub const PROFILE_NOT_FOUND: i32 = 11;
    /// Instance metadata answers, but the instance has no IAM role.
    pub const IMDS_NO_ROLE: i32 = 12;
    /// Instance metadata was configured (or named by the profile) but does not answer.
    pub const IMDS_UNREACHABLE: i32 = 13;
    /// Instance metadata refuses IMDSv2 session tokens (disabled, or the hop limit from a container).
    pub const IMDS_TOKEN_REFUSED: i32 = 14;
    /// The session, or the SSO token behind it, has expired (or there is no SSO login at all).
    pub const CREDENTIALS_EXPIRED: i32 = 15;
    /// No region from any source.
    pub const REGION_MISSING: i32 = 16;
    /// An AWS (or emulator) endpoint does not answer.
    pub const ENDPOINT_UNREACHABLE: i32 = 17;
    /// Credentials could not be produced from the configuration, or AWS rejected them.
    pub const CREDENTIALS_INVALID: i32 = 18;
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

    // 30–39: provisioning (`deploy`, `plan` with credentials, `destroy`).
    /// An AWS call made while provisioning failed.
    pub const PROVISION_CALL_FAILED: i32 = 30;
    /// The Greengrass deployment ended in `Failure`.
    pub const DEPLOYMENT_FAILED: i32 = 31;
    /// The deployment was still in progress when the wait ran out.
    pub const DEPLOYMENT_TIMED_OUT: i32 = 32;
    /// The account holds something ggp cannot decide about (two groups with one name).
    pub const PROVISION_CONFLICT: i32 = 33;
    /// The state file or the private key beside it could not be read or written.
    pub const PROVISION_STATE: i32 = 34;
    /// `GGP_FAIL_AFTER` stopped the run at a step boundary (tests of crash recovery).
    pub const PROVISION_INJECTED: i32 = 35;
    /// The inputs cannot be provisioned (a package over the upload limit without --s3-bucket, an
    /// unreadable CSR, a `~wildcard~` that matches no Lambda function, a git function that cannot
    /// be cloned).
    pub const PROVISION_INPUT: i32 = 36;
    /// An IAM change did not propagate within the wait.
    pub const IAM_PROPAGATION: i32 = 37;
    /// The preflight (IoT `TestAuthorization`, IAM `SimulatePrincipalPolicy`) denies the core an
    /// action it needs: nothing is deployed.
    pub const PREFLIGHT_DENIED: i32 = 38;

    // 40–49: the offline bundle (`ggp bundle`, `--bundle`, `--script`, `--oem`).
    /// The inputs cannot make a bundle (no certificate, a bad ARN, an unknown option).
    pub const BUNDLE_INPUT: i32 = 40;
    /// The core software archive was not found.
    pub const BUNDLE_CORE_SOFTWARE_MISSING: i32 = 41;
    /// The core software archive has no known sha256, or not the expected one.
    pub const BUNDLE_CORE_SOFTWARE_UNVERIFIED: i32 = 42;
    /// Reading an input or writing an output failed.
    pub const BUNDLE_IO: i32 = 43;
    /// There is nothing provisioned to bundle (no state, certificate or key for the group).
    pub const BUNDLE_STATE: i32 = 44;
    /// Uploading the outputs to S3 failed.
    pub const BUNDLE_UPLOAD: i32 = 45;

    // 50–59: operating a deployed group (`ggp status`, `ggp logs`, `ggp diagnose`).
    /// There is no group (V1) or thing group (V2) of that name in the account and region.
    pub const GROUP_NOT_FOUND: i32 = 50;
    /// `ggp status`: the latest deployment failed (on a device, or on the service's side).
    pub const STATUS_FAILED: i32 = 51;
    /// `ggp logs`: the group sends nothing (or not what was asked for) to CloudWatch Logs.
    pub const NO_CLOUD_LOGS: i32 = 52;
    /// `ggp diagnose`: at least one finding.
    pub const FINDINGS: i32 = 53;
    /// `ggp status --group-ca`: the V1 group has no certificate authority.
    pub const NO_GROUP_CA: i32 = 54;
}

/// A stage's error: its message (`Display`), its exit status and what the user can do about it.
pub trait Failure: std::error::Error + Send + Sync + 'static {
    /// The exit status ([`exit`]).
    fn exit_code(&self) -> i32;
    /// A second line telling the user what to do, where there is something to say.
    fn hint(&self) -> Option<String> {
        None
    }
}

/// Every error that reaches `main`: the command line's own, or a stage's.
#[derive(Debug, thiserror::Error)]
pub enum Error {
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
    Stage(Box<dyn Failure>),
}

impl<E: Failure> From<E> for Error {
    fn from(e: E) -> Error {
        Error::Stage(Box::new(e))
    }
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => exit::USAGE,
            Error::Io { .. } | Error::Other(_) => exit::FAILURE,
            Error::Stage(e) => e.exit_code(),
        }
    }

    /// A second line telling the user what to do, where there is something to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Stage(e) => e.hint(),
            _ => None,
        }
    }

    /// The stage error of type `T` this is, if it is one (tests and callers that branch on it).
    pub fn stage<T: Failure>(&self) -> Option<&T> {
        match self {
            Error::Stage(e) => (&**e as &dyn std::error::Error).downcast_ref::<T>(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("it broke")]
    struct Broke;

    impl Failure for Broke {
        fn exit_code(&self) -> i32 {
            exit::BUILD_FAILED
        }
        fn hint(&self) -> Option<String> {
            Some("fix it".into())
        }
    }

    #[test]
    fn a_stage_error_keeps_its_status_hint_and_type() {
        let e: Error = Broke.into();
        assert_eq!(e.to_string(), "it broke");
        assert_eq!(e.exit_code(), exit::BUILD_FAILED);
        assert_eq!(e.hint().as_deref(), Some("fix it"));
        assert!(e.stage::<Broke>().is_some());
        assert_eq!(Error::Usage("x".into()).exit_code(), exit::USAGE);
    }
}
