//! One run of aws-config's chains, and the bookkeeping aws-config does not expose: which profile
//! is selected and who named it, where the region came from, which source gave the credentials,
//! and why a chain came back empty-handed.

use std::collections::{BTreeSet, HashMap};
use std::error::Error as StdError;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_config::imds::client::error::{ImdsError, TokenError};
use aws_config::meta::ProviderChainError;
use aws_config::profile::{Profile, ProfileSet};
use aws_config::BehaviorVersion;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::os_shim_internal::{Env, Fs};
use aws_types::region::Region;
use aws_types::service_config::ServiceConfigKey;
use aws_types::SdkConfig;

use super::error::{chain, chain_text, connection_reason, connector_error, log_detail, AwsError};
use super::{
    rfc3339, Aws, AwsOptions, CredentialSource, EnvVars, RegionInfo, RegionOrigin, Service,
    SourceKind,
};

/// How long the whole credential chain may take (a `credential_process` may be slow; IMDS and
/// the container endpoint have their own short timeouts inside aws-config).
const CHAIN_TIMEOUT: Duration = Duration::from_secs(60);

const DEFAULT_IMDS: &str = "http://169.254.169.254";

/// The selected profile and how it was chosen.
#[derive(Debug, Clone)]
pub struct ProfileChoice {
    pub name: String,
    /// `--profile` or `AWS_PROFILE`; `None` when it is `default` by default.
    pub named_by: Option<&'static str>,
    pub defined: bool,
    /// The config and credentials files read, for messages.
    pub files: String,
}

/// The result of resolving everything once: each part on its own, so `ggp doctor` can report all
/// of them; [`Session::into_aws`] insists on the parts the main job needs.
#[derive(Debug)]
pub struct Session {
    sdk: SdkConfig,
    pub profile: ProfileChoice,
    pub region: Result<RegionInfo, AwsError>,
    pub credentials: Result<CredentialSource, AwsError>,
    resolved: Option<Credentials>,
    imds_endpoint: String,
}

impl Session {
    /// Read the profile files and run the region and credential chains. Fails early only when
    /// the config files cannot be read or a named profile does not exist (nothing else would
    /// make sense then); every other problem is kept in `region` / `credentials`.
    pub async fn load(opts: &AwsOptions, env: &EnvVars) -> Result<Session, AwsError> {
        let vars = effective_env(opts, env);
        let aws_env = to_aws_env(&vars);
        let profiles = aws_config::profile::load(&Fs::real(), &aws_env, &Default::default(), None)
            .await
            .map_err(|e| {
                log_detail("reading the AWS config files", &e);
                AwsError::ProfileFiles {
                    message: chain_text(&e),
                }
            })?;
        let profile = choose_profile(opts, env, &vars, &profiles);
        if let (Some(named_by), false) = (profile.named_by, profile.defined) {
            if profile.name != "default" {
                let mut available: Vec<String> = profiles.profiles().map(String::from).collect();
                available.sort();
                return Err(AwsError::ProfileNotFound {
                    name: profile.name,
                    named_by,
                    files: profile.files,
                    available,
                });
            }
        }

        // As the AWS CLI: an explicit --profile negates the environment link of the chain (so stale
        // AWS_ACCESS_KEY_ID in a shell cannot win over the profile asked for); the keys stay
        // available to a profile whose `credential_source` is `Environment`.
        let explicit = profile.named_by == Some("--profile");
        let chain_env = if explicit {
            let mut v = vars.clone();
            for k in ENV_KEY_VARS {
                v.remove(*k);
            }
            to_aws_env(&v)
        } else {
            aws_env.clone()
        };
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).env(chain_env);
        if let Some(r) = opts.region.as_deref().filter(|r| !r.is_empty()) {
            loader = loader.region(Region::new(r.to_string()));
        }
        if let Some(url) = opts.endpoint_url.as_deref().filter(|u| !u.is_empty()) {
            loader = loader.endpoint_url(url);
        }
        let mut sdk = loader.load().await;
        tracing::debug!(profile = %profile.name, region = ?sdk.region(), "aws config loaded");
        if explicit {
            if let Some(roles) = environment_role_chain(&profiles, &profile.name) {
                sdk = with_roles_from_environment(sdk, &vars, &roles).await;
            }
        }

        let region = match sdk.region() {
            Some(r) => Ok(RegionInfo {
                name: r.to_string(),
                origin: region_origin(opts, &vars, &profiles, &profile.name)
                    .unwrap_or(RegionOrigin::InstanceMetadata),
            }),
            None => Err(AwsError::RegionMissing {
                profile: profile.name.clone(),
            }),
        };

