//! Lambda: `<group>-<function>` created, or its code and configuration updated; a version published
//! only when either changed; the alias moved to it (never deleted and recreated); versions beyond
//! the newest N that no alias points to deleted. Packages over the direct-upload limit go through
//! S3.
//!
//! A function whose alias already points at a version with the wanted code and configuration
//! costs one read (GetFunction on the alias) and nothing else. Its function.conf text is in its
//! environment as `GGP_FUNCTION_CONF`, as GGP wrote it, so another group can use the function
//! by its alias ARN with the same settings.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use aws_sdk_lambda::primitives::{Blob, ByteStream};
use aws_sdk_lambda::types::{Environment, FunctionCode, FunctionConfiguration, Runtime};
use futures_util::StreamExt;

use super::error::{is_not_found, missing, Doing, ProvisionError};
use super::iam::with_propagation;
use super::state::FunctionState;
use super::{Action, Backoff, Ctx, DeployOptions, Package, TAG_GROUP, TAG_MANAGED_BY};
use crate::model::LambdaFunction as LambdaPlan;

/// Functions provisioned at once.
const PARALLEL: usize = 4;

/// What the group's function definition needs of each function: the version its alias points to.
pub type Versions = BTreeMap<String, String>;

/// Converges every function of the plan; returns function name (function.conf) → version.
pub(crate) async fn converge_all(
    ctx: &Ctx<'_>,
    lambdas: &[LambdaPlan],
    packages: &[Package],
    opts: &DeployOptions,
) -> Result<Versions, ProvisionError> {
    let names = function_names(&ctx.group, lambdas);
    let jobs: Vec<(String, &LambdaPlan)> = lambdas
        .iter()
        .map(|l| {
            let conf = names
                .iter()
                .find(|(_, n)| **n == l.function_name)
                .map(|(c, _)| c.clone())
                .unwrap_or_else(|| l.function_name.clone());
            (conf, l)
        })
        .collect();
    futures_util::stream::iter(jobs)
        .map(|(conf, l)| async move {
            let pkg = packages.iter().find(|p| p.function == conf);
            if pkg.is_none() && ctx.apply {
                return Err(ProvisionError::Input(format!(
                    "no package was built for the function {conf}"
                )));
            }
            let v = converge_function(ctx, &conf, l, pkg, opts).await?;
            ctx.checkpoint(&format!("after-lambda:{conf}"))?;
            Ok((conf, v))
        })
        .buffer_unordered(PARALLEL)
        // Every function runs to its end even when another fails: nothing is abandoned in flight.
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// Base64 of the package's sha256, as Lambda reports `CodeSha256`.
fn code_sha256(pkg: &Package) -> Result<String, ProvisionError> {
    let bytes: Vec<u8> = (0..pkg.sha256.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(pkg.sha256.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<_, _>>()
        .map_err(|_| {
            ProvisionError::Input(format!(
                "the package of {} has no valid sha256 ({})",
                pkg.function, pkg.sha256
            ))
        })?;
    Ok(aws_smithy_types::base64::encode(bytes))
}

/// Lambda's limit for all environment variables of a function together (names and values).
const ENVIRONMENT_LIMIT: usize = 4096;

/// The function's environment on Lambda: the plan's, plus its function.conf text as
/// `GGP_FUNCTION_CONF` (what GGP wrote, read back by `external.rs` when another group uses the
/// function by its alias ARN) unless that would pass Lambda's 4 KB limit.
fn lambda_environment(l: &LambdaPlan) -> BTreeMap<String, String> {
    let mut env = l.environment.clone();
    if let Some(text) = &l.function_conf {
        let size: usize = env.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
            + super::external::FUNCTION_CONF_VARIABLE.len()
            + text.len();
        if size <= ENVIRONMENT_LIMIT {
            env.insert(super::external::FUNCTION_CONF_VARIABLE.into(), text.clone());
        }
    }
    env
}

/// The configuration fields that differ from the plan.
fn config_differences(cfg: &FunctionConfiguration, l: &LambdaPlan) -> Vec<String> {
    let mut d = Vec::new();
    if cfg.runtime().map(Runtime::as_str) != Some(l.runtime.as_str()) {
        d.push("runtime".to_string());
    }
    if cfg.handler() != Some(l.handler.as_str()) {
        d.push("handler".into());
    }
    if cfg.role() != Some(l.role_arn.as_str()) {
        d.push("role".into());
    }
    if cfg.memory_size().map(i64::from) != i64::try_from(l.memory_size_mb).ok() {
        d.push("memory".into());
    }
    if cfg.timeout().map(i64::from) != i64::try_from(l.timeout_seconds).ok() {
        d.push("timeout".into());
    }
    let env: BTreeMap<String, String> = cfg
        .environment()
        .and_then(|e| e.variables())
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    if env != lambda_environment(l) {
        d.push("environment".into());
    }
    d
}

fn environment(l: &LambdaPlan) -> Environment {
    Environment::builder()
        .set_variables(Some(
            lambda_environment(l).into_iter().collect::<HashMap<_, _>>(),
        ))
        .build()
}

fn int(v: u64, what: &str) -> Result<i32, ProvisionError> {
    i32::try_from(v).map_err(|_| ProvisionError::Input(format!("{what} {v} is out of range")))
}

enum Code {
    Zip(Vec<u8>),
    S3 { bucket: String, key: String },
}

/// The package as Lambda takes it: in the request, or uploaded to S3 when it is over the limit.
async fn upload(
    ctx: &Ctx<'_>,
    name: &str,
    pkg: &Package,
    opts: &DeployOptions,
) -> Result<Code, ProvisionError> {
    if pkg.size <= opts.direct_upload_limit {
        let bytes = std::fs::read(&pkg.path).map_err(|e| {
            ProvisionError::Input(format!(
                "cannot read the package {}: {e}",
                pkg.path.display()
            ))
        })?;
        return Ok(Code::Zip(bytes));
    }
    let s3 = opts.s3.as_ref().ok_or_else(|| {
        ProvisionError::Input(format!(
            "the package of {} is {} bytes, over Lambda's direct upload limit of {} bytes: pass --s3-bucket and --s3-directory to upload it through S3",
            pkg.function, pkg.size, opts.direct_upload_limit
        ))
    })?;
    let prefix = s3.prefix.trim_matches('/');
    let file = format!("{name}-{}.zip", pkg.sha256);
    let key = if prefix.is_empty() {
        file
    } else {
        format!("{prefix}/{file}")
    };
    let client = &ctx.c().s3;
    let exists = match client
        .head_object()
        .bucket(&s3.bucket)
        .key(&key)
        .send()
        .await
    {
        Ok(h) => h.content_length == Some(pkg.size as i64),
        Err(e) if is_not_found(&e) || super::error::status_of(&e) == Some(404) => false,
        Err(e) => {
            return Err(e).doing(|| format!("checking s3://{}/{key}", s3.bucket));
        }
    };
    if !exists {
        let body = ByteStream::from_path(&pkg.path).await.map_err(|e| {
            ProvisionError::Input(format!(
                "cannot read the package {}: {e}",
                pkg.path.display()
            ))
        })?;
        client
            .put_object()
            .bucket(&s3.bucket)
            .key(&key)
            .body(body)
            .send()
            .await
            .doing(|| {
                format!(
                    "uploading the package of {} to s3://{}/{key}",
                    pkg.function, s3.bucket
                )
            })?;
    }
    Ok(Code::S3 {
        bucket: s3.bucket.clone(),
        key,
    })
}

async fn get(
    ctx: &Ctx<'_>,
    name: &str,
    qualifier: Option<&str>,
) -> Result<Option<FunctionConfiguration>, ProvisionError> {
    match ctx
        .c()
        .lambda
        .get_function()
        .function_name(name)
        .set_qualifier(qualifier.map(str::to_string))
        .send()
        .await
    {
        Ok(out) => Ok(out.configuration),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e).doing(|| format!("reading the Lambda function {name}")),
    }
}

/// Polls until the function is no longer Pending and no update is in progress.
async fn wait_ready(ctx: &Ctx<'_>, name: &str) -> Result<(), ProvisionError> {
    use aws_sdk_lambda::types::{LastUpdateStatus, State};
    let mut backoff = Backoff::new(
        Duration::from_millis(100),
        Duration::from_secs(5),
        Duration::from_secs(300),
    );
    // Shown once Lambda says it is not ready yet.
    let mut waiting: Option<super::progress::Waiting> = None;
    loop {
        let cfg = ctx
            .c()
            .lambda
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .doing(|| format!("waiting for the Lambda function {name}"))?;
        let failed = |why: Option<&str>| {
            ProvisionError::Input(format!(
                "Lambda could not set up the function {name}: {}",
                why.unwrap_or("no reason given")
            ))
        };
        match (cfg.state(), cfg.last_update_status()) {
            (Some(State::Failed), _) => return Err(failed(cfg.state_reason())),
            (_, Some(LastUpdateStatus::Failed)) => {
                return Err(failed(cfg.last_update_status_reason()))
            }
            (Some(State::Pending), _) | (_, Some(LastUpdateStatus::InProgress)) => {
                waiting
                    .get_or_insert_with(|| {
                        ctx.progress
                            .wait(format!("the Lambda function {name} to be ready"))
                    })
                    .still("Pending");
                if !backoff.next().await {
                    return Err(ProvisionError::Input(format!(
                        "the Lambda function {name} is still being updated after 300s"
                    )));
                }
            }
            _ => {
                if let Some(w) = waiting.take() {
                    w.done("ready");
                }
                return Ok(());
            }
        }
    }
}

/// What one function's convergence needs to know.
struct Job<'a> {
    /// The function name in function.conf (the state's key).
    conf: &'a str,
    l: &'a LambdaPlan,
    pkg: Option<&'a Package>,
    arn: String,
    want_code: Option<String>,
}

impl Job<'_> {
    fn package(&self) -> Result<&Package, ProvisionError> {
        self.pkg
            .ok_or_else(|| ProvisionError::Input(format!("no package for {}", self.conf)))
    }

    /// Records the function's deployed version and code in the state.
    fn remember(&self, ctx: &Ctx<'_>, version: &str, code: &str) {
        ctx.update_state(|s| {
            s.functions.insert(
                self.conf.to_string(),
                FunctionState {
                    name: self.l.function_name.clone(),
                    arn: self.arn.clone(),
                    version: version.to_string(),
                    alias: self.l.alias.clone(),
                    code_sha256: code.to_string(),
                },
            );
        })
    }
}

