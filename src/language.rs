//! Function languages (Lambda runtimes) and what each needs at build and run time.
//!
//! GGP knew five runtimes and crashed on anything else (`Language.valueOf` on `PYTHON3_8`, which its
//! own sample repository uses). ggp accepts GGP's names, the legacy `Python`/`Java`/`Node`, and the
//! later Python, Node and Java versions.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// The family of a language: decides how a function is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Python,
    Node,
    Java,
    Executable,
}

/// A function language with its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    /// Python `major.minor`.
    Python(u8, u8),
    /// Node.js major version.
    Node(u8),
    /// Java major version.
    Java(u8),
    /// Java 8 on Amazon Linux 2 (Lambda's `java8.al2`; `java8` is Amazon Linux 1).
    Java8Al2,
    Executable,
}

/// Names accepted besides the systematic `PYTHON3_x` / `NODEJSxx_X` / `JAVAxx` forms.
const LEGACY: &[(&str, Language)] = &[
    ("PYTHON", Language::Python(2, 7)),
    ("JAVA", Language::Java(8)),
    ("NODE", Language::Node(12)),
    ("EXECUTABLE", Language::Executable),
];

/// The Lambda "runtime" Greengrass V1 uses for native executables.
pub const EXECUTABLE_RUNTIME: &str = "arn:aws:greengrass:::runtime/function/executable";

/// Python minor versions ggp accepts for Python 3.
const PYTHON3_MINORS: std::ops::RangeInclusive<u8> = 7..=13;
/// Node.js majors ggp accepts.
const NODE_MAJORS: &[u8] = &[12, 14, 16, 18, 20, 22];
/// Java majors ggp accepts.
const JAVA_MAJORS: &[u8] = &[8, 11, 17, 21];

impl Language {
    pub fn family(self) -> Family {
        match self {
            Language::Python(..) => Family::Python,
            Language::Node(_) => Family::Node,
            Language::Java(_) | Language::Java8Al2 => Family::Java,
            Language::Executable => Family::Executable,
        }
    }

    /// The canonical configuration name (`PYTHON3_8`, `NODEJS12_X`, `JAVA8`, `EXECUTABLE`).
    pub fn name(self) -> String {
        match self {
            Language::Python(a, b) => format!("PYTHON{a}_{b}"),
            Language::Node(v) => format!("NODEJS{v}_X"),
            Language::Java(v) => format!("JAVA{v}"),
            Language::Java8Al2 => "JAVA8_AL2".into(),
            Language::Executable => "EXECUTABLE".into(),
        }
    }

    /// The Lambda runtime identifier used in CreateFunction.
    pub fn lambda_runtime(self) -> String {
        match self {
            Language::Python(a, b) => format!("python{a}.{b}"),
            Language::Node(v) => format!("nodejs{v}.x"),
            Language::Java(8) => "java8".into(),
            Language::Java(v) => format!("java{v}"),
            Language::Java8Al2 => "java8.al2".into(),
            Language::Executable => EXECUTABLE_RUNTIME.into(),
        }
    }

    /// The language of a Lambda runtime identifier (`python3.8` → `PYTHON3_8`), if ggp knows it.
    pub fn from_lambda_runtime(runtime: &str) -> Option<Language> {
        if runtime == EXECUTABLE_RUNTIME {
            return Some(Language::Executable);
        }
        if runtime == "java8.al2" {
            return Some(Language::Java8Al2);
        }
        let name = runtime.to_ascii_uppercase().replace('.', "_");
        let name = match name.strip_prefix("JAVA") {
            Some(v) => format!("JAVA{}", v.trim_end_matches("_AL2")),
            None => name,
        };
        name.parse().ok()
    }

    /// The interpreter a device needs for this language, as a command name (`python3.8`, `node`, `java`).
    pub fn device_runtime_command(self) -> Option<String> {
        match self {
            Language::Python(a, b) => Some(format!("python{a}.{b}")),
            Language::Node(_) => Some("node".into()),
            Language::Java(_) | Language::Java8Al2 => Some("java".into()),
            Language::Executable => None,
        }
    }

