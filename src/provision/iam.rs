//! IAM, for both targets: the core role (V2's token exchange role), the Lambda role and V1's
//! service role converged to the plan (trust policy, managed policies attached and detached, the
//! inline policies `inline-by-ggp` and, for V2, `greengrass-v2-by-ggp`), and V1's account-wide
//! Greengrass service role association, changed only when it is not already this role.
//!
//! Roles ggp creates carry the tag `ggp:managed-by = ggp`; `destroy` deletes only those.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use aws_sdk_iam::types::Tag;
use serde_json::Value;

use super::error::{is_not_found, Doing, ProvisionError};
use super::{Action, Backoff, Ctx, TAG_MANAGED_BY};
use crate::model::Role as RolePlan;

pub const INLINE_POLICY: &str = "inline-by-ggp";
/// The token exchange role's Greengrass V2 additions (see [`crate::model::Role`]).
pub const V2_INLINE_POLICY: &str = "greengrass-v2-by-ggp";

/// The role ARNs later steps need.
#[derive(Debug, Clone)]
pub struct Roles {
    pub core_arn: String,
}

/// Converges the core role, the Lambda role and (V1) the Greengrass service role with its
/// account association; returns the ARNs later steps need.
pub(crate) async fn converge(
    ctx: &Ctx<'_>,
    core_role: &RolePlan,
    lambda_role: Option<&RolePlan>,
    service_role: Option<&RolePlan>,
) -> Result<Roles, ProvisionError> {
    let (core, lambda, service) = tokio::join!(
        converge_role(ctx, "core", core_role),
        async {
            match lambda_role {
                Some(r) => converge_role(ctx, "lambda", r).await.map(Some),
                None => Ok(None),
            }
        },
        async {
            match service_role {
                Some(r) => converge_role(ctx, "service", r).await.map(Some),
                None => Ok(None),
            }
        }
    );
    let (core, _, service) = (core?, lambda?, service?);
    ctx.checkpoint("after-roles")?;
    if let Some(service) = service {
        converge_service_role_association(ctx, &service).await?;
    }
    ctx.checkpoint("after-service-role")?;
    Ok(Roles { core_arn: core })
}

/// Whether the trust policy `doc` lets `service` assume the role: an Allow statement whose action
/// is `sts:AssumeRole` (or `sts:*`, `*`) and whose `Principal.Service` names the service (string
/// or list), the form IAM documents for service principals.
pub fn trusts_service(doc: &Value, service: &str) -> bool {
    let has = |v: &Value, want: &dyn Fn(&str) -> bool| match v {
        Value::String(s) => want(s),
        Value::Array(a) => a.iter().any(|x| x.as_str().is_some_and(want)),
        _ => false,
    };
    let statements = match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        Value::Object(_) => vec![doc["Statement"].clone()],
        _ => Vec::new(),
    };
    statements.iter().any(|st| {
        st["Effect"] == "Allow"
            && has(&st["Action"], &|a| {
                matches!(
                    a.to_ascii_lowercase().as_str(),
                    "sts:assumerole" | "sts:*" | "*"
                )
            })
            && has(&st["Principal"]["Service"], &|p| p == service)
    })
}

/// Checks, before any change, that an existing role the user named (`--core-role-name`, not
/// managed by ggp) trusts `service`: ggp does not rewrite a role it did not create, and without
/// that trust the role cannot do its job (on Greengrass V2 the token exchange role is assumed by
/// `credentials.iot.amazonaws.com`). A role ggp manages is left to [`converge`]; a missing role
/// is [`converge`]'s error too.
pub(crate) async fn check_existing_trust(
    ctx: &Ctx<'_>,
    plan: &RolePlan,
    service: &str,
) -> Result<(), ProvisionError> {
    if plan.managed {
        return Ok(());
    }
    let name = &plan.name;
    let role = match ctx.c().iam.get_role().role_name(name).send().await {
        Ok(out) => out.role,
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(e).doing(|| format!("reading the core role {name}")),
    };
    let trust = role
        .as_ref()
        .and_then(|r| r.assume_role_policy_document.as_deref())
        .and_then(parse_policy)
        .unwrap_or(Value::Null);
    if trusts_service(&trust, service) {
        return Ok(());
    }
    Err(ProvisionError::Input(format!(
        "the core role {name} (--core-role-name) is the Greengrass V2 token exchange role, but its trust policy does not let {service} assume it; it lacks the statement {{\"Effect\": \"Allow\", \"Principal\": {{\"Service\": \"{service}\"}}, \"Action\": \"sts:AssumeRole\"}}. Nothing was changed: ggp does not rewrite a role it did not create. Add that statement to the role's trust policy (aws iam update-assume-role-policy --role-name {name} --policy-document file://trust.json), or leave out --core-role-name to let ggp manage the role"
    )))
}

