//! Target architectures: the single home for everything that depends on the device's CPU.
//!
//! An [`Arch`] knows its Docker platform, its Debian architecture, its `uname -m`, its Python wheel
//! platform tags and the Greengrass core software file names. Everything else asks it. GGP's
//! spellings (`ARMV7L_RASPBIAN`, `ARMV8`, …) are accepted and kept, because the core software file
//! differs between Raspbian/Linux and OpenWrt builds even when the CPU is the same.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// A target device architecture, as named on the command line (`-a`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Arch {
    X86_64,
    /// 32-bit ARMv7 hard-float Linux (GGP: `ARM32`, `ARMV7L_RASPBIAN`).
    Armv7lRaspbian,
    /// 64-bit ARM Linux (GGP: `ARM64`, `ARMV8`, `AARCH64`).
    Armv8,
    Armv8Openwrt,
    Armv7lOpenwrt,
    /// ARMv6 (Raspberry Pi Zero/1).
    Armv6lRaspbian,
}

/// Every accepted spelling, in the order `--help` lists them.
pub const SPELLINGS: &[(&str, Arch)] = &[
    ("X86_64", Arch::X86_64),
    ("ARM32", Arch::Armv7lRaspbian),
    ("ARM64", Arch::Armv8),
    ("ARMV7L_RASPBIAN", Arch::Armv7lRaspbian),
    ("ARMV8", Arch::Armv8),
    ("AARCH64", Arch::Armv8),
    ("ARMV6L_RASPBIAN", Arch::Armv6lRaspbian),
    ("ARMV8_OPENWRT", Arch::Armv8Openwrt),
    ("ARMV7L_OPENWRT", Arch::Armv7lOpenwrt),
    ("AMD64", Arch::X86_64),
];

impl Arch {
    /// The canonical name ggp prints (the short form where one exists).
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "X86_64",
            Arch::Armv7lRaspbian => "ARM32",
            Arch::Armv8 => "ARM64",
            Arch::Armv8Openwrt => "ARMV8_OPENWRT",
            Arch::Armv7lOpenwrt => "ARMV7L_OPENWRT",
            Arch::Armv6lRaspbian => "ARMV6L_RASPBIAN",
        }
    }

    /// Docker platform string (`os/arch[/variant]`).
    pub fn docker_platform(self) -> &'static str {
        match self {
            Arch::X86_64 => "linux/amd64",
            Arch::Armv7lRaspbian | Arch::Armv7lOpenwrt => "linux/arm/v7",
            Arch::Armv8 | Arch::Armv8Openwrt => "linux/arm64",
            Arch::Armv6lRaspbian => "linux/arm/v6",
        }
    }

    /// Debian architecture of the builder image.
    pub fn debian_arch(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Armv7lRaspbian | Arch::Armv7lOpenwrt => "armhf",
            Arch::Armv8 | Arch::Armv8Openwrt => "arm64",
            Arch::Armv6lRaspbian => "armel",
        }
    }

    /// What `uname -m` prints on such a device.
    pub fn uname_machine(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Armv7lRaspbian | Arch::Armv7lOpenwrt => "armv7l",
            Arch::Armv8 | Arch::Armv8Openwrt => "aarch64",
            Arch::Armv6lRaspbian => "armv6l",
        }
    }

    /// The `architecture` a Greengrass V2 nucleus reports for such a device, which component
    /// recipes match in `Manifests[].Platform` (AWS "Component recipe reference" → Platform:
    /// `amd64`, `aarch64`, `arm` for ARMv7 and ARMv6, `x86`).
    pub fn greengrass_architecture(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Armv8 | Arch::Armv8Openwrt => "aarch64",
            Arch::Armv7lRaspbian | Arch::Armv7lOpenwrt | Arch::Armv6lRaspbian => "arm",
        }
    }

    /// The nucleus's `architecture.detail` platform attribute (from `uname -m`, ARM only) where
    /// `architecture` alone does not tell the builds apart: `armv7l` or `armv6l` for 32-bit ARM.
    pub fn greengrass_architecture_detail(self) -> Option<&'static str> {
        match self {
            Arch::Armv7lRaspbian | Arch::Armv7lOpenwrt => Some("armv7l"),
            Arch::Armv6lRaspbian => Some("armv6l"),
            Arch::X86_64 | Arch::Armv8 | Arch::Armv8Openwrt => None,
        }
    }

    /// ELF `e_machine` of native code built for this architecture.
    pub fn elf_machine(self) -> u16 {
        match self {
            Arch::X86_64 => 62,                      // EM_X86_64
            Arch::Armv8 | Arch::Armv8Openwrt => 183, // EM_AARCH64
            Arch::Armv7lRaspbian | Arch::Armv7lOpenwrt | Arch::Armv6lRaspbian => 40, // EM_ARM
        }
    }

    /// pip `--platform` tags, most specific last-resort order, for cross-architecture vendoring.
    pub fn wheel_platforms(self) -> &'static [&'static str] {
        match self {
            Arch::X86_64 => &[
                "manylinux2014_x86_64",
                "manylinux_2_17_x86_64",
                "manylinux_2_28_x86_64",
                "linux_x86_64",
            ],
            Arch::Armv8 | Arch::Armv8Openwrt => &[
                "manylinux2014_aarch64",
                "manylinux_2_17_aarch64",
                "manylinux_2_28_aarch64",
                "linux_aarch64",
            ],
            Arch::Armv7lRaspbian | Arch::Armv7lOpenwrt => &[
                "manylinux2014_armv7l",
                "manylinux_2_17_armv7l",
                "manylinux_2_31_armv7l",
                "linux_armv7l",
            ],
            Arch::Armv6lRaspbian => &["linux_armv6l"],
        }
    }

    /// The platform part of the Greengrass V1 core software file name.
    fn core_platform(self) -> &'static str {
        match self {
            Arch::X86_64 => "linux-x86-64",
            Arch::Armv7lRaspbian => "linux-armv7l",
            Arch::Armv8 => "linux-aarch64",
            Arch::Armv8Openwrt => "openwrt-aarch64",
            Arch::Armv7lOpenwrt => "openwrt-armv7l",
            Arch::Armv6lRaspbian => "linux-armv6l",
        }
    }

    /// Greengrass V1 core software archive name, e.g. `greengrass-linux-x86-64-1.11.6.tar.gz`.
    pub fn core_software_file(self, version: &str) -> String {
        format!("greengrass-{}-{version}.tar.gz", self.core_platform())
    }

    /// All distinct architectures, canonical spelling, in display order.
    pub fn all() -> &'static [Arch] {
        &[
            Arch::X86_64,
            Arch::Armv7lRaspbian,
            Arch::Armv8,
            Arch::Armv6lRaspbian,
            Arch::Armv8Openwrt,
            Arch::Armv7lOpenwrt,
        ]
    }

    /// Parses a comma-separated list (`X86_64,ARM32,ARM64`), keeping order and dropping repeats.
    pub fn parse_list(s: &str) -> Result<Vec<Arch>, UnknownArch> {
        let mut out: Vec<Arch> = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let a: Arch = part.parse()?;
            if !out.contains(&a) {
                out.push(a);
            }
        }
        if out.is_empty() {
            return Err(UnknownArch(s.to_string()));
        }
        Ok(out)
    }
}

