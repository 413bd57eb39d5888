//! Rules that span keys, functions or the filesystem: GGP's checks and stricter ones.
//!
//! GGP checked that device resources live under `/dev`, that volume destinations are not
//! duplicated, and that a Python handler's file defines the function. ggp adds: duplicate function
//! names, Node handler files, executable entry points, S3/SageMaker resource shapes, and
//! environment variable names that Lambda would reject (GGP issue #637).

use std::collections::BTreeMap;
use std::path::Path;

use super::hocon::Origins;
use super::{ConfigError, DeploymentConf, FunctionConf, Location, ProjectPaths, Warning};
use crate::language::Family;

fn at(origins: &Origins, key: &str) -> Location {
    origins
        .locate(key)
        .cloned()
        .unwrap_or_else(|| Location::file("?"))
}

fn err(origins: &Origins, key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        at: at(origins, key),
        key: key.to_string(),
        message: message.into(),
    }
}

/// Checks one function against its folder.
pub fn function(paths: &ProjectPaths, f: &FunctionConf, origins: &Origins) -> Vec<ConfigError> {
    let mut out = Vec::new();
    let dir = paths.folder_of(f);
    let handler_key = "conf.handlerName";
    match f.language.family() {
        Family::Python => {
            if let Err(m) = python_handler(&dir, &f.handler_name) {
                out.push(err(origins, handler_key, m));
            }
        }
        Family::Node => {
            if let Err(m) = node_handler(&dir, &f.handler_name) {
                out.push(err(origins, handler_key, m));
            }
        }
        Family::Executable => {
            let zip = dir.join(format!("{}.zip", f.function_name));
            let exe = dir.join(&f.handler_name);
            if !dir.join("build.sh").is_file() && !zip.is_file() && !exe.is_file() {
                out.push(err(
                    origins,
                    handler_key,
                    format!(
                        "executable function needs build.sh, {}.zip or the executable {} in {}",
                        f.function_name,
                        f.handler_name,
                        paths.display(&dir)
                    ),
                ));
            }
        }
        Family::Java => {
            if !f.handler_name.contains("::") && !f.handler_name.contains('.') {
                out.push(err(
                    origins,
                    handler_key,
                    format!(
                        "Java handler \"{}\" should be package.Class::method",
                        f.handler_name
                    ),
                ));
            }
            if let Some(jar) = &f.jar_path {
                let has_build = ["build.gradle", "build.gradle.kts", "pom.xml"]
                    .iter()
                    .any(|b| dir.join(b).is_file());
                if !has_build && !dir.join(jar).is_file() {
                    out.push(err(
                        origins,
                        "conf.jarPath",
                        format!(
                            "{} does not exist and there is no build file to produce it",
                            paths.display(&dir.join(jar))
                        ),
                    ));
                }
            }
        }
    }
    if f.memory_size_in_kb == 0 {
        out.push(err(
            origins,
            "conf.memorySizeInKb",
            "must be greater than 0",
        ));
    }
    if f.timeout_in_seconds == 0 {
        out.push(err(
            origins,
            "conf.timeoutInSeconds",
            "must be greater than 0",
        ));
    }
    for (i, d) in f.local_device_resources.iter().enumerate() {
        if !d.path.starts_with("/dev/") {
            out.push(err(
                origins,
                &format!("conf.localDeviceResources[{i}].path"),
                format!("device resource \"{}\" must be under /dev", d.path),
            ));
        }
    }
    for (i, v) in f.local_volume_resources.iter().enumerate() {
        for (k, p) in [
            ("sourcePath", &v.source_path),
            ("destinationPath", &v.destination_path),
        ] {
            if !p.starts_with('/') {
                out.push(err(
                    origins,
                    &format!("conf.localVolumeResources[{i}].{k}"),
                    format!("\"{p}\" must be an absolute path"),
                ));
            }
        }
        if v.source_path.starts_with("/proc") || v.source_path.starts_with("/sys") {
            out.push(err(
                origins,
                &format!("conf.localVolumeResources[{i}].sourcePath"),
                "Greengrass does not allow volume resources under /proc or /sys",
            ));
        }
    }
    for (i, s) in f.local_s3_resources.iter().enumerate() {
        if !s.uri.starts_with("s3://") {
            out.push(err(
                origins,
                &format!("conf.localS3Resources[{i}].uri"),
                format!("\"{}\" is not an s3:// URI", s.uri),
            ));
        }
    }
    for (i, s) in f.local_sage_maker_resources.iter().enumerate() {
        if !(s.arn.starts_with("arn:") && s.arn.contains(":training-job/")) {
            out.push(err(
                origins,
                &format!("conf.localSageMakerResources[{i}].arn"),
                format!("\"{}\" is not a SageMaker training-job ARN", s.arn),
            ));
        }
    }
    for name in f.environment_variables.keys() {
        if !valid_env_name(name) {
            out.push(err(
                origins,
                &format!("conf.environmentVariables.{name}"),
                format!(
                    "\"{name}\" is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)"
                ),
            ));
        }
    }
    out
}

