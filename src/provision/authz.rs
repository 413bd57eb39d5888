//! The account's own authorization checks, asked before a deployment: AWS IoT `TestAuthorization`
//! (may this certificate, connected as this client id, do these MQTT actions?) and IAM
//! `SimulatePrincipalPolicy` (may this role do these actions on these resources?).
//!
//! Both are the services' own policy evaluators, so the answer on AWS is AWS's, and on the bench it
//! is the emulator's evaluation of the same policies (`bench/emulator/ggp_emulator/authz.py`). What a
//! target needs is decided by the target (`target::v2::preflight`); this module asks and reports.
//! `TestAuthorization` knows only CONNECT, PUBLISH, SUBSCRIBE and RECEIVE (iot model `ActionType`):
//! `iot:AssumeRoleWithCertificate` on the role alias cannot be asked this way.

use aws_sdk_iam::types::PolicyEvaluationDecisionType;
use aws_sdk_iot::types::{ActionType, AuthDecision, AuthInfo};
use serde::Serialize;

use super::error::{Doing, ProvisionError};
use super::Ctx;

/// One action on one resource, as one of the two APIs answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthCheck {
    /// `iot:TestAuthorization` or `iam:SimulatePrincipalPolicy`.
    pub api: &'static str,
    /// Who was asked about: the certificate ARN or the role ARN.
    pub principal: String,
    /// `iot:Subscribe`, `s3:GetObject`, …
    pub action: String,
    pub resource: String,
    /// Why the core needs it.
    pub reason: String,
    /// `allowed`, `implicitDeny` or `explicitDeny` (IoT's ALLOWED / IMPLICIT_DENY / EXPLICIT_DENY,
    /// written as IAM writes them).
    pub decision: String,
    /// The policies that allow it, or that deny it explicitly; for an implicit deny, the policies
    /// that were evaluated (one of them must allow it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
}

impl AuthCheck {
    pub fn allowed(&self) -> bool {
        self.decision == "allowed"
    }
}

/// Every check of one preflight; `deferred` says why nothing was asked (a plan whose policy or
/// certificate does not exist yet).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preflight {
    pub checks: Vec<AuthCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deferred: Option<String>,
}

impl Preflight {
    pub fn denials(&self) -> impl Iterator<Item = &AuthCheck> {
        self.checks.iter().filter(|c| !c.allowed())
    }

    /// The error that stops a deploy when anything is denied.
    pub fn result(&self) -> Result<(), ProvisionError> {
        let denied: Vec<AuthCheck> = self.denials().cloned().collect();
        if denied.is_empty() {
            Ok(())
        } else {
            Err(ProvisionError::Denied(denied))
        }
    }
}

/// An MQTT action the core needs: `action_type` on `resource`, for `reason`.
pub struct IotNeed {
    pub action_type: &'static str,
    pub resource: String,
    pub reason: String,
}

/// Actions a role needs.
pub struct RoleNeed {
    pub action: String,
    pub resource: String,
    pub reason: String,
}

/// The iot model's limit on `authInfos` per TestAuthorization call.
const AUTH_INFOS_PER_CALL: usize = 10;

