//! ggp: build and provision AWS IoT Greengrass groups from a GGP-style project.
//!
//! The pipeline, one module per stage, each with a narrow entry point:
//! 1. [`config`]: read and validate the project (`load_project`);
//! 2. [`model`]: the desired state of the group, built once and the same for both targets
//!    (`model::build`);
//! 3. [`build`]: Lambda packages per function and architecture, built in Docker through [`docker`]
//!    (`build::build`);
//! 4. [`target`]: Greengrass V1 ([`target::v1`]) or V2 ([`target::v2`]), each with its plan
//!    derived from the desired state, its converge (over the shared cloud steps of [`provision`]),
//!    destroy and bundle (over the shared pieces of [`bundle`]); `target` is the one place the
//!    target is matched.
//!
//! [`app`] is the command layer that runs these stages in order for each command; `main` parses
//! the command line ([`cli`], with the user's [`defaults`]), calls one command and prints its
//! report. [`aws`] resolves credentials, region and endpoints as the AWS CLI does and makes every
//! client; [`doctor`] reports on them and on the Docker engine. [`diagnose`] is the table of known
//! failure patterns `ggp diagnose` matches a group's reports and logs against. Errors meet in [`error`], which
//! imports no stage. Shared value types: [`arch::Arch`], [`language::Language`]; [`runtimes`] is the table of
//! Lambda runtimes AWS blocks, applied once the target is known.

pub mod app;
pub mod arch;
pub mod aws;
pub mod build;
pub mod bundle;
pub mod cli;
pub mod clidoc;
pub mod config;
pub mod defaults;
pub mod diagnose;
pub mod docker;
pub mod doctor;
pub mod error;
pub mod language;
pub mod model;
pub mod provision;
pub mod runtimes;
pub mod target;
pub mod topics;

/// ggp's version, recorded in artifacts and cache keys.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
