//! The Lambda runtimes AWS no longer lets anyone create or update functions on, and what ggp does
//! about a function on one of them.
//!
//! [`TABLE`] is AWS's "Deprecated runtimes" table as transcribed on [`READ_ON`] from [`SOURCE`]: per
//! runtime the deprecation date, the date Lambda blocks CreateFunction and the date it blocks
//! function updates. A runtime not in the table is treated as creatable. [`check`] applies it to a
//! loaded project once the target is known:
//! - on Greengrass V2 (functions are created as Lambda functions and imported as components) a
//!   blocked runtime stops the command before any change, unless the function or the project opts
//!   into `upgradeRuntime = true`: then the function is built and deployed for [`upgrade`]'s
//!   runtime and a warning says so;
//! - on Greengrass V1 it is a warning: V1 cores run only python3.7/3.8, nodejs12.x and java8, so
//!   there is nothing to upgrade to.
//!
//! Not here: the emulator's copy of the table (`bench/emulator/ggp_emulator/runtimes.py`, kept
//! equal by a test), how a function is built (the build stage reads the function's language).

use std::fmt;

use crate::config::{FunctionConf, Location, Project, Target, Warning};
use crate::language::Language;

/// The AWS page the table is transcribed from.
pub const SOURCE: &str = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html";
/// The day the table was written down from [`SOURCE`]. Transcribed, not fetched: the machine it
/// was written on has no web access, so the rows are what was known of the page then (see
/// [`TABLE`]) and must be re-checked against it.
pub const READ_ON: Date = Date::new(2026, 12, 4);

/// A calendar day (UTC), ordered by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

impl Date {
    pub const fn new(year: i32, month: u8, day: u8) -> Date {
        Date { year, month, day }
    }

    /// The day `secs` seconds after 1970-01-01T00:00:00Z (Howard Hinnant's `civil_from_days`).
    pub fn from_unix(secs: u64) -> Date {
        let z = (secs / 86_400) as i64 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// Today by the system clock (UTC).
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Date::from_unix(secs)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl std::str::FromStr for Date {
    type Err = String;
    /// `YYYY-MM-DD`, a day that exists.
    fn from_str(s: &str) -> Result<Date, String> {
        let bad = || format!("'{s}' is not a date of the form YYYY-MM-DD");
        let parts: Vec<&str> = s.trim().split('-').collect();
        let [y, m, d] = parts.as_slice() else {
            return Err(bad());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let (year, month, day): (i32, u8, u8) = (
            y.parse().map_err(|_| bad())?,
            m.parse().map_err(|_| bad())?,
            d.parse().map_err(|_| bad())?,
        );
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return Err(bad()),
        };
        if day == 0 || day > days {
            return Err(bad());
        }
        Ok(Date::new(year, month, day))
    }
}

/// A row of AWS's "Deprecated runtimes" table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// The runtime identifier (`Runtime` in CreateFunction).
    pub runtime: &'static str,
    pub deprecation: Date,
    /// From this day CreateFunction refuses the runtime.
    pub block_create: Date,
    /// From this day UpdateFunctionConfiguration and UpdateFunctionCode refuse it.
    pub block_update: Date,
}

const fn row(runtime: &'static str, dep: Date, create: Date, update: Date) -> Row {
    Row {
        runtime,
        deprecation: dep,
        block_create: create,
        block_update: update,
    }
}

/// AWS's dates, as transcribed from [`SOURCE`] on [`READ_ON`] (python3.7 and java8 are the Amazon
/// Linux 1 runtimes).
///
/// RE-CHECK against [`SOURCE`]: these dates were transcribed, not fetched (no web access where
/// they were written). As far as was known they are the page's (including AWS's extension of the
/// block-update dates of the older runtimes to 2026-02-28), but the page may by now list more
/// runtimes past their block dates (nodejs18.x, python3.9, and the Amazon Linux 2 runtimes, which
/// include the upgrade targets python3.11 and java8.al2 of [`upgrade`]); a runtime missing here is
/// treated as creatable. The emulator's copy (`bench/emulator/ggp_emulator/runtimes.py`) must
/// change with it.
pub const TABLE: &[Row] = &[
    row(
        "python3.7",
        Date::new(2023, 12, 4),
        Date::new(2024, 1, 9),
        Date::new(2026, 2, 28),
    ),
    row(
        "python3.8",
        Date::new(2024, 10, 14),
        Date::new(2026, 2, 28),
        Date::new(2026, 3, 31),
    ),
    row(
        "nodejs12.x",
        Date::new(2023, 3, 31),
        Date::new(2023, 3, 31),
        Date::new(2026, 2, 28),
    ),
    row(
        "nodejs14.x",
        Date::new(2023, 12, 4),
        Date::new(2024, 1, 9),
        Date::new(2026, 2, 28),
    ),
    row(
        "nodejs16.x",
        Date::new(2024, 6, 12),
        Date::new(2026, 2, 28),
        Date::new(2026, 3, 31),
    ),
    row(
        "java8",
        Date::new(2024, 1, 8),
        Date::new(2024, 2, 8),
        Date::new(2026, 2, 28),
    ),
    row(
        "python2.7",
        Date::new(2021, 7, 15),
        Date::new(2021, 7, 15),
        Date::new(2022, 5, 30),
    ),
];

/// The table's row of `runtime`, if it has one.
pub fn lookup(runtime: &str) -> Option<&'static Row> {
    TABLE.iter().find(|r| r.runtime == runtime)
}

