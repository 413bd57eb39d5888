//! The Greengrass V1 core's `config/config.json`, with every field GGP wrote, in a fixed key order.
//!
//! GGP built this file from a HashMap, so its key order changed from run to run; here the order is
//! the one of GGP's template (`coreThing`, `runtime`, `managedRespawn`, `crypto`) and the output is
//! the same for the same inputs. Paths are absolute `file:///greengrass/...` URIs as the V1 docs
//! require; the installer rewrites the `/greengrass/` prefix when it installs under another root.
//!
//! Not for: the V2 nucleus `config.yaml`.

use serde_json::{json, Map, Value};

use super::{BundleInputs, Pkcs11};

/// The install root the paths in config.json name (the installer's default `--root`).
pub const DEFAULT_ROOT: &str = "/greengrass";
/// GGP's PKCS#11 URI of the core's private key in the HSM.
pub const PKCS11_KEY_URI: &str = "pkcs11:object=iotkey;type=private";

/// `ggHost`: the data endpoint with its first label replaced by `greengrass-ats` (or `greengrass`
/// for a legacy, non-ATS endpoint), in the same region and partition.
pub fn greengrass_host(iot_data_endpoint: &str, region: &str) -> String {
    match iot_data_endpoint.split_once(".iot.") {
        Some((first, rest)) if !first.is_empty() && !rest.is_empty() => {
            let label = if first.ends_with("-ats") {
                "greengrass-ats"
            } else {
                "greengrass"
            };
            format!("{label}.iot.{rest}")
        }
        _ => format!("greengrass-ats.iot.{region}.amazonaws.com"),
    }
}

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k.to_string(), v);
    }
    Value::Object(m)
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// The document, keys in GGP's order.
pub fn value(i: &BundleInputs) -> Value {
    let certs = format!("file://{DEFAULT_ROOT}/certs");
    let key_path = match &i.hsi {
        Some(_) => PKCS11_KEY_URI.to_string(),
        None => format!("{certs}/core.key"),
    };
    let core_thing = obj(vec![
        ("thingArn", json!(i.thing_arn)),
        ("iotHost", json!(i.iot_data_endpoint)),
        (
            "ggHost",
            json!(greengrass_host(&i.iot_data_endpoint, &i.region)),
        ),
        ("ggMqttPort", json!(i.mqtt_port)),
    ]);
    let mut runtime = vec![(
        "cgroup",
        obj(vec![("useSystemd", json!(yes_no(i.use_systemd)))]),
    )];
    if i.allow_root {
        runtime.push(("allowFunctionsToRunAsRoot", json!("yes")));
    }
    let principals = obj(vec![
        (
            "IoTCertificate",
            obj(vec![
                ("certificatePath", json!(format!("{certs}/core.crt"))),
                ("privateKeyPath", json!(key_path)),
            ]),
        ),
        (
            "SecretsManager",
            obj(vec![("privateKeyPath", json!(key_path))]),
        ),
        (
            "MQTTServerCertificate",
            obj(vec![("privateKeyPath", json!(key_path))]),
        ),
    ]);
    let mut crypto = vec![("caPath", json!(format!("{certs}/root.ca.pem")))];
    if let Some(p) = &i.hsi {
        crypto.push(("PKCS11", pkcs11(p)));
    }
    crypto.push(("principals", principals));
    obj(vec![
        ("coreThing", core_thing),
        ("runtime", obj(runtime)),
        ("managedRespawn", json!(false)),
        ("crypto", obj(crypto)),
    ])
}

fn pkcs11(p: &Pkcs11) -> Value {
    let mut v = vec![
        ("P11Provider", json!(p.p11_provider)),
        ("slotLabel", json!(p.slot_label)),
        ("slotUserPin", json!(p.slot_user_pin.expose())),
    ];
    if let Some(engine) = &p.openssl_engine {
        v.push(("OpenSSLEngine", json!(engine)));
    }
    obj(v)
}

/// The file's bytes: two-space indented JSON and a final newline.
pub fn render(i: &BundleInputs) -> String {
    let mut s = serde_json::to_string_pretty(&value(i)).expect("a JSON value always serialises");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::Secret;
    use crate::target::v1::bundle::tests::inputs;

    #[test]
    fn gg_host_follows_the_data_endpoint() {
        assert_eq!(
            greengrass_host("abc123-ats.iot.eu-west-1.amazonaws.com", "eu-west-1"),
            "greengrass-ats.iot.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            greengrass_host("abc123.iot.cn-north-1.amazonaws.com.cn", "cn-north-1"),
            "greengrass.iot.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            greengrass_host("localhost", "us-east-1"),
            "greengrass-ats.iot.us-east-1.amazonaws.com"
        );
    }

    #[test]
    fn ggp_fields_in_a_fixed_order() {
        let mut i = inputs();
        i.allow_root = true;
        i.use_systemd = false;
        i.mqtt_port = 8884;
        let text = render(&i);
        let expected = r#"{
  "coreThing": {
    "thingArn": "arn:aws:iot:us-east-1:123456789012:thing/g1_Core",
    "iotHost": "a1b2c3-ats.iot.us-east-1.amazonaws.com",
    "ggHost": "greengrass-ats.iot.us-east-1.amazonaws.com",
    "ggMqttPort": 8884
  },
  "runtime": {
    "cgroup": {
      "useSystemd": "no"
    },
    "allowFunctionsToRunAsRoot": "yes"
  },
  "managedRespawn": false,
  "crypto": {
    "caPath": "file:///greengrass/certs/root.ca.pem",
    "principals": {
      "IoTCertificate": {
        "certificatePath": "file:///greengrass/certs/core.crt",
        "privateKeyPath": "file:///greengrass/certs/core.key"
      },
      "SecretsManager": {
        "privateKeyPath": "file:///greengrass/certs/core.key"
      },
      "MQTTServerCertificate": {
        "privateKeyPath": "file:///greengrass/certs/core.key"
      }
    }
  }
}
"#;
        assert_eq!(text, expected);
        assert_eq!(render(&i), text, "stable");
    }

    #[test]
    fn defaults_and_pkcs11_form() {
        let mut i = inputs();
        i.private_key_pem = None;
        i.hsi = Some(Pkcs11 {
            p11_provider: "/usr/lib/softhsm/libsofthsm2.so".into(),
            slot_label: "greengrass".into(),
            slot_user_pin: Secret::new("1234".into()),
            openssl_engine: Some("/usr/lib/engines/libpkcs11.so".into()),
            pkcs11_engine_for_curl: None,
        });
        let v = value(&i);
        assert_eq!(v["runtime"]["cgroup"]["useSystemd"], "yes");
        assert!(v["runtime"].get("allowFunctionsToRunAsRoot").is_none());
        assert_eq!(v["coreThing"]["ggMqttPort"], 8883);
        for p in ["IoTCertificate", "SecretsManager", "MQTTServerCertificate"] {
            assert_eq!(
                v["crypto"]["principals"][p]["privateKeyPath"],
                PKCS11_KEY_URI
            );
        }
        let keys: Vec<&String> = v["crypto"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["caPath", "PKCS11", "principals"]);
        let p = &v["crypto"]["PKCS11"];
        assert_eq!(p["P11Provider"], "/usr/lib/softhsm/libsofthsm2.so");
        assert_eq!(p["slotLabel"], "greengrass");
        assert_eq!(p["slotUserPin"], "1234");
        assert_eq!(p["OpenSSLEngine"], "/usr/lib/engines/libpkcs11.so");
    }
}
