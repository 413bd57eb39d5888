//! The command line: GGP's flag form as the main job, plus subcommands.
//!
//! `ggp -g GROUP -a ARCH -d deployments/x.conf --script` does what `ggp.sh` did, so users can
//! switch without relearning; `plan`, `build`, `deploy`, `bundle`, `destroy` and `doctor` are the
//! stages on their own; `status`, `logs` and `diagnose` look at a deployed group; `completions`
//! and `man` describe this definition. GGP's flags that ggp does another way ([`GGP_ONLY`]) get a
//! message naming that way. A flag several commands
//! take is declared once, in a group ([`GroupArgs`], [`InputArgs`], [`CertificateArgs`],
//! [`CoreArgs`], [`OutputArgs`], [`BundleOptions`]) the commands flatten. Definitions only:
//! `app::resolve` turns them into requests and `main` dispatches.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::arch::Arch;
use crate::config::Target;
use crate::target::v1::bundle::Pkcs11;

/// Build and provision AWS IoT Greengrass groups from a GGP-style project.
#[derive(Debug, Parser)]
#[command(name = "ggp", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    /// GGP's flag form: the same as `ggp deploy …`.
    #[command(flatten)]
    pub deploy: DeployArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// The project folder (holding deployments/, functions/, connectors/). Default: current directory.
    #[arg(long, global = true, value_name = "DIR", env = "GGP_PROJECT_DIR")]
    pub project_dir: Option<PathBuf>,
    /// AWS profile from ~/.aws/config and ~/.aws/credentials.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region (default: AWS_REGION, the profile, then instance metadata).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint (an emulator, a VPC endpoint).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Print machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// More logging (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

/// A comma-separated list of architectures (`X86_64,ARM32`), in order, without repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchList(pub Vec<Arch>);

impl std::str::FromStr for ArchList {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Arch::parse_list(s).map(ArchList).map_err(|e| e.to_string())
    }
}

/// The group a command works on, its target and where its state is kept: shared by `plan`,
/// `deploy` (and the flag form), `bundle` and `destroy`.
#[derive(Debug, Clone, Default, Args)]
pub struct GroupArgs {
    /// The Greengrass group name; the core thing is <GROUP>_Core.
    #[arg(short = 'g', long = "group-name", value_name = "GROUP")]
    pub name: Option<String>,
    /// Greengrass generation: v1 or v2 (default: conf.target, else what the group's state says, else v2).
    #[arg(long, value_name = "v1|v2")]
    pub target: Option<Target>,
    /// Where the group's state and private key are kept (default: <project>/.ggp/<GROUP>).
    #[arg(long, value_name = "DIR", env = "GGP_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

/// The deployment and the architectures: shared by `plan`, `build`, `deploy` and `bundle`.
#[derive(Debug, Clone, Default, Args)]
pub struct InputArgs {
    /// The deployment file (deployments/x.conf), or EMPTY for a core with no functions.
    #[arg(short = 'd', long = "deployment-config", value_name = "FILE")]
    pub deployment: Option<String>,
    /// Target architecture(s), comma-separated: X86_64, ARM32, ARM64 (and GGP's ARMV7L_RASPBIAN, ARMV8, ARMV6L_RASPBIAN, ARMV8_OPENWRT, ARMV7L_OPENWRT, AARCH64).
    #[arg(short = 'a', long = "arch", value_name = "ARCH")]
    pub arch: Option<ArchList>,
}

/// Where the core certificate comes from: shared by `plan` and `deploy`.
#[derive(Debug, Clone, Default, Args)]
pub struct CertificateArgs {
    /// Create the core certificate from this CSR: a file, or the PEM text itself (as GGP took it); the private key never leaves the device.
    // allow_hyphen_values: the PEM text starts with "-----BEGIN", which clap would take for a flag.
    #[arg(
        long,
        value_name = "FILE|PEM",
        conflicts_with = "certificate_arn",
        allow_hyphen_values = true
    )]
    pub csr: Option<PathBuf>,
    /// Use this existing certificate for the core.
    #[arg(long, value_name = "ARN")]
    pub certificate_arn: Option<String>,
}

/// Existing IAM and IoT resources to use: shared by `plan` and `deploy`.
#[derive(Debug, Clone, Default, Args)]
pub struct CoreArgs {
    /// Use this existing IAM role as the core role instead of creating one.
    #[arg(long, value_name = "NAME")]
    pub core_role_name: Option<String>,
    /// Use this existing IoT policy for the core instead of creating one.
    #[arg(long, value_name = "NAME")]
    pub core_policy_name: Option<String>,
    /// Do not create or associate the Greengrass service role.
    #[arg(long)]
    pub service_role_exists: bool,
}

