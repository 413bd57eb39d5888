//! HOCON loading with Typesafe-Config semantics and error positions that name the file.
//!
//! Parsing, merging and substitution are done by the `hocon-parser` crate (pinned, see
//! Cargo.toml). What it does not do, and this module adds:
//! - **file names in errors**: every file (including `include`d ones) is first parsed here into
//!   the crate's AST, so a syntax error names its own file, and a substitution error (which the
//!   crate reports as a bare `line:col`) is matched to the file whose `${…}` sits at that position;
//! - **key origins**: the file and line where each key path was last defined, so that type and
//!   validation errors found later on the typed model can point at the line to fix;
//! - **layers**: GGP's merge order (injected values, then the file, then its defaults), with the
//!   environment as the last fallback and no hidden reads of the process environment.
//!
//! Not for: the meaning of keys (see `model`) or validation (see `validate`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use hocon::parser::{AstField, AstNode};
use hocon::{Config, HoconError, HoconValue, ParseOptions, ResolveOptions, ScalarType};

use super::{ConfigError, Location};

/// One input to a merged document, highest priority first when passed to [`load`].
#[derive(Debug, Clone)]
pub enum Layer {
    /// A file that must exist.
    File(PathBuf),
    /// A file that is used only if it exists (e.g. `connector.defaults.conf`).
    OptionalFile(PathBuf),
    /// Values ggp injects at the root (`ACCOUNT_ID`, `GROUP_ID`, …). Always strings.
    Values(&'static str, Vec<(String, String)>),
}

/// Where each key path was defined, and where each substitution was written.
#[derive(Debug, Default, Clone)]
pub struct Origins {
    keys: HashMap<String, Location>,
    substitutions: Vec<Location>,
    /// Every substitution path written (`ACCOUNT_ID`, `conf.core.role.name`): only these can be
    /// looked up in the environment, so only these are passed to the resolver.
    substitution_paths: BTreeSet<String>,
}

impl Origins {
    /// The location of `path` (e.g. `conf.loggers[1].space`), or of its nearest defined parent.
    pub fn locate(&self, path: &str) -> Option<&Location> {
        let mut p = path;
        loop {
            if let Some(l) = self.keys.get(p) {
                return Some(l);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }

    /// The location of exactly `path`, if it was written in a file.
    pub fn exact(&self, path: &str) -> Option<&Location> {
        self.keys.get(path)
    }

    fn substitution_at(&self, line: usize, col: usize) -> Option<&Location> {
        let mut hits = self
            .substitutions
            .iter()
            .filter(|l| l.line == line && l.col == col);
        let first = hits.next()?;
        // Ambiguous when two files have a `${` at the same place: name neither rather than guess.
        hits.next().is_none().then_some(first)
    }
}

/// A merged and resolved document.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub value: serde_json::Value,
    pub origins: Origins,
    /// Every file that was read, in load order (for cache keys and messages).
    pub files: Vec<PathBuf>,
}

/// Parsed, unresolved files, reusable across many merges (e.g. `function.defaults.conf` for every
/// function): parsing is the expensive part.
#[derive(Debug, Clone)]
pub struct ParsedFile {
    config: Config,
    origins: Origins,
    files: Vec<PathBuf>,
}

impl ParsedFile {
    /// Parses `path` and every file it includes, without resolving substitutions.
    pub fn parse(path: &Path) -> Result<ParsedFile, ConfigError> {
        let mut origins = Origins::default();
        let mut files = Vec::new();
        index_file(path, "", &mut origins, &mut files, 0)?;
        let opts = ParseOptions::defaults().with_resolve_substitutions(false);
        let config = hocon::parse_file_with_options(path, opts)
            .map_err(|e| hocon_error(e, path, &origins))?;
        Ok(ParsedFile {
            config,
            origins,
            files,
        })
    }

