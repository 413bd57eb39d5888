//! ggp: build and provision AWS IoT Greengrass groups from a GGP-style project.
//!
//! The pipeline, one module per stage, each with a narrow entry point:
//! - [`config`]: read and validate the project (`load_project`);
//! - [`plan`]: the resources and artifacts a run would create, offline (`plan::build`); [`v2`]
//!   maps the same project to Greengrass V2 components and a thing-group deployment (`v2::build`);
//! - [`build`]: Lambda packages per function and architecture, built in Docker through [`docker`]
//!   (`build::build`);
//! - [`aws`]: credentials, region and endpoints as the AWS CLI resolves them, and every client
//!   (`aws::connect`); [`doctor`] reports on them and on the Docker engine;
//! - [`bundle`]: offline installers for a provisioned core (`bundle::write`);
//! - [`provision`]: converge an AWS account to the plan for a Greengrass V1 group, deploy it, and
//!   destroy it (`provision::deploy`, `provision::diff`, `provision::destroy`).
//!
//! Shared value types: [`arch::Arch`], [`language::Language`]. Errors meet in [`error`].
//! Stages not listed here have not landed yet; the CLI says so instead of faking them.

pub mod arch;
pub mod aws;
pub mod build;
pub mod bundle;
pub mod cli;
pub mod clidoc;
pub mod config;
pub mod defaults;
pub mod docker;
pub mod doctor;
pub mod error;
pub mod language;
pub mod plan;
pub mod provision;
pub mod topics;
pub mod v2;

/// ggp's version, recorded in artifacts and cache keys.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
