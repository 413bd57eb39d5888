//! Finding and merging the project's files: deployment, functions, connectors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::hocon::{self, Layer, Loaded, Origins, ParsedFile};
use super::reader::Problem;
use super::{
    validate, ConfigError, ConfigErrors, ConnectorConf, DeploymentConf, FunctionConf, FunctionRef,
    Injected, Location, Warning,
};

/// The folders of a GGP-style project. GGP only worked from the project root; ggp takes it as a
/// parameter (`--project-dir`).
#[derive(Debug, Clone)]
pub struct ProjectPaths {
    pub root: PathBuf,
}

impl ProjectPaths {
    pub fn new(root: impl Into<PathBuf>) -> ProjectPaths {
        ProjectPaths { root: root.into() }
    }
    pub fn deployments(&self) -> PathBuf {
        self.root.join("deployments")
    }
    pub fn functions(&self) -> PathBuf {
        self.root.join("functions")
    }
    pub fn connectors(&self) -> PathBuf {
        self.root.join("connectors")
    }
    pub fn function_dir(&self, name: &str) -> PathBuf {
        self.functions().join(name)
    }
    /// The folder a function is built from: `functions/<dir>`, or its git checkout.
    pub fn folder_of(&self, f: &FunctionConf) -> PathBuf {
        f.source_dir
            .clone()
            .unwrap_or_else(|| self.function_dir(&f.dir_name))
    }
    /// Shows `p` relative to the project root when it is inside it (stable output across machines).
    pub fn display(&self, p: &Path) -> String {
        p.strip_prefix(&self.root)
            .unwrap_or(p)
            .display()
            .to_string()
    }
}

/// What `-d` named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeploymentSource {
    File(PathBuf),
    /// GGP's `-d EMPTY`: no functions, only the core.
    Empty,
}

impl DeploymentSource {
    /// Resolves the `-d` argument: `EMPTY`, an existing path as given (relative to the current
    /// directory), or a path relative to the project root.
    pub fn from_arg(arg: &str, paths: &ProjectPaths) -> DeploymentSource {
        if arg == "EMPTY" {
            return DeploymentSource::Empty;
        }
        let p = PathBuf::from(arg);
        if p.is_absolute() || p.exists() {
            DeploymentSource::File(p)
        } else {
            DeploymentSource::File(paths.root.join(p))
        }
    }
}

/// A loaded, validated project: the input of every later stage.
#[derive(Debug, Clone, Serialize)]
pub struct Project {
    #[serde(skip)]
    pub paths: ProjectPaths,
    pub deployment: DeploymentConf,
    pub functions: Vec<FunctionConf>,
    pub connectors: Vec<ConnectorConf>,
    pub warnings: Vec<Warning>,
    /// Every config file read, relative to the project root, sorted.
    pub files: Vec<String>,
}

fn invalid(origins: &Origins, fallback_file: &str, p: Problem) -> ConfigError {
    let at = origins
        .locate(&p.key)
        .cloned()
        .unwrap_or_else(|| Location::file(fallback_file));
    ConfigError::Invalid {
        at,
        key: p.key,
        message: p.message,
    }
}

fn unknown_warnings(
    origins: &Origins,
    file: &str,
    unknown: Vec<(String, Option<String>)>,
    out: &mut Vec<Warning>,
) {
    for (key, suggestion) in unknown {
        let at = origins
            .locate(&key)
            .cloned()
            .unwrap_or_else(|| Location::file(file));
        let message = match suggestion {
            Some(s) => format!("unknown key {key} (did you mean {s}?)"),
            None => format!("unknown key {key} (ignored)"),
        };
        out.push(Warning { at, message });
    }
}

/// Loads the deployment named by `source`, every local function and connector it lists, and
/// validates the whole. `env` is the environment used as the substitution fallback.
pub fn load_project(
    paths: &ProjectPaths,
    source: &DeploymentSource,
    injected: &Injected,
    env: &BTreeMap<String, String>,
) -> Result<Project, ConfigErrors> {
    // Locations are shown relative to the project root, so messages and `plan` output are the
    // same on every machine.
    let root = format!("{}/", paths.root.display());
    let relative = |l: &mut Location| {
        if let Some(rest) = l.file.strip_prefix(&root) {
            l.file = rest.to_string();
        }
    };
    match load_inner(paths, source, injected, env) {
        Ok(mut p) => {
            p.warnings.iter_mut().for_each(|w| relative(&mut w.at));
            Ok(p)
        }
        Err(mut e) => {
            for e in &mut e.0 {
                if let ConfigError::Syntax { at, .. }
                | ConfigError::Substitution { at, .. }
                | ConfigError::Invalid { at, .. } = e
                {
                    relative(at);
                }
            }
            Err(e)
        }
    }
}