/// `[A-Za-z_][A-Za-z0-9_]*`, what Lambda accepts.
pub fn valid_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Python: `module.func` (or `pkg.module.func`) → `module.py` defines `def func(`.
fn python_handler(dir: &Path, handler: &str) -> Result<(), String> {
    let (module, func) = handler
        .rsplit_once('.')
        .ok_or_else(|| format!("Python handler \"{handler}\" must be module.function"))?;
    let file = dir.join(format!("{}.py", module.replace('.', "/")));
    let text = std::fs::read_to_string(&file).map_err(|_| {
        format!(
            "handler file {} does not exist in the function folder",
            file.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        )
    })?;
    let defines = text.lines().any(|line| {
        let l = line.trim_start();
        let l = l.strip_prefix("async ").map(str::trim_start).unwrap_or(l);
        l.strip_prefix("def")
            .filter(|rest| rest.starts_with(char::is_whitespace))
            .map(|rest| rest.trim_start())
            .and_then(|rest| rest.strip_prefix(func))
            .is_some_and(|rest| rest.trim_start().starts_with('('))
    });
    if defines {
        Ok(())
    } else {
        Err(format!(
            "{}.py does not define a function `{func}` (no `def {func}(` line)",
            module.replace('.', "/")
        ))
    }
}

/// Node: `file.export` → `file.js` (or .mjs/.cjs) exists and mentions the export.
fn node_handler(dir: &Path, handler: &str) -> Result<(), String> {
    let (module, func) = handler
        .rsplit_once('.')
        .ok_or_else(|| format!("Node handler \"{handler}\" must be file.export"))?;
    for ext in ["js", "mjs", "cjs"] {
        let file = dir.join(format!("{module}.{ext}"));
        if let Ok(text) = std::fs::read_to_string(&file) {
            return if text.contains(func) {
                Ok(())
            } else {
                Err(format!(
                    "{module}.{ext} does not mention the handler `{func}`"
                ))
            };
        }
    }
    Err(format!(
        "handler file {module}.js does not exist in the function folder"
    ))
}

/// Checks across the deployment: duplicate names, group-wide resources, loggers, root warnings.
pub fn deployment(
    d: &DeploymentConf,
    origins: &Origins,
    functions: &[(FunctionConf, Origins)],
    file: &str,
) -> (Vec<ConfigError>, Vec<Warning>) {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let loc = |o: &Origins, k: &str| o.locate(k).cloned().unwrap_or_else(|| Location::file(file));

    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    for (f, o) in functions {
        if let Some(other) = names.insert(&f.function_name, &f.dir_name) {
            errors.push(err(
                o,
                "conf.functionName",
                format!(
                    "function name \"{}\" is also used by functions/{other}",
                    f.function_name
                ),
            ));
        }
    }
    // Resources are group-wide: destinations must be unique across functions.
    let mut dest: BTreeMap<&str, &str> = BTreeMap::new();
    let mut src: BTreeMap<&str, &str> = BTreeMap::new();
    for (f, o) in functions {
        for (i, v) in f.local_volume_resources.iter().enumerate() {
            match dest.get(v.destination_path.as_str()) {
                Some(s) if *s != v.source_path => errors.push(err(
                    o,
                    &format!("conf.localVolumeResources[{i}].destinationPath"),
                    format!(
                        "destination {} is already mounted from {s}",
                        v.destination_path
                    ),
                )),
                _ => {
                    dest.insert(&v.destination_path, &v.source_path);
                }
            }
            match src.get(v.source_path.as_str()) {
                Some(d0) if *d0 != v.destination_path => errors.push(err(
                    o,
                    &format!("conf.localVolumeResources[{i}].sourcePath"),
                    format!(
                        "source {} is already mounted at {d0}; one volume resource per source path",
                        v.source_path
                    ),
                )),
                _ => {
                    src.insert(&v.source_path, &v.destination_path);
                }
            }
        }
        if f.runs_as_root() {
            warnings.push(Warning {
                at: loc(o, if f.uid == Some(0) { "conf.uid" } else { "conf.gid" }),
                message: format!("function {} runs as root (uid/gid 0): the core will need allowFunctionsToRunAsRoot", f.function_name),
            });
        }
    }
    for name in d.environment_variables.keys() {
        if !valid_env_name(name) {
            errors.push(err(
                origins,
                &format!("conf.environmentVariables.{name}"),
                format!("\"{name}\" is not a valid environment variable name"),
            ));
        }
    }
    for (f, o) in functions {
        if !valid_env_name(&format!("LOCAL_LAMBDA_{}", f.function_name)) {
            warnings.push(Warning {
                at: loc(o, "conf.functionName"),
                message: format!(
                    "function name \"{}\" is not valid in an environment variable name; LOCAL_LAMBDA_{} will be used",
                    f.function_name,
                    env_suffix(&f.function_name)
                ),
            });
        }
    }
    if d.core_role.iot_policy.is_some() && d.broad_iot_policy {
        warnings.push(Warning {
            at: loc(origins, "conf.core.broadIotPolicy"),
            message: "broadIotPolicy is ignored because conf.core.role.iotPolicy is set".into(),
        });
    }
    (errors, warnings)
}

/// A function name made safe for an environment variable name (GGP issue #637).
pub fn env_suffix(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