    /// Every accepted canonical name, for error messages.
    pub fn all_names() -> Vec<String> {
        let mut v = vec!["PYTHON2_7".to_string()];
        v.extend(PYTHON3_MINORS.map(|m| format!("PYTHON3_{m}")));
        v.extend(NODE_MAJORS.iter().map(|m| format!("NODEJS{m}_X")));
        v.extend(JAVA_MAJORS.iter().map(|m| format!("JAVA{m}")));
        v.push("JAVA8_AL2".into());
        v.push("EXECUTABLE".into());
        v.extend(["Python", "Java", "Node"].map(String::from));
        v
    }
}

/// A language name that ggp does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language '{0}' (expected one of: {list})", list = Language::all_names().join(", "))]
pub struct UnknownLanguage(pub String);

impl FromStr for Language {
    type Err = UnknownLanguage;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || UnknownLanguage(s.to_string());
        let up = s.trim().to_ascii_uppercase();
        if let Some((_, l)) = LEGACY.iter().find(|(n, _)| *n == up) {
            return Ok(*l);
        }
        if let Some(rest) = up.strip_prefix("PYTHON") {
            let (a, b) = rest.split_once('_').ok_or_else(err)?;
            let (a, b): (u8, u8) = (a.parse().map_err(|_| err())?, b.parse().map_err(|_| err())?);
            return match (a, b) {
                (2, 7) => Ok(Language::Python(2, 7)),
                (3, m) if PYTHON3_MINORS.contains(&m) => Ok(Language::Python(3, m)),
                _ => Err(err()),
            };
        }
        if let Some(rest) = up.strip_prefix("NODEJS") {
            let v: u8 = rest
                .strip_suffix("_X")
                .ok_or_else(err)?
                .parse()
                .map_err(|_| err())?;
            return NODE_MAJORS
                .contains(&v)
                .then_some(Language::Node(v))
                .ok_or_else(err);
        }
        if up == "JAVA8_AL2" {
            return Ok(Language::Java8Al2);
        }
        if let Some(rest) = up.strip_prefix("JAVA") {
            let v: u8 = rest.parse().map_err(|_| err())?;
            return JAVA_MAJORS
                .contains(&v)
                .then_some(Language::Java(v))
                .ok_or_else(err);
        }
        Err(err())
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl Serialize for Language {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ggp_names_and_later_versions_parse() {
        let cases = [
            ("PYTHON2_7", "python2.7"),
            ("PYTHON3_7", "python3.7"),
            ("PYTHON3_8", "python3.8"),
            ("PYTHON3_11", "python3.11"),
            ("NODEJS12_X", "nodejs12.x"),
            ("NODEJS20_X", "nodejs20.x"),
            ("JAVA8", "java8"),
            ("JAVA11", "java11"),
            ("JAVA8_AL2", "java8.al2"),
            (
                "EXECUTABLE",
                "arn:aws:greengrass:::runtime/function/executable",
            ),
            ("Python", "python2.7"),
            ("Java", "java8"),
            ("Node", "nodejs12.x"),
        ];
        for (name, runtime) in cases {
            let l: Language = name.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(l.lambda_runtime(), runtime);
        }
    }

    #[test]
    fn lambda_runtimes_read_back_as_their_language() {
        for name in ["PYTHON3_11", "NODEJS22_X", "JAVA8", "JAVA8_AL2", "JAVA17"] {
            let l: Language = name.parse().unwrap();
            assert_eq!(Language::from_lambda_runtime(&l.lambda_runtime()), Some(l));
        }
    }

    #[test]
    fn unknown_languages_are_rejected() {
        for bad in [
            "PYTHON3_99",
            "PYTHON4_0",
            "NODEJS13_X",
            "JAVA9",
            "COBOL",
            "",
            "PYTHON3",
        ] {
            assert!(bad.parse::<Language>().is_err(), "{bad}");
        }
    }
}
