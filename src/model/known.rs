//! Values the desired state cannot know before the cloud is reached: typed, never empty strings.
//!
//! A [`Known`] is either the value or the name of what is missing (`ACCOUNT_ID`, `REGION`,
//! `LAMBDA_VERSION_<function>` …). Rendering an unknown gives the placeholder text plans have
//! always printed (`<unknown:ACCOUNT_ID>`, see [`crate::config::placeholder`]), so a plan made
//! offline shows where each value will come from, and a deploy can refuse a request that still
//! holds one ([`crate::config::has_placeholder`]).

use std::fmt;

use crate::config::placeholder;

/// A value, or the name of the value that is not known yet.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Known<T> {
    Is(T),
    Unknown(String),
}

impl<T> Known<T> {
    /// An unknown value named `name` (e.g. `ACCOUNT_ID`).
    pub fn unknown(name: impl Into<String>) -> Known<T> {
        Known::Unknown(name.into())
    }

    /// `Some(v)` is known; `None` is the unknown value `name`.
    pub fn from_option(v: Option<T>, name: &str) -> Known<T> {
        match v {
            Some(v) => Known::Is(v),
            None => Known::Unknown(name.to_string()),
        }
    }

    /// `Some(value)` when known.
    pub fn get(&self) -> Option<&T> {
        match self {
            Known::Is(v) => Some(v),
            Known::Unknown(_) => None,
        }
    }

    pub fn is_known(&self) -> bool {
        matches!(self, Known::Is(_))
    }
}

impl<T: fmt::Display> Known<T> {
    /// The value, or its placeholder text.
    pub fn render(&self) -> String {
        self.to_string()
    }
}

impl<T: fmt::Display> fmt::Display for Known<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Known::Is(v) => v.fmt(f),
            Known::Unknown(name) => f.write_str(&placeholder(name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::has_placeholder;

    #[test]
    fn unknowns_render_as_placeholders_and_knowns_as_themselves() {
        let a: Known<String> = Known::unknown("ACCOUNT_ID");
        assert_eq!(a.render(), "<unknown:ACCOUNT_ID>");
        assert!(has_placeholder(&a.render()) && !a.is_known() && a.get().is_none());
        let b = Known::Is("123".to_string());
        assert_eq!(b.render(), "123");
        assert_eq!(b.get().map(String::as_str), Some("123"));
    }
}
