//! Typed reads from a resolved config tree, with Typesafe Config's coercions and precise errors.
//!
//! A [`Reader`] walks one JSON object (a resolved HOCON object), hands out typed values by key,
//! remembers which keys were read, and reports the rest as unknown keys with a "did you mean"
//! suggestion. Every error carries the full key path, which `Origins` turns into `file:line`.
//!
//! Why not serde derive: GGP accepted `"32768"` for a number and `"yes"` for a boolean (Typesafe
//! coercion), and reported a missing key by its path; deriving would reject the first and could
//! not warn about unknown keys with suggestions while still reading the rest.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// A problem found while reading: the key path and what is wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

pub type Read<T> = Result<T, Problem>;

#[derive(Debug)]
pub struct Reader<'a> {
    path: String,
    obj: &'a serde_json::Map<String, Value>,
    used: RefCell<BTreeSet<String>>,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl<'a> Reader<'a> {
    /// A reader over `value`, which must be an object, found at `path`.
    pub fn new(path: &str, value: &'a Value) -> Read<Reader<'a>> {
        match value {
            Value::Object(obj) => Ok(Reader {
                path: path.to_string(),
                obj,
                used: RefCell::default(),
            }),
            other => Err(Problem {
                key: path.to_string(),
                message: format!("expected an object, found {}", type_name(other)),
            }),
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn key(&self, k: &str) -> String {
        if self.path.is_empty() {
            k.to_string()
        } else {
            format!("{}.{k}", self.path)
        }
    }

    fn problem(&self, k: &str, message: impl Into<String>) -> Problem {
        Problem {
            key: self.key(k),
            message: message.into(),
        }
    }

    /// The raw value, marking the key as known. `null` counts as absent (as in Typesafe Config).
    pub fn raw(&self, k: &str) -> Option<&'a Value> {
        self.used.borrow_mut().insert(k.to_string());
        self.obj.get(k).filter(|v| !v.is_null())
    }

    /// Marks keys as known without reading them (documented keys ggp ignores).
    pub fn ignore(&self, keys: &[&str]) {
        self.used
            .borrow_mut()
            .extend(keys.iter().map(|k| k.to_string()));
    }

    fn required<T>(&self, k: &str, v: Option<T>) -> Read<T> {
        v.ok_or_else(|| self.problem(k, "required key is missing"))
    }

    pub fn opt_string(&self, k: &str) -> Read<Option<String>> {
        match self.raw(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(other) => {
                Err(self.problem(k, format!("expected a string, found {}", type_name(other))))
            }
        }
    }

    pub fn string(&self, k: &str) -> Read<String> {
        let v = self.opt_string(k)?;
        self.required(k, v)
    }

    pub fn opt_u64(&self, k: &str) -> Read<Option<u64>> {
        match self.raw(k) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                        .map(|f| f as u64)
                })
                .map(Some)
                .ok_or_else(|| {
                    self.problem(
                        k,
                        format!("expected a whole non-negative number, found {n}"),
                    )
                }),
            Some(Value::String(s)) => s.trim().parse::<u64>().map(Some).map_err(|_| {
                self.problem(
                    k,
                    format!("expected a whole non-negative number, found \"{s}\""),
                )
            }),
            Some(other) => {
                Err(self.problem(k, format!("expected a number, found {}", type_name(other))))
            }
        }
    }

    pub fn u64(&self, k: &str) -> Read<u64> {
        let v = self.opt_u64(k)?;
        self.required(k, v)
    }

    pub fn opt_bool(&self, k: &str) -> Read<Option<bool>> {
        match self.raw(k) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" => Ok(Some(true)),
                "false" | "no" | "off" => Ok(Some(false)),
                _ => Err(self.problem(k, format!("expected a boolean, found \"{s}\""))),
            },
            Some(other) => {
                Err(self.problem(k, format!("expected a boolean, found {}", type_name(other))))
            }
        }
    }

    pub fn bool_or(&self, k: &str, default: bool) -> Read<bool> {
        Ok(self.opt_bool(k)?.unwrap_or(default))
    }

    pub fn bool(&self, k: &str) -> Read<bool> {
        let v = self.opt_bool(k)?;
        self.required(k, v)
    }

    /// A list of strings; absent means empty.
    pub fn strings(&self, k: &str) -> Read<Vec<String>> {
        match self.raw(k) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    other => Err(Problem {
                        key: format!("{}[{i}]", self.key(k)),
                        message: format!("expected a string, found {}", type_name(other)),
                    }),
                })
                .collect(),
            Some(other) => Err(self.problem(
                k,
                format!("expected a list of strings, found {}", type_name(other)),
            )),
        }
    }

    /// A list that must be present (GGP required these).
    pub fn required_strings(&self, k: &str) -> Read<Vec<String>> {
        if self.raw(k).is_none() {
            return Err(self.problem(k, "required key is missing"));
        }
        self.strings(k)
    }

    /// A map of string to string (e.g. `environmentVariables`); absent means empty.
    pub fn string_map(&self, k: &str) -> Read<BTreeMap<String, String>> {
        match self.raw(k) {
            None => Ok(BTreeMap::new()),
            Some(Value::Object(m)) => m
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(name, v)| match v {
                    Value::String(s) => Ok((name.clone(), s.clone())),
                    Value::Number(n) => Ok((name.clone(), n.to_string())),
                    Value::Bool(b) => Ok((name.clone(), b.to_string())),
                    other => Err(Problem {
                        key: format!("{}.{name}", self.key(k)),
                        message: format!("expected a string, found {}", type_name(other)),
                    }),
                })
                .collect(),
            Some(other) => {
                Err(self.problem(k, format!("expected an object, found {}", type_name(other))))
            }
        }
    }

    /// Any JSON value (policy documents), kept as written.
    pub fn json(&self, k: &str) -> Option<Value> {
        self.raw(k).cloned()
    }

    /// A nested object reader; absent gives an empty object.
    pub fn object(&self, k: &str) -> Read<Reader<'a>> {
        static EMPTY: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
        match self.raw(k) {
            None => Reader::new(
                &self.key(k),
                EMPTY.get_or_init(|| Value::Object(Default::default())),
            ),
            Some(v) => Reader::new(&self.key(k), v),
        }
    }

    /// Readers over each object of a list; absent means empty.
    pub fn objects(&self, k: &str) -> Read<Vec<Reader<'a>>> {
        match self.raw(k) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| Reader::new(&format!("{}[{i}]", self.key(k)), v))
                .collect(),
            Some(other) => Err(self.problem(
                k,
                format!("expected a list of objects, found {}", type_name(other)),
            )),
        }
    }

    /// Keys present but never read: `(path, suggestion)`.
    pub fn unknown_keys(&self, known: &[&str]) -> Vec<(String, Option<String>)> {
        let used = self.used.borrow();
        self.obj
            .keys()
            .filter(|k| !used.contains(k.as_str()))
            .map(|k| {
                (
                    self.key(k),
                    suggest(
                        k,
                        known.iter().copied().chain(used.iter().map(String::as_str)),
                    ),
                )
            })
            .collect()
    }
}

