//! The public (AWS-provided) components a V2 deployment may name, the major version ggp maps each
//! for, and how components depend on them and configure them.

use serde_json::{json, Value};

use crate::config::placeholder;

/// Public components ggp adds to a deployment when the project needs them.
pub const LOG_MANAGER: &str = "aws.greengrass.LogManager";
pub const SECRET_MANAGER: &str = "aws.greengrass.SecretManager";
pub const LEGACY_ROUTER: &str = "aws.greengrass.LegacySubscriptionRouter";
pub const SHADOW_MANAGER: &str = "aws.greengrass.ShadowManager";
pub const CLOUDWATCH: &str = "aws.greengrass.Cloudwatch";

/// Every public component the mapping can put in a deployment, with the major version it is
/// written for: `(component name, major)`. The plan carries each one's version as the placeholder
/// `VERSION_<name>`; whoever resolves it must pick a version of this major (the latest
/// `<major>.x`), since the configuration keys ggp merges are those of that major. The function
/// components' dependencies on them require the same major (`>=<major>.0.0 <<major+1>.0.0`).
pub const PUBLIC_COMPONENTS: &[(&str, u64)] = &[
    (LOG_MANAGER, 2),
    (SECRET_MANAGER, 2),
    (LEGACY_ROUTER, 2),
    (SHADOW_MANAGER, 2),
    (CLOUDWATCH, 3),
];

/// The major version ggp maps a public component for (see [`PUBLIC_COMPONENTS`]).
pub fn public_major(name: &str) -> Option<u64> {
    PUBLIC_COMPONENTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, m)| *m)
}

/// A HARD component dependency on a public component, within its mapped major.
pub fn hard_dependency(name: &str) -> Value {
    let major = public_major(name).unwrap_or(2);
    json!({"versionRequirement": format!(">={major}.0.0 <{}.0.0", major + 1), "dependencyType": "HARD"})
}

/// The version of a public component, resolved at deploy time (the latest version of its major in
/// [`PUBLIC_COMPONENTS`]).
fn public_version(name: &str) -> String {
    placeholder(&format!("VERSION_{name}"))
}

/// A public component's deployment entry with its configuration merged.
pub fn public_entry(name: &str, config: Value) -> Value {
    json!({"componentVersion": public_version(name), "configurationUpdate": {"merge": config.to_string()}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_components_have_a_major_and_dependencies_follow_it() {
        for name in [
            LOG_MANAGER,
            SECRET_MANAGER,
            LEGACY_ROUTER,
            SHADOW_MANAGER,
            CLOUDWATCH,
        ] {
            assert!(public_major(name).is_some(), "{name}");
        }
        for (_, component) in super::super::connectors::CONNECTOR_COMPONENTS {
            assert!(public_major(component).is_some(), "{component}");
        }
        assert_eq!(
            hard_dependency(CLOUDWATCH),
            json!({"versionRequirement": ">=3.0.0 <4.0.0", "dependencyType": "HARD"})
        );
        assert_eq!(
            hard_dependency(SHADOW_MANAGER)["versionRequirement"],
            ">=2.0.0 <3.0.0"
        );
    }
}