fn load_inner(
    paths: &ProjectPaths,
    source: &DeploymentSource,
    injected: &Injected,
    env: &BTreeMap<String, String>,
) -> Result<Project, ConfigErrors> {
    let errors: Vec<ConfigError> = Vec::new();
    let mut warnings = Vec::new();
    let deployments = paths.deployments();
    let defaults = deployments.join("deployment.defaults.conf");

    let (name, file_layer, file_display) = match source {
        DeploymentSource::Empty => ("EMPTY".to_string(), None, paths.display(&defaults)),
        DeploymentSource::File(p) => {
            if !p.is_file() {
                return Err(ConfigError::Io {
                    path: p.clone(),
                    message: "deployment file not found".into(),
                }
                .into());
            }
            let stem = p
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("deployment")
                .to_string();
            (stem, Some(Layer::File(p.clone())), p.display().to_string())
        }
    };
    let mut layers = vec![Layer::Values("injected by ggp", injected.for_deployment())];
    layers.extend(file_layer);
    layers.push(Layer::OptionalFile(defaults));
    let loaded = hocon::load(&layers, env)?;
    let mut unknown = Vec::new();
    let mut deployment = DeploymentConf::read(&name, &loaded.value, &mut unknown)
        .map_err(|p| invalid(&loaded.origins, &file_display, p))?;
    unknown_warnings(&loaded.origins, &file_display, unknown, &mut warnings);
    if *source == DeploymentSource::Empty {
        deployment.functions.clear();
        deployment.connectors.clear();
    }
    let files: Vec<PathBuf> = loaded.files.clone();

    let mut found = Found {
        errors,
        warnings,
        files,
    };
    let at = |key: &str| {
        loaded
            .origins
            .locate(key)
            .cloned()
            .unwrap_or_else(|| Location::file(&file_display))
    };
    let functions = load_functions(paths, &deployment, injected, env, &at, &mut found)?;
    let connectors = load_connectors(paths, &deployment, injected, env, &at, &mut found);
    let Found {
        mut errors,
        mut warnings,
        files,
    } = found;

    let (deploy_errors, deploy_warnings) =
        validate::deployment(&deployment, &loaded.origins, &functions, &file_display);
    errors.extend(deploy_errors);
    warnings.extend(deploy_warnings);

    if !errors.is_empty() {
        errors.sort_by(|a, b| a.location().cmp(&b.location()));
        errors.dedup();
        return Err(ConfigErrors(errors));
    }
    warnings.sort();
    warnings.dedup();
    let mut files: Vec<String> = files.iter().map(|p| paths.display(p)).collect();
    files.sort();
    files.dedup();
    Ok(Project {
        paths: paths.clone(),
        deployment,
        functions: functions.into_iter().map(|(f, _)| f).collect(),
        connectors,
        warnings,
        files,
    })
}

/// What loading found besides the values: problems, warnings and the files read.
struct Found {
    errors: Vec<ConfigError>,
    warnings: Vec<Warning>,
    files: Vec<PathBuf>,
}

/// The local functions the deployment lists (`functions/<name>/function.conf` over the shared
/// function defaults, parsed once), each with the origins of its values. `at` locates a key of the
/// deployment file.
fn load_functions(
    paths: &ProjectPaths,
    deployment: &DeploymentConf,
    injected: &Injected,
    env: &BTreeMap<String, String>,
    at: &dyn Fn(&str) -> Location,
    found: &mut Found,
) -> Result<Vec<(FunctionConf, Origins)>, ConfigErrors> {
    let fn_defaults_path = paths.deployments().join("function.defaults.conf");
    let fn_defaults = if fn_defaults_path.exists() {
        Some(ParsedFile::parse(&fn_defaults_path)?)
    } else {
        None
    };
    let fn_injected = ParsedFile::values_layer("injected by ggp", &injected.for_function())?;
    let mut functions = Vec::new();
    for (i, f) in deployment.functions.iter().enumerate() {
        let FunctionRef::Local { name } = f else {
            continue;
        };
        let key = format!("conf.functions[{i}]");
        let dir = paths.function_dir(name);
        let conf = dir.join("function.conf");
        let missing = if !dir.is_dir() {
            Some(format!(
                "function folder {} does not exist",
                paths.display(&dir)
            ))
        } else if !conf.is_file() {
            Some(format!("{} does not exist", paths.display(&conf)))
        } else {
            None
        };
        if let Some(message) = missing {
            found.errors.push(ConfigError::Invalid {
                at: at(&key),
                key,
                message,
            });
            continue;
        }
        let template = dir.join("function.cf.yaml");
        if template.is_file() {
            found.warnings.push(cloudformation_warning(
                &template,
                name,
                &injected.group_name,
            ));
        }
        match load_function(
            &conf,
            name,
            fn_defaults.as_ref(),
            None,
            &fn_injected,
            env,
            &mut found.warnings,
        ) {
            Ok((fc, loaded)) => {
                found.files.extend(loaded.files.iter().cloned());
                found
                    .errors
                    .extend(validate::function(paths, &fc, &loaded.origins));
                functions.push((fc, loaded.origins));
            }
            Err(e) => found.errors.push(e),
        }
    }
    Ok(functions)
}