        let imds_endpoint = imds_endpoint(&vars, &profiles);
        let ctx = Ctx {
            vars: &vars,
            profiles: &profiles,
            profile: &profile,
            imds_endpoint: &imds_endpoint,
            sdk: &sdk,
        };
        let (credentials, resolved) = match resolve_credentials(&sdk).await {
            Ok(creds) => {
                let source = ctx.describe(&creds);
                match check_expiry(&creds, &source) {
                    Ok(()) => (Ok(source), Some(creds)),
                    Err(e) => (Err(e), None),
                }
            }
            Err(e) => (Err(ctx.classify(&e)), None),
        };
        if let Ok(s) = &credentials {
            tracing::info!(source = %s, "credentials resolved");
        }
        Ok(Session {
            sdk,
            profile,
            region,
            credentials,
            resolved,
            imds_endpoint,
        })
    }

    /// The instance metadata endpoint the chains use (for reports).
    pub fn imds_endpoint(&self) -> &str {
        &self.imds_endpoint
    }

    /// The endpoint override for `service` in this configuration, if any.
    pub fn endpoint(&self, service: Service) -> Option<String> {
        endpoint_for(&self.sdk, service)
    }

    /// Everything the main job needs: credentials and a region, or the first error.
    pub fn into_aws(self) -> Result<Aws, AwsError> {
        let source = self.credentials?;
        let region = self.region?;
        let primed = Primed {
            first: Mutex::new(self.resolved),
            chain: self
                .sdk
                .credentials_provider()
                .expect("the default loader always sets a credentials provider"),
        };
        let sdk = self
            .sdk
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(primed))
            .build();
        Ok(Aws {
            sdk,
            source,
            region,
            identity: tokio::sync::OnceCell::new(),
        })
    }
}

/// The variables of the environment credentials link.
const ENV_KEY_VARS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

fn to_aws_env(vars: &EnvVars) -> Env {
    Env::from(
        vars.iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<HashMap<_, _>>(),
    )
}

/// The role profiles from `selected` down to one with `credential_source = Environment`
/// (outermost first), if that is where its `source_profile` chain ends.
fn environment_role_chain<'a>(
    profiles: &'a ProfileSet,
    selected: &str,
) -> Option<Vec<&'a Profile>> {
    let mut out: Vec<&Profile> = Vec::new();
    let mut name = selected.to_string();
    loop {
        let p = profiles.get_profile(&name)?;
        p.get("role_arn")?;
        if out.iter().any(|q| q.name() == p.name()) {
            return None;
        }
        out.push(p);
        match (p.get("credential_source"), p.get("source_profile")) {
            (Some("Environment"), None) => return Some(out),
            (None, Some(next)) if next != name => name = next.to_string(),
            _ => return None,
        }
    }
}

/// Replace the chain with: environment keys, then AssumeRole for each role profile, innermost
/// first (aws-config's own profile chain cannot see keys the explicit --profile took away).
async fn with_roles_from_environment(
    sdk: SdkConfig,
    vars: &EnvVars,
    roles: &[&Profile],
) -> SdkConfig {
    let secret = vars
        .get("AWS_SECRET_ACCESS_KEY")
        .or_else(|| vars.get("SECRET_ACCESS_KEY"));
    let mut provider = match (vars.get("AWS_ACCESS_KEY_ID"), secret) {
        (Some(id), Some(secret)) => SharedCredentialsProvider::new(Credentials::new(
            id,
            secret,
            vars.get("AWS_SESSION_TOKEN").cloned(),
            None,
            "EnvironmentVariable",
        )),
        _ => SharedCredentialsProvider::new(NoEnvironmentKeys),
    };
    for p in roles.iter().rev() {
        let Some(role) = p.get("role_arn") else {
            continue;
        };
        let mut b = aws_config::sts::AssumeRoleProvider::builder(role).configure(&sdk);
        if let Some(n) = p.get("role_session_name") {
            b = b.session_name(n);
        }
        if let Some(id) = p.get("external_id") {
            b = b.external_id(id);
        }
        if let Some(secs) = p.get("duration_seconds").and_then(|d| d.parse().ok()) {
            b = b.session_length(Duration::from_secs(secs));
        }
        provider = SharedCredentialsProvider::new(b.build_from_provider(provider).await);
    }
    sdk.to_builder().credentials_provider(provider).build()
}

