//! The known failure patterns of Greengrass cores, in one table ([`PATTERNS`]), and how a device's
//! report or a log line is matched against it: `ggp diagnose` turns each match into a finding with
//! its fix.
//!
//! Two kinds of input are matched:
//! - error codes: Greengrass V2's deployment error stack and error types and the components'
//!   lifecycle status codes, as listed in the AWS IoT Greengrass V2 Developer Guide, pages
//!   "Detailed deployment error codes" and "Detailed component status codes" (troubleshooting
//!   section); Greengrass V1's detailed error codes of GetDeploymentStatus;
//! - messages: the reason and details a device reports, V1's deployment error messages, and log
//!   lines, matched by case-insensitive regular expressions. The log rules are GGP's
//!   `--diagnose` rules (function timeouts, a missing runtime, no connectivity info, too many IP
//!   addresses) plus out of memory, permission denials, certificates, endpoints and artifact
//!   downloads.
//!
//! Not for: reading the account or the logs (`app::diagnose` does), or deciding anything from
//! a deployment's success.

use std::sync::LazyLock;

use serde::Serialize;

/// One known failure: what it matches and what to do about it.
#[derive(Debug)]
pub struct Pattern {
    pub id: &'static str,
    /// What went wrong, in a few words.
    pub title: &'static str,
    /// Error codes it stands for; a trailing `*` matches a prefix.
    pub codes: &'static [&'static str],
    /// A case-insensitive regular expression over messages and log lines (`regex-lite` syntax).
    pub text: Option<&'static str>,
    /// What to do; `{component}` and `{group}` are filled in.
    pub fix: &'static str,
    /// Where the rule comes from.
    pub source: &'static str,
}

const V2_DEPLOYMENT_CODES: &str =
    "AWS IoT Greengrass V2 Developer Guide, \"Detailed deployment error codes\"";
const V2_COMPONENT_CODES: &str =
    "AWS IoT Greengrass V2 Developer Guide, \"Detailed component status codes\"";
const GGP_RULE: &str = "GGP's --diagnose rules (P/data/diagnostics)";
const LOG_RULE: &str = "Greengrass core and function log messages";