/// GGP created a CloudFormation stack `<group>-<function>` from a function's `function.cf.yaml`
/// (its BasicCloudFormationHelper); ggp does not (the bench's moto CloudFormation cannot roll a
/// stack back, so awaiting one and reporting a rollback could not be tested). The user is told,
/// with the file and the AWS CLI command that does what GGP did.
fn cloudformation_warning(template: &Path, function: &str, group: &str) -> Warning {
    // GGP's stack name: characters outside [-a-zA-Z0-9] become '-'.
    let stack: String = format!("{group}-{function}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let file = template.display().to_string();
    Warning {
        at: Location::file(file),
        message: format!(
            "ggp does not deploy a function's CloudFormation template (GGP made the stack {stack} \
             from it); deploy it yourself: `aws cloudformation deploy --template-file \
             functions/{function}/function.cf.yaml --stack-name {stack} --capabilities \
             CAPABILITY_IAM CAPABILITY_NAMED_IAM` with the parameters the template declares"
        ),
    }
}

/// The connectors the deployment lists (`connectors/<name>.conf` over the connector defaults).
fn load_connectors(
    paths: &ProjectPaths,
    deployment: &DeploymentConf,
    injected: &Injected,
    env: &BTreeMap<String, String>,
    at: &dyn Fn(&str) -> Location,
    found: &mut Found,
) -> Vec<ConnectorConf> {
    let mut connectors = Vec::new();
    let conn_defaults = paths.deployments().join("connector.defaults.conf");
    for (i, name) in deployment.connectors.iter().enumerate() {
        let file = paths.connectors().join(format!("{name}.conf"));
        if !file.is_file() {
            let key = format!("conf.connectors[{i}]");
            found.errors.push(ConfigError::Invalid {
                at: at(&key),
                key,
                message: format!("{} does not exist", paths.display(&file)),
            });
            continue;
        }
        let layers = [
            Layer::File(file.clone()),
            Layer::OptionalFile(conn_defaults.clone()),
            Layer::Values("injected by ggp", injected.for_function()),
        ];
        match hocon::load(&layers, env) {
            Ok(l) => {
                let mut unknown = Vec::new();
                let shown = file.display().to_string();
                match ConnectorConf::read(name, &l.value, &mut unknown) {
                    Ok(c) => connectors.push(c),
                    Err(p) => found.errors.push(invalid(&l.origins, &shown, p)),
                }
                unknown_warnings(&l.origins, &shown, unknown, &mut found.warnings);
                found.files.extend(l.files);
            }
            Err(e) => found.errors.push(e),
        }
    }
    connectors
}

/// Loads a function configuration that is not `functions/<name>/function.conf`: a git checkout's
/// function.conf (`source_dir` = its folder, checked like a local folder) or an existing Lambda
/// function's `GGP_FUNCTION_CONF` text written to `conf`. It is merged exactly like a local one:
/// over `deployments/function.defaults.conf`, with ggp's injected values; `fallback` (a file,
/// lowest priority above the injected values) supplies what the text may leave out.
pub fn load_function_conf(
    paths: &ProjectPaths,
    conf: &Path,
    dir_name: &str,
    source_dir: Option<&Path>,
    fallback: Option<&Path>,
    injected: &Injected,
    env: &BTreeMap<String, String>,
) -> Result<(FunctionConf, Vec<Warning>), ConfigErrors> {
    let defaults_path = paths.deployments().join("function.defaults.conf");
    let defaults = if defaults_path.exists() {
        Some(ParsedFile::parse(&defaults_path)?)
    } else {
        None
    };
    let fallback = fallback.map(ParsedFile::parse).transpose()?;
    let fn_injected = ParsedFile::values_layer("injected by ggp", &injected.for_function())?;
    let mut warnings = Vec::new();
    let (mut fc, loaded) = load_function(
        conf,
        dir_name,
        defaults.as_ref(),
        fallback.as_ref(),
        &fn_injected,
        env,
        &mut warnings,
    )?;
    fc.source_dir = source_dir.map(Path::to_path_buf);
    if source_dir.is_some() {
        let errors = validate::function(paths, &fc, &loaded.origins);
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
    }
    Ok((fc, warnings))
}

fn load_function(
    conf: &Path,
    name: &str,
    defaults: Option<&ParsedFile>,
    fallback: Option<&ParsedFile>,
    injected: &ParsedFile,
    env: &BTreeMap<String, String>,
    warnings: &mut Vec<Warning>,
) -> Result<(FunctionConf, Loaded), ConfigError> {
    let own = ParsedFile::parse(conf)?;
    let mut layers = vec![&own];
    layers.extend(defaults);
    layers.extend(fallback);
    layers.push(injected);
    let loaded = hocon::merge_and_resolve(&layers, env)?;
    let display = conf.display().to_string();
    let mut unknown = Vec::new();
    let fc = FunctionConf::read(name, &loaded.value, &mut unknown)
        .map_err(|p| invalid(&loaded.origins, &display, p))?;
    unknown_warnings(&loaded.origins, &display, unknown, warnings);
    Ok((fc, loaded))
}