/// The environment aws-config sees: empty `AWS_*` values count as unset (CI systems export empty
/// variables), `--profile` becomes `AWS_PROFILE`, and `--endpoint-url` becomes the only endpoint
/// setting, so the credential providers' own STS / SSO clients use it too.
fn effective_env(opts: &AwsOptions, env: &EnvVars) -> EnvVars {
    let mut vars: EnvVars = env
        .iter()
        .filter(|(k, v)| !(k.starts_with("AWS_") && v.is_empty()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(p) = opts.profile.as_deref().filter(|p| !p.is_empty()) {
        vars.insert("AWS_PROFILE".into(), p.into());
    }
    if let Some(url) = opts.endpoint_url.as_deref().filter(|u| !u.is_empty()) {
        vars.retain(|k, _| {
            !k.starts_with("AWS_ENDPOINT_URL_") && k != "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
        });
        vars.insert("AWS_ENDPOINT_URL".into(), url.into());
    }
    vars
}

fn choose_profile(
    opts: &AwsOptions,
    env: &EnvVars,
    vars: &EnvVars,
    profiles: &ProfileSet,
) -> ProfileChoice {
    let named_by = if opts.profile.as_deref().is_some_and(|p| !p.is_empty()) {
        Some("--profile")
    } else if env.get("AWS_PROFILE").is_some_and(|p| !p.is_empty()) {
        Some("AWS_PROFILE")
    } else {
        None
    };
    let name = profiles.selected_profile().to_string();
    let home = vars.get("HOME").map(String::as_str).unwrap_or("~");
    let config = vars
        .get("AWS_CONFIG_FILE")
        .cloned()
        .unwrap_or_else(|| format!("{home}/.aws/config"));
    let credentials = vars
        .get("AWS_SHARED_CREDENTIALS_FILE")
        .cloned()
        .unwrap_or_else(|| format!("{home}/.aws/credentials"));
    ProfileChoice {
        defined: profiles.get_profile(&name).is_some(),
        name,
        named_by,
        files: format!("{config} or {credentials}"),
    }
}

/// Where the region aws-config found came from: the same order as its region chain.
fn region_origin(
    opts: &AwsOptions,
    vars: &EnvVars,
    profiles: &ProfileSet,
    selected: &str,
) -> Option<RegionOrigin> {
    if opts.region.as_deref().is_some_and(|r| !r.is_empty()) {
        return Some(RegionOrigin::Flag);
    }
    for var in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
        if vars.contains_key(var) {
            return Some(RegionOrigin::Env(var.into()));
        }
    }
    // The profile, then its source_profile chain, as aws-config's profile region provider does.
    let mut seen = BTreeSet::new();
    let mut name = selected.to_string();
    while seen.insert(name.clone()) {
        let p = profiles.get_profile(&name)?;
        if p.get("region").is_some() {
            return Some(RegionOrigin::Profile(name));
        }
        name = p.get("source_profile")?.to_string();
    }
    None
}

fn imds_endpoint(vars: &EnvVars, profiles: &ProfileSet) -> String {
    if let Some(e) = vars.get("AWS_EC2_METADATA_SERVICE_ENDPOINT") {
        return e.clone();
    }
    if let Some(e) = profiles.get("ec2_metadata_service_endpoint") {
        return e.to_string();
    }
    let mode = vars
        .get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")
        .map(String::as_str)
        .or_else(|| profiles.get("ec2_metadata_service_endpoint_mode"));
    match mode {
        Some(m) if m.eq_ignore_ascii_case("ipv6") => "http://[fd00:ec2::254]".into(),
        _ => DEFAULT_IMDS.into(),
    }
}

async fn resolve_credentials(sdk: &SdkConfig) -> Result<Credentials, CredentialsError> {
    let provider = sdk
        .credentials_provider()
        .expect("the default loader always sets a credentials provider");
    match tokio::time::timeout(CHAIN_TIMEOUT, provider.provide_credentials()).await {
        Ok(r) => r,
        Err(_) => Err(CredentialsError::provider_timed_out(CHAIN_TIMEOUT)),
    }
}

/// Temporary credentials that are already expired would only fail at the first call, with a
/// less helpful message.
fn check_expiry(creds: &Credentials, source: &CredentialSource) -> Result<(), AwsError> {
    match creds.expiry() {
        Some(t) if t <= SystemTime::now() => Err(AwsError::Expired {
            what: format!(
                "the session credentials from {source} expired at {}",
                rfc3339(t)
            ),
            fix: match source.kind {
                SourceKind::Profile if source.provider == "CredentialProcess" => {
                    "the credential_process returned expired credentials: refresh what it reads, then retry".into()
                }
                _ => "get a fresh session (new AWS_SESSION_TOKEN, `aws sso login`, or re-run what issued it)".into(),
            },
        }),
        _ => Ok(()),
    }
}

/// aws-config's `provider_name`, which it only shows in `Debug` (the secret is redacted there,
/// and the string is dropped here).
pub(crate) fn provider_name(creds: &Credentials) -> String {
    let debug = format!("{creds:?}");
    debug
        .split_once("provider_name: \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(name, _)| name.to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn masked(key: &str) -> String {
    let n = key.chars().count();
    let tail: String = key.chars().skip(n.saturating_sub(4)).collect();
    format!("****{tail}")
}

/// The endpoint override for one service, exactly as the generated SDK clients pick it:
/// a programmatic one, then `AWS_ENDPOINT_URL_<ID>` / `AWS_ENDPOINT_URL` / profile.
pub(crate) fn endpoint_for(sdk: &SdkConfig, service: Service) -> Option<String> {
    endpoint_for_id(sdk, service.id())
}

/// [`endpoint_for`] by SDK service id (also for `SSO`, which ggp calls only through aws-config).
fn endpoint_for_id(sdk: &SdkConfig, service_id: &str) -> Option<String> {
    if sdk.get_origin("endpoint_url").is_client_config() {
        return sdk.endpoint_url().map(String::from);
    }
    let key = ServiceConfigKey::builder()
        .service_id(service_id)
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .expect("all fields set");
    sdk.service_config()
        .and_then(|c| c.load_config(key))
        .or_else(|| sdk.endpoint_url().map(String::from))
}

/// What the resolution knows, for describing sources and classifying failures.
struct Ctx<'a> {
    vars: &'a EnvVars,
    profiles: &'a ProfileSet,
    profile: &'a ProfileChoice,
    imds_endpoint: &'a str,
    sdk: &'a SdkConfig,
}

/// The source the chain would pick, by configuration alone (for naming it in errors).
#[derive(Debug)]
struct Expected {
    kind: SourceKind,
    profile: Option<String>,
    detail: String,
}

impl Expected {
    fn name(&self) -> String {
        match (&self.kind, &self.profile) {
            (SourceKind::Profile, Some(p)) => format!("profile `{p}` ({})", self.detail),
            (SourceKind::Environment, _) => "the environment".into(),
            (SourceKind::WebIdentity, _) => format!("web identity ({})", self.detail),
            (SourceKind::Container, _) => format!("the container endpoint ({})", self.detail),
            _ => format!("instance metadata ({})", self.detail),
        }
    }
}

impl Ctx<'_> {
    fn selected(&self) -> Option<&Profile> {
        self.profiles.get_profile(&self.profile.name)
    }

    fn has(&self, var: &str) -> bool {
        self.vars.contains_key(var)
    }

    /// "static keys", "assume role … from source_profile …", … for a profile.
    fn profile_detail(&self, p: &Profile) -> Option<String> {
        let role = p.get("role_arn");
        if let (Some(role), None) = (role, p.get("web_identity_token_file")) {
            return Some(
                match (p.get("source_profile"), p.get("credential_source")) {
                    (Some(src), _) => format!("assume role {role} from source_profile `{src}`"),
                    (None, Some(cs)) => format!("assume role {role} with credential_source {cs}"),
                    (None, None) => format!("assume role {role}"),
                },
            );
        }
        if let Some(file) = p.get("web_identity_token_file") {
            return Some(format!(
                "web_identity_token_file {file}, role {}",
                role.unwrap_or("?")
            ));
        }
        if p.get("sso_session").is_some() || p.get("sso_start_url").is_some() {
            let who = match p.get("sso_session") {
                Some(s) => format!("SSO session `{s}`"),
                None => format!("SSO {}", p.get("sso_start_url").unwrap_or("?")),
            };
            return Some(format!(
                "IAM Identity Center ({who}), role {} in account {}",
                p.get("sso_role_name").unwrap_or("?"),
                p.get("sso_account_id").unwrap_or("?")
            ));
        }
        if p.get("login_session").is_some() {
            return Some("console login session".into());
        }
        if p.get("credential_process").is_some() {
            return Some("credential_process".into());
        }
        if p.get("aws_access_key_id").is_some() {
            return Some("static keys".into());
        }
        None
    }

    fn container_detail(&self) -> String {
        if self.has("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            "AWS_CONTAINER_CREDENTIALS_FULL_URI".into()
        } else {
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI".into()
        }
    }

    fn web_identity_detail(&self) -> String {
        format!(
            "AWS_WEB_IDENTITY_TOKEN_FILE, role {}",
            self.vars
                .get("AWS_ROLE_ARN")
                .map(String::as_str)
                .unwrap_or("?")
        )
    }

    fn expected(&self) -> Expected {
        if self.has("AWS_ACCESS_KEY_ID") && self.profile.named_by != Some("--profile") {
            return Expected {
                kind: SourceKind::Environment,
                profile: None,
                detail: "AWS_ACCESS_KEY_ID".into(),
            };
        }
        if let Some(detail) = self.selected().and_then(|p| self.profile_detail(p)) {
            return Expected {
                kind: SourceKind::Profile,
                profile: Some(self.profile.name.clone()),
                detail,
            };
        }
        if self.has("AWS_WEB_IDENTITY_TOKEN_FILE") {
            return Expected {
                kind: SourceKind::WebIdentity,
                profile: None,
                detail: self.web_identity_detail(),
            };
        }
        if self.has("AWS_CONTAINER_CREDENTIALS_FULL_URI")
            || self.has("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        {
            return Expected {
                kind: SourceKind::Container,
                profile: None,
                detail: self.container_detail(),
            };
        }
        Expected {
            kind: SourceKind::InstanceMetadata,
            profile: None,
            detail: self.imds_endpoint.to_string(),
        }
    }

    fn describe(&self, creds: &Credentials) -> CredentialSource {
        let provider = provider_name(creds);
        let profile_detail = self.selected().and_then(|p| self.profile_detail(p));
        let in_profile = |detail: Option<String>| {
            (
                SourceKind::Profile,
                Some(self.profile.name.clone()),
                detail.unwrap_or_else(|| provider.clone()),
            )
        };
        let (kind, profile, detail) = match provider.as_str() {
            "EnvironmentVariable" => (
                SourceKind::Environment,
                None,
                "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY".into(),
            ),
            "ProfileFile" | "AssumeRoleProvider" | "CredentialProcess" | "SSO" | "Login" => {
                in_profile(profile_detail)
            }
            "WebIdentityToken"
                if self
                    .selected()
                    .is_some_and(|p| p.get("web_identity_token_file").is_some()) =>
            {
                in_profile(profile_detail)
            }
            "WebIdentityToken" => (SourceKind::WebIdentity, None, self.web_identity_detail()),
            "EcsContainer" => (SourceKind::Container, None, self.container_detail()),
            "IMDSv2" => (
                SourceKind::InstanceMetadata,
                None,
                format!("IMDSv2 at {}", self.imds_endpoint),
            ),
            other => (SourceKind::Other, None, other.to_string()),
        };
        CredentialSource {
            kind,
            provider,
            profile,
            detail,
            access_key: masked(creds.access_key_id()),
            expires: creds.expiry().map(rfc3339),
            session_token: creds.session_token().is_some(),
        }
    }

    /// Was instance metadata asked for explicitly (so that silence there is an error of its own)?
    fn imds_explicit(&self) -> bool {
        self.has("AWS_EC2_METADATA_SERVICE_ENDPOINT")
            || self.profiles.get("ec2_metadata_service_endpoint").is_some()
            || self
                .selected()
                .and_then(|p| p.get("credential_source"))
                .is_some_and(|s| s == "Ec2InstanceMetadata")
    }

    /// Turn a failed chain into the one error the user can act on.
    fn classify(&self, err: &CredentialsError) -> AwsError {
        log_detail("credential chain", err);
        if let CredentialsError::CredentialsNotLoaded(_) = err {
            if let Some(attempts) =
                chain(err).find_map(|e| e.downcast_ref::<ProviderChainError<CredentialsError>>())
            {
                return self.classify_not_loaded(attempts);
            }
        }
        let text = chain_text(err);
        let expected = self.expected();

        // Instance metadata refusing tokens ends the chain with a provider error.
        if let Some(ImdsError::FailedToLoadToken(_)) =
            chain(err).find_map(|e| e.downcast_ref::<ImdsError>())
        {
            let status = chain(err)
                .find_map(|e| e.downcast_ref::<SdkError<TokenError, HttpResponse>>())
                .and_then(|e| e.raw_response())
                .map(|r| format!("HTTP {}", r.status().as_u16()));
            return AwsError::ImdsTokenRefused {
                endpoint: self.imds_endpoint.into(),
                reason: status.unwrap_or_else(|| short(&text)),
            };
        }
        if let Some(e) = chain(err).find_map(|e| e.downcast_ref::<ImdsError>()) {
            return AwsError::CredentialsFailed {
                source_name: format!("instance metadata at {}", self.imds_endpoint),
                reason: e.to_string(),
                fix: "check the instance profile of this instance (`aws ec2 describe-iam-instance-profile-associations`)".into(),
            };
        }

        // SSO: an expired or missing login is fixed by logging in again.
        let sso = self
            .selected()
            .is_some_and(|p| p.get("sso_session").is_some() || p.get("sso_start_url").is_some());
        if sso
            && (text.contains("SSO token has expired")
                || text.contains("cached SSO token")
                || text.contains("UnauthorizedException")
                || (text.contains("failed to read") && text.contains("sso/cache")))
        {
            let session = self
                .selected()
                .and_then(|p| p.get("sso_session"))
                .map(|s| format!(" (SSO session `{s}`)"))
                .unwrap_or_default();
            let what = if text.contains("expired") || text.contains("UnauthorizedException") {
                format!(
                    "the IAM Identity Center login of profile `{}`{session} has expired",
                    self.profile.name
                )
            } else {
                format!(
                    "profile `{}`{session} has no IAM Identity Center login (no cached SSO token)",
                    self.profile.name
                )
            };
            return AwsError::Expired {
                what,
                fix: format!("run `aws sso login --profile {}`", self.profile.name),
            };
        }

        // STS (AssumeRole, AssumeRoleWithWebIdentity) or the SSO portal said no.
        if let Some((code, message)) = sts_error_in(err) {
            if is_expired_code(&code) {
                return AwsError::Expired {
                    what: format!(
                        "the session behind {} has expired ({code})",
                        expected.name()
                    ),
                    fix: "refresh the source credentials (new session token, `aws sso login`), then retry".into(),
                };
            }
            return AwsError::CredentialsFailed {
                source_name: expected.name(),
                reason: format!("{code}: {message}"),
                fix: match expected.kind {
                    SourceKind::Profile | SourceKind::WebIdentity => "check that the source identity may assume the role (the role's trust policy and sts:AssumeRole* permission)".into(),
                    _ => "run with -v to see the whole answer".into(),
                },
            };
        }

        // Nobody answered: the STS / SSO endpoint for the role, or the container endpoint.
        if connector_error(err).is_some() {
            let region = self.sdk.region().map(|r| r.to_string()).unwrap_or_default();
            let is_sso = self.selected().is_some_and(|p| {
                p.get("sso_session").is_some() || p.get("sso_start_url").is_some()
            });
            let (service, url, overridden) = match expected.kind {
                SourceKind::Container => (
                    "container credentials",
                    self.vars
                        .get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
                        .cloned()
                        .unwrap_or_else(|| "http://169.254.170.2".into()),
                    true,
                ),
                SourceKind::Profile if is_sso => match endpoint_for_id(self.sdk, "SSO") {
                    Some(url) => ("SSO", url, true),
                    None => ("SSO", "the IAM Identity Center portal".into(), false),
                },
                _ => match endpoint_for(self.sdk, Service::Sts) {
                    Some(url) => ("STS", url, true),
                    None => ("STS", Service::Sts.default_endpoint(&region), false),
                },
            };
            return AwsError::EndpointUnreachable {
                service: format!("{service} (for credentials from {})", expected.name()),
                url,
                reason: connection_reason(err),
                overridden,
            };
        }

        AwsError::CredentialsFailed {
            source_name: expected.name(),
            reason: short(&text),
            fix: match expected.kind {
                SourceKind::Profile if expected.detail == "credential_process" => {
                    "run the profile's credential_process command by hand to see why it fails"
                        .into()
                }
                SourceKind::Profile => format!(
                    "fix profile `{}` in {}",
                    self.profile.name, self.profile.files
                ),
                _ => "run with -v to see the whole error chain".into(),
            },
        }
    }

    /// Every link said "not mine": say what each was, or point at instance metadata when it was
    /// there but had nothing to give.
    fn classify_not_loaded(&self, attempts: &ProviderChainError<CredentialsError>) -> AwsError {
        let mut tried = Vec::new();
        for attempt in attempts.attempts() {
            let text = chain_text(attempt.error());
            let line = match attempt.name() {
                "Environment" => {
                    if self.has("AWS_ACCESS_KEY_ID") && self.profile.named_by == Some("--profile") {
                        "environment (ignored: --profile given)".to_string()
                    } else if self.has("AWS_ACCESS_KEY_ID") {
                        "environment (AWS_SECRET_ACCESS_KEY not set)".to_string()
                    } else {
                        "environment (AWS_ACCESS_KEY_ID not set)".to_string()
                    }
                }
                "Profile" => match (self.profile.defined, self.profiles.is_empty()) {
                    (_, true) => format!("profile `{}` (no profiles in {})", self.profile.name, self.profile.files),
                    (false, false) => format!("profile `{}` (not defined)", self.profile.name),
                    (true, false) => format!("profile `{}` (has no credentials)", self.profile.name),
                },
                "WebIdentityToken" if !self.has("AWS_WEB_IDENTITY_TOKEN_FILE") => {
                    "web identity (AWS_WEB_IDENTITY_TOKEN_FILE not set)".to_string()
                }
                "EcsContainer"
                    if !self.has("AWS_CONTAINER_CREDENTIALS_FULL_URI")
                        && !self.has("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") =>
                {
                    "container endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI not set)"
                        .to_string()
                }
                "Ec2InstanceMetadata" => {
                    if text.contains("IMDS disabled") {
                        "instance metadata (disabled by AWS_EC2_METADATA_DISABLED)".to_string()
                    } else if text.contains("404") {
                        return AwsError::ImdsNoRole {
                            endpoint: self.imds_endpoint.into(),
                        };
                    } else {
                        let reason = connection_reason(attempt.error());
                        if self.imds_explicit() {
                            return AwsError::ImdsUnreachable {
                                endpoint: self.imds_endpoint.into(),
                                reason,
                            };
                        }
                        format!(
                            "instance metadata (no answer at {}: {reason}; not on EC2?)",
                            self.imds_endpoint
                        )
                    }
                }
                other => format!("{other} ({})", short(&text)),
            };
            tried.push(line);
        }
        AwsError::NoCredentials { tried }
    }
}

