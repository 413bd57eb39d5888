//! What can stop provisioning, each with its exit status (30–39), and the one way SDK errors are
//! turned into messages: what ggp was doing, then what AWS said.

use std::error::Error as StdError;
use std::time::Duration;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Exit statuses of provisioning, 30–37 (defined with the others in [`crate::error::exit`]).
pub use crate::error::exit as code;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ProvisionError {
    /// An SDK call failed: `doing` says what ggp was doing, `message` what AWS said.
    #[error("{doing}: {message}")]
    Call { doing: String, message: String },
    #[error("deployment {deployment_id} of group {group} failed: {message}")]
    DeploymentFailed {
        group: String,
        deployment_id: String,
        message: String,
    },
    #[error("deployment {deployment_id} of group {group} is still {status} after {}s", waited.as_secs())]
    DeploymentTimedOut {
        group: String,
        deployment_id: String,
        status: String,
        waited: Duration,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("{path}: {message}")]
    State { path: String, message: String },
    #[error("stopped after step `{0}` (GGP_FAIL_AFTER)")]
    Injected(String),
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Propagation(String),
    /// The preflight's denials (each names the action, the resource and the policies asked).
    #[error("{}", denied_message(.0))]
    Denied(Vec<super::authz::AuthCheck>),
}

/// One line per denial: what the core needs, why, and which policy to change.
fn denied_message(denied: &[super::authz::AuthCheck]) -> String {
    let mut s = format!(
        "the account's own authorization check denies {} action(s) the core needs; nothing was deployed:",
        denied.len()
    );
    for d in denied {
        let who = if d.api.starts_with("iot:") {
            "the core certificate"
        } else {
            "the token exchange role"
        };
        let policies = if d.policies.is_empty() {
            "no policy".to_string()
        } else {
            d.policies.join(", ")
        };
        let verdict = match d.decision.as_str() {
            "explicitDeny" => format!("explicitly denied by {policies}"),
            _ => format!("allowed by no statement of {policies}"),
        };
        s.push_str(&format!(
            "\n  {} on {} ({}): {verdict} ({} asked of {who} {})",
            d.action, d.resource, d.reason, d.api, d.principal
        ));
    }
    s
}

impl ProvisionError {
    pub fn exit_code(&self) -> i32 {
        match self {
            ProvisionError::Call { .. } => code::PROVISION_CALL_FAILED,
            ProvisionError::DeploymentFailed { .. } => code::DEPLOYMENT_FAILED,
            ProvisionError::DeploymentTimedOut { .. } => code::DEPLOYMENT_TIMED_OUT,
            ProvisionError::Conflict(_) => code::PROVISION_CONFLICT,
            ProvisionError::State { .. } => code::PROVISION_STATE,
            ProvisionError::Injected(_) => code::PROVISION_INJECTED,
            ProvisionError::Input(_) => code::PROVISION_INPUT,
            ProvisionError::Propagation(_) => code::IAM_PROPAGATION,
            ProvisionError::Denied(_) => code::PREFLIGHT_DENIED,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            ProvisionError::Call { .. } => Some(
                "nothing is left half-done: fix the cause and run the same command again; it picks up where this run stopped"
                    .into(),
            ),
            ProvisionError::DeploymentFailed { .. } => Some(
                "the core reported the error above; check /greengrass/ggc/var/log/system/runtime.log on the device, fix, and deploy again"
                    .into(),
            ),
            ProvisionError::DeploymentTimedOut { .. } => Some(
                "is the core running and online? Run the same command again to keep waiting (nothing is redeployed), or raise --deployment-timeout"
                    .into(),
            ),
            ProvisionError::Conflict(_) => {
                Some("rename or delete one of them in the console or with the AWS CLI".into())
            }
            ProvisionError::State { .. } => Some(
                "the state file is a cache of what the account holds: move the broken file aside and run again to rebuild it"
                    .into(),
            ),
            ProvisionError::Injected(_) => Some("unset GGP_FAIL_AFTER".into()),
            ProvisionError::Propagation(_) => Some(
                "IAM changes can take a minute to reach every region; run the same command again"
                    .into(),
            ),
            ProvisionError::Input(_) => None,
            ProvisionError::Denied(_) => Some(
                "add the action and resource to the policy named (the core's IoT policy, or the token exchange role's policies), or drop --core-policy-name / conf.core.role.iotPolicy to let ggp derive it; then deploy again"
                    .into(),
            ),
        }
    }

    pub fn state(path: &std::path::Path, message: impl std::fmt::Display) -> ProvisionError {
        ProvisionError::State {
            path: path.display().to_string(),
            message: message.to_string(),
        }
    }
}

/// What AWS said, one line: `Code: message`, or why the request got no answer.
pub fn describe<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    match err {
        SdkError::ServiceError(s) => {
            let e = s.err();
            let status = s.raw().status().as_u16();
            match (e.code(), e.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_string(),
                (None, Some(m)) => format!("HTTP {status}: {m}"),
                (None, None) => format!("HTTP {status} with no error code"),
            }
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            format!(
                "no answer from the endpoint ({})",
                crate::aws::error::connection_reason(err)
            )
        }
        other => DisplayErrorContext(other).to_string(),
    }
}

/// The service error code, if AWS answered with one.
pub fn code_of<E>(err: &SdkError<E, HttpResponse>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(s) => s.err().code(),
        _ => None,
    }
}

/// The HTTP status, if AWS answered.
pub fn status_of<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    match err {
        SdkError::ServiceError(s) => Some(s.raw().status().as_u16()),
        _ => None,
    }
}

/// True when the error says the resource does not exist (each service words it its own way).
pub fn is_not_found<E>(err: &SdkError<E, HttpResponse>) -> bool
where
    E: ProvideErrorMetadata,
{
    matches!(
        code_of(err),
        Some(
            "NoSuchEntity"
                | "ResourceNotFoundException"
                | "IdNotFoundException"
                | "VersionNotFoundException"
                | "NotFoundException"
                | "NoSuchKey"
                | "NotFound"
        )
    ) || (code_of(err).is_none() && status_of(err) == Some(404))
}

/// Adds "what ggp was doing" to an SDK result.
pub trait Doing<T> {
    fn doing(self, what: impl FnOnce() -> String) -> Result<T, ProvisionError>;
}

impl<T, E> Doing<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    fn doing(self, what: impl FnOnce() -> String) -> Result<T, ProvisionError> {
        self.map_err(|e| {
            crate::aws::error::log_detail("AWS call failed", &e);
            ProvisionError::Call {
                doing: what(),
                message: describe(&e),
            }
        })
    }
}

/// An answer that lacks a field the API documents: an error, not a panic.
pub fn missing(what: &str, field: &str) -> ProvisionError {
    ProvisionError::Call {
        doing: what.to_string(),
        message: format!("the answer has no {field}"),
    }
}

impl crate::error::Failure for ProvisionError {
    fn exit_code(&self) -> i32 {
        ProvisionError::exit_code(self)
    }
    fn hint(&self) -> Option<String> {
        ProvisionError::hint(self)
    }
}
