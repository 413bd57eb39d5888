//! The command line: GGP's flag form as the main job, plus subcommands.
//!
//! `ggp -g GROUP -a ARCH -d deployments/x.conf --script` does what `ggp.sh` did, so users can
//! switch without relearning; `plan`, `build`, `deploy`, `bundle`, `destroy` and `doctor` are the
//! stages on their own; `completions` and `man` describe this definition. A flag several commands
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
    /// Create the core certificate from this CSR file; the private key never leaves the device.
    #[arg(long, value_name = "FILE", conflicts_with = "certificate_arn")]
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