/// One IAM write of a role's convergence, run concurrently with the others.
type Op<'a> = Pin<Box<dyn Future<Output = Result<(), ProvisionError>> + Send + 'a>>;

/// Records the role in the state under `kind` (`core`, `lambda`, `service`).
fn remember(ctx: &Ctx<'_>, kind: &str, name: &str, arn: &str) {
    ctx.update_state(|s| {
        s.roles.insert(
            kind.into(),
            super::state::RoleState {
                name: name.to_string(),
                arn: arn.to_string(),
            },
        );
    });
}

/// Creates or converges one role; returns its ARN.
async fn converge_role(
    ctx: &Ctx<'_>,
    kind: &str,
    plan: &RolePlan,
) -> Result<String, ProvisionError> {
    let iam = &ctx.c().iam;
    let name = &plan.name;
    let found = match iam.get_role().role_name(name).send().await {
        Ok(out) => out.role,
        Err(e) if is_not_found(&e) => None,
        Err(e) => return Err(e).doing(|| format!("reading the {kind} role {name}")),
    };
    if !plan.managed {
        // `--core-role-name`: used as is.
        let role = found.ok_or_else(|| {
            ProvisionError::Input(format!(
                "the {kind} role {name} (--core-role-name) does not exist"
            ))
        })?;
        ctx.record(
            "iam-role",
            name,
            Action::Unchanged,
            vec!["existing role, used as is".into()],
        );
        remember(ctx, kind, name, &role.arn);
        return Ok(role.arn);
    }
    let mut details = Vec::new();
    let (arn, created) = converge_trust(ctx, kind, plan, found, &mut details).await?;
    let mut ops = managed_policy_ops(ctx, kind, plan, created, &mut details).await?;
    ops.extend(inline_policy_ops(ctx, kind, plan, created, &mut details).await?);
    futures_util::future::try_join_all(ops).await?;
    let action = if created {
        Action::Create
    } else if details.is_empty() {
        Action::Unchanged
    } else {
        Action::Update
    };
    ctx.record("iam-role", name, action, details);
    remember(ctx, kind, name, &arn);
    Ok(arn)
}

/// The role with its trust policy: created when absent (then waited for), its trust policy
/// updated when it differs. Returns its ARN and whether it was created.
async fn converge_trust(
    ctx: &Ctx<'_>,
    kind: &str,
    plan: &RolePlan,
    found: Option<aws_sdk_iam::types::Role>,
    details: &mut Vec<String>,
) -> Result<(String, bool), ProvisionError> {
    let iam = &ctx.c().iam;
    let name = &plan.name;
    let trust = plan.assume_role_policy.as_ref().ok_or_else(|| {
        ProvisionError::Input(format!(
            "the {kind} role {name} has no assumeRolePolicy in the deployment configuration"
        ))
    })?;
    let Some(role) = found else {
        details.push("trust policy".to_string());
        if !ctx.apply {
            return Ok((plan.arn.clone(), true));
        }
        let out = iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust.to_string())
            .description(format!("Greengrass {kind} role, managed by ggp"))
            .tags(tag(TAG_MANAGED_BY, "ggp")?)
            .send()
            .await
            .doing(|| format!("creating the {kind} role {name}"))?;
        ctx.note_role_created();
        let arn = out
            .role
            .map(|r| r.arn)
            .ok_or_else(|| super::error::missing("creating a role", "Role"))?;
        wait_for_role(ctx, name).await?;
        return Ok((arn, true));
    };
    let current = role
        .assume_role_policy_document
        .as_deref()
        .and_then(parse_policy);
    if current.as_ref().map(normalize) != Some(normalize(trust)) {
        details.push("trust policy".to_string());
        if ctx.apply {
            iam.update_assume_role_policy()
                .role_name(name)
                .policy_document(trust.to_string())
                .send()
                .await
                .doing(|| format!("updating the trust policy of the {kind} role {name}"))?;
        }
    }
    Ok((role.arn, false))
}

