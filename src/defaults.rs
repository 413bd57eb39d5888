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

use crate::cli::{CertificateArgs, DeployArgs, GlobalArgs, GroupArgs, InputArgs, OutputArgs};
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
    /// GGP's keys the file sets that ggp ignores, each named with what to do instead.
    pub warnings: Vec<String>,
}

/// GGP's defaults-file keys for features ggp does not have, and what to do instead.
const IGNORED: &[(&str, &str)] = &[
    (
        "containerBuild",
        "ggp builds no core container image: `ggp bundle` writes the bundle to build one from",
    ),
    ("containerPush", "ggp pushes no image to ECR"),
    ("ecrRepositoryName", "ggp pushes no image to ECR"),
    (
        "ec2Launch",
        "ggp launches no EC2 instance: run the installer `ggp bundle --script` writes on it",
    ),
    (
        "dockerLaunch",
        "ggp starts no core container: run the bundle in a container of your choice",
    ),
    (
        "launch",
        "ggp logs in to no device: copy build/gg.GROUP.sh there and run it",
    ),
];

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
            warnings: Vec::new(),
        })
    })()
    .map_err(fail)?;
    // GGP's keys for features ggp does not have are accepted, and named in a warning.
    let mut d = d;
    for (key, instead) in IGNORED {
        if c.raw(key).is_some() {
            let at = loaded
                .origins
                .locate(&c.key(key))
                .map(ToString::to_string)
                .unwrap_or_else(|| path.display().to_string());
            d.warnings.push(format!(
                "{at}: conf.{key} is a GGP setting that ggp ignores ({instead})"
            ));
        }
    }
    c.ignore(&IGNORED.iter().map(|(k, _)| *k).collect::<Vec<_>>());
    Ok(d)
}

impl FlagDefaults {
    fn at(&self) -> String {
        self.file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    }

    /// `conf.region` and `conf.profile` where `--region` and `--profile` are not given.
    pub fn apply_global(&self, g: &mut GlobalArgs) {
        if g.region.is_none() {
            g.region = self.region.clone();
        }
        if g.profile.is_none() {
            g.profile = self.profile.clone();
        }
    }

    /// `conf.groupName` and `conf.target`.
    pub fn apply_group(&self, g: &mut GroupArgs) -> Result<(), String> {
        if g.name.is_none() {
            g.name = self.group.clone();
        }
        if g.target.is_none() {
            if let Some(t) = &self.target {
                g.target = Some(
                    t.parse()
                        .map_err(|e| format!("{}: conf.target: {e}", self.at()))?,
                );
            }
        }
        Ok(())
    }

    /// `conf.deploymentConfig` and `conf.architecture`.
    pub fn apply_input(&self, i: &mut InputArgs) -> Result<(), String> {
        if i.arch.is_none() {
            if let Some(a) = &self.arch {
                i.arch = Some(crate::cli::ArchList(
                    crate::arch::Arch::parse_list(a)
                        .map_err(|e| format!("{}: conf.architecture: {e}", self.at()))?,
                ));
            }
        }
        if i.deployment.is_none() {
            i.deployment = self.deployment.clone();
        }
        Ok(())
    }

    /// `conf.scriptBuild`, `conf.oemBuild`, `conf.noSystemD`, `conf.mqttPort`, `conf.s3Bucket`
    /// and `conf.s3Directory`.
    pub fn apply_outputs(&self, o: &mut OutputArgs) -> Result<(), String> {
        o.script |= self.script.unwrap_or(false);
        o.oem |= self.oem.unwrap_or(false);
        o.no_systemd |= self.no_systemd.unwrap_or(false);
        if o.s3_bucket.is_none() && o.s3_directory.is_none() {
            o.s3_bucket = self.s3_bucket.clone();
            o.s3_directory = self.s3_directory.clone();
        }
        if o.mqtt_port.is_none() {
            if let Some(p) = self.mqtt_port {
                o.mqtt_port = Some(
                    u16::try_from(p)
                        .map_err(|_| format!("{}: conf.mqttPort: {p} is not a port", self.at()))?,
                );
            }
        }
        Ok(())
    }

    /// `conf.csr` and `conf.certificateArn`.
    pub fn apply_certificate(&self, c: &mut CertificateArgs) {
        if c.csr.is_none() && c.certificate_arn.is_none() {
            c.csr = self.csr.as_ref().map(PathBuf::from);
            c.certificate_arn = self.certificate_arn.clone();
        }
    }

    /// Every default of the deploy job where its flag is not given (a flag always wins).
    pub fn apply(&self, args: &mut DeployArgs) -> Result<(), String> {
        self.apply_group(&mut args.group)?;
        self.apply_input(&mut args.input)?;
        self.apply_outputs(&mut args.outputs)?;
        self.apply_certificate(&mut args.certificate);
        args.bundle |= self.bundle.unwrap_or(false);
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
        let mut args = DeployArgs::default();
        args.group.name = Some("cli-group".into());
        defaults.apply(&mut args).unwrap();
        assert_eq!(args.group.name.as_deref(), Some("cli-group"));
        assert_eq!(
            args.input.arch,
            Some(crate::cli::ArchList(vec![
                crate::arch::Arch::Armv7lRaspbian
            ]))
        );
        assert!(args.outputs.script);
        assert_eq!(args.outputs.mqtt_port, Some(8884));
    }

    #[test]
    fn ggp_keys_ggp_ignores_are_named_in_warnings() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("defaults.conf");
        std::fs::write(
            &f,
            "conf {\n  groupName = g1\n  containerBuild = true\n  ec2Launch = Ubuntu1804\n}\n",
        )
        .unwrap();
        let env: BTreeMap<String, String> =
            [("GGP_DEFAULTS_FILE".to_string(), f.display().to_string())].into();
        let defaults = load_defaults(&env).unwrap();
        assert_eq!(defaults.warnings.len(), 2, "{:?}", defaults.warnings);
        let w = defaults.warnings.join("\n");
        assert!(
            w.contains("conf.containerBuild") && w.contains("conf.ec2Launch"),
            "{w}"
        );
        assert!(w.contains("defaults.conf"), "names the file: {w}");
        assert!(!w.contains("groupName"), "{w}");
    }

    #[test]
    fn no_file_means_no_defaults() {
        let d = tempfile::tempdir().unwrap();
        let env: BTreeMap<String, String> =
            [("HOME".to_string(), d.path().display().to_string())].into();
        assert_eq!(load_defaults(&env).unwrap(), FlagDefaults::default());
    }
}
