//! Functions that are not folders under `functions/`, as GGP took them (`conf.functions`):
//!
//! - git URLs (`https://…git[:subdir]`, `git@…`, `ssh://…`, and `file://…` for local
//!   repositories): cloned shallow with the `git` CLI into a temporary folder ([`GitCheckouts`]),
//!   then loaded, checked and built exactly like a local function folder;
//! - existing Lambda alias ARNs and `~partial~:ALIAS` wildcards (ListFunctions, every function whose
//!   name matches the regex `partial` anywhere, at `ALIAS`): used as is, never built, changed or
//!   deleted. Their Greengrass configuration is the function.conf text in their environment variable
//!   `GGP_FUNCTION_CONF` (what GGP wrote on the functions it deployed), merged over
//!   `deployments/function.defaults.conf` like a local function.conf ([`resolve_functions`]).
//!
//! Each resolved function becomes one more [`FunctionConf`] of the project, so the plan, the
//! build and the converge steps treat it like any other.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use aws_sdk_lambda::types::FunctionConfiguration;

use super::error::{Doing, ProvisionError};
use super::Cloud;
use crate::config::{
    load_function_conf, ConfigErrors, ExistingFunction, FunctionConf, FunctionRef, Injected,
    Project,
};
use crate::language::Language;

/// The environment variable holding an existing function's configuration (GGP's name).
pub const FUNCTION_CONF_VARIABLE: &str = "GGP_FUNCTION_CONF";

/// The git functions of a project, cloned into one temporary folder (removed when this is dropped).
#[derive(Debug, Default)]
pub struct GitCheckouts {
    _dir: Option<tempfile::TempDir>,
    /// Each git entry of `conf.functions` and its function folder in the checkout.
    folders: Vec<(FunctionRef, PathBuf)>,
}

fn git_error(url: &str, message: impl Into<String>) -> ProvisionError {
    ProvisionError::Input(format!("function {url}: {}", message.into()))
}

impl GitCheckouts {
    /// Clones (shallow) every git repository the deployment lists; nothing when it lists none.
    pub fn clone_all(project: &Project) -> Result<GitCheckouts, ProvisionError> {
        let refs: Vec<&FunctionRef> = project
            .deployment
            .functions
            .iter()
            .filter(|r| matches!(r, FunctionRef::Git { .. }))
            .collect();
        if refs.is_empty() {
            return Ok(GitCheckouts::default());
        }
        let dir = tempfile::Builder::new()
            .prefix("ggp-git-")
            .tempdir()
            .map_err(|e| ProvisionError::Input(format!("cannot make a temporary folder: {e}")))?;
        let mut clones: BTreeMap<String, PathBuf> = BTreeMap::new();
        let mut folders = Vec::new();
        for r in refs {
            let FunctionRef::Git { url, subdir } = r else {
                continue;
            };
            let checkout = match clones.get(url) {
                Some(c) => c.clone(),
                None => {
                    let c = dir.path().join(clones.len().to_string());
                    clone(url, &c)?;
                    clones.insert(url.clone(), c.clone());
                    c
                }
            };
            let folder = match subdir {
                Some(s) => checkout.join(s.trim_matches('/')),
                None => checkout,
            };
            if !folder.join("function.conf").is_file() {
                return Err(git_error(
                    &r.display(),
                    format!(
                        "the repository has no function.conf in {}",
                        subdir.as_deref().unwrap_or("its top folder")
                    ),
                ));
            }
            folders.push((r.clone(), folder));
        }
        Ok(GitCheckouts {
            _dir: Some(dir),
            folders,
        })
    }

    /// Adds the cloned functions to `project` (again after a reload with other injected values),
    /// each loaded and checked like a local function folder.
    pub fn add_to(
        &self,
        project: &mut Project,
        injected: &Injected,
        env: &BTreeMap<String, String>,
    ) -> Result<(), ConfigErrors> {
        let mut errors = Vec::new();
        for (r, folder) in &self.folders {
            if project
                .functions
                .iter()
                .any(|f| f.resolved_from.as_ref() == Some(r))
            {
                continue;
            }
            let dir_name = git_dir_name(r);
            match load_function_conf(
                &project.paths,
                &folder.join("function.conf"),
                &dir_name,
                Some(folder),
                None,
                injected,
                env,
            ) {
                Ok((mut f, warnings)) => {
                    f.resolved_from = Some(r.clone());
                    project.functions.push(f);
                    project.warnings.extend(warnings);
                }
                Err(e) => errors.extend(e.0),
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errors))
        }
    }
}