/// The offline outputs besides the bundle and the bucket they go to: shared by `deploy` and
/// `bundle`.
#[derive(Debug, Clone, Default, Args)]
pub struct OutputArgs {
    /// Write build/gg.<group>.sh, the self-extracting installer (one architecture).
    #[arg(long)]
    pub script: bool,
    /// Write build/oem.<group>.tar with certificates and config.
    #[arg(long)]
    pub oem: bool,
    /// MQTT port of the core (default 8883); only with --script, --oem or --bundle.
    #[arg(long, value_name = "PORT")]
    pub mqtt_port: Option<u16>,
    /// Write useSystemd = no into config.json.
    #[arg(long)]
    pub no_systemd: bool,
    /// Upload the outputs (never the secrets archive; for a deploy also oversized Lambda packages) to this existing bucket.
    #[arg(long, value_name = "BUCKET", requires = "s3_directory")]
    pub s3_bucket: Option<String>,
    /// Key prefix in --s3-bucket (`/` for the bucket root).
    #[arg(long, value_name = "DIR", requires = "s3_bucket")]
    pub s3_directory: Option<String>,
}

/// Flags of the deploy job, with GGP's names.
#[derive(Debug, Clone, Default, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub group: GroupArgs,
    #[command(flatten)]
    pub input: InputArgs,
    /// Write build/<group>-<arch>.tar.gz, the offline bundle.
    #[arg(long)]
    pub bundle: bool,
    #[command(flatten)]
    pub outputs: OutputArgs,
    #[command(flatten)]
    pub certificate: CertificateArgs,
    /// Replace the core's keys: the old certificate is detached and deactivated.
    #[arg(long)]
    pub force_create_new_keys: bool,
    #[command(flatten)]
    pub core: CoreArgs,
    /// Lambda versions kept per function besides those an alias points to (default 3).
    #[arg(long, value_name = "N")]
    pub keep_versions: Option<usize>,
    /// Seconds to wait for the deployment to reach Success or Failure (default 300).
    #[arg(long, value_name = "SECS")]
    pub deployment_timeout: Option<u64>,
    #[command(flatten)]
    pub bundle_options: BundleOptions,
}

/// How the offline outputs (`--bundle`, `--script`, `--oem`, `ggp bundle`) are made.
#[derive(Debug, Clone, Default, Args)]
pub struct BundleOptions {
    /// The Greengrass V1 core software archive to embed (default: $GGP_CORE_SOFTWARE_DIR or ~/.cache/ggp/core-software).
    #[arg(long, value_name = "FILE")]
    pub core_software: Option<PathBuf>,
    /// Expected sha256 of the core software archive, when it is not in ggp's table.
    #[arg(long, value_name = "HEX")]
    pub core_software_sha256: Option<String>,
    /// Put certificates, key and config.json in <group>-<arch>.secrets.tar.gz, so the main archive is the same for every device.
    #[arg(long)]
    pub split_secrets: bool,
    /// .deb packages the device lacks (runtimes), carried in the bundle and installed offline.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub include_deb: Vec<PathBuf>,
    /// The core's key is in an HSM: P11Provider=PATH,slotLabel=L,slotUserPin=PIN[,OpenSSLEngine=PATH][,pkcs11EngineForCurl=E].
    #[arg(long, value_name = "KEY=VALUE,...")]
    pub hsi: Option<Pkcs11>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what a deploy would create or change, and the artifacts a build would produce.
    Plan(PlanArgs),
    /// Build function packages per architecture in Docker, without touching AWS.
    Build(BuildArgs),
    /// Build, provision and deploy (the same as the flag form).
    Deploy(DeployArgs),
    /// Write the offline installer bundle for a group.
    Bundle(BundleArgs),
    /// Delete what ggp created for a group.
    Destroy(DestroyArgs),
    /// Check credentials, region, endpoints and the Docker engine.
    Doctor(DoctorArgs),
    /// Show a deployed group as the account sees it: its core devices, deployments, components (no change is made).
    Status(StatusArgs),
    /// Print the group's log lines from CloudWatch Logs (what LogManager or Greengrass V1 sent there).
    Logs(LogsArgs),
    /// Turn the group's deployment errors and log lines into findings, each with its fix.
    Diagnose(DiagnoseArgs),
    /// Print a shell completion script, or write one per shell into a directory.
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per command into a directory.
    Man(ManArgs),
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell whose script to print.
    #[arg(value_enum, required_unless_present = "dir", conflicts_with = "dir")]
    pub shell: Option<clap_complete::Shell>,
    /// Write every shell's script into DIR (ggp.bash, _ggp, ggp.fish, _ggp.ps1, ggp.elv).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ManArgs {
    /// Write ggp.1 and one page per subcommand (ggp-plan.1, …) into DIR instead of printing ggp.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Args)]
pub struct DoctorArgs {
    /// Skip the Docker checks (for a machine that only provisions).
    #[arg(long)]
    pub no_docker: bool,
}

#[derive(Debug, Clone, Default, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub group: GroupArgs,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub certificate: CertificateArgs,
    #[command(flatten)]
    pub core: CoreArgs,
    /// Do not compare with the AWS account even when credentials are available.
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Clone, Default, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Where packages go (default: build/functions).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Rebuild even when the cache has the package.
    #[arg(long)]
    pub no_cache: bool,
    /// Parallel jobs (default: number of cores).
    #[arg(short, long)]
    pub jobs: Option<usize>,
}

