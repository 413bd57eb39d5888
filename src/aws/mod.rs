//! The AWS adapter: credentials, region and endpoints resolved as the AWS CLI does, and every
//! service client built from one [`SdkConfig`].
//!
//! [`connect`] takes the command-line overrides ([`AwsOptions`]) and the process environment as a
//! value (so tests never touch the real one), runs aws-config's default chains once and returns an
//! [`Aws`]: the config, where the credentials and the region came from, the caller's account
//! (asked of STS lazily, at most once), and one constructor per client.
//!
//! What it is for: everything between "ggp starts" and "the first AWS call works", with a clear
//! error and exit status when it does not ([`AwsError`]). Not for: the provisioning calls
//! themselves, which live with their stage and only take clients from here.
//!
//! Precedence, as in the AWS CLI:
//! - credentials: environment, profile (`--profile`, then `AWS_PROFILE`, then `default`: static
//!   keys, `role_arn` with `source_profile` or `credential_source`, `credential_process`, SSO),
//!   web identity (`AWS_WEB_IDENTITY_TOKEN_FILE`), container (`AWS_CONTAINER_CREDENTIALS_*`),
//!   EC2 instance metadata (IMDSv2 only). As on the CLI, an explicit `--profile` skips keys in
//!   the environment (`AWS_PROFILE` does not), except through `credential_source = Environment`;
//! - region: `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile (following
//!   `source_profile`), instance metadata;
//! - endpoints: `--endpoint-url` (every call, including the STS and SSO calls that produce
//!   credentials), `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, the profile's `services`
//!   section, the profile's `endpoint_url`. S3 uses path-style addressing whenever its endpoint
//!   is overridden, as emulators need.
//!
//! Secrets never leave this module in text: sources are described by name, access keys only by
//! their last four characters, and [`secret_log_guard`] keeps the SDK's wire-level tracing
//! (which prints request bodies and some bearer headers) out of the log at any verbosity.

pub mod error;
mod resolve;

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_types::SdkConfig;
use serde::Serialize;

pub use error::AwsError;
pub use resolve::Session;

/// The AWS settings given on the command line; `None` means "as the environment and profile say".
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// `--profile`: beats `AWS_PROFILE`.
    pub profile: Option<String>,
    /// `--region`: beats every other source.
    pub region: Option<String>,
    /// `--endpoint-url`: every AWS call goes there.
    pub endpoint_url: Option<String>,
}

/// The process environment, as a value (main passes `std::env::vars()`).
pub type EnvVars = BTreeMap<String, String>;

/// The services ggp talks to, with the ids the SDK uses for `AWS_ENDPOINT_URL_<ID>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Service {
    Sts,
    Iot,
    Iam,
    Lambda,
    S3,
    Greengrass,
    GreengrassV2,
}

impl Service {
    pub const ALL: [Service; 7] = [
        Service::Sts,
        Service::Iot,
        Service::Iam,
        Service::Lambda,
        Service::S3,
        Service::Greengrass,
        Service::GreengrassV2,
    ];

    /// The SDK's service id (`AWS_ENDPOINT_URL_` + this, upper-cased, selects the endpoint).
    pub fn id(self) -> &'static str {
        match self {
            Service::Sts => "STS",
            Service::Iot => "IoT",
            Service::Iam => "IAM",
            Service::Lambda => "Lambda",
            Service::S3 => "S3",
            Service::Greengrass => "Greengrass",
            Service::GreengrassV2 => "GreengrassV2",
        }
    }

    /// The environment variable that points this service elsewhere.
    pub fn env_var(self) -> String {
        format!("AWS_ENDPOINT_URL_{}", self.id().to_uppercase())
    }

    /// The AWS endpoint when nothing overrides it (for messages only; the SDK resolves the real one).
    pub fn default_endpoint(self, region: &str) -> String {
        let host = match self {
            Service::Sts => "sts",
            Service::Iot => "iot",
            Service::Iam => return "https://iam.amazonaws.com".into(),
            Service::Lambda => "lambda",
            Service::S3 => "s3",
            Service::Greengrass | Service::GreengrassV2 => "greengrass",
        };
        format!("https://{host}.{region}.amazonaws.com")
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// Which link of the chain produced the credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    Environment,
    Profile,
    WebIdentity,
    Container,
    InstanceMetadata,
    Other,
}