/// The last, most specific message of a chain, on one line.
fn short(text: &str) -> String {
    let last = text.rsplit(": ").next().unwrap_or(text);
    last.replace('\n', " ")
}

fn is_expired_code(code: &str) -> bool {
    matches!(
        code,
        "ExpiredToken" | "ExpiredTokenException" | "TokenRefreshRequired"
    )
}

fn is_rejected_code(code: &str) -> bool {
    matches!(
        code,
        "InvalidClientTokenId"
            | "SignatureDoesNotMatch"
            | "UnrecognizedClientException"
            | "InvalidAccessKeyId"
            | "AuthFailure"
            | "InvalidSignatureException"
            | "AccessDenied"
            | "AccessDeniedException"
    )
}

/// The code and message of an STS error anywhere in a credential error chain (AssumeRole and
/// AssumeRoleWithWebIdentity are the STS operations the chain calls).
fn sts_error_in(err: &(dyn StdError + 'static)) -> Option<(String, String)> {
    use aws_sdk_sts::operation::assume_role::AssumeRoleError;
    use aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError;
    let pair = |e: &dyn ProvideErrorMetadata| {
        e.code()
            .map(|c| (c.to_string(), e.message().unwrap_or_default().to_string()))
    };
    chain(err).find_map(|e| {
        e.downcast_ref::<AssumeRoleError>()
            .and_then(|x| pair(x))
            .or_else(|| {
                e.downcast_ref::<AssumeRoleWithWebIdentityError>()
                    .and_then(|x| pair(x))
            })
    })
}

/// A failed service call, classified.
pub(crate) fn classify_call_error<E>(
    source: &CredentialSource,
    service: Service,
    operation: &str,
    url: &str,
    overridden: bool,
    err: SdkError<E, HttpResponse>,
) -> AwsError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    log_detail(&format!("{service} {operation}"), &err);
    match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            return AwsError::EndpointUnreachable {
                service: service.id().into(),
                url: url.into(),
                reason: if matches!(err, SdkError::TimeoutError(_)) {
                    "timed out".into()
                } else {
                    connection_reason(&err)
                },
                overridden,
            }
        }
        SdkError::ResponseError(r) => {
            return AwsError::Service {
                service: service.id().into(),
                operation: operation.into(),
                message: format!(
                    "{url} answered HTTP {}, which is not a {service} answer (is it the right endpoint?)",
                    r.raw().status().as_u16()
                ),
            }
        }
        _ => {}
    }
    let code = err.code().unwrap_or("").to_string();
    let message = err.message().unwrap_or("").to_string();
    let status = err.raw_response().map(|r| r.status().as_u16());
    if is_expired_code(&code) {
        return AwsError::Expired {
            what: format!("the session credentials from {source} have expired ({code})"),
            fix: "get a fresh session (new AWS_SESSION_TOKEN, `aws sso login`, or re-run what issued it)".into(),
        };
    }
    // GetCallerIdentity needs no permission: a 403 there, with or without a code the SDK could
    // read, means the signature or the keys were refused.
    let refused = is_rejected_code(&code)
        || (operation == "GetCallerIdentity" && code.is_empty() && status == Some(403));
    if refused && service == Service::Sts {
        return AwsError::CredentialsRejected {
            source_name: source.to_string(),
            code: match (code.is_empty(), message.is_empty()) {
                (true, _) => format!("HTTP {}", status.unwrap_or(403)),
                (false, true) => code,
                (false, false) => format!("{code} ({message})"),
            },
        };
    }
    AwsError::Service {
        service: service.id().into(),
        operation: operation.into(),
        message: match (code.is_empty(), message.is_empty(), status) {
            (false, false, _) => format!("{code}: {message}"),
            (false, true, _) => code,
            (true, _, Some(status)) => format!("HTTP {status} without an error code"),
            (true, _, None) => short(&chain_text(&err)),
        },
    }
}

