//! The group's functions as both targets deploy them: each function's configuration, the ARNs of
//! its Lambda function and alias, the Lambda function ggp creates in the cloud (none for an
//! existing function used as is), its environment, the resources it may use, and the native
//! recipe its folder brings (Greengrass V2 deploys that instead of a Lambda function component).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use super::resources::Access;
use crate::config::validate::env_suffix;
use crate::config::{FunctionConf, FunctionRef, Project};

/// The Lambda function ggp creates for a function (`<group>-<name>`), with a published version
/// behind the alias.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LambdaFunction {
    pub function_name: String,
    pub source: String,
    pub runtime: String,
    pub handler: String,
    pub role_arn: String,
    pub memory_size_mb: u64,
    pub timeout_seconds: u64,
    pub alias: String,
    pub alias_arn: String,
    pub environment: BTreeMap<String, String>,
    /// The text of the function's function.conf, written on the Lambda function as
    /// `GGP_FUNCTION_CONF` (as GGP did) so another group can use it by its alias ARN.
    #[serde(skip)]
    pub function_conf: Option<String>,
}

/// A native component recipe in a function folder (`recipe.yaml`, `recipe.yml` or
/// `recipe.json`): Greengrass V2 deploys it as written.
#[derive(Debug, Clone, PartialEq)]
pub struct NativeRecipe {
    pub file: String,
    pub text: String,
    pub component_name: String,
    pub component_version: String,
}

/// One function of the group.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    pub conf: FunctionConf,
    /// The Lambda function's ARN without qualifier.
    pub function_arn: String,
    /// `<function_arn>:<alias>`: how the function is addressed (subscriptions, `LOCAL_LAMBDA_*`).
    pub alias_arn: String,
    /// The Lambda function ggp creates; `None` for an existing function used as is.
    pub lambda: Option<LambdaFunction>,
    /// The environment besides every function's `LOCAL_LAMBDA_*` ([`super::Desired::environment`]):
    /// `SECRET_<n>`, `CONNECTED_SHADOW_<n>`, then the deployment's variables, then the function's
    /// own (each later one wins).
    pub environment: BTreeMap<String, String>,
    /// The group resources it may use, in configuration order.
    pub access: Vec<Access>,
    /// The native recipe of its folder, or why it cannot be read.
    pub recipe: Result<Option<NativeRecipe>, String>,
}

impl Function {
    pub fn name(&self) -> &str {
        &self.conf.function_name
    }

    /// The function's environment variables, sorted: every function's `LOCAL_LAMBDA_*`
    /// (`local_lambdas`, from [`super::Desired::local_lambda_map`]) overlaid with its own.
    pub fn environment_with(&self, local_lambdas: &Map<String, Value>) -> Map<String, Value> {
        let mut env = local_lambdas.clone();
        for (k, v) in &self.environment {
            env.insert(k.clone(), Value::String(v.clone()));
        }
        env.sort_keys();
        env
    }
}

/// The Lambda function name ggp gives a function of `group`.
pub fn lambda_name(group: &str, function: &str) -> String {
    format!("{group}-{function}")
}