/// Managed policies: attach what the config lists, detach what it no longer lists.
async fn managed_policy_ops<'a>(
    ctx: &'a Ctx<'_>,
    kind: &'a str,
    plan: &'a RolePlan,
    created: bool,
    details: &mut Vec<String>,
) -> Result<Vec<Op<'a>>, ProvisionError> {
    let iam = &ctx.c().iam;
    let name = &plan.name;
    let attached: Vec<String> = if created {
        Vec::new()
    } else {
        attached_policies(ctx, name).await?
    };
    let mut ops: Vec<Op<'a>> = Vec::new();
    for p in plan
        .managed_policies
        .iter()
        .filter(|p| !attached.contains(p))
    {
        details.push(format!("attach {p}"));
        if ctx.apply {
            ops.push(Box::pin(async move {
                iam.attach_role_policy()
                    .role_name(name)
                    .policy_arn(p)
                    .send()
                    .await
                    .map(|_| ())
                    .doing(|| format!("attaching {p} to the {kind} role {name}"))
            }));
        }
    }
    for p in attached
        .into_iter()
        .filter(|p| !plan.managed_policies.contains(p))
    {
        details.push(format!("detach {p}"));
        if ctx.apply {
            ops.push(Box::pin(async move {
                iam.detach_role_policy()
                    .role_name(name)
                    .policy_arn(&p)
                    .send()
                    .await
                    .map(|_| ())
                    .doing(|| format!("detaching {p} from the {kind} role {name}"))
            }));
        }
    }
    Ok(ops)
}

/// The inline policies: `inline-by-ggp` (the configuration's; removed when it has none) and, for
/// Greengrass V2, `greengrass-v2-by-ggp` (written when the plan has one, never removed by a V1 run
/// that shares the role).
async fn inline_policy_ops<'a>(
    ctx: &'a Ctx<'_>,
    kind: &'a str,
    plan: &'a RolePlan,
    created: bool,
    details: &mut Vec<String>,
) -> Result<Vec<Op<'a>>, ProvisionError> {
    let iam = &ctx.c().iam;
    let name = &plan.name;
    let mut ops: Vec<Op<'a>> = Vec::new();
    for (policy, want, remove) in [
        (INLINE_POLICY, &plan.inline_policy, true),
        (V2_INLINE_POLICY, &plan.v2_inline_policy, false),
    ] {
        if want.is_none() && !remove {
            continue;
        }
        let current = if created {
            None
        } else {
            match iam
                .get_role_policy()
                .role_name(name)
                .policy_name(policy)
                .send()
                .await
            {
                Ok(out) => parse_policy(&out.policy_document),
                Err(e) if is_not_found(&e) => None,
                Err(e) => {
                    return Err(e).doing(|| {
                        format!("reading the inline policy {policy} of the {kind} role {name}")
                    })
                }
            }
        };
        match (want, &current) {
            (Some(want), have) if have.as_ref().map(normalize) != Some(normalize(want)) => {
                details.push(format!("inline policy {policy}"));
                if ctx.apply {
                    let doc = want.to_string();
                    ops.push(Box::pin(async move {
                        iam.put_role_policy()
                            .role_name(name)
                            .policy_name(policy)
                            .policy_document(doc)
                            .send()
                            .await
                            .map(|_| ())
                            .doing(|| {
                                format!(
                                    "writing the inline policy {policy} of the {kind} role {name}"
                                )
                            })
                    }));
                }
            }
            (None, Some(_)) => {
                details.push(format!("remove inline policy {policy}"));
                if ctx.apply {
                    ops.push(Box::pin(async move {
                        iam.delete_role_policy()
                            .role_name(name)
                            .policy_name(policy)
                            .send()
                            .await
                            .map(|_| ())
                            .doing(|| {
                                format!(
                                    "removing the inline policy {policy} of the {kind} role {name}"
                                )
                            })
                    }));
                }
            }
            _ => {}
        }
    }
    Ok(ops)
}