/// Every known pattern. Codes are tried before messages, and among codes the most specific one
/// of an error stack first (the stack goes from the most generic code to the most specific).
pub static PATTERNS: &[Pattern] = &[
    // ---- Greengrass V2 deployment error codes
    Pattern {
        id: "no-component-version",
        title: "no version of a component the deployment names can be used on the device",
        codes: &["NO_AVAILABLE_COMPONENT_VERSION", "COMPONENT_VERSION_REQUIREMENTS_NOT_MET"],
        text: Some(r"component versions could not be resolved|no available version"),
        fix: "a component version of the deployment is not DEPLOYABLE in this region, or another deployment to the device (another thing group) pins a conflicting version: run `ggp deploy` again (it creates missing versions) and check the device's other thing groups' deployments",
        source: V2_DEPLOYMENT_CODES,
    },
    Pattern {
        id: "component-broken",
        title: "a component failed to install, start or run and is BROKEN",
        codes: &["COMPONENT_BROKEN", "COMPONENT_UPDATE_ERROR", "COMPONENT_BOOTSTRAP_ERROR"],
        text: None,
        fix: "{component} failed its lifecycle: read why with `ggp logs -g {group} --component {component} --since 1h`, fix its code or recipe, and deploy again (a new version replaces the broken one)",
        source: V2_DEPLOYMENT_CODES,
    },
    Pattern {
        id: "artifact-download",
        title: "the device could not download a component artifact",
        codes: &["ARTIFACT_DOWNLOAD_ERROR", "ARTIFACT_CHECKSUM_MISMATCH", "S3_*"],
        text: Some(r"(failed to download artifact|error (while )?downloading artifact|artifact download|(nosuchkey|nosuchbucket).*s3|s3.*(nosuchkey|nosuchbucket|access ?denied|403 forbidden))"),
        fix: "the core's token exchange role (conf.core.role) must allow s3:GetObject on the artifact's bucket and key (ggp's greengrass-v2-by-ggp policy allows the bucket ggp uploads to), and the object must still be there in the deployment's region: run `ggp deploy` again to upload missing artifacts",
        source: V2_DEPLOYMENT_CODES,
    },
    Pattern {
        id: "disk-full",
        title: "the device ran out of disk space",
        codes: &["DISK_SPACE_CRITICAL", "IO_WRITE_ERROR"],
        text: Some(r"no space left on device|disk space (is )?(critical|full|low)"),
        fix: "free disk space on the device under its Greengrass root (old artifacts and logs: lower the nucleus logging totalLogsSizeKB with a FileSystem logger's space), then deploy again",
        source: V2_DEPLOYMENT_CODES,
    },
    Pattern {
        id: "nucleus-update-refused",
        title: "the deployment would change the nucleus's minor version",
        codes: &["UNAUTHORIZED_NUCLEUS_MINOR_VERSION_UPDATE"],
        text: None,
        fix: "deploy the aws.greengrass.Nucleus minor version the device runs (ggp keeps the thing group's current major and minor), or update the nucleus on the device first",
        source: V2_DEPLOYMENT_CODES,
    },
    Pattern {
        id: "circular-dependency",
        title: "component recipes depend on each other in a circle",
        codes: &["COMPONENT_CIRCULAR_DEPENDENCY_ERROR"],
        text: None,
        fix: "remove the circular ComponentDependencies from the recipes (recipe.yaml in the function folders) and raise their ComponentVersion",
        source: V2_DEPLOYMENT_CODES,
    },
    Pattern {
        id: "permission-error",
        title: "a call the device made was denied",
        codes: &["PERMISSION_ERROR", "*ACCESS_DENIED"],
        text: Some(r"(accessdenied|access denied|not authorized to perform|is not authorized|unauthorizedexception)"),
        fix: "the core role (conf.core.role iamPolicy / iamManagedPolicies, or a function's coreRoleIamPolicy) must allow the action and resource the message names; for MQTT, the core's IoT policy (conf.core.role.iotPolicy); then `ggp deploy` updates the policies",
        source: V2_DEPLOYMENT_CODES,
    },
    Pattern {
        id: "network-error",
        title: "the device could not reach AWS",
        codes: &["NETWORK_ERROR", "HTTP_REQUEST_ERROR"],
        text: Some(r"(unknownhostexception|could not resolve host|name or service not known|temporary failure in name resolution|no route to host|network is unreachable|connection refused|connect timed out|unable to connect to|unable to execute http request)"),
        fix: "check the device's network, DNS and proxy, and that its config names this account's endpoints (iotDataEndpoint and iotCredEndpoint; `ggp bundle -g {group}` writes them) with ports 8883 and 443 open",
        source: V2_DEPLOYMENT_CODES,
    },
    // ---- Greengrass V2 component status codes (ListInstalledComponents lifecycleStatusCodes)
    Pattern {
        id: "lifecycle-timeout",
        title: "a component's lifecycle step ran past its timeout",
        codes: &["INSTALL_TIMEOUT", "STARTUP_TIMEOUT", "RUN_TIMEOUT", "SHUTDOWN_TIMEOUT", "COMPONENT_BOOTSTRAP_TIMEOUT"],
        text: None,
        fix: "{component}'s install, startup or run step did not finish in time: make it return sooner or raise the step's Timeout in its recipe (a Lambda function component: timeoutInSeconds in function.conf)",
        source: V2_COMPONENT_CODES,
    },
    Pattern {
        id: "lifecycle-error",
        title: "a component's lifecycle script exited with an error",
        codes: &["INSTALL_ERRORED", "STARTUP_ERRORED", "RUN_ERRORED", "SHUTDOWN_ERRORED", "INSTALL_CONFIG_NOT_VALID", "INSTALL_IO_ERROR"],
        text: None,
        fix: "{component}'s lifecycle script failed: `ggp logs -g {group} --component {component}` shows its output; fix the script or the code it runs and deploy again",
        source: V2_COMPONENT_CODES,
    },
    Pattern {
        id: "missing-run-with",
        title: "the device has no user to run the component as",
        codes: &["*_MISSING_DEFAULT_RUNWITH"],
        text: None,
        fix: "set the nucleus's componentDefaultUser (the installer's --component-default-user ggc_user:ggc_group) or give the function a uid/gid in function.conf (ggp deploys it as runWith)",
        source: V2_COMPONENT_CODES,
    },
    // ---- messages and log lines (GGP's rules first)
    Pattern {
        id: "function-timeout",
        title: "a function ran past its timeout",
        codes: &[],
        text: Some(r"(task timed out after|function .{0,200}timed out|timed out after [0-9.]+ ?s(econds)?|lambda .{0,200}timed out)"),
        fix: "raise timeoutInSeconds in the function's function.conf (or make the handler return sooner); a function that runs for good should be pinned = true",
        source: GGP_RULE,
    },
    Pattern {
        id: "missing-runtime",
        title: "the device lacks the function's runtime",
        codes: &[],
        text: Some(r#"(executable file not found in \$path|(python[0-9.]*|nodejs[0-9.x]*|node|java[0-9]*)["']?: (command )?not found|no such file or directory.{0,80}(python[0-9.]*|nodejs[0-9.x]*|java[0-9]*)|(cannot|failed to) find (the )?runtime|runtime .{0,80}(is )?not (found|installed))"#),
        fix: "install the runtime the function's language needs on the device (python3.x, nodejs, java) where the core looks for it (V1: python3.7, nodejs12.x or java8 on PATH; V2: the aws.greengrass.LambdaRuntimes component and the system package), or carry its .deb in the bundle with `ggp bundle --include-deb`",
        source: GGP_RULE,
    },
    Pattern {
        id: "no-connectivity-info",
        title: "the core has no connectivity information",
        codes: &[],
        text: Some(r"(no connectivity info|connectivity info(rmation)? .{0,80}(not found|empty|missing)|failed to (get|retrieve) connectivity info)"),
        fix: "client devices cannot find the core: let the IP detector run (GGIPDetector, in ggp's V1 function definition) or set it by hand with `aws greengrass update-connectivity-info --thing-name {group}_Core --connectivity-info Id=…,HostAddress=…,PortNumber=8883`",
        source: GGP_RULE,
    },
    Pattern {
        id: "too-many-ips",
        title: "the core reports more IP addresses than its connectivity info takes",
        codes: &[],
        text: Some(r"(too many (ip )?addresses|too many connectivity|connectivity info.{0,80}(exceeds|too many))"),
        fix: "set the connectivity info by hand to the addresses client devices use (`aws greengrass update-connectivity-info --thing-name {group}_Core ...`) instead of every interface's",
        source: GGP_RULE,
    },
    Pattern {
        id: "out-of-memory",
        title: "a function or component ran out of memory",
        codes: &[],
        text: Some(r"(out of memory|outofmemoryerror|memoryerror|oom[- ]?kill|cannot allocate memory|exceeded (its |the )?memory limit|memory limit (exceeded|reached))"),
        fix: "raise memorySizeInKb in the function's function.conf (V1 container limit; V2 runWith systemResourceLimits), or make the function use less",
        source: LOG_RULE,
    },
    Pattern {
        id: "local-permission-denied",
        title: "a function was denied a local file or device",
        codes: &[],
        text: Some(r"(permission denied|operation not permitted|eacces)"),
        fix: "give the function access: list the path in localDeviceResources or localVolumeResources with readWrite = true, or run it with a uid/gid that may use it (function.conf uid/gid)",
        source: LOG_RULE,
    },
    Pattern {
        id: "certificate",
        title: "a TLS certificate was rejected",
        codes: &[],
        text: Some(r"(certificate verify failed|certificate (validation|verification) failed|sslhandshakeexception|tls handshake|bad certificate|unknown ca|certificate (has )?expired|certificate.{0,40}(revoked|inactive|not active|is not valid)|x509)"),
        fix: "the core's certificate must be ACTIVE and attached to {group}_Core with the core's IoT policy (`ggp deploy` re-attaches it; `--force-create-new-keys` replaces it), and the device needs Amazon's root CA at its rootCaPath",
        source: LOG_RULE,
    },
];

static COMPILED: LazyLock<Vec<Option<regex_lite::Regex>>> = LazyLock::new(|| {
    PATTERNS
        .iter()
        .map(|p| {
            p.text.map(|t| {
                regex_lite::RegexBuilder::new(t)
                    .case_insensitive(true)
                    .build()
                    .unwrap_or_else(|e| panic!("pattern {}: {e}", p.id))
            })
        })
        .collect()
});

fn code_matches(want: &str, code: &str) -> bool {
    match (want.strip_prefix('*'), want.strip_suffix('*')) {
        (Some(suffix), _) => code.ends_with(suffix),
        (None, Some(prefix)) => code.starts_with(prefix),
        (None, None) => want == code,
    }
}

/// The pattern of the first code (most specific first) that has one.
pub fn match_codes<'a>(
    codes: impl IntoIterator<Item = &'a str>,
) -> Option<(&'static Pattern, &'a str)> {
    codes.into_iter().find_map(|code| {
        PATTERNS
            .iter()
            .find(|p| p.codes.iter().any(|w| code_matches(w, code)))
            .map(|p| (p, code))
    })
}