/// Asks `TestAuthorization` about each need of `certificate_arn` connected as `client_id`.
pub(crate) async fn test_authorization(
    ctx: &Ctx<'_>,
    certificate_arn: &str,
    client_id: &str,
    needs: &[IotNeed],
) -> Result<Vec<AuthCheck>, ProvisionError> {
    let mut out = Vec::new();
    for chunk in needs.chunks(AUTH_INFOS_PER_CALL) {
        let mut req = ctx
            .c()
            .iot
            .test_authorization()
            .principal(certificate_arn)
            .client_id(client_id);
        for n in chunk {
            let info = AuthInfo::builder()
                .action_type(ActionType::from(n.action_type))
                .resources(&n.resource)
                .build()
                .map_err(|e| ProvisionError::Input(format!("internal: authInfo: {e}")))?;
            req = req.auth_infos(info);
        }
        let answer = req
            .send()
            .await
            .doing(|| format!("asking AWS IoT TestAuthorization about {certificate_arn}"))?;
        let results = answer.auth_results();
        if results.len() != chunk.len() {
            return Err(ProvisionError::Call {
                doing: format!("asking AWS IoT TestAuthorization about {certificate_arn}"),
                message: format!("{} results for {} questions", results.len(), chunk.len()),
            });
        }
        for (n, r) in chunk.iter().zip(results) {
            let names = |ps: &[aws_sdk_iot::types::Policy]| -> Vec<String> {
                ps.iter()
                    .filter_map(|p| p.policy_name().map(str::to_string))
                    .collect()
            };
            let (decision, policies) = match r.auth_decision() {
                Some(AuthDecision::Allowed) => (
                    "allowed",
                    r.allowed().map(|a| names(a.policies())).unwrap_or_default(),
                ),
                Some(AuthDecision::ExplicitDeny) => (
                    "explicitDeny",
                    r.denied()
                        .and_then(|d| d.explicit_deny())
                        .map(|d| names(d.policies()))
                        .unwrap_or_default(),
                ),
                _ => (
                    "implicitDeny",
                    r.denied()
                        .and_then(|d| d.implicit_deny())
                        .map(|d| names(d.policies()))
                        .unwrap_or_default(),
                ),
            };
            out.push(AuthCheck {
                api: "iot:TestAuthorization",
                principal: certificate_arn.to_string(),
                action: format!("iot:{}", capitalized(n.action_type)),
                resource: n.resource.clone(),
                reason: n.reason.clone(),
                decision: decision.to_string(),
                policies,
            });
        }
    }
    Ok(out)
}

/// `SUBSCRIBE` → `Subscribe`.
fn capitalized(action_type: &str) -> String {
    let lower = action_type.to_ascii_lowercase();
    let mut c = lower.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// Asks `SimulatePrincipalPolicy` about each need of `role_arn` (one call per action, with its
/// resources; the results are paginated).
pub(crate) async fn simulate_role(
    ctx: &Ctx<'_>,
    role_arn: &str,
    needs: &[RoleNeed],
) -> Result<Vec<AuthCheck>, ProvisionError> {
    let mut out = Vec::new();
    for n in needs {
        let mut marker: Option<String> = None;
        loop {
            let answer = ctx
                .c()
                .iam
                .simulate_principal_policy()
                .policy_source_arn(role_arn)
                .action_names(&n.action)
                .resource_arns(&n.resource)
                .set_marker(marker.clone())
                .send()
                .await
                .doing(|| format!("asking IAM SimulatePrincipalPolicy about {role_arn}"))?;
            for r in answer.evaluation_results() {
                let decision = match r.eval_decision() {
                    PolicyEvaluationDecisionType::Allowed => "allowed",
                    PolicyEvaluationDecisionType::ExplicitDeny => "explicitDeny",
                    _ => "implicitDeny",
                };
                out.push(AuthCheck {
                    api: "iam:SimulatePrincipalPolicy",
                    principal: role_arn.to_string(),
                    action: r.eval_action_name().to_string(),
                    resource: r.eval_resource_name().unwrap_or(&n.resource).to_string(),
                    reason: n.reason.clone(),
                    decision: decision.to_string(),
                    policies: r
                        .matched_statements()
                        .iter()
                        .filter_map(|s| s.source_policy_id().map(str::to_string))
                        .collect(),
                });
            }
            match answer.marker().filter(|_| answer.is_truncated()) {
                Some(m) => marker = Some(m.to_string()),
                None => break,
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(decision: &str) -> AuthCheck {
        AuthCheck {
            api: "iot:TestAuthorization",
            principal: "arn:cert".into(),
            action: "iot:Subscribe".into(),
            resource: "arn:topicfilter/a".into(),
            reason: "event source".into(),
            decision: decision.into(),
            policies: vec![],
        }
    }

    #[test]
    fn a_denial_fails_the_preflight_and_allowed_checks_pass() {
        let ok = Preflight {
            checks: vec![check("allowed")],
            deferred: None,
        };
        assert!(ok.result().is_ok());
        let bad = Preflight {
            checks: vec![check("allowed"), check("implicitDeny")],
            deferred: None,
        };
        let e = bad.result().unwrap_err();
        assert_eq!(e.exit_code(), crate::error::exit::PREFLIGHT_DENIED);
        assert!(e.to_string().contains("iot:Subscribe on arn:topicfilter/a"));
    }

    #[test]
    fn action_types_are_written_as_iot_actions() {
        assert_eq!(capitalized("SUBSCRIBE"), "Subscribe");
        assert_eq!(capitalized("CONNECT"), "Connect");
    }
}