/// An architecture name that ggp does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown architecture '{0}' (expected one of: {list})", list = SPELLINGS.iter().map(|(s, _)| *s).collect::<Vec<_>>().join(", "))]
pub struct UnknownArch(pub String);

impl FromStr for Arch {
    type Err = UnknownArch;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let up = s.trim().to_ascii_uppercase().replace('-', "_");
        SPELLINGS
            .iter()
            .find(|(name, _)| *name == up)
            .map(|(_, a)| *a)
            .ok_or_else(|| UnknownArch(s.to_string()))
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Arch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ggp_spellings_map_to_platforms_and_core_files() {
        let cases = [
            (
                "X86_64",
                "linux/amd64",
                "greengrass-linux-x86-64-1.11.6.tar.gz",
            ),
            (
                "ARM32",
                "linux/arm/v7",
                "greengrass-linux-armv7l-1.11.6.tar.gz",
            ),
            (
                "ARMV7L_RASPBIAN",
                "linux/arm/v7",
                "greengrass-linux-armv7l-1.11.6.tar.gz",
            ),
            (
                "ARM64",
                "linux/arm64",
                "greengrass-linux-aarch64-1.11.6.tar.gz",
            ),
            (
                "ARMV8",
                "linux/arm64",
                "greengrass-linux-aarch64-1.11.6.tar.gz",
            ),
            (
                "aarch64",
                "linux/arm64",
                "greengrass-linux-aarch64-1.11.6.tar.gz",
            ),
            (
                "ARMV6L_RASPBIAN",
                "linux/arm/v6",
                "greengrass-linux-armv6l-1.11.6.tar.gz",
            ),
            (
                "ARMV8_OPENWRT",
                "linux/arm64",
                "greengrass-openwrt-aarch64-1.11.6.tar.gz",
            ),
            (
                "ARMV7L_OPENWRT",
                "linux/arm/v7",
                "greengrass-openwrt-armv7l-1.11.6.tar.gz",
            ),
        ];
        for (name, platform, file) in cases {
            let a: Arch = name.parse().unwrap();
            assert_eq!(a.docker_platform(), platform, "{name}");
            assert_eq!(a.core_software_file("1.11.6"), file, "{name}");
        }
    }

    #[test]
    fn list_parsing_dedups_and_rejects_unknown() {
        assert_eq!(
            Arch::parse_list("X86_64, ARM32,ARMV7L_RASPBIAN,ARM64").unwrap(),
            vec![Arch::X86_64, Arch::Armv7lRaspbian, Arch::Armv8]
        );
        let err = Arch::parse_list("X86_64,SPARC").unwrap_err();
        assert!(err.to_string().contains("SPARC"));
        assert!(err.to_string().contains("ARMV7L_RASPBIAN"));
    }
}