#[derive(Debug, Clone, Default, Args)]
pub struct BundleArgs {
    #[command(flatten)]
    pub group: GroupArgs,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub outputs: OutputArgs,
    /// Where the outputs go (default: build/ in the project).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub options: BundleOptions,
}

#[derive(Debug, Clone, Default, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub group: GroupArgs,
}

#[derive(Debug, Clone, Default, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub group: GroupArgs,
    /// Refresh until the latest deployment settles (or Ctrl-C).
    #[arg(long)]
    pub watch: bool,
    /// Seconds between two refreshes of --watch (default 5).
    #[arg(long, value_name = "SECS", requires = "watch")]
    pub interval: Option<u64>,
    /// Greengrass V1: print the group's certificate authority (PEM), as GGP's --get-group-ca did.
    #[arg(long, conflicts_with = "watch")]
    pub group_ca: bool,
}

#[derive(Debug, Clone, Default, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    pub group: GroupArgs,
    /// Only this component (V2: component or function name; V1: function name or system component such as GGConnManager).
    #[arg(long, value_name = "NAME")]
    pub component: Option<String>,
    /// How far back to read: 30s, 10m, 2h, 1d (default 1h; with --follow alone: from now).
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
    /// Keep printing lines as they are written, until Ctrl-C.
    #[arg(short, long)]
    pub follow: bool,
}

#[derive(Debug, Clone, Default, Args)]
pub struct DiagnoseArgs {
    #[command(flatten)]
    pub group: GroupArgs,
    /// How far back to read the logs: 30s, 10m, 2h, 1d (default 1h).
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
}

/// A flag or mode of GGP that ggp does another way, and that way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GgpOnly {
    /// GGP's spellings of the flag.
    pub flags: &'static [&'static str],
    /// What to do in ggp instead.
    pub instead: &'static str,
}

