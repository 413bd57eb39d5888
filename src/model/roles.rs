//! The IAM roles a group needs, with their policies merged from the deployment, its functions and
//! its connectors: the core role (V1's group role; V2's token exchange role behind the role
//! alias), the role of the cloud copies of the Lambda functions, and V1's Greengrass service role.
//! What each target adds to them (V2's token exchange trust and access) is the target's business.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{json, Value};

use crate::config::{ConnectorConf, FunctionConf, Project};

/// One IAM role: created and converged by ggp (`managed`), or an existing one used as is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    pub name: String,
    pub arn: String,
    /// False when an existing role is used as is (`--core-role-name`).
    pub managed: bool,
    pub assume_role_policy: Option<Value>,
    pub managed_policies: Vec<String>,
    /// Written as the inline policy `inline-by-ggp`.
    pub inline_policy: Option<Value>,
    /// Greengrass V2 only: what the token exchange role needs besides the configured policy,
    /// written as its own inline policy `greengrass-v2-by-ggp`, so a V1 group and a V2 group that
    /// share the core role (one project's defaults) do not rewrite each other's `inline-by-ggp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v2_inline_policy: Option<Value>,
}

/// The roles of a group.
#[derive(Debug, Clone, PartialEq)]
pub struct Roles {
    pub core: Role,
    /// Absent when the deployment has no functions (GGP created it only then).
    pub lambda: Option<Role>,
    /// Absent with `--service-role-exists`.
    pub service: Option<Role>,
}

/// IAM is global, but its ARNs carry the partition of the Region the group lives in.
pub(crate) fn role_arn(region: &str, account: &str, name: &str) -> String {
    format!(
        "arn:{}:iam::{account}:role/{name}",
        super::arn::partition(region)
    )
}

/// Merges IAM policy documents: statements concatenated in order, exact duplicates dropped.
pub fn merge_policies(docs: impl IntoIterator<Item = Value>) -> Option<Value> {
    let mut statements: Vec<Value> = Vec::new();
    let mut any = false;
    for d in docs {
        any = true;
        let list = match d.get("Statement") {
            Some(Value::Array(a)) => a.clone(),
            Some(v @ Value::Object(_)) => vec![v.clone()],
            _ => Vec::new(),
        };
        for s in list {
            if !statements.contains(&s) {
                statements.push(s);
            }
        }
    }
    any.then(|| json!({"Version": "2012-10-17", "Statement": statements}))
}

pub(crate) fn dedup(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items
        .into_iter()
        .filter(|s| seen.insert(s.clone()))
        .collect()
}

/// What the functions and connectors ask of one role (core or service).
struct Asks<'a> {
    functions: &'a [FunctionConf],
    connectors: &'a [ConnectorConf],
    /// The partition of the group's Region (managed policies are named in it).
    partition: &'static str,
}

/// An AWS managed policy ARN as GGP projects write it (`arn:aws:iam::aws:policy/…`, the
/// commercial partition) names the same policy in the group's partition: AWS publishes its
/// managed policies in China and GovCloud under `arn:aws-cn:` / `arn:aws-us-gov:`.
fn in_partition(arn: &str, partition: &str) -> String {
    match arn.strip_prefix("arn:aws:iam::aws:policy/") {
        Some(rest) if partition != "aws" => format!("arn:{partition}:iam::aws:policy/{rest}"),
        _ => arn.to_string(),
    }
}

impl Asks<'_> {
    fn managed(
        &self,
        base: &[String],
        f: fn(&FunctionConf) -> &Vec<String>,
        c: fn(&ConnectorConf) -> &Vec<String>,
    ) -> Vec<String> {
        dedup(
            base.iter()
                .cloned()
                .chain(self.functions.iter().flat_map(|x| f(x).clone()))
                .chain(self.connectors.iter().flat_map(|x| c(x).clone()))
                .map(|arn| in_partition(&arn, self.partition)),
        )
    }

    fn inline(
        &self,
        base: &Option<Value>,
        f: fn(&FunctionConf) -> &Option<Value>,
        c: fn(&ConnectorConf) -> &Option<Value>,
    ) -> Option<Value> {
        merge_policies(
            base.iter()
                .cloned()
                .chain(self.functions.iter().filter_map(|x| f(x).clone()))
                .chain(self.connectors.iter().filter_map(|x| c(x).clone())),
        )
    }
}

/// The roles of `project`'s group in `account`: `core_role_name` is `--core-role-name` (an
/// existing role used as is), `service_role_exists` is `--service-role-exists`.
pub fn build(
    project: &Project,
    region: &str,
    account: &str,
    core_role_name: Option<&str>,
    service_role_exists: bool,
) -> Roles {
    let d = &project.deployment;
    let asks = Asks {
        functions: &project.functions,
        connectors: &project.connectors,
        partition: super::arn::partition(region),
    };
    let core_name = core_role_name.unwrap_or(&d.core_role.name).to_string();
    let core = Role {
        arn: role_arn(region, account, &core_name),
        name: core_name,
        managed: core_role_name.is_none(),
        assume_role_policy: d.core_role.assume_role_policy.clone(),
        managed_policies: asks.managed(
            &d.core_role.iam_managed_policies,
            |f| &f.core_role_iam_managed_policies,
            |c| &c.core_role_iam_managed_policies,
        ),
        inline_policy: asks.inline(
            &d.core_role.iam_policy,
            |f| &f.core_role_iam_policy,
            |c| &c.core_role_iam_policy,
        ),
        v2_inline_policy: None,
    };
    let lambda = (!d.functions.is_empty()).then(|| Role {
        arn: role_arn(region, account, &d.lambda_role.name),
        name: d.lambda_role.name.clone(),
        managed: true,
        assume_role_policy: d.lambda_role.assume_role_policy.clone(),
        managed_policies: d.lambda_role.iam_managed_policies.clone(),
        inline_policy: d.lambda_role.iam_policy.clone(),
        v2_inline_policy: None,
    });
    let service = (!service_role_exists).then(|| Role {
        arn: role_arn(region, account, &d.service_role.name),
        name: d.service_role.name.clone(),
        managed: true,
        assume_role_policy: d.service_role.assume_role_policy.clone(),
        managed_policies: asks.managed(
            &d.service_role.iam_managed_policies,
            |f| &f.service_role_iam_managed_policies,
            |c| &c.service_role_iam_managed_policies,
        ),
        inline_policy: asks.inline(
            &d.service_role.iam_policy,
            |f| &f.service_role_iam_policy,
            |c| &c.service_role_iam_policy,
        ),
        v2_inline_policy: None,
    });
    Roles {
        core,
        lambda,
        service,
    }
}