/// The managed policies attached to a role.
pub(crate) async fn attached_policies(
    ctx: &Ctx<'_>,
    role: &str,
) -> Result<Vec<String>, ProvisionError> {
    let mut v = Vec::new();
    let mut pages = ctx
        .c()
        .iam
        .list_attached_role_policies()
        .role_name(role)
        .into_paginator()
        .items()
        .send();
    while let Some(p) = pages.next().await {
        v.extend(
            p.doing(|| format!("listing the policies attached to the role {role}"))?
                .policy_arn,
        );
    }
    Ok(v)
}

fn tag(k: &str, v: &str) -> Result<Tag, ProvisionError> {
    Tag::builder()
        .key(k)
        .value(v)
        .build()
        .map_err(|e| ProvisionError::Input(format!("internal: IAM tag {k}: {e}")))
}

/// Polls GetRole until a new role is visible (IAM is eventually consistent).
async fn wait_for_role(ctx: &Ctx<'_>, name: &str) -> Result<(), ProvisionError> {
    let mut backoff = Backoff::new(
        Duration::from_millis(100),
        Duration::from_secs(2),
        ctx.propagation_timeout,
    );
    loop {
        match ctx.c().iam.get_role().role_name(name).send().await {
            Ok(_) => return Ok(()),
            Err(e) if is_not_found(&e) => {
                if !backoff.next().await {
                    return Err(ProvisionError::Propagation(format!(
                        "the new role {name} is still not visible to IAM after {}s",
                        ctx.propagation_timeout.as_secs()
                    )));
                }
            }
            Err(e) => return Err(e).doing(|| format!("reading the new role {name}")),
        }
    }
}

/// Runs `op`, retrying with backoff while its error says an IAM role created in this run is not
/// usable yet (IAM propagation); gives up at the propagation deadline.
pub(crate) async fn with_propagation<T, F, Fut>(
    ctx: &Ctx<'_>,
    what: &str,
    mut op: F,
) -> Result<T, ProvisionError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProvisionError>>,
{
    let mut backoff = Backoff::new(
        Duration::from_millis(500),
        Duration::from_secs(8),
        ctx.propagation_timeout,
    );
    // Shown from the first refusal that looks like propagation.
    let mut waiting: Option<super::progress::Waiting> = None;
    loop {
        match op().await {
            Err(ProvisionError::Call { doing, message })
                if ctx.roles_created() && looks_like_propagation(&message) =>
            {
                tracing::info!("{what}: waiting for IAM ({message})");
                waiting
                    .get_or_insert_with(|| ctx.progress.wait(format!("IAM to propagate ({what})")))
                    .still("not usable yet");
                if !backoff.next().await {
                    return Err(ProvisionError::Propagation(format!(
                        "{doing}: {message} (still, after waiting {}s for IAM)",
                        ctx.propagation_timeout.as_secs()
                    )));
                }
            }
            other => {
                if let Some(w) = waiting.take() {
                    w.done(if other.is_ok() { "usable" } else { "failed" });
                }
                return other;
            }
        }
    }
}

fn looks_like_propagation(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("cannot be assumed")
        || m.contains("not authorized to perform: sts:assumerole")
        || m.contains("is not authorized to assume")
        || (m.contains("role") && m.contains("does not exist"))
}

/// The account's Greengrass service role: associated only when it is not already this role.
async fn converge_service_role_association(
    ctx: &Ctx<'_>,
    role_arn: &str,
) -> Result<(), ProvisionError> {
    let gg = &ctx.c().greengrass;
    let current = gg
        .get_service_role_for_account()
        .send()
        .await
        .doing(|| "reading the account's Greengrass service role".to_string())?
        .role_arn;
    if current.as_deref() == Some(role_arn) {
        ctx.record(
            "greengrass-service-role",
            role_arn,
            Action::Unchanged,
            vec![],
        );
        return Ok(());
    }
    let mut details = Vec::new();
    if let Some(other) = &current {
        ctx.warn(format!(
            "the account's Greengrass service role is {other}; {} it with {role_arn} (this is account- and region-wide; pass --service-role-exists to leave it)",
            if ctx.apply { "replacing" } else { "deploy would replace" }
        ));
        details.push(format!("replaces {other}"));
    }
    if ctx.apply {
        with_propagation(ctx, "associating the service role", || async {
            gg.associate_service_role_to_account()
                .role_arn(role_arn)
                .send()
                .await
                .map(|_| ())
                .doing(|| {
                    format!("associating {role_arn} as the account's Greengrass service role")
                })
        })
        .await?;
    }
    ctx.record(
        "greengrass-service-role",
        role_arn,
        if current.is_some() {
            Action::Update
        } else {
            Action::Create
        },
        details,
    );
    Ok(())
}