/// Creates or converges one function and its alias; returns the version the alias points to.
async fn converge_function(
    ctx: &Ctx<'_>,
    conf: &str,
    l: &LambdaPlan,
    pkg: Option<&Package>,
    opts: &DeployOptions,
) -> Result<String, ProvisionError> {
    let name = &l.function_name;
    if l.function_conf.is_some()
        && !lambda_environment(l).contains_key(super::external::FUNCTION_CONF_VARIABLE)
    {
        ctx.warn(format!(
            "{}/function.conf is not written on the Lambda function {name} as {}: with the function's environment it passes Lambda's 4 KB limit, so a group using {} by its alias ARN gets function.defaults.conf's settings",
            l.source,
            super::external::FUNCTION_CONF_VARIABLE,
            l.alias_arn
        ));
    }
    let t = Job {
        conf,
        l,
        pkg,
        arn: format!(
            "{}:function:{name}",
            crate::model::arn::prefix("lambda", &ctx.cloud.region, &ctx.cloud.account)
        ),
        want_code: pkg.map(code_sha256).transpose()?,
    };
    // The version the alias points to: if it is what the plan says, there is nothing to do.
    if let Some(cfg) = get(ctx, name, Some(&l.alias)).await? {
        let code_same = match (&t.want_code, cfg.code_sha256()) {
            (Some(w), Some(h)) => w == h,
            (None, _) => true,
            _ => false,
        };
        if code_same && config_differences(&cfg, l).is_empty() {
            let version = cfg
                .version
                .clone()
                .ok_or_else(|| missing("reading a Lambda alias", "Version"))?;
            let details = if t.want_code.is_none() {
                vec!["code not compared (no package built)".to_string()]
            } else {
                vec![]
            };
            ctx.record("lambda-function", name, Action::Unchanged, details);
            t.remember(ctx, &version, cfg.code_sha256().unwrap_or_default());
            return Ok(version);
        }
    }
    match get(ctx, name, None).await? {
        None => create_function(ctx, &t, opts).await,
        Some(latest) => update_function(ctx, &t, &latest, opts).await,
    }
}