/// GGP's flags that ggp does not take (spellings from GGP's `DeploymentArguments`,
/// `UpdateArguments`, `QueryArguments`, `TestArguments`, `HsiBootstrapArguments`), each with the
/// ggp way. [`ggp_only`] looks an unknown argument up here, so the user gets this instead of
/// clap's generic "unexpected argument".
pub const GGP_ONLY: &[GgpOnly] = &[
    GgpOnly {
        flags: &["--query-group"],
        instead: "use `ggp status -g GROUP` (add --json for the full record)",
    },
    GgpOnly {
        flags: &["--get-group-ca"],
        instead: "use `ggp status -g GROUP --target v1 --group-ca`",
    },
    GgpOnly {
        flags: &["--list-functions", "--list-subscriptions", "--list-devices"],
        instead: "use `ggp status -g GROUP` (the deployed definitions; --json for every field)",
    },
    GgpOnly {
        flags: &["--download-logs"],
        instead: "use `ggp logs -g GROUP --since 1d` (redirect it to a file to keep it)",
    },
    GgpOnly {
        flags: &["--watch-logs"],
        instead: "use `ggp logs -g GROUP --follow`",
    },
    GgpOnly {
        flags: &["--diagnose"],
        instead: "use `ggp diagnose -g GROUP`",
    },
    GgpOnly {
        flags: &[
            "--update-group",
            "--add-subscription",
            "--remove-subscription",
            "--add-device",
            "--remove-device",
            "--add-function",
            "--remove-function",
        ],
        instead: "edit the deployment (deployments/*.conf, functions/*/function.conf) and deploy again: `ggp deploy -g GROUP -d deployments/FILE.conf`; ggp changes only what differs",
    },
    GgpOnly {
        flags: &["--ec2-launch"],
        instead: "ggp does not launch EC2 instances: start the instance yourself (e.g. `aws ec2 run-instances`), then copy the installer `ggp bundle -g GROUP --script` wrote and run it there",
    },
    GgpOnly {
        flags: &["--docker-launch"],
        instead: "ggp does not start a core container: write the bundle with `ggp bundle -g GROUP` and run it in the container image of your choice",
    },
    GgpOnly {
        flags: &["--launch"],
        instead: "ggp does not log in to devices: write the installer with `ggp bundle -g GROUP --script`, then `scp build/gg.GROUP.sh HOST: && ssh HOST sudo ./gg.GROUP.sh --now`",
    },
    GgpOnly {
        flags: &["--test-group"],
        instead: "ggp does not run AWS IoT Device Tester: run IDT for Greengrass yourself against the device; `ggp status -g GROUP` shows what the device reports",
    },
    GgpOnly {
        flags: &["--hsi-bootstrap"],
        instead: "make the key and CSR in the HSM with its own tools, then `ggp deploy --csr FILE_OR_PEM ...` (the key never leaves the device) and `--hsi P11Provider=...,slotLabel=...,slotUserPin=...` for the bundle",
    },
    GgpOnly {
        flags: &["-c", "--build-container", "-p", "--push-container", "--ecr-repository-name", "-r", "--ecr-image-name", "-i"],
        instead: "ggp does not build or push a core container image: write the bundle with `ggp bundle -g GROUP` and build your image from it",
    },
    GgpOnly {
        flags: &["--oem-json"],
        instead: "use `ggp bundle -g GROUP --oem` (build/oem.GROUP.tar) or `--json` on the command for machine-readable output",
    },
];

/// The GGP-only flag `arg` is (`--flag` or `--flag=value`), if it is one.
pub fn ggp_only(arg: &str) -> Option<(&'static str, &'static GgpOnly)> {
    let name = arg.split_once('=').map_or(arg, |(n, _)| n);
    GGP_ONLY
        .iter()
        .find_map(|g| g.flags.iter().find(|f| **f == name).map(|f| (*f, g)))
}

/// The message and hint for a command line clap refused because of a GGP-only flag; `None` for
/// any other error (clap's own message is right then).
pub fn ggp_only_message(e: &clap::Error) -> Option<(String, &'static str)> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    let (flag, g) = ggp_only(arg)?;
    Some((
        format!("{flag} is a flag of GGP that ggp does not take"),
        g.instead,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn ggp_flag_form_parses() {
        let cli = Cli::try_parse_from([
            "ggp",
            "-g",
            "test-group",
            "-a",
            "X86_64",
            "-d",
            "deployments/test.conf",
            "--script",
            "--oem",
            "--s3-bucket",
            "b",
            "--s3-directory",
            "d",
            "--core-role-name",
            "r",
            "--core-policy-name",
            "p",
            "--service-role-exists",
            "--mqtt-port",
            "8884",
            "--no-systemd",
            "--force-create-new-keys",
        ])
        .unwrap();
        assert!(cli.command.is_none());
        let d = &cli.deploy;
        assert_eq!(d.group.name.as_deref(), Some("test-group"));
        assert_eq!(d.input.arch, Some(ArchList(vec![Arch::X86_64])));
        assert!(
            d.outputs.script && d.outputs.oem && d.outputs.no_systemd && d.core.service_role_exists
        );
        assert_eq!(d.outputs.mqtt_port, Some(8884));
    }

    #[test]
    fn subcommands_and_globals_parse() {
        let cli = Cli::try_parse_from([
            "ggp",
            "--project-dir",
            "/p",
            "plan",
            "-g",
            "g",
            "-d",
            "deployments/x.conf",
            "--json",
            "-a",
            "ARM32,ARM64",
        ])
        .unwrap();
        assert!(cli.global.json);
        let Some(Command::Plan(p)) = cli.command else {
            panic!()
        };
        assert_eq!(
            p.input.arch,
            Some(ArchList(vec![Arch::Armv7lRaspbian, Arch::Armv8]))
        );
        assert!(Cli::try_parse_from(["ggp", "-a", "SPARC"]).is_err());
        assert!(
            Cli::try_parse_from(["ggp", "--s3-bucket", "b"]).is_err(),
            "--s3-bucket needs --s3-directory"
        );
    }
}