/// The row of `runtime` when Lambda refuses to create functions on it on `today`.
pub fn create_blocked(runtime: &str, today: Date) -> Option<&'static Row> {
    lookup(runtime).filter(|r| today >= r.block_create)
}

/// The runtime `upgradeRuntime = true` moves a function to: Python 3.7/3.8 to 3.11 (the Python of
/// the Debian bookworm builder images, so wheels are fetched and built for cp311), Node.js
/// 12/14/16 to 22, Java 8 (Amazon Linux 1) to java8.al2. `None`: there is no automatic upgrade
/// (Python 2.7 code does not run on Python 3).
pub fn upgrade(language: Language) -> Option<Language> {
    match language {
        Language::Python(3, 7 | 8) => Some(Language::Python(3, 11)),
        Language::Node(12 | 14 | 16) => Some(Language::Node(22)),
        Language::Java(8) => Some(Language::Java8Al2),
        _ => None,
    }
}

/// A function on a blocked runtime, as the error names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub function: String,
    /// The function.conf it was read from, relative to the project where it is inside it.
    pub conf: String,
    pub runtime: String,
    pub block_create: Date,
    /// Set when `upgradeRuntime` cannot help (no runtime to upgrade to).
    pub no_upgrade: bool,
}

/// Functions whose runtime Lambda no longer creates, on Greengrass V2, without `upgradeRuntime`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedRuntimes {
    pub today: Date,
    pub functions: Vec<Blocked>,
}

