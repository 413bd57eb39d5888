//! What can go wrong before ggp gets to do AWS work, each case with its own exit status and fix.
//!
//! The messages are written for the person at the terminal: one line of cause (the `Display`),
//! one line of fix ([`AwsError::hint`]). The SDK's own error chain goes to the log at `-v` only
//! (`log_detail`); it never carries a secret, because aws-config redacts secrets in its
//! errors and ggp only ever formats errors, never credentials.

use std::error::Error as StdError;

use aws_smithy_runtime_api::client::result::ConnectorError;

/// Exit statuses of the AWS failures, 10–18 (defined with the others in [`crate::error::exit`]).
pub use crate::error::exit as code;

/// A failure of credential, region or endpoint resolution, or of the first AWS call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AwsError {
    #[error("no AWS credentials found; tried {}", tried.join("; "))]
    NoCredentials { tried: Vec<String> },

    #[error("AWS profile `{name}` (from {named_by}) is not defined in {files}")]
    ProfileNotFound {
        name: String,
        named_by: &'static str,
        files: String,
        available: Vec<String>,
    },

    #[error("the AWS config files could not be read: {message}")]
    ProfileFiles { message: String },

    #[error("this EC2 instance has no IAM role: instance metadata at {endpoint} lists no instance profile")]
    ImdsNoRole { endpoint: String },

    #[error("instance metadata (IMDS) at {endpoint} does not answer ({reason})")]
    ImdsUnreachable { endpoint: String, reason: String },

    #[error("instance metadata (IMDS) at {endpoint} refused an IMDSv2 session token ({reason})")]
    ImdsTokenRefused { endpoint: String, reason: String },

    #[error("{what}")]
    Expired { what: String, fix: String },

    #[error("no AWS region: none from --region, AWS_REGION, AWS_DEFAULT_REGION, profile `{profile}` or instance metadata")]
    RegionMissing { profile: String },

    #[error("{service} endpoint {url} does not answer: {reason}")]
    EndpointUnreachable {
        service: String,
        url: String,
        reason: String,
        overridden: bool,
    },

    #[error("AWS rejected the credentials from {source_name}: {code}")]
    CredentialsRejected { source_name: String, code: String },

    #[error("credentials from {source_name} could not be loaded: {reason}")]
    CredentialsFailed {
        source_name: String,
        reason: String,
        fix: String,
    },

    #[error("{service} {operation} failed: {message}")]
    Service {
        service: String,
        operation: String,
        message: String,
    },
}

impl AwsError {
    pub fn exit_code(&self) -> i32 {
        match self {
            AwsError::NoCredentials { .. } => code::NO_CREDENTIALS,
            AwsError::ProfileNotFound { .. } => code::PROFILE_NOT_FOUND,
            AwsError::ImdsNoRole { .. } => code::IMDS_NO_ROLE,
            AwsError::ImdsUnreachable { .. } => code::IMDS_UNREACHABLE,
            AwsError::ImdsTokenRefused { .. } => code::IMDS_TOKEN_REFUSED,
            AwsError::Expired { .. } => code::CREDENTIALS_EXPIRED,
            AwsError::RegionMissing { .. } => code::REGION_MISSING,
            AwsError::EndpointUnreachable { .. } => code::ENDPOINT_UNREACHABLE,
            AwsError::ProfileFiles { .. }
            | AwsError::CredentialsRejected { .. }
            | AwsError::CredentialsFailed { .. } => code::CREDENTIALS_INVALID,
            AwsError::Service { .. } => code::FAILURE,
        }
    }

