//! User-wide flag defaults, as GGP's `~/.ggprovisioner/defaults.conf` supplied them.
//!
//! Read from `$GGP_DEFAULTS_FILE`, else `$XDG_CONFIG_HOME/ggp/defaults.conf` or
//! `~/.config/ggp/defaults.conf`, else GGP's `~/.ggprovisioner/defaults.conf`. Keys are GGP's
//! (`conf.groupName`, `conf.architecture`, `conf.deploymentConfig`, `conf.scriptBuild`,
//! `conf.oemBuild`, `conf.noSystemD`, `conf.s3Bucket`, `conf.s3Directory`, `conf.csr`,
//! `conf.certificateArn`, `conf.mqttPort`) plus ggp's `conf.region`, `conf.profile`,
//! `conf.target`, `conf.bundleBuild`. A flag on the command line always wins.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cli::DeployArgs;
use crate::config::hocon::{load, Layer};
use crate::config::reader::Reader;
use crate::config::{ConfigError, ConfigErrors, Location};

/// Flag defaults found in the user's defaults file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlagDefaults {
    pub file: Option<PathBuf>,
    pub group: Option<String>,
    pub arch: Option<String>,
    pub deployment: Option<String>,
    pub script: Option<bool>,
    pub oem: Option<bool>,
    pub bundle: Option<bool>,
    pub no_systemd: Option<bool>,
    pub s3_bucket: Option<String>,
    pub s3_directory: Option<String>,
    pub csr: Option<String>,
    pub certificate_arn: Option<String>,
    pub mqtt_port: Option<u64>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub target: Option<String>,
}

/// Where the defaults file is, given the environment.
pub fn defaults_path(env: &BTreeMap<String, String>) -> Option<PathBuf> {
    if let Some(p) = env.get("GGP_DEFAULTS_FILE") {
        return Some(PathBuf::from(p));
    }
    let home = env.get("HOME").map(PathBuf::from);
    let xdg = env
        .get("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    let candidates = [
        xdg.map(|x| x.join("ggp/defaults.conf")),
        home.map(|h| h.join(".ggprovisioner/defaults.conf")),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

/// Reads the defaults file if there is one. A file that exists but is invalid is an error.
pub fn load_defaults(env: &BTreeMap<String, String>) -> Result<FlagDefaults, ConfigErrors> {
    let Some(path) = defaults_path(env) else {
        return Ok(FlagDefaults::default());
    };
    if !path.is_file() {
        return Ok(FlagDefaults::default());
    }
    read(&path, env)
}

fn read(path: &Path, env: &BTreeMap<String, String>) -> Result<FlagDefaults, ConfigErrors> {
    let loaded = load(&[Layer::File(path.to_path_buf())], env)?;
    let fail = |p: crate::config::reader::Problem| {
        let at = loaded
            .origins
            .locate(&p.key)
            .cloned()
            .unwrap_or_else(|| Location::file(path.display().to_string()));
        ConfigErrors::from(ConfigError::Invalid {
            at,
            key: p.key,
            message: p.message,
        })
    };
    let top = Reader::new("", &loaded.value).map_err(fail)?;
    let c = top.object("conf").map_err(fail)?;
    let d = (|| {
        Ok(FlagDefaults {
            file: Some(path.to_path_buf()),
            group: c.opt_string("groupName")?,
            arch: c.opt_string("architecture")?,
            deployment: c.opt_string("deploymentConfig")?,
            script: c.opt_bool("scriptBuild")?,
            oem: c.opt_bool("oemBuild")?,
            bundle: c.opt_bool("bundleBuild")?,
            no_systemd: c.opt_bool("noSystemD")?,
            s3_bucket: c.opt_string("s3Bucket")?,
            s3_directory: c.opt_string("s3Directory")?,
            csr: c.opt_string("csr")?,
            certificate_arn: c.opt_string("certificateArn")?,
            mqtt_port: c.opt_u64("mqttPort")?,
            region: c.opt_string("region")?,
            profile: c.opt_string("profile")?,
            target: c.opt_string("target")?,
        })
    })()
    .map_err(fail)?;
    // GGP's keys for features ggp does not have are accepted silently; anything else is a typo.
    c.ignore(&[
        "containerBuild",
        "containerPush",
        "ecrRepositoryName",
        "ec2Launch",
        "dockerLaunch",
        "launch",
    ]);
    Ok(d)
}

impl FlagDefaults {
    /// Fills the flags the user did not give. Returns an error for a bad default value.
    pub fn apply(&self, args: &mut DeployArgs) -> Result<(), String> {
        let at = || {
            self.file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        };
        if args.group.is_none() {
            args.group = self.group.clone();
        }
        if args.arch.is_none() {
            if let Some(a) = &self.arch {
                args.arch = Some(crate::cli::ArchList(
                    crate::arch::Arch::parse_list(a)
                        .map_err(|e| format!("{}: conf.architecture: {e}", at()))?,
                ));
            }
        }
        if args.deployment.is_none() {
            args.deployment = self.deployment.clone();
        }
        args.script |= self.script.unwrap_or(false);
        args.oem |= self.oem.unwrap_or(false);
        args.bundle |= self.bundle.unwrap_or(false);
        args.no_systemd |= self.no_systemd.unwrap_or(false);
        if args.s3_bucket.is_none() && args.s3_directory.is_none() {
            args.s3_bucket = self.s3_bucket.clone();
            args.s3_directory = self.s3_directory.clone();
        }
        if args.csr.is_none() && args.certificate_arn.is_none() {
            args.csr = self.csr.as_ref().map(PathBuf::from);
            args.certificate_arn = self.certificate_arn.clone();
        }
        if args.mqtt_port.is_none() {
            if let Some(p) = self.mqtt_port {
                args.mqtt_port = Some(
                    u16::try_from(p)
                        .map_err(|_| format!("{}: conf.mqttPort: {p} is not a port", at()))?,
                );
            }
        }
        if args.target.is_none() {
            if let Some(t) = &self.target {
                args.target = Some(
                    t.parse()
                        .map_err(|e| format!("{}: conf.target: {e}", at()))?,
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_missing_flags_only() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("defaults.conf");
        std::fs::write(&f, "conf { groupName = g1\n architecture = \"ARM32\"\n scriptBuild = true\n mqttPort = 8884 }\n").unwrap();
        let env: BTreeMap<String, String> =
            [("GGP_DEFAULTS_FILE".to_string(), f.display().to_string())].into();
        let defaults = load_defaults(&env).unwrap();
        let mut args = DeployArgs {
            group: Some("cli-group".into()),
            ..Default::default()
        };
        defaults.apply(&mut args).unwrap();
        assert_eq!(args.group.as_deref(), Some("cli-group"));
        assert_eq!(
            args.arch,
            Some(crate::cli::ArchList(vec![
                crate::arch::Arch::Armv7lRaspbian
            ]))
        );
        assert!(args.script);
        assert_eq!(args.mqtt_port, Some(8884));
    }

    #[test]
    fn no_file_means_no_defaults() {
        let d = tempfile::tempdir().unwrap();
        let env: BTreeMap<String, String> =
            [("HOME".to_string(), d.path().display().to_string())].into();
        assert_eq!(load_defaults(&env).unwrap(), FlagDefaults::default());
    }
}