/// Every pattern whose message expression matches `text`.
pub fn match_text(text: &str) -> Vec<&'static Pattern> {
    PATTERNS
        .iter()
        .zip(COMPILED.iter())
        .filter(|(_, re)| re.as_ref().is_some_and(|re| re.is_match(text)))
        .map(|(p, _)| p)
        .collect()
}

/// One finding of `ggp diagnose`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The pattern's id (`unrecognized` when none matched a failure).
    pub pattern: String,
    pub title: String,
    /// The component (V2) or function (V1) it concerns, when known.
    pub component: Option<String>,
    pub device: Option<String>,
    /// Where it was seen: a deployment, a component's state, a log group.
    pub seen_in: String,
    /// The code or line that matched (the first one, for log lines).
    pub evidence: String,
    /// How many inputs matched (log lines of one component count together).
    pub occurrences: usize,
    pub fix: String,
    pub source: String,
}

impl Finding {
    /// A finding of pattern `p`; the fix's `{component}` and `{group}` filled in.
    pub fn of(p: &Pattern, group: &str, component: Option<&str>) -> Finding {
        let c = component.unwrap_or("the failing component");
        Finding {
            pattern: p.id.into(),
            title: p.title.into(),
            component: component.map(str::to_string),
            device: None,
            seen_in: String::new(),
            evidence: String::new(),
            occurrences: 1,
            fix: p.fix.replace("{component}", c).replace("{group}", group),
            source: p.source.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each pattern with a code or message it must match (and the id it must give).
    const CASES: &[(&str, &str)] = &[
        ("no-component-version", "NO_AVAILABLE_COMPONENT_VERSION"),
        (
            "no-component-version",
            "Component versions could not be resolved: a@1.0.0",
        ),
        ("component-broken", "COMPONENT_BROKEN"),
        ("component-broken", "COMPONENT_UPDATE_ERROR"),
        ("artifact-download", "ARTIFACT_DOWNLOAD_ERROR"),
        ("artifact-download", "S3_HEAD_OBJECT_ACCESS_DENIED"),
        ("artifact-download", "Failed to download artifact s3://b/k"),
        ("disk-full", "DISK_SPACE_CRITICAL"),
        ("disk-full", "write failed: No space left on device"),
        (
            "nucleus-update-refused",
            "UNAUTHORIZED_NUCLEUS_MINOR_VERSION_UPDATE",
        ),
        ("circular-dependency", "COMPONENT_CIRCULAR_DEPENDENCY_ERROR"),
        ("permission-error", "PERMISSION_ERROR"),
        (
            "permission-error",
            "User: arn:aws:sts::1:assumed-role/r/c is not authorized to perform: s3:PutObject",
        ),
        ("network-error", "NETWORK_ERROR"),
        (
            "network-error",
            "java.net.UnknownHostException: iot.example",
        ),
        ("lifecycle-timeout", "STARTUP_TIMEOUT"),
        ("lifecycle-error", "RUN_ERRORED"),
        ("missing-run-with", "STARTUP_MISSING_DEFAULT_RUNWITH"),
        ("function-timeout", "Task timed out after 3.00 seconds"),
        (
            "function-timeout",
            "Function arn:aws:lambda:r:1:function:g-F:1 timed out",
        ),
        (
            "missing-runtime",
            "exec: \"python3.7\": executable file not found in $PATH",
        ),
        ("missing-runtime", "/bin/sh: 1: java8: not found"),
        (
            "no-connectivity-info",
            "Failed to get connectivity info for the core",
        ),
        ("too-many-ips", "Connectivity info has too many addresses"),
        ("out-of-memory", "MemoryError"),
        ("out-of-memory", "worker was OOM-killed"),
        (
            "local-permission-denied",
            "open /dev/gpiomem: permission denied",
        ),
        (
            "certificate",
            "SSL: CERTIFICATE_VERIFY_FAILED certificate verify failed",
        ),
        ("certificate", "the certificate is INACTIVE"),
    ];

    fn ids_for(input: &str) -> Vec<&'static str> {
        let mut ids: Vec<&str> = match_codes([input])
            .map(|(p, _)| p.id)
            .into_iter()
            .collect();
        ids.extend(match_text(input).iter().map(|p| p.id));
        ids
    }

    #[test]
    fn every_pattern_matches_its_example_and_compiles() {
        for p in PATTERNS {
            assert!(
                CASES.iter().any(|(id, _)| *id == p.id),
                "pattern {} has no test case",
                p.id
            );
        }
        for (id, input) in CASES {
            assert!(
                ids_for(input).contains(id),
                "{input:?} should be {id}, got {:?}",
                ids_for(input)
            );
        }
    }

    #[test]
    fn ordinary_lines_match_nothing() {
        for line in [
            "Hello from HelloPython",
            "Deployment completed successfully",
            "component RUNNING",
            "published to hello/world",
        ] {
            assert!(ids_for(line).is_empty(), "{line}: {:?}", ids_for(line));
        }
    }

    #[test]
    fn the_most_specific_code_wins_and_fixes_name_the_component() {
        // An error stack goes from generic to specific; the caller passes it reversed.
        let stack = [
            "DEPLOYMENT_FAILURE",
            "COMPONENT_UPDATE_ERROR",
            "COMPONENT_BROKEN",
        ];
        let (p, code) = match_codes(stack.iter().rev().copied()).unwrap();
        assert_eq!((p.id, code), ("component-broken", "COMPONENT_BROKEN"));
        let f = Finding::of(p, "g", Some("g-HelloPython"));
        assert!(f.fix.contains("--component g-HelloPython"), "{}", f.fix);
        assert!(!f.fix.contains('{'), "{}", f.fix);
        assert!(match_codes(["DEPLOYMENT_FAILURE"]).is_none());
    }

    #[test]
    fn code_globs() {
        assert!(code_matches("S3_*", "S3_GET_OBJECT_ACCESS_DENIED"));
        assert!(code_matches("*ACCESS_DENIED", "IOT_ACCESS_DENIED"));
        assert!(!code_matches("RUN_ERRORED", "RUN_ERRORED_X"));
    }
}