    /// The fix, one line.
    pub fn hint(&self) -> String {
        match self {
            AwsError::NoCredentials { .. } => "run `aws configure` (or `aws sso login --profile NAME` and pass --profile NAME), \
                 or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; `ggp doctor` shows what ggp sees"
                .into(),
            AwsError::ProfileNotFound { available, .. } if available.is_empty() => {
                "no profiles are defined: run `aws configure --profile NAME`, or drop --profile / AWS_PROFILE".into()
            }
            AwsError::ProfileNotFound { available, .. } => format!(
                "defined profiles: {}; fix the name, or add it with `aws configure --profile NAME`",
                available.join(", ")
            ),
            AwsError::ProfileFiles { .. } => {
                "fix the file named above (`aws configure list` reads the same files)".into()
            }
            AwsError::ImdsNoRole { .. } => "attach an instance profile (`aws ec2 associate-iam-instance-profile`), \
                 or give credentials another way (--profile, AWS_ACCESS_KEY_ID)"
                .into(),
            AwsError::ImdsUnreachable { .. } => "on EC2, enable the metadata endpoint (`aws ec2 modify-instance-metadata-options --http-endpoint enabled`); \
                 elsewhere unset AWS_EC2_METADATA_SERVICE_ENDPOINT or set AWS_EC2_METADATA_DISABLED=true"
                .into(),
            AwsError::ImdsTokenRefused { .. } => "from a container the hop limit must be 2 \
                 (`aws ec2 modify-instance-metadata-options --http-put-response-hop-limit 2 --http-endpoint enabled`); \
                 ggp never falls back to IMDSv1"
                .into(),
            AwsError::Expired { fix, .. } => fix.clone(),
            AwsError::RegionMissing { profile } => format!(
                "pass --region, set AWS_REGION, or add `region = …` to profile `{profile}` in ~/.aws/config"
            ),
            AwsError::EndpointUnreachable { overridden: true, .. } => {
                "check the URL (--endpoint-url, AWS_ENDPOINT_URL*, profile endpoint_url) and that the service there is running".into()
            }
            AwsError::EndpointUnreachable { .. } => {
                "check the network path to AWS (proxy: HTTPS_PROXY, firewall, DNS)".into()
            }
            AwsError::CredentialsRejected { .. } => "the keys are wrong, deactivated or deleted, or the clock is off; \
                 `aws sts get-caller-identity` with the same profile shows the same"
                .into(),
            AwsError::CredentialsFailed { fix, .. } => fix.clone(),
            AwsError::Service { .. } => "run with -v for the full error".into(),
        }
    }
}

/// Log the whole error chain at `-v` (info); the user sees it only when asking for it. Only the
/// `Display` of each error: the SDK's `Debug` forms carry raw HTTP responses, bodies included.
pub(crate) fn log_detail(context: &str, err: &(dyn StdError + 'static)) {
    tracing::info!("{context}: {}", chain_text(err));
}

/// Every error in the chain, outermost first.
pub(crate) fn chain<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |e| (*e).source())
}

/// The chain as one line of text (for matching the few cases aws-config only reports in words).
pub(crate) fn chain_text(err: &(dyn StdError + 'static)) -> String {
    chain(err)
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

/// The connection failure in the chain, if the request never got an answer.
pub(crate) fn connector_error<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a ConnectorError> {
    chain(err).find_map(|e| e.downcast_ref::<ConnectorError>())
}

/// A short reason for a connection failure: "connection refused", "timed out", …
pub(crate) fn connection_reason(err: &(dyn StdError + 'static)) -> String {
    let io = chain(err).find_map(|e| e.downcast_ref::<std::io::Error>());
    if let Some(io) = io {
        return match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
            std::io::ErrorKind::TimedOut => "timed out".into(),
            _ => io.to_string(),
        };
    }
    match connector_error(err) {
        Some(c) if c.is_timeout() => "timed out".into(),
        Some(c) => {
            // The innermost message is the useful one ("dns error: …", "tcp connect error").
            let inner = chain(c).last().map(|e| e.to_string()).unwrap_or_default();
            if inner.is_empty() {
                c.to_string()
            } else {
                inner
            }
        }
        None => chain(err).last().map(|e| e.to_string()).unwrap_or_default(),
    }
}

impl crate::error::Failure for AwsError {
    fn exit_code(&self) -> i32 {
        AwsError::exit_code(self)
    }
    fn hint(&self) -> Option<String> {
        Some(AwsError::hint(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_in_range() {
        let all = [
            code::NO_CREDENTIALS,
            code::PROFILE_NOT_FOUND,
            code::IMDS_NO_ROLE,
            code::IMDS_UNREACHABLE,
            code::IMDS_TOKEN_REFUSED,
            code::CREDENTIALS_EXPIRED,
            code::REGION_MISSING,
            code::ENDPOINT_UNREACHABLE,
            code::CREDENTIALS_INVALID,
        ];
        let mut sorted = all.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), all.len());
        assert!(all.iter().all(|c| (10..=19).contains(c)));
    }

    #[test]
    fn messages_are_one_line() {
        let errs = [
            AwsError::NoCredentials {
                tried: vec!["environment (AWS_ACCESS_KEY_ID not set)".into()],
            },
            AwsError::ProfileNotFound {
                name: "nope".into(),
                named_by: "--profile",
                files: "~/.aws/config".into(),
                available: vec!["default".into()],
            },
            AwsError::RegionMissing {
                profile: "default".into(),
            },
        ];
        for e in errs {
            assert!(!e.to_string().contains('\n'), "{e}");
            assert!(!e.hint().contains('\n'), "{}", e.hint());
        }
    }

    #[test]
    fn connection_reason_names_refused() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let c = ConnectorError::io(Box::new(io));
        assert_eq!(connection_reason(&c), "connection refused");
    }
}
