//! ggp's integration tests, in one binary (a module per area, shared support code in
//! [`support`]), so a full test build links the AWS SDK once.

mod support;

mod aws_connect;
mod bench_docker;
mod build;
mod bundle;
mod bundle_v2;
mod config_errors;
mod config_fuzz;
mod config_golden;
mod credentials;
mod distribution;
mod doctor;
mod emulator_greengrass;
mod ggp_only_flags;
mod imds;
mod operate;
mod plan_golden;
mod plan_v2;
mod provision_cli;
mod provision_destroy;
mod provision_external;
mod provision_v1;
mod provision_v1_gone;
mod provision_v2;
mod runtimes;
mod structure;