    /// A layer of injected string values at the root.
    pub fn values_layer(
        name: &str,
        values: &[(String, String)],
    ) -> Result<ParsedFile, ConfigError> {
        let map: serde_json::Map<String, serde_json::Value> = values
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        let config = hocon::from_map(map, Some(name)).map_err(|e| ConfigError::Invalid {
            at: Location::file(name),
            key: e.path.clone(),
            message: e.message,
        })?;
        let mut origins = Origins::default();
        for (k, _) in values {
            origins.keys.insert(k.clone(), Location::file(name));
        }
        Ok(ParsedFile {
            config,
            origins,
            files: Vec::new(),
        })
    }
}

/// Loads layers (highest priority first), merges them deeply (lists replace), and resolves
/// substitutions against the merged document, falling back to `env`.
pub fn load(layers: &[Layer], env: &BTreeMap<String, String>) -> Result<Loaded, ConfigError> {
    let mut parsed = Vec::with_capacity(layers.len());
    for layer in layers {
        match layer {
            Layer::File(p) => parsed.push(ParsedFile::parse(p)?),
            Layer::OptionalFile(p) if p.exists() => parsed.push(ParsedFile::parse(p)?),
            Layer::OptionalFile(_) => {}
            Layer::Values(name, v) => parsed.push(ParsedFile::values_layer(name, v)?),
        }
    }
    let refs: Vec<&ParsedFile> = parsed.iter().collect();
    merge_and_resolve(&refs, env)
}

/// Like [`load`] for layers already parsed (highest priority first).
pub fn merge_and_resolve(
    layers: &[&ParsedFile],
    env: &BTreeMap<String, String>,
) -> Result<Loaded, ConfigError> {
    let mut origins = Origins::default();
    let mut files = Vec::new();
    // Lowest priority first, so that higher layers overwrite key origins.
    for l in layers.iter().rev() {
        origins
            .keys
            .extend(l.origins.keys.iter().map(|(k, v)| (k.clone(), v.clone())));
        origins
            .substitutions
            .extend(l.origins.substitutions.iter().cloned());
        origins
            .substitution_paths
            .extend(l.origins.substitution_paths.iter().cloned());
        files.extend(l.files.iter().cloned());
    }
    let mut merged = match layers.first() {
        Some(top) => top.config.clone(),
        None => hocon::empty(None),
    };
    for l in &layers[1.min(layers.len())..] {
        merged = merged.with_fallback(&l.config);
    }
    // Only variables some substitution names can be looked up; passing the rest would only cost
    // a merge per document.
    let env_map: serde_json::Map<String, serde_json::Value> = env
        .iter()
        .filter(|(k, _)| origins.substitution_paths.contains(k.as_str()))
        // HOCON.md: an environment variable set to the empty string is treated as not present.
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    let env_cfg =
        hocon::from_map(env_map, Some("environment")).map_err(|e| ConfigError::Invalid {
            at: Location::file("environment"),
            key: e.path.clone(),
            message: e.message,
        })?;
    let top_file = files.first().cloned().unwrap_or_default();
    let opts = ResolveOptions::defaults().with_use_system_environment(false);
    let resolved = if merged.is_resolved() {
        merged
    } else {
        merged
            .resolve_with(&env_cfg, opts)
            .map_err(|e| hocon_error(e, &top_file, &origins))?
    };
    let mut root = serde_json::Map::new();
    for key in resolved.keys() {
        if let Some(v) = resolved.get(&quote_key(key)) {
            root.insert(key.to_string(), to_json(v));
        }
    }
    Ok(Loaded {
        value: serde_json::Value::Object(root),
        origins,
        files,
    })
}

fn quote_key(k: &str) -> String {
    if k.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        format!("\"{}\"", k.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Converts a resolved HOCON value to JSON, keeping numbers as numbers where HOCON typed them so.
pub fn to_json(v: &HoconValue) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        HoconValue::Object(m) => {
            J::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
        HoconValue::Array(a) => J::Array(a.iter().map(to_json).collect()),
        HoconValue::Scalar(s) => match s.value_type {
            ScalarType::Null => J::Null,
            ScalarType::Boolean => J::Bool(s.raw.eq_ignore_ascii_case("true")),
            ScalarType::Number => s
                .raw
                .parse::<i64>()
                .map(J::from)
                .ok()
                .or_else(|| {
                    s.raw
                        .parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .map(J::Number)
                })
                .unwrap_or_else(|| J::String(s.raw.clone())),
            _ => J::String(s.raw.clone()),
        },
        // Unresolved placeholders cannot survive a successful resolve; keep them visible if they do.
        _ => J::String(format!("{v:?}")),
    }
}

const MAX_INCLUDE_DEPTH: usize = 32;

/// Parses one file into the crate's AST and records key and substitution positions, following
/// includes relative to the including file.
fn index_file(
    path: &Path,
    prefix: &str,
    origins: &mut Origins,
    files: &mut Vec<PathBuf>,
    depth: usize,
) -> Result<(), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    files.push(path.to_path_buf());
    if depth > MAX_INCLUDE_DEPTH {
        return Err(ConfigError::Syntax {
            at: Location::file(path.display().to_string()),
            message: "includes nest too deep (an include cycle?)".into(),
        });
    }
    let syntax = |line: usize, col: usize, message: String| ConfigError::Syntax {
        at: Location {
            file: path.display().to_string(),
            line,
            col,
        },
        message,
    };
    let tokens = hocon::tokenize(&text).map_err(|e| syntax(e.line, e.col, e.message))?;
    let ast = hocon::parser::parse_tokens(&tokens).map_err(|e| syntax(e.line, e.col, e.message))?;
    let mut ix = Indexer {
        file: path.display().to_string(),
        dir: path.parent().map(Path::to_path_buf),
        origins,
        files,
        depth,
    };
    ix.node(&ast, prefix)
}

struct Indexer<'a> {
    file: String,
    dir: Option<PathBuf>,
    origins: &'a mut Origins,
    files: &'a mut Vec<PathBuf>,
    depth: usize,
}

impl Indexer<'_> {
    fn at(&self, line: usize, col: usize) -> Location {
        Location {
            file: self.file.clone(),
            line,
            col,
        }
    }