/// The closest known name, if it is close enough to be a likely typo.
pub fn suggest<'k>(word: &str, known: impl IntoIterator<Item = &'k str>) -> Option<String> {
    known
        .into_iter()
        .filter(|k| *k != word)
        .map(|k| {
            (
                strsim::jaro_winkler(&word.to_ascii_lowercase(), &k.to_ascii_lowercase()),
                k,
            )
        })
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn coerces_like_typesafe_config() {
        let v = json!({"n": "32768", "b": "yes", "s": 5, "l": ["a", 1]});
        let r = Reader::new("conf", &v).unwrap();
        assert_eq!(r.u64("n").unwrap(), 32768);
        assert!(r.bool("b").unwrap());
        assert_eq!(r.string("s").unwrap(), "5");
        assert_eq!(r.strings("l").unwrap(), vec!["a", "1"]);
    }

    #[test]
    fn errors_carry_the_key_path() {
        let v = json!({"n": "lots", "l": [{"x": 1}, 3]});
        let r = Reader::new("conf", &v).unwrap();
        assert_eq!(r.u64("n").unwrap_err().key, "conf.n");
        assert_eq!(
            r.u64("missing").unwrap_err().message,
            "required key is missing"
        );
        assert_eq!(r.objects("l").unwrap_err().key, "conf.l[1]");
    }

    #[test]
    fn unknown_keys_get_suggestions() {
        let v = json!({"memorySizeInKB": 1, "functionName": "x", "zzz": 1});
        let r = Reader::new("conf", &v).unwrap();
        r.string("functionName").unwrap();
        let unknown = r.unknown_keys(&["memorySizeInKb"]);
        assert_eq!(
            unknown[0],
            (
                "conf.memorySizeInKB".to_string(),
                Some("memorySizeInKb".to_string())
            )
        );
        assert_eq!(unknown[1], ("conf.zzz".to_string(), None));
    }
}