/// Where the credentials came from; never the secret.
#[derive(Debug, Clone, Serialize)]
pub struct CredentialSource {
    pub kind: SourceKind,
    /// aws-config's `provider_name`: `EnvironmentVariable`, `ProfileFile`, `AssumeRoleProvider`,
    /// `CredentialProcess`, `SSO`, `WebIdentityToken`, `EcsContainer`, `IMDSv2`.
    pub provider: String,
    /// The profile that produced them, for profile sources.
    pub profile: Option<String>,
    /// What in that source: "static keys", "role … from source_profile base", …
    pub detail: String,
    /// The access key id's last four characters, as `aws configure list` shows it.
    pub access_key: String,
    /// When temporary credentials expire (RFC 3339), `None` for long-term keys.
    pub expires: Option<String>,
    /// Whether they carry a session token (never the token itself).
    pub session_token: bool,
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.kind, &self.profile) {
            (SourceKind::Profile, Some(p)) => write!(f, "profile `{p}` ({})", self.detail),
            (SourceKind::Environment, _) => write!(f, "environment ({})", self.detail),
            (SourceKind::WebIdentity, _) => write!(f, "web identity ({})", self.detail),
            (SourceKind::Container, _) => write!(f, "container endpoint ({})", self.detail),
            (SourceKind::InstanceMetadata, _) => write!(f, "instance metadata ({})", self.detail),
            _ => write!(f, "{} ({})", self.provider, self.detail),
        }
    }
}

/// Where the region came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "from", content = "name", rename_all = "kebab-case")]
pub enum RegionOrigin {
    /// `--region`
    Flag,
    /// `AWS_REGION` or `AWS_DEFAULT_REGION`
    Env(String),
    /// the named profile (after following `source_profile`)
    Profile(String),
    /// EC2 instance metadata
    InstanceMetadata,
}

impl fmt::Display for RegionOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegionOrigin::Flag => f.write_str("--region"),
            RegionOrigin::Env(var) => f.write_str(var),
            RegionOrigin::Profile(p) => write!(f, "profile `{p}`"),
            RegionOrigin::InstanceMetadata => f.write_str("instance metadata"),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RegionInfo {
    pub name: String,
    pub origin: RegionOrigin,
}

/// The caller, from STS GetCallerIdentity.
#[derive(Debug, Clone, Serialize)]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
}

/// A connected AWS: one `SdkConfig`, where its parts came from, and the clients.
#[derive(Debug)]
pub struct Aws {
    sdk: SdkConfig,
    source: CredentialSource,
    region: RegionInfo,
    identity: tokio::sync::OnceCell<CallerIdentity>,
}

/// Resolve credentials and region; fail with the matching [`AwsError`] if either is missing.
/// No AWS call is made yet (IMDS, SSO, STS AssumeRole may be asked, as the chain requires).
pub async fn connect(opts: &AwsOptions, env: &EnvVars) -> Result<Aws, AwsError> {
    Session::load(opts, env).await?.into_aws()
}