/// The functions of `project` in `region` and `account` (rendered, placeholders included), and
/// every function's `LOCAL_LAMBDA_<NAME>` → alias ARN (also for alias ARNs not resolved yet).
pub(super) fn build(
    project: &Project,
    group: &str,
    region: &str,
    account: &str,
    lambda_role_arn: &str,
    mut access: BTreeMap<String, Vec<Access>>,
) -> (Vec<Function>, Vec<(String, String)>) {
    let d = &project.deployment;
    let functions: Vec<Function> = project
        .functions
        .iter()
        .map(|f| {
            let function_arn = match &f.existing {
                Some(e) => e.function_arn.clone(),
                None => format!(
                    "{}:function:{}",
                    super::arn::prefix("lambda", region, account),
                    lambda_name(group, &f.function_name)
                ),
            };
            let alias_arn = match &f.existing {
                Some(e) => e.alias_arn.clone(),
                None => format!("{function_arn}:{}", f.alias_name),
            };
            let lambda = f.existing.is_none().then(|| LambdaFunction {
                function_name: lambda_name(group, &f.function_name),
                source: match &f.resolved_from {
                    Some(r) => r.display(),
                    None => format!("functions/{}", f.dir_name),
                },
                runtime: f.language.lambda_runtime(),
                handler: f.handler_name.clone(),
                role_arn: lambda_role_arn.to_string(),
                // Lambda takes MB (128..10240); Greengrass takes KB. The cloud copy only needs to exist.
                memory_size_mb: (f.memory_size_in_kb / 1024).clamp(128, 10240),
                timeout_seconds: f.timeout_in_seconds.clamp(1, 900),
                alias: f.alias_name.clone(),
                alias_arn: alias_arn.clone(),
                environment: f.environment_variables.clone(),
                function_conf: std::fs::read_to_string(
                    project.paths.folder_of(f).join("function.conf"),
                )
                .ok(),
            });
            let mut environment = BTreeMap::new();
            for (i, s) in f.local_secrets_manager_resources.iter().enumerate() {
                environment.insert(format!("SECRET_{i}"), s.clone());
            }
            for (i, s) in f.connected_shadows.iter().enumerate() {
                environment.insert(format!("CONNECTED_SHADOW_{i}"), s.clone());
            }
            for (k, v) in d
                .environment_variables
                .iter()
                .chain(&f.environment_variables)
            {
                environment.insert(k.clone(), v.clone());
            }
            let recipe = if f.existing.is_some() {
                Ok(None)
            } else {
                native_recipe(&project.paths.folder_of(f))
            };
            Function {
                function_arn,
                alias_arn,
                lambda,
                environment,
                access: access.remove(&f.function_name).unwrap_or_default(),
                recipe,
                conf: f.clone(),
            }
        })
        .collect();
    let mut named: Vec<(String, String)> = functions
        .iter()
        .map(|f| (f.conf.function_name.clone(), f.alias_arn.clone()))
        .collect();
    for r in &d.functions {
        // Not resolved yet (offline): named after the Lambda function.
        if let FunctionRef::ExistingAlias { arn } = r {
            if !named.iter().any(|(_, a)| a == arn) {
                let name = arn.split(':').nth(6).unwrap_or(arn).to_string();
                named.push((name, arn.clone()));
            }
        }
    }
    let local_lambdas = named
        .into_iter()
        .map(|(name, arn)| (format!("LOCAL_LAMBDA_{}", env_suffix(&name)), arn))
        .collect();
    (functions, local_lambdas)
}

/// A top-level YAML scalar: the value of an unindented `Key: value` line (key matched
/// case-insensitively, quotes and a trailing comment removed). Enough for recipe names and
/// versions; not a YAML parser.
pub fn yaml_top_level(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (!l.starts_with([' ', '\t']) && k.trim().eq_ignore_ascii_case(key)).then(|| {
                v.split(" #")
                    .next()
                    .unwrap_or("")
                    .trim()
                    .trim_matches(['"', '\''])
                    .to_string()
            })
        })
        .filter(|s| !s.is_empty())
}

/// Reads the native recipe of a function folder, if any. Its `ComponentName` and
/// `ComponentVersion` are required (top-level keys, matched case-insensitively as the service does).
pub fn native_recipe(dir: &Path) -> Result<Option<NativeRecipe>, String> {
    for file in ["recipe.yaml", "recipe.yml", "recipe.json"] {
        let path = dir.join(file);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let field = |key: &str| -> Option<String> {
            if file.ends_with(".json") {
                let v: Value = serde_json::from_str(&text).ok()?;
                v.as_object()?
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .and_then(|(_, v)| v.as_str().map(str::to_string))
            } else {
                yaml_top_level(&text, key)
            }
            .filter(|s| !s.is_empty())
        };
        let component_name = field("ComponentName")
            .ok_or_else(|| format!("{}: no top-level ComponentName", path.display()))?;
        let component_version = field("ComponentVersion")
            .ok_or_else(|| format!("{}: no top-level ComponentVersion", path.display()))?;
        return Ok(Some(NativeRecipe {
            file: file.to_string(),
            text,
            component_name,
            component_version,
        }));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_recipe_yaml_top_level_keys_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("recipe.yaml"),
            "RecipeFormatVersion: \"2020-01-25\"\ncomponentname: com.example.Hello # name\nComponentConfiguration:\n  ComponentVersion: 9.9.9\nComponentVersion: '1.2.3'\n",
        )
        .unwrap();
        let r = native_recipe(dir.path()).unwrap().unwrap();
        assert_eq!(r.component_name, "com.example.Hello");
        assert_eq!(r.component_version, "1.2.3");
        assert_eq!(r.file, "recipe.yaml");
    }

    #[test]
    fn native_recipe_json_and_missing_fields() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(native_recipe(dir.path()).unwrap(), None);
        std::fs::write(
            dir.path().join("recipe.json"),
            r#"{"ComponentName": "com.example.J", "Manifests": []}"#,
        )
        .unwrap();
        let e = native_recipe(dir.path()).unwrap_err();
        assert!(e.contains("ComponentVersion"), "{e}");
        std::fs::write(
            dir.path().join("recipe.json"),
            r#"{"ComponentName": "com.example.J", "componentVersion": "2.0.0"}"#,
        )
        .unwrap();
        let r = native_recipe(dir.path()).unwrap().unwrap();
        assert_eq!(
            (r.component_name.as_str(), r.component_version.as_str()),
            ("com.example.J", "2.0.0")
        );
    }
}
