//! Greengrass V2: the target a GGP project deploys to now that the V1 cloud service is gone.
//!
//! [`mapping`] turns a project into the V2 desired state (Lambda function components, native
//! components, the thing-group deployment, the core's IAM and IoT resources), offline, the way
//! AWS documents the move from V1. Provisioning and the offline bundle for V2 build on it.

pub mod bundle;
pub mod mapping;

pub use mapping::{build, V2Plan};
