//! The command layer: every command of `ggp` as a library function that takes resolved options
//! and returns a report, so `main` only parses, resolves ([`resolve`]), calls one, prints and
//! exits, and the tests call the same functions.
//!
//! - [`plan`]: the plan of either target, offline or compared with the account;
//! - [`build`]: the function packages per architecture;
//! - [`deploy`]: load, clone git functions, build, connect, ensure the group or thing group,
//!   reload with the real ids, resolve external functions, plan, converge, and write the offline
//!   outputs asked for;
//! - [`bundle`]: the offline installers of a provisioned group;
//! - [`destroy`]: what ggp made for a group, deleted;
//! - [`doctor`]: the workstation's credentials, region, endpoints and Docker engine;
//! - [`status`], [`logs`], [`diagnose`]: a deployed group as the account sees it, its log lines
//!   in CloudWatch Logs, and its known failure patterns with their fixes (read only).
//!
//! A [`Context`] carries what every command shares: the environment (a value, never read from the
//! process here), the project folder, the AWS options or an already connected [`Cloud`], and how
//! progress is shown.

pub mod build;
pub mod bundle;
pub mod deploy;
pub mod destroy;
pub mod diagnose;
pub mod doctor;
pub mod logs;
pub mod plan;
pub mod resolve;
pub mod status;

use std::collections::BTreeMap;
use std::path::PathBuf;

use tokio::sync::OnceCell;

use crate::aws::AwsOptions;
use crate::config::{load_project, DeploymentSource, Injected, Project, ProjectPaths};
use crate::error::Result;
use crate::provision::state::{State, StateStore};
use crate::provision::{Clients, Cloud};

/// A future that completes at the first SIGINT (Ctrl-C). The handler is installed when this is
/// called, so a Ctrl-C from then on reaches it instead of ending the process.
pub(crate) fn interrupt() -> Result<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>>
{
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut s = signal(SignalKind::interrupt())
            .map_err(|e| crate::error::Error::Other(format!("cannot catch Ctrl-C: {e}")))?;
        Ok(Box::pin(async move {
            s.recv().await;
        }))
    }
    #[cfg(not(unix))]
    {
        Ok(Box::pin(async {
            let _ = tokio::signal::ctrl_c().await;
        }))
    }
}

/// How output and progress are shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ui {
    /// `--json`: stdout is JSON; progress goes to stderr as lines.
    pub json: bool,
    /// `-q`: errors only.
    pub quiet: bool,
    /// `-v` and more.
    pub verbose: bool,
}

/// What every command shares.
#[derive(Debug)]
pub struct Context {
    /// The process environment, as a value.
    pub env: BTreeMap<String, String>,
    pub paths: ProjectPaths,
    pub aws: AwsOptions,
    pub ui: Ui,
    cloud: OnceCell<Cloud>,
}

impl Context {
    pub fn new(
        env: BTreeMap<String, String>,
        paths: ProjectPaths,
        aws: AwsOptions,
        ui: Ui,
    ) -> Context {
        Context {
            env,
            paths,
            aws,
            ui,
            cloud: OnceCell::new(),
        }
    }

    /// A context whose AWS calls go to `cloud` (an emulator's clients in tests).
    pub fn with_cloud(self, cloud: Cloud) -> Context {
        let _ = self.cloud.set(cloud);
        self
    }

    /// The account and its clients, connected on first use (credentials, region and the account
    /// as the AWS CLI resolves them).
    pub async fn cloud(&self) -> Result<&Cloud> {
        self.cloud
            .get_or_try_init(|| async {
                let aws = crate::aws::connect(&self.aws, &self.env).await?;
                Ok(Cloud {
                    clients: Clients::for_aws(&aws),
                    account: aws.account().await?.to_string(),
                    region: aws.region().name.clone(),
                })
            })
            .await
    }

    /// The account when it can be reached; `None` (an offline plan follows) when there are no
    /// credentials or no region and no profile or endpoint was named on the command line.
    pub async fn cloud_if_any(&self) -> Result<Option<&Cloud>> {
        let explicit = self.aws.profile.is_some() || self.aws.endpoint_url.is_some();
        match self.cloud().await {
            Ok(c) => Ok(Some(c)),
            Err(e) if !explicit => {
                tracing::info!("offline plan (no AWS credentials or region: {e})");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The region as far as it is known without network.
    pub fn offline_region(&self) -> Option<String> {
        self.aws
            .region
            .clone()
            .or_else(|| self.env.get("AWS_REGION").cloned())
            .or_else(|| self.env.get("AWS_DEFAULT_REGION").cloned())
            .filter(|r| !r.is_empty())
    }

    /// The deployment `-d` names (a file, or `EMPTY`).
    pub fn source(&self, deployment: &str) -> DeploymentSource {
        DeploymentSource::from_arg(deployment, &self.paths)
    }

    /// The project, loaded and checked with the values `injected` knows.
    pub fn load(&self, source: &DeploymentSource, injected: &Injected) -> Result<Project> {
        Ok(load_project(&self.paths, source, injected, &self.env)?)
    }

    /// Where a group's state is kept when `--state-dir` does not say.
    pub fn state_dir(&self, flag: Option<&PathBuf>, group: &str) -> PathBuf {
        flag.cloned()
            .unwrap_or_else(|| StateStore::default_dir(&self.paths.root, group))
    }

    /// The group's state (empty when there is none yet).
    pub fn state(&self, dir: &std::path::Path, group: &str) -> Result<State> {
        Ok(StateStore::new(dir).load(group)?)
    }

    /// GGP's credentials of `group` in the project (`credentials/<group>/core.pem`, `core.key`),
    /// when it has them: adopted by a first deploy.
    pub fn ggp_credentials(
        &self,
        group: &str,
    ) -> Result<Option<crate::provision::state::GgpCredentials>> {
        Ok(crate::provision::state::GgpCredentials::read(
            &self.paths.root.join("credentials").join(group),
        )?)
    }

    /// The day the runtime table is applied on: `GGP_TODAY=YYYY-MM-DD`, else the system clock
    /// (UTC).
    pub fn today(&self) -> Result<crate::runtimes::Date> {
        match self.env.get("GGP_TODAY").filter(|v| !v.is_empty()) {
            Some(v) => v.parse().map_err(|e| {
                crate::error::Error::Usage(format!(
                    "GGP_TODAY: {e} (unset it to use the system date)"
                ))
            }),
            None => Ok(crate::runtimes::Date::today()),
        }
    }

    /// The Lambda runtime table applied to `project` for `target` (`crate::runtimes::check`):
    /// blocked runtimes upgraded where the project allows it, refused on V2 otherwise.
    pub fn check_runtimes(
        &self,
        project: &mut Project,
        target: crate::config::Target,
    ) -> Result<()> {
        Ok(crate::runtimes::check(project, target, self.today()?)?)
    }

    /// `SOURCE_DATE_EPOCH`, or 0.
    pub fn epoch(&self) -> Result<u64> {
        match self.env.get("SOURCE_DATE_EPOCH").filter(|v| !v.is_empty()) {
            Some(v) => v.parse().map_err(|_| {
                crate::error::Error::Usage(format!(
                    "SOURCE_DATE_EPOCH={v} is not a number of seconds"
                ))
            }),
            None => Ok(0),
        }
    }
}
