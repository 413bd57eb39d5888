//! Reading plan JSON (API field names) into SDK values, strictly: an object's keys are checked
//! against the ones the reader knows, so a key a plan writes but `deploy` would silently drop is
//! an error naming its path. Hand-written because the SDK's types have no serde support; used by
//! `target::v1::convert` and `target::v2::convert`.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::error::ProvisionError;

pub type R<T> = Result<T, ProvisionError>;

pub fn bad(path: &str, what: &str) -> ProvisionError {
    ProvisionError::Input(format!(
        "internal: the plan's definition has {what} at {path}"
    ))
}

/// An object whose keys are checked against `known`.
pub struct Obj<'a> {
    pub path: String,
    map: &'a Map<String, Value>,
}

impl<'a> Obj<'a> {
    pub fn new(path: &str, v: &'a Value, known: &[&str]) -> R<Obj<'a>> {
        let map = v
            .as_object()
            .ok_or_else(|| bad(path, "a value that is not an object"))?;
        if let Some(k) = map.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(bad(path, &format!("the unknown key {k}")));
        }
        Ok(Obj {
            path: path.to_string(),
            map,
        })
    }

    pub fn at(&self, k: &str) -> String {
        format!("{}.{k}", self.path)
    }

    pub fn get(&self, k: &str) -> Option<&'a Value> {
        self.map.get(k).filter(|v| !v.is_null())
    }

    pub fn str(&self, k: &str) -> R<Option<String>> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad(&self.at(k), "a value that is not a string")),
        }
    }

    pub fn req_str(&self, k: &str) -> R<String> {
        self.str(k)?.ok_or_else(|| bad(&self.at(k), "no value"))
    }

    pub fn bool(&self, k: &str) -> R<Option<bool>> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(bad(&self.at(k), "a value that is not a boolean")),
        }
    }

    pub fn int(&self, k: &str) -> R<Option<i32>> {
        match self.get(k) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| bad(&self.at(k), "a value that is not a 32-bit integer")),
        }
    }

    pub fn list(&self, k: &str) -> R<&'a [Value]> {
        match self.get(k) {
            None => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(bad(&self.at(k), "a value that is not a list")),
        }
    }

    pub fn string_map(&self, k: &str) -> R<Option<HashMap<String, String>>> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(a, b)| match b {
                    Value::String(s) => Ok((a.clone(), s.clone())),
                    _ => Err(bad(&self.at(k), "a value that is not a string")),
                })
                .collect::<R<HashMap<_, _>>>()
                .map(Some),
            Some(_) => Err(bad(&self.at(k), "a value that is not an object")),
        }
    }
}