/// A policy document as IAM returns it: URL-encoded JSON (RFC 3986), or plain JSON from some
/// emulators.
pub fn parse_policy(text: &str) -> Option<Value> {
    serde_json::from_str(text)
        .ok()
        .or_else(|| serde_json::from_str(&percent_decode(text)).ok())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Policy documents compare equal when they differ only in forms IAM treats the same: a single
/// statement or a list of one, `"Action": "x"` or `["x"]` (also for Resource and Principal values).
pub fn normalize(v: &Value) -> Value {
    fn listify(v: &Value) -> Value {
        match v {
            Value::String(_) => Value::Array(vec![v.clone()]),
            other => other.clone(),
        }
    }
    let mut v = v.clone();
    if let Some(obj) = v.as_object_mut() {
        if let Some(st) = obj.get("Statement").cloned() {
            let list = match st {
                Value::Array(a) => a,
                other => vec![other],
            };
            let list = list
                .into_iter()
                .map(|mut s| {
                    if let Some(m) = s.as_object_mut() {
                        for k in ["Action", "NotAction", "Resource", "NotResource"] {
                            if let Some(x) = m.get(k).map(listify) {
                                m.insert(k.into(), x);
                            }
                        }
                        for k in ["Principal", "NotPrincipal"] {
                            if let Some(Value::Object(p)) = m.get_mut(k) {
                                for (_, x) in p.iter_mut() {
                                    *x = listify(x);
                                }
                            }
                        }
                    }
                    s
                })
                .collect();
            obj.insert("Statement".into(), Value::Array(list));
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn url_encoded_policies_parse() {
        let enc = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(
            parse_policy(enc),
            Some(json!({"Version": "2012-10-17", "Statement": []}))
        );
        assert_eq!(parse_policy("{\"a\":1}"), Some(json!({"a": 1})));
        assert_eq!(parse_policy("%7"), None);
    }

    #[test]
    fn equivalent_forms_compare_equal() {
        let a = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}});
        let b = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole"], "Principal": {"Service": ["lambda.amazonaws.com"]}}]});
        assert_eq!(normalize(&a), normalize(&b));
        let c = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": ["sts:AssumeRole"], "Principal": {"Service": ["lambda.amazonaws.com"]}}]});
        assert_ne!(normalize(&a), normalize(&c));
    }

    #[test]
    fn trust_of_a_service_is_found_in_the_forms_iam_allows() {
        let svc = "credentials.iot.amazonaws.com";
        let yes = [
            r#"{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "credentials.iot.amazonaws.com"}}]}"#,
            r#"{"Statement": {"Effect": "Allow", "Action": ["sts:TagSession", "sts:AssumeRole"], "Principal": {"Service": ["lambda.amazonaws.com", "credentials.iot.amazonaws.com"]}}}"#,
        ];
        let no = [
            r#"{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}]}"#,
            r#"{"Statement": [{"Effect": "Deny", "Action": "sts:AssumeRole", "Principal": {"Service": "credentials.iot.amazonaws.com"}}]}"#,
            r#"{"Statement": [{"Effect": "Allow", "Action": "sts:TagSession", "Principal": {"Service": "credentials.iot.amazonaws.com"}}]}"#,
            "{}",
        ];
        for d in yes {
            assert!(
                trusts_service(&serde_json::from_str(d).unwrap(), svc),
                "{d}"
            );
        }
        for d in no {
            assert!(
                !trusts_service(&serde_json::from_str(d).unwrap(), svc),
                "{d}"
            );
        }
    }

    #[test]
    fn propagation_errors_are_recognised() {
        assert!(looks_like_propagation(
            "InvalidParameterValueException: The role defined for the function cannot be assumed by Lambda."
        ));
        assert!(!looks_like_propagation("AccessDenied: nope"));
    }
}
