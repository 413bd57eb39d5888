//! Greengrass V2: a thing group holding the core device, components, and one deployment on the
//! thing group.
//!
//! - [`plan`]: the V2 plan derived from the desired state (the V1 → V2 mapping), rendered by
//!   [`render`]; component recipes in [`recipe`] (where a V2 component recipe is made), V1
//!   connectors' replacements in [`connectors`], public components in [`public`], the core's
//!   policy and the token exchange role's in [`policy`];
//! - [`converge`]: the deploy (and its dry run) over the shared provisioning steps and V2's own in
//!   [`greengrass`] (thing group, membership, component versions, the deployment awaited on the
//!   core device), with [`artifacts`] in S3 and [`convert`] turning request JSON into SDK values;
//!   before the deployment, [`preflight`] asks the account whether the core may do what it needs;
//! - [`destroy`]: deleting what ggp made for the group;
//! - [`bundle`]: the offline installer (config.yaml, the nucleus, certificates).

pub mod artifacts;
pub mod bundle;
pub mod connectors;
pub mod converge;
pub mod convert;
pub mod destroy;
pub mod greengrass;
pub mod plan;
pub mod policy;
pub mod preflight;
pub mod public;
pub mod recipe;
mod render;
pub mod status;

pub use greengrass::{find_thing_group, ThingGroupInfo};
pub use plan::{derive, nucleus_logging, IamPlan, IotPlan, Plan};
