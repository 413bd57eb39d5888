//! Greengrass V1: a group with its definitions, deployed to one core.
//!
//! - [`plan`]: the V1 plan derived from the desired state; the definitions' content in
//!   [`function_definition`] (where a V1 function definition is made) and [`definitions`] (core,
//!   subscriptions, resources, loggers, connectors); the core's policy in [`policy`];
//! - [`converge`]: the deploy (and its dry run) over the shared provisioning steps and the group's
//!   own in [`greengrass`] (group, definitions, group version, deployment), whose JSON
//!   [`convert`] turns into SDK values;
//! - [`destroy`]: deleting what ggp made for the group;
//! - [`bundle`]: the offline installers (config.json, `gg.<group>.sh`, the OEM archive).

pub mod bundle;
pub mod converge;
pub mod convert;
pub mod definitions;
pub mod destroy;
pub mod function_definition;
pub mod greengrass;
pub mod plan;
pub mod policy;
pub mod status;

pub use greengrass::{find_group, GroupInfo};
pub use plan::{derive, GroupPlan, IamPlan, Plan};