/// `credential_source = Environment` without keys in the environment.
#[derive(Debug)]
struct NoEnvironmentKeys;

impl ProvideCredentials for NoEnvironmentKeys {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(Err(CredentialsError::invalid_configuration(
            "credential_source = Environment, but AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set",
        )))
    }
}

/// Hands out the credentials [`Session::load`] already resolved once, then defers to the chain:
/// one resolution per run, even though the check happens before the first client exists.
struct Primed {
    first: Mutex<Option<Credentials>>,
    chain: SharedCredentialsProvider,
}

impl std::fmt::Debug for Primed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Primed(default chain)")
    }
}

impl ProvideCredentials for Primed {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let first = self.first.lock().map(|mut g| g.take()).unwrap_or(None);
        match first {
            Some(c) => future::ProvideCredentials::ready(Ok(c)),
            None => self.chain.provide_credentials(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_name_comes_from_debug_without_the_secret() {
        let c = Credentials::new(
            "AKIAEXAMPLEKEY1234",
            "very-secret",
            Some("tok".into()),
            None,
            "CredentialProcess",
        );
        assert_eq!(provider_name(&c), "CredentialProcess");
        assert_eq!(masked(c.access_key_id()), "****1234");
    }

    fn sts_error(status: u16, code: Option<&str>) -> AwsError {
        use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;
        use aws_smithy_runtime_api::http::StatusCode;
        use aws_smithy_types::body::SdkBody;
        use aws_smithy_types::error::ErrorMetadata;
        let mut meta = ErrorMetadata::builder();
        if let Some(c) = code {
            meta = meta.code(c).message("as AWS says it");
        }
        let err = SdkError::service_error(
            GetCallerIdentityError::generic(meta.build()),
            HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty()),
        );
        let source = CredentialSource {
            kind: SourceKind::Environment,
            provider: "EnvironmentVariable".into(),
            profile: None,
            detail: "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY".into(),
            access_key: "****0001".into(),
            expires: None,
            session_token: false,
        };
        classify_call_error(
            &source,
            Service::Sts,
            "GetCallerIdentity",
            "https://sts",
            false,
            err,
        )
    }

    /// The codes real STS answers with (the emulator never sends them: moto does not expire
    /// sessions, and its auth mode wraps errors so the SDK reads no code, the 403 case below).
    #[test]
    fn sts_answers_are_classified() {
        let e = sts_error(400, Some("ExpiredToken"));
        assert_eq!(
            e.exit_code(),
            super::super::error::code::CREDENTIALS_EXPIRED,
            "{e}"
        );
        let e = sts_error(403, Some("InvalidClientTokenId"));
        assert_eq!(
            e.exit_code(),
            super::super::error::code::CREDENTIALS_INVALID,
            "{e}"
        );
        assert!(
            e.to_string()
                .contains("InvalidClientTokenId (as AWS says it)"),
            "{e}"
        );
        let e = sts_error(403, None);
        assert!(e.to_string().ends_with(": HTTP 403"), "{e}");
        let e = sts_error(500, None);
        assert_eq!(
            e.to_string(),
            "STS GetCallerIdentity failed: HTTP 500 without an error code"
        );
        assert!(!e.to_string().contains('{'), "no Debug output: {e}");
    }

    #[test]
    fn flag_endpoint_replaces_every_endpoint_setting() {
        let env: EnvVars = [
            ("AWS_ENDPOINT_URL_STS", "http://sts"),
            ("AWS_ENDPOINT_URL", "http://all"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
            ("AWS_REGION", ""),
            ("HOME", "/h"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let opts = AwsOptions {
            profile: Some("dev".into()),
            endpoint_url: Some("http://emu".into()),
            ..Default::default()
        };
        let v = effective_env(&opts, &env);
        assert_eq!(v.get("AWS_ENDPOINT_URL").unwrap(), "http://emu");
        assert!(!v.contains_key("AWS_ENDPOINT_URL_STS"));
        assert!(!v.contains_key("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"));
        assert!(!v.contains_key("AWS_REGION"), "empty values count as unset");
        assert_eq!(v.get("AWS_PROFILE").unwrap(), "dev");
    }
}