impl Aws {
    /// The one config every client is built from.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk
    }

    pub fn credential_source(&self) -> &CredentialSource {
        &self.source
    }

    pub fn region(&self) -> &RegionInfo {
        &self.region
    }

    /// The endpoint override for `service`, if any (`None`: AWS's own endpoint).
    pub fn endpoint(&self, service: Service) -> Option<String> {
        resolve::endpoint_for(&self.sdk, service)
    }

    /// The endpoint `service` calls go to, for messages.
    pub fn endpoint_display(&self, service: Service) -> String {
        self.endpoint(service)
            .unwrap_or_else(|| service.default_endpoint(&self.region.name))
    }

    /// The caller's account and ARN, from STS GetCallerIdentity on first use, then remembered.
    pub async fn identity(&self) -> Result<&CallerIdentity, AwsError> {
        self.identity
            .get_or_try_init(|| async {
                let out = self
                    .sts()
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| self.call_error(Service::Sts, "GetCallerIdentity", e))?;
                let field = |v: Option<String>, name: &str| {
                    v.ok_or_else(|| AwsError::Service {
                        service: "STS".into(),
                        operation: "GetCallerIdentity".into(),
                        message: format!("the answer has no {name}"),
                    })
                };
                Ok(CallerIdentity {
                    account: field(out.account, "Account")?,
                    arn: field(out.arn, "Arn")?,
                })
            })
            .await
    }

    /// The caller's account id (see [`Aws::identity`]).
    pub async fn account(&self) -> Result<&str, AwsError> {
        Ok(&self.identity().await?.account)
    }

    /// Turn a failed call into the error class the user can act on (unreachable endpoint,
    /// expired or rejected credentials), or a plain service error.
    pub fn call_error<E>(
        &self,
        service: Service,
        operation: &str,
        err: SdkError<E, HttpResponse>,
    ) -> AwsError
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
    {
        resolve::classify_call_error(
            &self.source,
            service,
            operation,
            &self.endpoint_display(service),
            self.endpoint(service).is_some(),
            err,
        )
    }

    pub fn sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.sdk)
    }

    pub fn iot(&self) -> aws_sdk_iot::Client {
        aws_sdk_iot::Client::new(&self.sdk)
    }

    pub fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.sdk)
    }

    pub fn lambda(&self) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::new(&self.sdk)
    }

    /// S3, with path-style addressing (`http://host/bucket/key`) when the endpoint is overridden:
    /// emulators and most S3-compatible stores do not serve virtual-host buckets.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.sdk)
            .force_path_style(self.endpoint(Service::S3).is_some())
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    pub fn greengrass(&self) -> aws_sdk_greengrass::Client {
        aws_sdk_greengrass::Client::new(&self.sdk)
    }

    pub fn greengrassv2(&self) -> aws_sdk_greengrassv2::Client {
        aws_sdk_greengrassv2::Client::new(&self.sdk)
    }
}

/// The log filter without `-v`: warnings, except the SDK's own, which repeat as warnings what
/// ggp reports as one error line (with a `Debug` dump of the response attached); `-v` shows them.
pub const DEFAULT_LOG_FILTER: &str =
    "warn,aws_config=error,aws_smithy_runtime=error,aws_smithy_http_client=error,aws_runtime=error";

/// Log targets that print request bodies and some bearer headers at TRACE: the SDK's wire log,
/// SigV4's signing input, the unredacted `credential_process` command line.
pub const SECRET_BEARING_LOG_TARGETS: &[&str] = &[
    "aws_smithy_runtime::client::orchestrator",
    "aws_sigv4",
    "aws_config::credential_process",
];

/// A global log filter that drops TRACE events of [`SECRET_BEARING_LOG_TARGETS`] whatever `-vvv`
/// or `GGP_LOG` ask for, so the web identity token, the SSO bearer token and request bodies never
/// reach a log. Add it to the subscriber as a layer; it only removes events, never adds any.
pub fn secret_log_guard() -> tracing_subscriber::filter::FilterFn {
    tracing_subscriber::filter::filter_fn(secret_safe as fn(&tracing::Metadata<'_>) -> bool)
}

fn secret_safe(meta: &tracing::Metadata<'_>) -> bool {
    *meta.level() != tracing::Level::TRACE
        || !SECRET_BEARING_LOG_TARGETS
            .iter()
            .any(|t| meta.target().starts_with(t))
}

fn rfc3339(t: SystemTime) -> String {
    aws_smithy_types::DateTime::from(t)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| format!("{t:?}"))
}
