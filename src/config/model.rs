//! The typed project model: deployment, roles, loggers, functions, connectors.
//!
//! Every key GGP read is here, with GGP's defaults; each type knows how to read itself from a
//! resolved config object ([`Reader`]) and lists the keys it knows so the rest can be warned about.
//! Cross-field and filesystem rules live in `validate`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::reader::{Problem, Read, Reader};
use crate::language::Language;

/// Which Greengrass generation a deployment targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    V1,
    V2,
}

impl std::str::FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "v1" | "1" => Ok(Target::V1),
            "v2" | "2" => Ok(Target::V2),
            _ => Err(format!("unknown target '{s}' (expected v1 or v2)")),
        }
    }
}

/// An IAM role (and, for the core, its role alias and IoT policy) as configured.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleConf {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assume_role_policy: Option<Value>,
    pub iam_managed_policies: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iam_policy: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iot_policy: Option<Value>,
}

const ROLE_KEYS: &[&str] = &[
    "name",
    "alias",
    "assumeRolePolicy",
    "iamManagedPolicies",
    "iamPolicy",
    "iotPolicy",
];

impl RoleConf {
    fn read(r: &Reader) -> Read<RoleConf> {
        Ok(RoleConf {
            name: r.string("name")?,
            alias: r.opt_string("alias")?,
            assume_role_policy: r.json("assumeRolePolicy"),
            iam_managed_policies: r.strings("iamManagedPolicies")?,
            iam_policy: r.json("iamPolicy"),
            iot_policy: r.json("iotPolicy"),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LoggerComponent {
    GreengrassSystem,
    Lambda,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LoggerLevel {
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LoggerType {
    FileSystem,
    AWSCloudWatch,
}

/// A Greengrass logger (`conf.loggers[]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggerConf {
    pub component: LoggerComponent,
    pub logger_level: LoggerLevel,
    pub logger_type: LoggerType,
    /// Kilobytes; required for FileSystem, forbidden for AWSCloudWatch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub space: Option<u64>,
}

fn one_of<T: Copy>(r: &Reader, k: &str, options: &[(&str, T)]) -> Read<T> {
    let s = r.string(k)?;
    options
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(&s))
        .map(|(_, v)| *v)
        .ok_or_else(|| Problem {
            key: r.key(k),
            message: format!(
                "unknown value \"{s}\" (expected one of: {})",
                options
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
}

impl LoggerConf {
    fn read(r: &Reader) -> Read<LoggerConf> {
        let component = one_of(
            r,
            "component",
            &[
                ("GreengrassSystem", LoggerComponent::GreengrassSystem),
                ("Lambda", LoggerComponent::Lambda),
            ],
        )?;
        let logger_level = one_of(
            r,
            "loggerLevel",
            &[
                ("DEBUG", LoggerLevel::Debug),
                ("INFO", LoggerLevel::Info),
                ("WARN", LoggerLevel::Warn),
                ("ERROR", LoggerLevel::Error),
                ("FATAL", LoggerLevel::Fatal),
            ],
        )?;
        let logger_type = one_of(
            r,
            "loggerType",
            &[
                ("FileSystem", LoggerType::FileSystem),
                ("AWSCloudWatch", LoggerType::AWSCloudWatch),
            ],
        )?;
        let space = r.opt_u64("space")?;
        match (logger_type, space) {
            (LoggerType::FileSystem, None) => {
                return Err(Problem {
                    key: r.key("space"),
                    message: "a FileSystem logger needs `space` (kilobytes)".into(),
                })
            }
            (LoggerType::AWSCloudWatch, Some(_)) => {
                return Err(Problem {
                    key: r.key("space"),
                    message: "an AWSCloudWatch logger must not set `space`".into(),
                })
            }
            _ => {}
        }
        Ok(LoggerConf {
            component,
            logger_level,
            logger_type,
            space,
        })
    }

    /// GGP's built-in loggers when none are configured: FileSystem 128 MB and CloudWatch, for both.
    pub fn ggp_defaults() -> Vec<LoggerConf> {
        let mut v = Vec::new();
        for component in [LoggerComponent::GreengrassSystem, LoggerComponent::Lambda] {
            v.push(LoggerConf {
                component,
                logger_level: LoggerLevel::Info,
                logger_type: LoggerType::FileSystem,
                space: Some(128 * 1024),
            });
            v.push(LoggerConf {
                component,
                logger_level: LoggerLevel::Info,
                logger_type: LoggerType::AWSCloudWatch,
                space: None,
            });
        }
        v
    }
}

/// An entry of `conf.functions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum FunctionRef {
    /// A folder under `functions/`.
    Local { name: String },
    /// A git repository (`https://…git[:subdir]`, `git@…`, `ssh://…`; `file://…git[:subdir]` for a
    /// local repository, e.g. in tests), cloned (shallow) into a temporary folder at deploy time.
    Git { url: String, subdir: Option<String> },
    /// An existing Lambda alias ARN, reused as is.
    ExistingAlias { arn: String },
    /// `~partial~:ALIAS`: existing functions whose name matches the regex `partial` anywhere (GGP:
    /// `.*partial.*`), each at `ALIAS`.
    Wildcard { pattern: String, alias: String },
}

impl FunctionRef {
    pub fn parse(s: &str) -> FunctionRef {
        if let Some(rest) = s.strip_prefix('~') {
            if let Some((pattern, alias)) = rest.split_once("~:") {
                return FunctionRef::Wildcard {
                    pattern: pattern.to_string(),
                    alias: alias.to_string(),
                };
            }
        }
        if s.starts_with("arn:") {
            return FunctionRef::ExistingAlias { arn: s.to_string() };
        }
        if s.starts_with("https://")
            || s.starts_with("git@")
            || s.starts_with("ssh://")
            || s.starts_with("file://")
        {
            // `https://host/repo.git:subdir`: the subdir follows the `.git` suffix.
            if let Some(idx) = s.find(".git:") {
                return FunctionRef::Git {
                    url: s[..idx + 4].to_string(),
                    subdir: Some(s[idx + 5..].to_string()),
                };
            }
            return FunctionRef::Git {
                url: s.to_string(),
                subdir: None,
            };
        }
        FunctionRef::Local {
            name: s.to_string(),
        }
    }

    /// The entry as written in `conf.functions`.
    pub fn display(&self) -> String {
        match self {
            FunctionRef::Local { name } => name.clone(),
            FunctionRef::Git { url, subdir: None } => url.clone(),
            FunctionRef::Git {
                url,
                subdir: Some(s),
            } => format!("{url}:{s}"),
            FunctionRef::ExistingAlias { arn } => arn.clone(),
            FunctionRef::Wildcard { pattern, alias } => format!("~{pattern}~:{alias}"),
        }
    }
}

/// A Lambda function ggp did not create, used as is (an alias ARN or a `~wildcard~` match in
/// `conf.functions`): no build, no Lambda change, never deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExistingFunction {
    /// The Lambda function's ARN without qualifier.
    pub function_arn: String,
    /// `function_arn:ALIAS`.
    pub alias_arn: String,
    /// The version the alias points to.
    pub version: String,
}

/// The deployment configuration (`deployments/<name>.conf` over `deployment.defaults.conf`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentConf {
    /// The file name without `.conf` (GGP's deployment name).
    pub name: String,
    pub target: Option<Target>,
    pub functions: Vec<FunctionRef>,
    pub connectors: Vec<String>,
    pub sync_shadow: bool,
    pub core_role: RoleConf,
    pub lambda_role: RoleConf,
    pub service_role: RoleConf,
    /// `None` when the config has no `loggers` key (GGP then used its four built-in loggers).
    pub loggers: Option<Vec<LoggerConf>>,
    pub environment_variables: BTreeMap<String, String>,
    /// `conf.core.broadIotPolicy = true` restores GGP's `iot:*`/`greengrass:*` policy when no
    /// `iotPolicy` is configured.
    pub broad_iot_policy: bool,
    /// `conf.upgradeRuntime = true`: on Greengrass V2, functions on a runtime Lambda no longer
    /// creates are built and deployed for its successor (`crate::runtimes`). A function's own
    /// `conf.upgradeRuntime` wins.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub upgrade_runtime: bool,
}

const DEPLOYMENT_CONF_KEYS: &[&str] = &[
    "upgradeRuntime",
    "functions",
    "connectors",
    "core",
    "lambda",
    "service",
    "loggers",
    "environmentVariables",
    "ggds",
    "target",
];
const CORE_KEYS: &[&str] = &["syncShadow", "role", "broadIotPolicy"];

impl DeploymentConf {
    /// Reads `conf` from a resolved deployment document. Unknown keys are appended to `unknown`.
    pub fn read(
        name: &str,
        root: &Value,
        unknown: &mut Vec<(String, Option<String>)>,
    ) -> Read<DeploymentConf> {
        let top = Reader::new("", root)?;
        let conf = top.object("conf")?;
        let functions = conf
            .strings("functions")?
            .iter()
            .map(|s| FunctionRef::parse(s))
            .collect();
        let connectors = conf.strings("connectors")?;
        conf.ignore(&["ggds"]); // GGD support was removed from GGP in 2020; the key is still in old projects.
        let target = match conf.opt_string("target")? {
            None => None,
            Some(t) => Some(t.parse().map_err(|m| Problem {
                key: conf.key("target"),
                message: m,
            })?),
        };
        let core = conf.object("core")?;
        let sync_shadow = core.bool_or("syncShadow", true)?;
        let broad_iot_policy = core.bool_or("broadIotPolicy", false)?;
        let upgrade_runtime = conf.bool_or("upgradeRuntime", false)?;
        let core_role_r = core.object("role")?;
        let core_role = RoleConf::read(&core_role_r)?;
        let lambda = conf.object("lambda")?;
        let lambda_role_r = lambda.object("role")?;
        let lambda_role = RoleConf::read(&lambda_role_r)?;
        let service = conf.object("service")?;
        let service_role_r = service.object("role")?;
        let service_role = RoleConf::read(&service_role_r)?;
        let loggers = match conf.raw("loggers") {
            None => None,
            Some(_) => Some(
                conf.objects("loggers")?
                    .iter()
                    .map(|r| {
                        let l = LoggerConf::read(r);
                        unknown.extend(r.unknown_keys(&[
                            "component",
                            "loggerLevel",
                            "loggerType",
                            "space",
                        ]));
                        l
                    })
                    .collect::<Read<Vec<_>>>()?,
            ),
        };
        let environment_variables = conf.string_map("environmentVariables")?;
        if core_role.assume_role_policy.is_none() {
            return Err(Problem {
                key: core_role_r.key("assumeRolePolicy"),
                message: "required key is missing".into(),
            });
        }
        if core_role.alias.is_none() {
            return Err(Problem {
                key: core_role_r.key("alias"),
                message: "required key is missing".into(),
            });
        }
        if lambda_role.assume_role_policy.is_none() {
            return Err(Problem {
                key: lambda_role_r.key("assumeRolePolicy"),
                message: "required key is missing".into(),
            });
        }
        unknown.extend(conf.unknown_keys(DEPLOYMENT_CONF_KEYS));
        unknown.extend(core.unknown_keys(CORE_KEYS));
        for r in [&core_role_r, &lambda_role_r, &service_role_r] {
            unknown.extend(r.unknown_keys(ROLE_KEYS));
        }
        unknown.extend(lambda.unknown_keys(&["role"]));
        unknown.extend(service.unknown_keys(&["role"]));
        Ok(DeploymentConf {
            name: name.to_string(),
            target,
            functions,
            connectors,
            sync_shadow,
            core_role,
            lambda_role,
            service_role,
            loggers,
            environment_variables,
            broad_iot_policy,
            upgrade_runtime,
        })
    }

    /// The loggers that will be deployed (configured, or GGP's built-in defaults).
    pub fn effective_loggers(&self) -> Vec<LoggerConf> {
        self.loggers
            .clone()
            .unwrap_or_else(LoggerConf::ggp_defaults)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EncodingType {
    #[serde(rename = "json")]
    Json,
    #[serde(rename = "binary")]
    Binary,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceResource {
    pub path: String,
    pub read_write: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeResource {
    pub source_path: String,
    pub destination_path: String,
    pub read_write: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Resource {
    pub uri: String,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SageMakerResource {
    pub arn: String,
    pub path: String,
}

/// A function's configuration (`functions/<name>/function.conf` over `function.defaults.conf`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionConf {
    /// The folder name under `functions/`.
    pub dir_name: String,
    pub language: Language,
    pub function_name: String,
    pub handler_name: String,
    pub alias_name: String,
    pub memory_size_in_kb: u64,
    pub timeout_in_seconds: u64,
    pub pinned: bool,
    pub encoding_type: EncodingType,
    pub greengrass_container: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<u64>,
    pub access_sys_fs: bool,
    pub environment_variables: BTreeMap<String, String>,
    pub from_cloud_subscriptions: Vec<String>,
    pub to_cloud_subscriptions: Vec<String>,
    pub output_topics: Vec<String>,
    pub input_topics: Vec<String>,
    pub connected_shadows: Vec<String>,
    pub local_device_resources: Vec<DeviceResource>,
    pub local_volume_resources: Vec<VolumeResource>,
    pub local_s3_resources: Vec<S3Resource>,
    pub local_sage_maker_resources: Vec<SageMakerResource>,
    pub local_secrets_manager_resources: Vec<String>,
    pub core_role_iam_managed_policies: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub core_role_iam_policy: Option<Value>,
    pub service_role_iam_managed_policies: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_role_iam_policy: Option<Value>,
    /// Java: the built or prebuilt jar, relative to the function folder (GGP fixed it to
    /// `build/libs/<name>-1.0-SNAPSHOT-all.jar`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jar_path: Option<String>,
    /// A builder image to use instead of ggp's default for this function.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_image: Option<String>,
    /// `conf.upgradeRuntime` of the function (or of `function.defaults.conf`): over the
    /// deployment's setting; `None` when neither says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade_runtime: Option<bool>,
    /// The `conf.functions` entry this function was resolved from when it is not a folder under
    /// `functions/` (a git URL, an alias ARN, a `~wildcard~`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_from: Option<FunctionRef>,
    /// A git function's folder in its temporary checkout.
    #[serde(skip)]
    pub source_dir: Option<std::path::PathBuf>,
    /// An existing Lambda function used as is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing: Option<ExistingFunction>,
}

const FUNCTION_CONF_KEYS: &[&str] = &[
    "language",
    "functionName",
    "handlerName",
    "aliasName",
    "memorySizeInKb",
    "timeoutInSeconds",
    "pinned",
    "encodingType",
    "greengrassContainer",
    "uid",
    "gid",
    "accessSysFs",
    "environmentVariables",
    "fromCloudSubscriptions",
    "toCloudSubscriptions",
    "outputTopics",
    "inputTopics",
    "connectedShadows",
    "localDeviceResources",
    "localVolumeResources",
    "localS3Resources",
    "localSageMakerResources",
    "localSecretsManagerResources",
    "coreRoleIamManagedPolicies",
    "coreRoleIamPolicy",
    "serviceRoleIamManagedPolicies",
    "serviceRoleIamPolicy",
    "javaJsonHandler",
    "javaBinaryHandler",
    "jarPath",
    "buildImage",
    "upgradeRuntime",
    // Documented by GGP but never read by its code; accepted so old projects do not warn.
    "functionBinary",
    "groupOwnerSetting",
    "resourceName",
];

impl FunctionConf {
    pub fn read(
        dir_name: &str,
        root: &Value,
        unknown: &mut Vec<(String, Option<String>)>,
    ) -> Read<FunctionConf> {
        let top = Reader::new("", root)?;
        let c = top.object("conf")?;
        let language_s = c.string("language")?;
        let language: Language =
            language_s
                .parse()
                .map_err(|e: crate::language::UnknownLanguage| Problem {
                    key: c.key("language"),
                    message: e.to_string(),
                })?;
        let encoding_type = match c
            .opt_string("encodingType")?
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("json") => EncodingType::Json,
            Some("binary") => EncodingType::Binary,
            Some(other) => {
                return Err(Problem {
                    key: c.key("encodingType"),
                    message: format!("unknown value \"{other}\" (expected Json or Binary)"),
                })
            }
        };
        let mut devices = Vec::new();
        for r in c.objects("localDeviceResources")? {
            devices.push(DeviceResource {
                path: r.string("path")?,
                read_write: r.bool_or("readWrite", false)?,
            });
            unknown.extend(r.unknown_keys(&["path", "readWrite"]));
        }
        let mut volumes = Vec::new();
        for r in c.objects("localVolumeResources")? {
            let source_path = r.string("sourcePath")?;
            let destination_path = r
                .opt_string("destinationPath")?
                .unwrap_or_else(|| source_path.clone());
            volumes.push(VolumeResource {
                source_path,
                destination_path,
                read_write: r.bool_or("readWrite", false)?,
            });
            unknown.extend(r.unknown_keys(&["sourcePath", "destinationPath", "readWrite"]));
        }
        let mut s3 = Vec::new();
        for r in c.objects("localS3Resources")? {
            s3.push(S3Resource {
                uri: r.string("uri")?,
                path: r.string("path")?,
            });
            unknown.extend(r.unknown_keys(&["uri", "path"]));
        }
        let mut sagemaker = Vec::new();
        for r in c.objects("localSageMakerResources")? {
            sagemaker.push(SageMakerResource {
                arn: r.string("arn")?,
                path: r.string("path")?,
            });
            unknown.extend(r.unknown_keys(&["arn", "path"]));
        }
        let f = FunctionConf {
            dir_name: dir_name.to_string(),
            language,
            function_name: c.string("functionName")?,
            handler_name: c.string("handlerName")?,
            alias_name: c.string("aliasName")?,
            memory_size_in_kb: c.opt_u64("memorySizeInKb")?.unwrap_or(32768),
            timeout_in_seconds: c.u64("timeoutInSeconds")?,
            pinned: c.bool("pinned")?,
            encoding_type,
            greengrass_container: c.bool_or("greengrassContainer", true)?,
            uid: c.opt_u64("uid")?,
            gid: c.opt_u64("gid")?,
            access_sys_fs: c.bool_or("accessSysFs", false)?,
            environment_variables: c.string_map("environmentVariables")?,
            from_cloud_subscriptions: c.strings("fromCloudSubscriptions")?,
            to_cloud_subscriptions: c.strings("toCloudSubscriptions")?,
            output_topics: c.strings("outputTopics")?,
            input_topics: c.strings("inputTopics")?,
            connected_shadows: c.strings("connectedShadows")?,
            local_device_resources: devices,
            local_volume_resources: volumes,
            local_s3_resources: s3,
            local_sage_maker_resources: sagemaker,
            local_secrets_manager_resources: c.strings("localSecretsManagerResources")?,
            core_role_iam_managed_policies: c.strings("coreRoleIamManagedPolicies")?,
            core_role_iam_policy: c.json("coreRoleIamPolicy"),
            service_role_iam_managed_policies: c.strings("serviceRoleIamManagedPolicies")?,
            service_role_iam_policy: c.json("serviceRoleIamPolicy"),
            jar_path: c.opt_string("jarPath")?,
            build_image: c.opt_string("buildImage")?,
            upgrade_runtime: c.opt_bool("upgradeRuntime")?,
            resolved_from: None,
            source_dir: None,
            existing: None,
        };
        c.ignore(&[
            "javaJsonHandler",
            "javaBinaryHandler",
            "functionBinary",
            "groupOwnerSetting",
            "resourceName",
        ]);
        unknown.extend(c.unknown_keys(FUNCTION_CONF_KEYS));
        Ok(f)
    }

    /// The Greengrass run-as user and group, when either is set.
    pub fn runs_as_root(&self) -> bool {
        self.uid == Some(0) || self.gid == Some(0)
    }
}

/// A connector (`connectors/<name>.conf` over `connector.defaults.conf`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorConf {
    pub name: String,
    pub connector_arn: String,
    /// GGP gave connectors without an id a random UUID; ggp derives a stable id from the name.
    pub id: String,
    pub parameters: BTreeMap<String, String>,
    pub from_cloud_subscriptions: Vec<String>,
    pub to_cloud_subscriptions: Vec<String>,
    pub output_topics: Vec<String>,
    pub input_topics: Vec<String>,
    pub core_role_iam_managed_policies: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub core_role_iam_policy: Option<Value>,
    pub service_role_iam_managed_policies: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_role_iam_policy: Option<Value>,
}

impl ConnectorConf {
    pub fn read(
        name: &str,
        root: &Value,
        unknown: &mut Vec<(String, Option<String>)>,
    ) -> Read<ConnectorConf> {
        let top = Reader::new("", root)?;
        let c = top.object("conf")?;
        let conn = c.object("connector")?;
        let connector_arn = conn.string("connectorArn")?;
        if !connector_arn.starts_with("arn:") || !connector_arn.contains("/connectors/") {
            return Err(Problem {
                key: conn.key("connectorArn"),
                message: format!("\"{connector_arn}\" is not a connector ARN (arn:aws:greengrass:<region>::/connectors/<Name>/versions/<n>)"),
            });
        }
        let id = conn.opt_string("id")?.unwrap_or_else(|| sanitize_id(name));
        let parameters = conn.string_map("parameters")?;
        unknown.extend(conn.unknown_keys(&["connectorArn", "id", "parameters"]));
        let out = ConnectorConf {
            name: name.to_string(),
            connector_arn,
            id,
            parameters,
            from_cloud_subscriptions: c.strings("fromCloudSubscriptions")?,
            to_cloud_subscriptions: c.strings("toCloudSubscriptions")?,
            output_topics: c.strings("outputTopics")?,
            input_topics: c.strings("inputTopics")?,
            core_role_iam_managed_policies: c.strings("coreRoleIamManagedPolicies")?,
            core_role_iam_policy: c.json("coreRoleIamPolicy"),
            service_role_iam_managed_policies: c.strings("serviceRoleIamManagedPolicies")?,
            service_role_iam_policy: c.json("serviceRoleIamPolicy"),
        };
        unknown.extend(c.unknown_keys(&[
            "connector",
            "fromCloudSubscriptions",
            "toCloudSubscriptions",
            "outputTopics",
            "inputTopics",
            "coreRoleIamManagedPolicies",
            "coreRoleIamPolicy",
            "serviceRoleIamManagedPolicies",
            "serviceRoleIamPolicy",
        ]));
        Ok(out)
    }
}

/// Greengrass ids allow `[a-zA-Z0-9:_-]`; GGP replaced everything else with `-`.
pub fn sanitize_id(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
}
