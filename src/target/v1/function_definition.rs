//! The Greengrass V1 function definition: GGIPDetector, then every function with its
//! configuration (pinned, timeout, encoding, isolation, run-as user, memory and sysfs inside a
//! container), its environment (every function's `LOCAL_LAMBDA_*`, its secrets and shadows, the
//! deployment's and its own variables) and its resource access policies. API field names, so the
//! JSON is what CreateFunctionDefinitionVersion receives.

use serde_json::{json, Map, Value};

use crate::config::EncodingType;
use crate::language::Family;
use crate::model::{Desired, Function};

/// A JSON object from owned values, without the copy `json!` makes of interpolated values.
fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Object(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// The isolation mode every function gets unless it says otherwise: no container only when every
/// function runs outside one.
pub fn default_isolation(desired: &Desired) -> &'static str {
    if !desired.functions.is_empty()
        && desired
            .functions
            .iter()
            .all(|f| !f.conf.greengrass_container)
    {
        "NoContainer"
    } else {
        "GreengrassContainer"
    }
}

/// The function definition's content.
pub fn function_definition(desired: &Desired) -> Value {
    let mut functions = vec![json!({
        "Id": "GGIPDetector",
        "FunctionArn": "arn:aws:lambda:::function:GGIPDetector:1",
        "FunctionConfiguration": {"MemorySize": 32768, "Pinned": true, "Timeout": 3}
    })];
    // Every function sees every function's alias ARN (GGP's LOCAL_LAMBDA_*).
    let local_lambdas = desired.local_lambda_map();
    for f in &desired.functions {
        functions.push(function(f, &local_lambdas));
    }
    object([
        (
            "DefaultConfig",
            json!({"Execution": {"IsolationMode": default_isolation(desired)}}),
        ),
        ("Functions", Value::Array(functions)),
    ])
}

fn function(f: &Function, local_lambdas: &Map<String, Value>) -> Value {
    let c = &f.conf;
    let isolation = if c.greengrass_container {
        "GreengrassContainer"
    } else {
        "NoContainer"
    };
    let mut execution = json!({"IsolationMode": isolation});
    if c.uid.is_some() || c.gid.is_some() {
        let mut run_as = Map::new();
        if let Some(u) = c.uid {
            run_as.insert("Uid".into(), json!(u));
        }
        if let Some(g) = c.gid {
            run_as.insert("Gid".into(), json!(g));
        }
        execution["RunAs"] = Value::Object(run_as);
    }
    // Built by moving values in: `json!` would copy each N-entry environment through serde.
    let env = f.environment_with(local_lambdas);
    let mut environment = object([("Execution", execution), ("Variables", Value::Object(env))]);
    let mut config = json!({
        "EncodingType": match c.encoding_type { EncodingType::Json => "json", EncodingType::Binary => "binary" },
        "Pinned": c.pinned,
        "Timeout": c.timeout_in_seconds,
    });
    let access: Vec<Value> = f
        .access
        .iter()
        .map(|a| json!({"ResourceId": a.resource_id, "Permission": if a.read_write { "rw" } else { "ro" }}))
        .collect();
    if c.greengrass_container {
        // NoContainer functions have MemorySize and AccessSysfs scrubbed, as GGP did (the API rejects them).
        config["MemorySize"] = json!(c.memory_size_in_kb);
        environment["AccessSysfs"] = json!(c.access_sys_fs);
    }
    if !access.is_empty() {
        // Secrets are available to NoContainer functions too.
        environment["ResourceAccessPolicies"] = Value::Array(access);
    }
    if c.language.family() == Family::Executable {
        config["Executable"] = json!(c.handler_name);
    }
    config["Environment"] = environment;
    object([
        (
            "Id",
            Value::String(crate::config::model::sanitize_id(&c.function_name)),
        ),
        ("FunctionArn", Value::String(f.alias_arn.clone())),
        ("FunctionConfiguration", config),
    ])
}