/// A new function, published as version 1 in the same call, and its alias.
async fn create_function(
    ctx: &Ctx<'_>,
    t: &Job<'_>,
    opts: &DeployOptions,
) -> Result<String, ProvisionError> {
    let (lambda, l) = (&ctx.c().lambda, t.l);
    let name = &l.function_name;
    if !ctx.apply {
        ctx.record(
            "lambda-function",
            name,
            Action::Create,
            vec![format!("alias {}", l.alias)],
        );
        return Ok(crate::config::placeholder("VERSION"));
    }
    let code = match upload(ctx, name, t.package()?, opts).await? {
        Code::Zip(b) => FunctionCode::builder().zip_file(Blob::new(b)).build(),
        Code::S3 { bucket, key } => FunctionCode::builder()
            .s3_bucket(bucket)
            .s3_key(key)
            .build(),
    };
    let created = with_propagation(ctx, "creating a Lambda function", || {
        let code = code.clone();
        async move {
            lambda
                .create_function()
                .function_name(name)
                .runtime(Runtime::from(l.runtime.as_str()))
                .role(&l.role_arn)
                .handler(&l.handler)
                .code(code)
                .memory_size(int(l.memory_size_mb, "memory size")?)
                .timeout(int(l.timeout_seconds, "timeout")?)
                .environment(environment(l))
                .publish(true)
                .tags(TAG_MANAGED_BY, "ggp")
                .tags(TAG_GROUP, &ctx.group)
                .send()
                .await
                .doing(|| format!("creating the Lambda function {name}"))
        }
    })
    .await?;
    let version = created
        .version
        .clone()
        .ok_or_else(|| missing("creating a Lambda function", "Version"))?;
    wait_ready(ctx, name).await?;
    converge_alias(ctx, name, &l.alias, &version).await?;
    t.remember(ctx, &version, created.code_sha256().unwrap_or_default());
    ctx.record(
        "lambda-function",
        name,
        Action::Create,
        vec![format!("version {version}"), format!("alias {}", l.alias)],
    );
    Ok(version)
}