/// `git clone --depth 1` of `url` into `into`.
fn clone(url: &str, into: &Path) -> Result<(), ProvisionError> {
    let out = Command::new("git")
        .args(["clone", "--depth", "1", "--quiet", "--", url])
        .arg(into)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|e| git_error(url, format!("cannot run git: {e}")))?;
    if !out.status.success() {
        return Err(git_error(
            url,
            format!(
                "git clone failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(())
}

/// A name for a git function's folder: its subdir's last part, or the repository's name.
fn git_dir_name(r: &FunctionRef) -> String {
    let FunctionRef::Git { url, subdir } = r else {
        return r.display();
    };
    let last = |s: &str| {
        s.trim_end_matches('/')
            .rsplit(['/', ':'])
            .next()
            .unwrap_or(s)
            .to_string()
    };
    match subdir {
        Some(s) => last(s),
        None => last(url.trim_end_matches(".git")),
    }
}

/// The secrets the project's functions name (`localSecretsManagerResources`, a name or an ARN)
/// resolved to their full ARNs with DescribeSecret, which takes either: Secrets Manager adds a
/// random `-XXXXXX` to every secret's ARN, so an ARN built from the name is not the secret's and
/// the SecretManager component's `cloudSecrets` wants the real one. An ARN that already ends in a
/// suffix is kept as is, and so is a secret in `known` (resolved by an earlier pass). Returns the
/// found ones (configured value → ARN, `known` included) and, for the missing ones,
/// `"function F: secret S"`. Only reads.
pub async fn resolve_secrets(
    cloud: &Cloud,
    project: &Project,
    known: &BTreeMap<String, String>,
) -> Result<(BTreeMap<String, String>, Vec<String>), ProvisionError> {
    let mut found = known.clone();
    let mut missing = Vec::new();
    for f in &project.functions {
        for s in &f.local_secrets_manager_resources {
            if found.contains_key(s)
                || (s.starts_with("arn:") && crate::model::resources::secret_has_suffix(s))
            {
                continue;
            }
            match cloud
                .clients
                .secretsmanager
                .describe_secret()
                .secret_id(s)
                .send()
                .await
            {
                Ok(d) => {
                    if let Some(arn) = d.arn() {
                        found.insert(s.clone(), arn.to_string());
                    }
                }
                Err(e) if super::error::is_not_found(&e) => {
                    missing.push(format!("function {}: secret {s}", f.function_name));
                }
                Err(e) => {
                    return Err(e)
                        .doing(|| format!("reading the secret {s} of {}", f.function_name))
                }
            }
        }
    }
    Ok((found, missing))
}

/// Resolves every entry of `conf.functions` that is not a local folder into functions of the
/// project: git checkouts (see [`GitCheckouts::add_to`]), then alias ARNs and `~wildcards~` from
/// the account (GetAlias, GetFunctionConfiguration of the aliased version, ListFunctions). Only
/// reads: nothing in the account changes.
pub async fn resolve_functions(
    cloud: &Cloud,
    project: &mut Project,
    git: &GitCheckouts,
    injected: &Injected,
    env: &BTreeMap<String, String>,
) -> Result<(), ProvisionError> {
    git.add_to(project, injected, env)
        .map_err(|e| ProvisionError::Input(e.to_string()))?;
    let refs: Vec<FunctionRef> = crate::model::unresolved(project);
    if refs.is_empty() {
        return Ok(());
    }
    let texts = tempfile::Builder::new()
        .prefix("ggp-function-conf-")
        .tempdir()
        .map_err(|e| ProvisionError::Input(format!("cannot make a temporary folder: {e}")))?;
    // Functions this deployment creates itself are never matched by a wildcard.
    let own: Vec<String> = project
        .functions
        .iter()
        .filter(|f| f.existing.is_none())
        .map(|f| format!("{}-{}", injected.group_name, f.function_name))
        .collect();
    let mut listed: Option<Vec<FunctionConfiguration>> = None;
    for r in refs {
        let targets: Vec<(String, String)> = match &r {
            FunctionRef::ExistingAlias { arn } => {
                let parts: Vec<&str> = arn.split(':').collect();
                if parts.len() != 8 || parts[2] != "lambda" || parts[5] != "function" {
                    return Err(ProvisionError::Input(format!(
                        "function {arn}: not a Lambda alias ARN (arn:aws:lambda:<region>:<account>:function:<name>:<alias>)"
                    )));
                }
                vec![(parts[..7].join(":"), parts[7].to_string())]
            }
            FunctionRef::Wildcard { pattern, alias } => {
                let re = regex_lite::Regex::new(pattern).map_err(|e| {
                    ProvisionError::Input(format!(
                        "function {}: not a valid regex: {e}",
                        r.display()
                    ))
                })?;
                if listed.is_none() {
                    listed = Some(list_functions(cloud).await?);
                }
                let mut names: Vec<String> = listed
                    .iter()
                    .flatten()
                    .filter_map(|f| Some((f.function_name()?, f.function_arn()?)))
                    .filter(|(n, _)| re.is_match(n) && !own.iter().any(|o| o == n))
                    .map(|(_, a)| a.to_string())
                    .collect();
                names.sort();
                if names.is_empty() {
                    return Err(ProvisionError::Input(format!(
                        "function wildcard {} matches no Lambda function in {} ({})",
                        r.display(),
                        cloud.region,
                        cloud.account
                    )));
                }
                names.into_iter().map(|a| (a, alias.clone())).collect()
            }
            // Git entries were added above; anything else is a local folder.
            _ => continue,
        };
        for (function_arn, alias) in targets {
            let alias_arn = format!("{function_arn}:{alias}");
            if project
                .functions
                .iter()
                .any(|f| f.existing.as_ref().map(|e| &e.alias_arn) == Some(&alias_arn))
            {
                continue;
            }
            let f = existing_function(
                cloud,
                project,
                &r,
                &function_arn,
                &alias,
                texts.path(),
                injected,
                env,
            )
            .await?;
            if let Some(other) = project
                .functions
                .iter()
                .find(|o| o.function_name == f.function_name)
            {
                return Err(ProvisionError::Input(format!(
                    "function {alias_arn}: its function name \"{}\" is also used by {}",
                    f.function_name,
                    other
                        .resolved_from
                        .as_ref()
                        .map(FunctionRef::display)
                        .unwrap_or_else(|| format!("functions/{}", other.dir_name))
                )));
            }
            project.functions.push(f);
        }
    }
    Ok(())
}

async fn list_functions(cloud: &Cloud) -> Result<Vec<FunctionConfiguration>, ProvisionError> {
    let mut out = Vec::new();
    let mut pages = cloud
        .clients
        .lambda
        .list_functions()
        .into_paginator()
        .items()
        .send();
    while let Some(f) = pages.next().await {
        out.push(f.doing(|| "listing the Lambda functions for a ~wildcard~".to_string())?);
    }
    Ok(out)
}

/// One existing function at `alias`: the version the alias points to, and its configuration from
/// that version's `GGP_FUNCTION_CONF` (or function.defaults.conf alone, with what Lambda says of
/// the function: name, handler, runtime, timeout).
#[allow(clippy::too_many_arguments)]
async fn existing_function(
    cloud: &Cloud,
    project: &Project,
    from: &FunctionRef,
    function_arn: &str,
    alias: &str,
    texts: &Path,
    injected: &Injected,
    env: &BTreeMap<String, String>,
) -> Result<FunctionConf, ProvisionError> {
    let lambda = &cloud.clients.lambda;
    let alias_arn = format!("{function_arn}:{alias}");
    let name = function_arn.rsplit(':').next().unwrap_or(function_arn);
    // Functions of this account and region by name, others by ARN.
    let local = format!(
        "{}:function:{name}",
        crate::model::arn::prefix("lambda", &cloud.region, &cloud.account)
    );
    let id = if local == function_arn {
        name
    } else {
        function_arn
    };
    let version = lambda
        .get_alias()
        .function_name(id)
        .name(alias)
        .send()
        .await
        .doing(|| format!("reading the alias {alias_arn} (from {})", from.display()))?
        .function_version
        .ok_or_else(|| super::error::missing("reading a Lambda alias", "FunctionVersion"))?;
    let cfg = lambda
        .get_function_configuration()
        .function_name(id)
        .qualifier(&version)
        .send()
        .await
        .doing(|| format!("reading version {version} of the Lambda function {name}"))?;
    let text = cfg
        .environment()
        .and_then(|e| e.variables())
        .and_then(|v| v.get(FUNCTION_CONF_VARIABLE))
        .cloned()
        .unwrap_or_default();
    let safe = crate::config::model::sanitize_id(name);
    let conf = texts.join(format!("{safe}.{alias}.GGP_FUNCTION_CONF.conf"));
    let fallback = texts.join(format!("{safe}.{alias}.lambda.conf"));
    let write = |p: &Path, t: &str| {
        std::fs::write(p, t)
            .map_err(|e| ProvisionError::Input(format!("cannot write {}: {e}", p.display())))
    };
    write(&conf, &text)?;
    let mut facts = format!(
        "conf {{\n  functionName = {}\n  pinned = false\n  timeoutInSeconds = {}\n",
        serde_json::Value::String(name.to_string()),
        cfg.timeout().unwrap_or(3).max(1)
    );
    if let Some(h) = cfg.handler() {
        facts += &format!("  handlerName = {}\n", serde_json::Value::String(h.into()));
    }
    if let Some(l) = cfg
        .runtime()
        .and_then(|r| Language::from_lambda_runtime(r.as_str()))
    {
        facts += &format!("  language = {}\n", serde_json::Value::String(l.name()));
    }
    facts += "}\n";
    write(&fallback, &facts)?;
    let (mut f, warnings) = load_function_conf(
        &project.paths,
        &conf,
        name,
        None,
        Some(&fallback),
        injected,
        env,
    )
    .map_err(|e| {
        ProvisionError::Input(
            e.to_string()
                .replace(
                    &conf.display().to_string(),
                    &format!("{alias_arn} ({FUNCTION_CONF_VARIABLE})"),
                )
                .replace(
                    &fallback.display().to_string(),
                    &format!("{alias_arn} (Lambda configuration)"),
                ),
        )
    })?;
    for w in warnings {
        tracing::warn!("{alias_arn} ({FUNCTION_CONF_VARIABLE}): {}", w.message);
    }
    f.alias_name = alias.to_string();
    f.resolved_from = Some(from.clone());
    f.existing = Some(ExistingFunction {
        function_arn: function_arn.to_string(),
        alias_arn,
        version,
    });
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_folder_names() {
        let n = |s: &str| git_dir_name(&FunctionRef::parse(s));
        assert_eq!(n("https://example.com/org/Hello.git"), "Hello");
        assert_eq!(
            n("https://example.com/org/repo.git:functions/Sensor"),
            "Sensor"
        );
        assert_eq!(n("git@github.com:org/repo.git"), "repo");
        assert_eq!(n("file:///tmp/x/repo.git:F"), "F");
    }

    #[test]
    fn conf_functions_entries_parse_as_ggp_wrote_them() {
        assert_eq!(
            FunctionRef::parse("file:///tmp/x/repo.git:fns/F"),
            FunctionRef::Git {
                url: "file:///tmp/x/repo.git".into(),
                subdir: Some("fns/F".into())
            }
        );
        assert_eq!(
            FunctionRef::parse("~^ext-~:prod"),
            FunctionRef::Wildcard {
                pattern: "^ext-".into(),
                alias: "prod".into()
            }
        );
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:f:live";
        assert_eq!(FunctionRef::parse(arn).display(), arn);
        assert_eq!(FunctionRef::parse("~a~:b").display(), "~a~:b");
        assert_eq!(
            FunctionRef::parse("https://h/r.git:d").display(),
            "https://h/r.git:d"
        );
    }

    #[test]
    fn lambda_runtimes_map_to_languages() {
        let l = |r: &str| Language::from_lambda_runtime(r).map(Language::name);
        assert_eq!(l("python3.8").as_deref(), Some("PYTHON3_8"));
        assert_eq!(l("python2.7").as_deref(), Some("PYTHON2_7"));
        assert_eq!(l("nodejs12.x").as_deref(), Some("NODEJS12_X"));
        assert_eq!(l("java8.al2").as_deref(), Some("JAVA8_AL2"));
        assert_eq!(l("java11").as_deref(), Some("JAVA11"));
        assert_eq!(
            l(crate::language::EXECUTABLE_RUNTIME).as_deref(),
            Some("EXECUTABLE")
        );
        assert_eq!(l("provided.al2"), None);
    }
}