impl fmt::Display for BlockedRuntimes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "runtimes::check: Lambda no longer creates functions on these runtimes (today is {}; \
             dates transcribed from {SOURCE} on {READ_ON}); a Greengrass V2 deploy would fail at CreateFunction:",
            self.today
        )?;
        for b in &self.functions {
            write!(
                f,
                "\n  function {} ({}): runtime {}, creating blocked since {}",
                b.function, b.conf, b.runtime, b.block_create
            )?;
            if b.no_upgrade {
                write!(f, " (no automatic upgrade: port the code to a supported runtime and change conf.language)")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for BlockedRuntimes {}

impl crate::error::Failure for BlockedRuntimes {
    fn exit_code(&self) -> i32 {
        crate::error::exit::CONFIG
    }
    fn hint(&self) -> Option<String> {
        Some(
            "set `upgradeRuntime = true` in conf of the function's function.conf (or of the deployment, \
             e.g. deployments/deployment.defaults.conf, for every function) to build and deploy for \
             python3.11, nodejs22.x or java8.al2; or change conf.language yourself"
                .into(),
        )
    }
}

/// Where a function's configuration was read from, as messages show it.
fn conf_path(project: &Project, f: &FunctionConf) -> String {
    project
        .paths
        .display(&project.paths.folder_of(f).join("function.conf"))
}

/// Applies the table to the functions ggp creates (not existing Lambda functions used as is) for
/// `target` on `today`: on V2 a blocked runtime is upgraded where `upgradeRuntime` allows (the
/// function's setting over the project's) and is an error otherwise; on V1 it is a warning. The
/// warnings are added to the project's. Call it once the target is known, before anything is
/// built or changed.
pub fn check(project: &mut Project, target: Target, today: Date) -> Result<(), BlockedRuntimes> {
    let mut blocked = Vec::new();
    let mut warnings = Vec::new();
    let project_setting = project.deployment.upgrade_runtime;
    for i in 0..project.functions.len() {
        let f = &project.functions[i];
        if f.existing.is_some() {
            continue;
        }
        let runtime = f.language.lambda_runtime();
        let conf = conf_path(project, f);
        let at = Location::file(conf.clone());
        let Some(row) = create_blocked(&runtime, today) else {
            if let Some(r) = lookup(&runtime).filter(|r| today >= r.deprecation) {
                warnings.push(Warning {
                    at,
                    message: format!(
                        "function {}: {runtime} is deprecated since {}; Lambda blocks creating functions on it from {} ({SOURCE})",
                        f.function_name, r.deprecation, r.block_create
                    ),
                });
            }
            continue;
        };
        let opted = f.upgrade_runtime.unwrap_or(project_setting);
        match (target, upgrade(f.language)) {
            (Target::V1, _) => {
                warnings.push(Warning {
                    at,
                    message: format!(
                    "function {}: Lambda blocks creating {runtime} functions since {} ({SOURCE}); \
                     Greengrass V1 cores run only python3.7/3.8, nodejs12.x and java8, so there is \
                     no runtime to upgrade to{}",
                    f.function_name,
                    row.block_create,
                    if opted { " (upgradeRuntime applies to --target v2 only)" } else { "" }
                ),
                })
            }
            (Target::V2, Some(to)) if opted => {
                warnings.push(Warning {
                    at,
                    message: format!(
                        "function {}: upgraded from {} to {} (upgradeRuntime; Lambda blocks creating {runtime} functions since {})",
                        f.function_name,
                        runtime,
                        to.lambda_runtime(),
                        row.block_create
                    ),
                });
                project.functions[i].language = to;
            }
            (Target::V2, to) => blocked.push(Blocked {
                function: f.function_name.clone(),
                conf,
                runtime,
                block_create: row.block_create,
                no_upgrade: to.is_none(),
            }),
        }
    }
    if !blocked.is_empty() {
        return Err(BlockedRuntimes {
            today,
            functions: blocked,
        });
    }
    project.warnings.extend(warnings);
    project.warnings.sort();
    project.warnings.dedup();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_print_and_order() {
        let d: Date = "2026-02-28".parse().unwrap();
        assert_eq!(d, Date::new(2026, 2, 28));
        assert_eq!(d.to_string(), "2026-02-28");
        assert!(Date::new(2026, 3, 1) > d && Date::new(2025, 12, 31) < d);
        for bad in [
            "2026-2-28",
            "2026-02-30",
            "2025-02-29",
            "2026-13-01",
            "",
            "yesterday",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
        assert!("2024-02-29".parse::<Date>().is_ok());
    }

    #[test]
    fn unix_seconds_become_the_utc_day() {
        assert_eq!(Date::from_unix(0), Date::new(1970, 1, 1));
        // 2026-12-04T23:59:59Z and the next second.
        assert_eq!(Date::from_unix(1_796_428_799), Date::new(2026, 12, 4));
        assert_eq!(Date::from_unix(1_796_428_800), Date::new(2026, 12, 5));
        assert_eq!(Date::from_unix(951_782_400), Date::new(2000, 2, 29));
    }

    #[test]
    fn a_runtime_is_blocked_from_its_block_date_on() {
        let day = Date::new(2026, 2, 28);
        assert!(create_blocked("python3.8", day).is_some());
        assert!(create_blocked("python3.8", Date::new(2026, 2, 27)).is_none());
        assert!(create_blocked("nodejs12.x", Date::new(2023, 3, 1)).is_none());
        assert!(create_blocked("python3.11", Date::new(2099, 1, 1)).is_none());
        assert!(create_blocked("java8.al2", Date::new(2099, 1, 1)).is_none());
    }

    #[test]
    fn every_row_is_in_date_order_and_upgrades_leave_the_table() {
        for r in TABLE {
            assert!(
                r.deprecation <= r.block_create && r.block_create <= r.block_update,
                "{r:?}"
            );
            let l = Language::from_lambda_runtime(r.runtime)
                .unwrap_or_else(|| panic!("{} is not a runtime ggp knows", r.runtime));
            if let Some(to) = upgrade(l) {
                assert!(
                    lookup(&to.lambda_runtime()).is_none(),
                    "{l} upgrades to a blocked {to}"
                );
            }
        }
        assert_eq!(upgrade(Language::Python(2, 7)), None);
        assert_eq!(
            upgrade(Language::Java(8))
                .map(|l| l.lambda_runtime())
                .as_deref(),
            Some("java8.al2")
        );
    }
}