/// An existing function whose code or configuration differs: updated, published as a new
/// version, the alias moved to it and old versions pruned.
async fn update_function(
    ctx: &Ctx<'_>,
    t: &Job<'_>,
    latest: &FunctionConfiguration,
    opts: &DeployOptions,
) -> Result<String, ProvisionError> {
    let (lambda, l) = (&ctx.c().lambda, t.l);
    let name = &l.function_name;
    let mut details = Vec::new();
    let code_changed = match (&t.want_code, latest.code_sha256()) {
        (Some(w), Some(h)) => w != h,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let config = config_differences(latest, l);
    if code_changed {
        details.push("code".to_string());
        if ctx.apply {
            let req = lambda.update_function_code().function_name(name);
            let req = match upload(ctx, name, t.package()?, opts).await? {
                Code::Zip(b) => req.zip_file(Blob::new(b)),
                Code::S3 { bucket, key } => req.s3_bucket(bucket).s3_key(key),
            };
            req.send()
                .await
                .doing(|| format!("updating the code of the Lambda function {name}"))?;
            wait_ready(ctx, name).await?;
        }
    }
    if !config.is_empty() {
        details.push(format!("configuration ({})", config.join(", ")));
        if ctx.apply {
            with_propagation(ctx, "updating a Lambda function", || async {
                lambda
                    .update_function_configuration()
                    .function_name(name)
                    .runtime(Runtime::from(l.runtime.as_str()))
                    .role(&l.role_arn)
                    .handler(&l.handler)
                    .memory_size(int(l.memory_size_mb, "memory size")?)
                    .timeout(int(l.timeout_seconds, "timeout")?)
                    .environment(environment(l))
                    .send()
                    .await
                    .doing(|| format!("updating the configuration of the Lambda function {name}"))
            })
            .await?;
            wait_ready(ctx, name).await?;
        }
    }
    if !ctx.apply {
        details.push("new version".into());
        details.push(format!("alias {}", l.alias));
        ctx.record("lambda-function", name, Action::Update, details);
        return Ok(crate::config::placeholder("VERSION"));
    }
    // $LATEST is now what the plan says; publish it (the service returns the existing version
    // when $LATEST equals the newest published one, e.g. after an interrupted run).
    let code = t.want_code.clone().unwrap_or_default();
    let published = lambda
        .publish_version()
        .function_name(name)
        .code_sha256(&code)
        .send()
        .await
        .doing(|| format!("publishing a version of the Lambda function {name}"))?;
    let version = published
        .version
        .clone()
        .ok_or_else(|| missing("publishing a Lambda version", "Version"))?;
    details.push(format!("version {version}"));
    if converge_alias(ctx, name, &l.alias, &version).await? {
        details.push(format!("alias {} → {version}", l.alias));
    }
    let pruned = prune_versions(ctx, name, opts.keep_versions).await?;
    if !pruned.is_empty() {
        details.push(format!("deleted old versions {}", pruned.join(", ")));
    }
    t.remember(ctx, &version, &code);
    ctx.record("lambda-function", name, Action::Update, details);
    Ok(version)
}

/// Points the alias at `version` (created if missing, moved if elsewhere); true if it changed.
async fn converge_alias(
    ctx: &Ctx<'_>,
    name: &str,
    alias: &str,
    version: &str,
) -> Result<bool, ProvisionError> {
    let lambda = &ctx.c().lambda;
    let current = match lambda
        .get_alias()
        .function_name(name)
        .name(alias)
        .send()
        .await
    {
        Ok(a) => a.function_version,
        Err(e) if is_not_found(&e) => None,
        Err(e) => return Err(e).doing(|| format!("reading the alias {alias} of {name}")),
    };
    match current {
        Some(v) if v == version => Ok(false),
        Some(_) => {
            lambda
                .update_alias()
                .function_name(name)
                .name(alias)
                .function_version(version)
                .send()
                .await
                .doing(|| format!("moving the alias {alias} of {name} to version {version}"))?;
            Ok(true)
        }
        None => {
            lambda
                .create_alias()
                .function_name(name)
                .name(alias)
                .function_version(version)
                .send()
                .await
                .doing(|| format!("creating the alias {alias} of {name}"))?;
            Ok(true)
        }
    }
}

/// Deletes numbered versions beyond the newest `keep` that no alias points to.
async fn prune_versions(
    ctx: &Ctx<'_>,
    name: &str,
    keep: usize,
) -> Result<Vec<String>, ProvisionError> {
    let lambda = &ctx.c().lambda;
    let mut versions: Vec<u64> = Vec::new();
    let mut pages = lambda
        .list_versions_by_function()
        .function_name(name)
        .into_paginator()
        .items()
        .send();
    while let Some(v) = pages.next().await {
        let v = v.doing(|| format!("listing the versions of {name}"))?;
        if let Some(n) = v.version.as_deref().and_then(|s| s.parse().ok()) {
            versions.push(n);
        }
    }
    let mut aliased: BTreeSet<u64> = BTreeSet::new();
    let mut pages = lambda
        .list_aliases()
        .function_name(name)
        .into_paginator()
        .items()
        .send();
    while let Some(a) = pages.next().await {
        let a = a.doing(|| format!("listing the aliases of {name}"))?;
        if let Some(n) = a.function_version.as_deref().and_then(|s| s.parse().ok()) {
            aliased.insert(n);
        }
    }
    versions.sort_unstable_by(|a, b| b.cmp(a));
    let mut deleted = Vec::new();
    for v in versions
        .into_iter()
        .skip(keep)
        .filter(|v| !aliased.contains(v))
    {
        let q = v.to_string();
        lambda
            .delete_function()
            .function_name(name)
            .qualifier(&q)
            .send()
            .await
            .doing(|| format!("deleting version {q} of {name}"))?;
        deleted.push(q);
    }
    deleted.sort_by_key(|s| s.parse::<u64>().unwrap_or(0));
    Ok(deleted)
}

/// Functions of this group that an earlier deploy made and the config no longer lists. Runs after
/// the new deployment succeeded, when nothing deployed refers to them any more.
pub(crate) async fn remove_stale(
    ctx: &Ctx<'_>,
    lambdas: &[LambdaPlan],
) -> Result<(), ProvisionError> {
    let wanted: BTreeSet<String> = function_names(&ctx.group, lambdas).into_keys().collect();
    let stale: Vec<(String, String)> = ctx.state(|s| {
        s.functions
            .iter()
            .filter(|(k, _)| !wanted.contains(*k))
            .map(|(k, f)| (k.clone(), f.name.clone()))
            .collect()
    });
    for (conf, name) in stale {
        let tags = match ctx
            .c()
            .lambda
            .get_function()
            .function_name(&name)
            .send()
            .await
        {
            Ok(out) => out.tags.unwrap_or_default(),
            Err(e) if is_not_found(&e) => {
                ctx.update_state(|s| {
                    s.functions.remove(&conf);
                });
                continue;
            }
            Err(e) => return Err(e).doing(|| format!("reading the Lambda function {name}")),
        };
        if tags.get(TAG_GROUP) != Some(&ctx.group) {
            ctx.warn(format!(
                "the Lambda function {name} is no longer in the deployment but is not tagged {TAG_GROUP}={}: left in place",
                ctx.group
            ));
            continue;
        }
        if ctx.apply {
            ctx.c()
                .lambda
                .delete_function()
                .function_name(&name)
                .send()
                .await
                .doing(|| {
                    format!("deleting the Lambda function {name}, no longer in the deployment")
                })?;
        }
        ctx.record(
            "lambda-function",
            &name,
            Action::Delete,
            vec!["no longer in the deployment".into()],
        );
        ctx.update_state(|s| {
            s.functions.remove(&conf);
        });
    }
    Ok(())
}

/// Lambda function names of a plan, keyed by the function name in function.conf.
pub fn function_names(group: &str, lambdas: &[LambdaPlan]) -> BTreeMap<String, String> {
    let prefix = format!("{group}-");
    lambdas
        .iter()
        .map(|l| {
            (
                l.function_name
                    .strip_prefix(&prefix)
                    .unwrap_or(&l.function_name)
                    .to_string(),
                l.function_name.clone(),
            )
        })
        .collect()
}