    fn node(&mut self, node: &AstNode, path: &str) -> Result<(), ConfigError> {
        match node {
            AstNode::Object { fields, .. } => {
                for f in fields {
                    self.field(f, path)?;
                }
            }
            AstNode::Array { items, .. } => {
                for (i, item) in items.iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    let pos = node_pos(item);
                    self.origins.keys.insert(p.clone(), self.at(pos.0, pos.1));
                    self.node(item, &p)?;
                }
            }
            AstNode::Concat { nodes, .. } => {
                for n in nodes {
                    self.node(n, path)?;
                }
            }
            AstNode::Substitution { pos, segments, .. } => {
                self.origins.substitutions.push(self.at(pos.line, pos.col));
                let path: Vec<&str> = segments.iter().map(|s| s.text.as_str()).collect();
                self.origins.substitution_paths.insert(path.join("."));
            }
            AstNode::Include {
                path: inc,
                required,
                pos,
                ..
            } => {
                let target = match &self.dir {
                    Some(d) => d.join(inc),
                    None => PathBuf::from(inc),
                };
                if target.exists() {
                    index_file(&target, path, self.origins, self.files, self.depth + 1)?;
                } else if *required {
                    return Err(ConfigError::Syntax {
                        at: self.at(pos.line, pos.col),
                        message: format!("required include not found: {}", target.display()),
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn field(&mut self, f: &AstField, prefix: &str) -> Result<(), ConfigError> {
        if f.key.is_empty() {
            // An include directive.
            return self.node(&f.value, prefix);
        }
        let mut path = prefix.to_string();
        for seg in &f.key {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(seg);
            // Every prefix of a dotted key is defined here too (`a.b.c = 1` defines `a` and `a.b`),
            // unless a more specific definition already exists.
            self.origins
                .keys
                .entry(path.clone())
                .or_insert_with(|| Location {
                    file: self.file.clone(),
                    line: f.pos.line,
                    col: f.pos.col,
                });
        }
        self.origins
            .keys
            .insert(path.clone(), self.at(f.pos.line, f.pos.col));
        self.node(&f.value, &path)
    }
}

fn node_pos(n: &AstNode) -> (usize, usize) {
    let p = match n {
        AstNode::Object { pos, .. }
        | AstNode::Array { pos, .. }
        | AstNode::Scalar { pos, .. }
        | AstNode::Concat { pos, .. }
        | AstNode::Substitution { pos, .. }
        | AstNode::Include { pos, .. } => pos,
        #[allow(unreachable_patterns)]
        _ => return (0, 0),
    };
    (p.line, p.col)
}

/// Turns the crate's error into ours, naming the file.
fn hocon_error(e: HoconError, file: &Path, origins: &Origins) -> ConfigError {
    match e {
        HoconError::Parse(p) => ConfigError::Syntax {
            at: Location {
                file: file.display().to_string(),
                line: p.line,
                col: p.col,
            },
            message: p.message,
        },
        HoconError::Resolve(r) => {
            let at = origins
                .substitution_at(r.line, r.col)
                .cloned()
                .unwrap_or(Location {
                    file: file.display().to_string(),
                    line: r.line,
                    col: r.col,
                });
            let message = if r.message.starts_with("could not resolve substitution") {
                format!(
                    "undefined substitution ${{{}}}: no such key in the merged config and no environment variable of that name",
                    r.path
                )
            } else if r.message.starts_with("circular substitution") {
                format!("circular substitution involving ${{{}}}", r.path)
            } else {
                r.message
            };
            ConfigError::Substitution {
                at,
                path: r.path,
                message,
            }
        }
        other => ConfigError::Syntax {
            at: Location::file(file.display().to_string()),
            message: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn later_assignment_wins_for_self_references_across_layers() {
        let d = tempfile::tempdir().unwrap();
        let defaults = write(
            d.path(),
            "d.conf",
            "conf { name = \"a\"\n arn = \"arn:\"${ACCOUNT_ID}\":role/\"${conf.name} }\n",
        );
        let over = write(d.path(), "o.conf", "conf.name = \"b\"\n");
        let layers = [
            Layer::Values("injected", vec![("ACCOUNT_ID".into(), "123".into())]),
            Layer::File(over),
            Layer::File(defaults),
        ];
        let l = load(&layers, &BTreeMap::new()).unwrap();
        assert_eq!(l.value["conf"]["arn"], "arn:123:role/b");
        assert_eq!(
            l.origins.exact("conf.name").unwrap().file,
            d.path().join("o.conf").display().to_string()
        );
    }

    #[test]
    fn environment_is_the_last_fallback_and_empty_is_absent() {
        let d = tempfile::tempdir().unwrap();
        let f = write(
            d.path(),
            "f.conf",
            "a = ${X}\nb = ${?EMPTY}\nb = \"kept\"\nc = ${?EMPTY}\n",
        );
        let env: BTreeMap<_, _> = [
            ("X".to_string(), "from-env".to_string()),
            ("EMPTY".into(), "".into()),
        ]
        .into();
        let l = load(&[Layer::File(f)], &env).unwrap();
        assert_eq!(l.value["a"], "from-env");
        assert_eq!(l.value["b"], "kept");
        assert!(l.value.get("c").is_none());
    }

    #[test]
    fn substitution_error_in_included_file_names_that_file() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "inc.conf", "x = 1\ny = ${NOPE}\n");
        let main = write(d.path(), "main.conf", "include \"inc.conf\"\nz = 2\n");
        let e = load(&[Layer::File(main)], &BTreeMap::new()).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("inc.conf:2:"), "{s}");
        assert!(s.contains("NOPE"), "{s}");
    }
}
