//! IoT, for both targets: the core thing `<group>_Core`, its certificate, the core's IoT policy
//! (each target writes its own document), their attachments, the role alias, and the things of
//! `connectedShadows`.
//!
//! The certificate comes from, in order: `--certificate-arn`, `--csr FILE` (the key never leaves
//! the device), the keys stored for this group, a certificate already on the thing (a lost state
//! file: no key then), new keys. `--force-create-new-keys` makes new keys; a certificate that is
//! replaced is detached from the thing and the policy and, when ggp made it, deactivated.
//!
//! Ownership marks: things ggp creates carry the attributes `ggpGroup` (and `ggpCertificate`
//! with the id of the certificate ggp made for it); policies and role aliases the tags
//! `ggp:managed-by` and `ggp:group`. `destroy` deletes only what carries them.

use std::collections::HashMap;

use aws_sdk_iot::types::{AttributePayload, CertificateStatus, Tag};
use sha2::{Digest, Sha256};

use super::error::{is_not_found, missing, Doing, ProvisionError};
use super::iam::{normalize, with_propagation};
use super::state::{CertOrigin, CertState};
use super::{hex, Action, Ctx, DeployOptions, TAG_GROUP, TAG_MANAGED_BY};
use crate::model::{CertificateSource, CoreIot as IotPlan};

pub const ATTR_GROUP: &str = "ggpGroup";
pub const ATTR_CERT: &str = "ggpCertificate";
/// IoT keeps at most 5 versions of a policy.
const POLICY_VERSION_LIMIT: usize = 5;

pub struct Core {
    pub certificate_arn: String,
}

/// A thing as DescribeThing shows it.
pub struct Thing {
    pub attributes: HashMap<String, String>,
}

pub fn cert_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

pub(crate) async fn describe_thing(
    ctx: &Ctx<'_>,
    name: &str,
) -> Result<Option<Thing>, ProvisionError> {
    match ctx.c().iot.describe_thing().thing_name(name).send().await {
        Ok(t) => Ok(Some(Thing {
            attributes: t.attributes.unwrap_or_default(),
        })),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e).doing(|| format!("reading the thing {name}")),
    }
}

pub(crate) async fn thing_principals(
    ctx: &Ctx<'_>,
    name: &str,
) -> Result<Vec<String>, ProvisionError> {
    let mut out = Vec::new();
    let mut pages = ctx
        .c()
        .iot
        .list_thing_principals()
        .thing_name(name)
        .into_paginator()
        .items()
        .send();
    while let Some(p) = pages.next().await {
        out.push(p.doing(|| format!("listing the certificates of the thing {name}"))?);
    }
    Ok(out)
}

pub(crate) async fn attached_policies(
    ctx: &Ctx<'_>,
    target: &str,
) -> Result<Vec<String>, ProvisionError> {
    let mut out = Vec::new();
    let mut pages = ctx
        .c()
        .iot
        .list_attached_policies()
        .target(target)
        .into_paginator()
        .items()
        .send();
    while let Some(p) = pages.next().await {
        let p = p.doing(|| format!("listing the policies attached to {target}"))?;
        out.extend(p.policy_name);
    }
    Ok(out)
}

/// (status, pem) of a certificate, `None` when it does not exist.
async fn describe_cert(
    ctx: &Ctx<'_>,
    id: &str,
) -> Result<Option<(CertificateStatus, Option<String>)>, ProvisionError> {
    match ctx
        .c()
        .iot
        .describe_certificate()
        .certificate_id(id)
        .send()
        .await
    {
        Ok(out) => {
            let d = out
                .certificate_description
                .ok_or_else(|| missing("reading a certificate", "certificateDescription"))?;
            Ok(Some((
                d.status.unwrap_or(CertificateStatus::Inactive),
                d.certificate_pem,
            )))
        }
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e).doing(|| format!("reading the certificate {id}")),
    }
}

pub fn tag(k: &str, v: &str) -> Result<Tag, ProvisionError> {
    Tag::builder()
        .key(k)
        .value(v)
        .build()
        .map_err(|e| ProvisionError::Input(format!("internal: IoT tag {k}: {e}")))
}

/// The chosen certificate and whether this run made it.
struct Chosen {
    cert: CertState,
    created: bool,
}

pub(crate) async fn converge_core(
    ctx: &Ctx<'_>,
    plan: &IotPlan,
    opts: &DeployOptions,
) -> Result<Core, ProvisionError> {
    let name = &plan.thing_name;
    let thing = describe_thing(ctx, name).await?;
    let principals = match &thing {
        Some(_) => thing_principals(ctx, name).await?,
        None => Vec::new(),
    };
    let chosen = choose_certificate(ctx, plan, opts, thing.as_ref(), &principals).await?;
    ctx.checkpoint("after-certificate")?;

    // The thing, carrying the ownership marks.
    let owned_cert = matches!(chosen.cert.origin, CertOrigin::Created | CertOrigin::Csr)
        .then(|| chosen.cert.id.clone());
    converge_thing(ctx, name, thing.as_ref(), owned_cert.as_deref(), true).await?;
    for s in plan.shadow_things.iter().filter(|s| *s != name) {
        let t = describe_thing(ctx, s).await?;
        converge_thing(ctx, s, t.as_ref(), None, false).await?;
    }
    ctx.update_state(|s| s.thing_arn = Some(plan.thing_arn.clone()));
    ctx.checkpoint("after-thing")?;

    converge_policy(ctx, plan).await?;
    ctx.checkpoint("after-policy")?;

    converge_attachments(ctx, plan, &chosen, &principals, thing.as_ref()).await?;
    ctx.checkpoint("after-attachments")?;
    Ok(Core {
        certificate_arn: chosen.cert.arn,
    })
}

async fn choose_certificate(
    ctx: &Ctx<'_>,
    plan: &IotPlan,
    opts: &DeployOptions,
    thing: Option<&Thing>,
    principals: &[String],
) -> Result<Chosen, ProvisionError> {
    match &plan.certificate {
        CertificateSource::ExistingArn { arn } => given_certificate(ctx, arn).await,
        CertificateSource::Csr { file } => csr_certificate(ctx, file, opts).await,
        CertificateSource::StoredOrNew => {
            stored_or_new_certificate(ctx, plan, thing, principals, opts).await
        }
        CertificateSource::ForceNew => create_keys(ctx, "--force-create-new-keys").await,
    }
}

/// An existing certificate, unchanged.
fn reuse(ctx: &Ctx<'_>, cert: CertState, detail: &str) -> Result<Chosen, ProvisionError> {
    ctx.record(
        "iot-certificate",
        &cert.id,
        Action::Unchanged,
        vec![detail.to_string()],
    );
    Ok(Chosen {
        cert,
        created: false,
    })
}

/// `--certificate-arn`: it must exist and be ACTIVE.
async fn given_certificate(ctx: &Ctx<'_>, arn: &str) -> Result<Chosen, ProvisionError> {
    let id = cert_id(arn);
    match describe_cert(ctx, id).await? {
        None => Err(ProvisionError::Input(format!(
            "the certificate {arn} (--certificate-arn) does not exist"
        ))),
        Some((status, _)) if status != CertificateStatus::Active => {
            Err(ProvisionError::Input(format!(
                "the certificate {arn} (--certificate-arn) is {}, not ACTIVE",
                status.as_str()
            )))
        }
        Some((_, pem)) => {
            if let (Some(pem), true) = (pem, ctx.apply) {
                ctx.store.save_cert(&pem)?;
            }
            let cert = CertState {
                id: id.to_string(),
                arn: arn.to_string(),
                origin: CertOrigin::Given,
                csr_sha256: None,
            };
            set_cert(ctx, &cert)?;
            reuse(ctx, cert, "given with --certificate-arn")
        }
    }
}

/// `--csr FILE`: the certificate made earlier from the same CSR, else a new one from it.
async fn csr_certificate(
    ctx: &Ctx<'_>,
    file: &str,
    opts: &DeployOptions,
) -> Result<Chosen, ProvisionError> {
    let csr = opts
        .csr_pem
        .as_deref()
        .ok_or_else(|| ProvisionError::Input(format!("the CSR {file} was not read")))?;
    let hash = hex(&Sha256::digest(csr.trim().as_bytes()));
    let stored = ctx.state(|s| s.certificate.clone());
    if let Some(c) = stored.filter(|c| c.csr_sha256.as_deref() == Some(hash.as_str())) {
        if let Some((CertificateStatus::Active, _)) = describe_cert(ctx, &c.id).await? {
            return reuse(ctx, c, "made earlier from the same CSR");
        }
    }
    if !ctx.apply {
        ctx.record(
            "iot-certificate",
            "(from CSR)",
            Action::Create,
            vec![format!("from {file}")],
        );
        return Ok(planned_cert());
    }
    let out = ctx
        .c()
        .iot
        .create_certificate_from_csr()
        .certificate_signing_request(csr)
        .set_as_active(true)
        .send()
        .await
        .doing(|| format!("creating the core certificate from the CSR {file}"))?;
    let cert = CertState {
        id: out
            .certificate_id
            .ok_or_else(|| missing("creating a certificate", "certificateId"))?,
        arn: out
            .certificate_arn
            .ok_or_else(|| missing("creating a certificate", "certificateArn"))?,
        origin: CertOrigin::Csr,
        csr_sha256: Some(hash),
    };
    if let Some(pem) = &out.certificate_pem {
        ctx.store.save_cert(pem)?;
    }
    set_cert(ctx, &cert)?;
    ctx.record(
        "iot-certificate",
        &cert.id,
        Action::Create,
        vec![format!("from CSR {file}")],
    );
    Ok(Chosen {
        cert,
        created: true,
    })
}

/// The certificate stored for the group if it is still ACTIVE, else one already on the thing (the
/// state file was lost), else new keys.
async fn stored_or_new_certificate(
    ctx: &Ctx<'_>,
    plan: &IotPlan,
    thing: Option<&Thing>,
    principals: &[String],
    opts: &DeployOptions,
) -> Result<Chosen, ProvisionError> {
    if let Some(c) = ctx.state(|s| s.certificate.clone()) {
        match describe_cert(ctx, &c.id).await? {
            Some((CertificateStatus::Active, _)) => {
                if c.origin == CertOrigin::Created && !ctx.store.has_key() {
                    ctx.warn(format!(
                        "the private key of the core certificate {} is not in {}; outputs will lack it (--force-create-new-keys makes new ones)",
                        c.id,
                        ctx.store.dir().display()
                    ));
                }
                return reuse(ctx, c, "stored for this group");
            }
            other => ctx.warn(format!(
                "the stored core certificate {} is {}; looking for another",
                c.id,
                match other {
                    Some((s, _)) => s.as_str().to_string(),
                    None => "gone".into(),
                }
            )),
        }
    }
    if let Some(g) = &opts.ggp_credentials {
        return adopt(ctx, plan, g, principals).await;
    }
    let attr_cert = thing.and_then(|t| t.attributes.get(ATTR_CERT).cloned());
    let mut candidates: Vec<&String> = principals.iter().filter(|p| p.contains(":cert/")).collect();
    candidates.sort_by_key(|p| Some(cert_id(p)) != attr_cert.as_deref());
    for p in candidates {
        let id = cert_id(p);
        let Some((CertificateStatus::Active, pem)) = describe_cert(ctx, id).await? else {
            continue;
        };
        let made_by_ggp = attr_cert.as_deref() == Some(id);
        let cert = CertState {
            id: id.to_string(),
            arn: p.clone(),
            origin: if made_by_ggp {
                CertOrigin::Created
            } else {
                CertOrigin::Found
            },
            csr_sha256: None,
        };
        if !ctx.store.has_key() {
            ctx.warn(format!(
                "reusing the certificate {id} found on the thing {}; its private key is not in {} (--force-create-new-keys makes new ones)",
                plan.thing_name,
                ctx.store.dir().display()
            ));
        }
        if let (Some(pem), true) = (pem, ctx.apply) {
            ctx.store.save_cert(&pem)?;
        }
        set_cert(ctx, &cert)?;
        return reuse(ctx, cert, "found on the thing");
    }
    create_keys(ctx, "new group").await
}

/// GGP's certificate and key (`credentials/<group>/`), adopted when the certificate is the one on
/// the thing, or, with none on the thing, an ACTIVE one of the account: no new certificate, and
/// the key kept 0600 in the state folder. Another certificate on the thing is an error naming both
/// ids. (That the key matches the certificate is checked by the device's nucleus, not here.)
async fn adopt(
    ctx: &Ctx<'_>,
    plan: &IotPlan,
    g: &crate::provision::state::GgpCredentials,
    principals: &[String],
) -> Result<Chosen, ProvisionError> {
    let id = g.certificate_id()?;
    let dir = g.dir.display();
    let on_thing: Vec<&str> = principals
        .iter()
        .filter(|p| p.contains(":cert/"))
        .map(|p| cert_id(p))
        .collect();
    if !on_thing.is_empty() && !on_thing.contains(&id.as_str()) {
        return Err(ProvisionError::Input(format!(
            "{dir}/core.pem is the certificate {id}, but the thing {} carries {}: these are GGP's credentials of another core; nothing was changed. Move {dir} away to let ggp choose, or attach {id} to the thing",
            plan.thing_name,
            on_thing.join(", ")
        )));
    }
    match describe_cert(ctx, &id).await? {
        Some((CertificateStatus::Active, _)) => {}
        other => {
            return Err(ProvisionError::Input(format!(
                "{dir}/core.pem is the certificate {id}, which is {} in the account; nothing was changed",
                match other {
                    Some((s, _)) => s.as_str().to_string(),
                    None => "not registered".into(),
                }
            )))
        }
    }
    let arn = principals
        .iter()
        .find(|p| cert_id(p) == id)
        .cloned()
        .unwrap_or_else(|| {
            format!(
                "{}:cert/{id}",
                crate::model::arn::prefix("iot", &ctx.cloud.region, &ctx.cloud.account)
            )
        });
    if ctx.apply {
        ctx.store.save_key(&g.key_pem)?;
        ctx.store.save_cert(&g.cert_pem)?;
    }
    let cert = CertState {
        id,
        arn,
        origin: CertOrigin::Adopted,
        csr_sha256: None,
    };
    set_cert(ctx, &cert)?;
    reuse(ctx, cert, &format!("adopted from GGP's {dir}"))
}

fn planned_cert() -> Chosen {
    Chosen {
        cert: CertState {
            id: crate::config::placeholder("CERTIFICATE_ID"),
            arn: crate::config::placeholder("CERTIFICATE_ARN"),
            origin: CertOrigin::Created,
            csr_sha256: None,
        },
        created: true,
    }
}

/// Records `cert` as the group's certificate; an owned one it replaces is remembered as retired.
fn set_cert(ctx: &Ctx<'_>, cert: &CertState) -> Result<(), ProvisionError> {
    ctx.update_state(|s| {
        if let Some(old) = s.certificate.take() {
            if old.id != cert.id
                && matches!(old.origin, CertOrigin::Created | CertOrigin::Csr)
                && !s.retired_certificates.contains(&old.id)
            {
                s.retired_certificates.push(old.id);
            }
        }
        s.certificate = Some(cert.clone());
    });
    ctx.save_state()
}

async fn create_keys(ctx: &Ctx<'_>, why: &str) -> Result<Chosen, ProvisionError> {
    if !ctx.apply {
        ctx.record(
            "iot-certificate",
            "(new keys)",
            Action::Create,
            vec![why.to_string()],
        );
        return Ok(planned_cert());
    }
    let out = ctx
        .c()
        .iot
        .create_keys_and_certificate()
        .set_as_active(true)
        .send()
        .await
        .doing(|| "creating keys and a certificate for the core".to_string())?;
    let key = out
        .key_pair
        .as_ref()
        .and_then(|k| k.private_key.clone())
        .ok_or_else(|| missing("creating keys and a certificate", "keyPair.PrivateKey"))?;
    // The key exists only in this answer: write it before anything else can fail.
    ctx.store.save_key(&key)?;
    if let Some(pem) = &out.certificate_pem {
        ctx.store.save_cert(pem)?;
    }
    let cert = CertState {
        id: out
            .certificate_id
            .ok_or_else(|| missing("creating keys and a certificate", "certificateId"))?,
        arn: out
            .certificate_arn
            .ok_or_else(|| missing("creating keys and a certificate", "certificateArn"))?,
        origin: CertOrigin::Created,
        csr_sha256: None,
    };
    set_cert(ctx, &cert)?;
    ctx.record(
        "iot-certificate",
        &cert.id,
        Action::Create,
        vec![format!(
            "new keys ({why}); private key {}",
            ctx.store.key_path().display()
        )],
    );
    Ok(Chosen {
        cert,
        created: true,
    })
}

/// Creates the thing with ggp's attributes, or brings the attributes of a thing ggp owns up to
/// date. A thing ggp did not create keeps its attributes.
async fn converge_thing(
    ctx: &Ctx<'_>,
    name: &str,
    thing: Option<&Thing>,
    owned_cert: Option<&str>,
    core: bool,
) -> Result<(), ProvisionError> {
    let iot = &ctx.c().iot;
    let mut want: HashMap<String, String> = HashMap::new();
    want.insert(ATTR_GROUP.into(), ctx.group.clone());
    if let Some(c) = owned_cert.filter(|c| !crate::config::has_placeholder(c)) {
        want.insert(ATTR_CERT.into(), c.to_string());
    }
    match thing {
        None => {
            if ctx.apply {
                let mut payload = AttributePayload::builder();
                for (k, v) in &want {
                    payload = payload.attributes(k, v);
                }
                iot.create_thing()
                    .thing_name(name)
                    .attribute_payload(payload.build())
                    .send()
                    .await
                    .doing(|| format!("creating the thing {name}"))?;
            }
            ctx.record(
                "iot-thing",
                name,
                Action::Create,
                if core {
                    vec![]
                } else {
                    vec!["connected shadow".into()]
                },
            );
        }
        Some(t) if t.attributes.get(ATTR_GROUP) == Some(&ctx.group) && core => {
            let current_cert = t.attributes.get(ATTR_CERT).map(String::as_str);
            let wanted_cert = want.get(ATTR_CERT).map(String::as_str);
            // An unknown (planned) certificate leaves the mark as it is in a dry run.
            if current_cert != wanted_cert && !(owned_cert.is_some() && wanted_cert.is_none()) {
                if ctx.apply {
                    // merge: the empty value removes an attribute.
                    let payload = AttributePayload::builder()
                        .attributes(ATTR_CERT, wanted_cert.unwrap_or(""))
                        .merge(true)
                        .build();
                    iot.update_thing()
                        .thing_name(name)
                        .attribute_payload(payload)
                        .send()
                        .await
                        .doing(|| format!("updating the attributes of the thing {name}"))?;
                }
                ctx.record(
                    "iot-thing",
                    name,
                    Action::Update,
                    vec![format!("{ATTR_CERT} = {}", wanted_cert.unwrap_or("(none)"))],
                );
            } else {
                ctx.record("iot-thing", name, Action::Unchanged, vec![]);
            }
        }
        Some(_) => ctx.record(
            "iot-thing",
            name,
            Action::Unchanged,
            if core {
                vec!["not created by ggp: left as it is".into()]
            } else {
                vec!["connected shadow".into()]
            },
        ),
    }
    Ok(())
}

async fn converge_policy(ctx: &Ctx<'_>, plan: &IotPlan) -> Result<(), ProvisionError> {
    let iot = &ctx.c().iot;
    let name = &plan.policy_name;
    let current = match iot.get_policy().policy_name(name).send().await {
        Ok(p) => Some(p),
        Err(e) if is_not_found(&e) => None,
        Err(e) => return Err(e).doing(|| format!("reading the IoT policy {name}")),
    };
    ctx.update_state(|s| s.policy_name = Some(name.clone()));
    let Some(doc) = plan
        .policy_document
        .as_ref()
        .filter(|_| plan.policy_managed)
    else {
        // `--core-policy-name`: used as is.
        if current.is_none() {
            return Err(ProvisionError::Input(format!(
                "the IoT policy {name} (--core-policy-name) does not exist"
            )));
        }
        ctx.record(
            "iot-policy",
            name,
            Action::Unchanged,
            vec!["existing policy, used as is".into()],
        );
        return Ok(());
    };
    let Some(current) = current else {
        if ctx.apply {
            iot.create_policy()
                .policy_name(name)
                .policy_document(doc.to_string())
                .tags(tag(TAG_MANAGED_BY, "ggp")?)
                .tags(tag(TAG_GROUP, &ctx.group)?)
                .send()
                .await
                .doing(|| format!("creating the IoT policy {name}"))?;
        }
        ctx.record("iot-policy", name, Action::Create, vec![]);
        return Ok(());
    };
    let same = current
        .policy_document
        .as_deref()
        .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .map(|d| normalize(&d))
        == Some(normalize(doc));
    if same {
        ctx.record("iot-policy", name, Action::Unchanged, vec![]);
        return Ok(());
    }
    let mut details = vec!["new default version".to_string()];
    // Make room under the limit of 5: the oldest non-default versions go first.
    let mut versions = iot
        .list_policy_versions()
        .policy_name(name)
        .send()
        .await
        .doing(|| format!("listing the versions of the IoT policy {name}"))?
        .policy_versions
        .unwrap_or_default();
    versions.retain(|v| !v.is_default_version);
    versions.sort_by_key(|v| {
        v.version_id
            .as_deref()
            .and_then(|i| i.parse::<u64>().ok())
            .unwrap_or(0)
    });
    let total = versions.len() + 1;
    let excess = (total + 1).saturating_sub(POLICY_VERSION_LIMIT);
    for v in versions.iter().take(excess) {
        let id = v.version_id.clone().unwrap_or_default();
        details.push(format!("pruned version {id}"));
        if ctx.apply {
            iot.delete_policy_version()
                .policy_name(name)
                .policy_version_id(&id)
                .send()
                .await
                .doing(|| format!("deleting version {id} of the IoT policy {name}"))?;
        }
    }
    if ctx.apply {
        iot.create_policy_version()
            .policy_name(name)
            .policy_document(doc.to_string())
            .set_as_default(true)
            .send()
            .await
            .doing(|| format!("adding a version to the IoT policy {name}"))?;
    }
    ctx.record("iot-policy", name, Action::Update, details);
    Ok(())
}

async fn converge_attachments(
    ctx: &Ctx<'_>,
    plan: &IotPlan,
    chosen: &Chosen,
    principals: &[String],
    thing: Option<&Thing>,
) -> Result<(), ProvisionError> {
    let iot = &ctx.c().iot;
    let thing_name = &plan.thing_name;
    let policy = &plan.policy_name;
    let arn = &chosen.cert.arn;
    let mut details = Vec::new();
    if !principals.contains(arn) {
        details.push(format!("certificate {} → thing", chosen.cert.id));
        if ctx.apply {
            iot.attach_thing_principal()
                .thing_name(thing_name)
                .principal(arn)
                .send()
                .await
                .doing(|| format!("attaching the certificate {arn} to the thing {thing_name}"))?;
        }
    }
    let policies = if chosen.created {
        Vec::new()
    } else {
        attached_policies(ctx, arn).await?
    };
    if !policies.contains(policy) {
        details.push(format!("policy {policy} → certificate {}", chosen.cert.id));
        if ctx.apply {
            iot.attach_policy()
                .policy_name(policy)
                .target(arn)
                .send()
                .await
                .doing(|| format!("attaching the IoT policy {policy} to the certificate {arn}"))?;
        }
    }
    // Certificates the chosen one replaces: off the thing and the policy; deactivated if ggp's.
    let attr_cert = thing.and_then(|t| t.attributes.get(ATTR_CERT).cloned());
    let retired = ctx.state(|s| s.retired_certificates.clone());
    for old in principals
        .iter()
        .filter(|p| *p != arn && p.contains(":cert/"))
    {
        let id = cert_id(old).to_string();
        details.push(format!("certificate {id} detached from the thing"));
        let owned = retired.contains(&id) || attr_cert.as_deref() == Some(id.as_str());
        if !ctx.apply {
            if owned {
                details.push(format!("certificate {id} deactivated"));
            }
            continue;
        }
        iot.detach_thing_principal()
            .thing_name(thing_name)
            .principal(old)
            .send()
            .await
            .doing(|| format!("detaching the old certificate {old} from the thing {thing_name}"))?;
        if attached_policies(ctx, old).await?.contains(policy) {
            iot.detach_policy()
                .policy_name(policy)
                .target(old)
                .send()
                .await
                .doing(|| {
                    format!("detaching the IoT policy {policy} from the old certificate {old}")
                })?;
        }
        if owned {
            iot.update_certificate()
                .certificate_id(&id)
                .new_status(CertificateStatus::Inactive)
                .send()
                .await
                .doing(|| format!("deactivating the old certificate {id}"))?;
            details.push(format!("certificate {id} deactivated"));
            ctx.update_state(|s| {
                if !s.retired_certificates.contains(&id) {
                    s.retired_certificates.push(id.clone());
                }
            });
        }
    }
    let action = if details.is_empty() {
        Action::Unchanged
    } else if thing.is_none() || chosen.created {
        Action::Create
    } else {
        Action::Update
    };
    ctx.record("iot-attachment", thing_name, action, details);
    Ok(())
}

/// Records the account's data and credential endpoints in the state (once: they do not change),
/// for the bundle stage. Reads only; nothing in a dry run.
pub(crate) async fn remember_endpoints(ctx: &Ctx<'_>) -> Result<(), ProvisionError> {
    if !ctx.apply
        || ctx.state(|s| s.iot_data_endpoint.is_some() && s.iot_credentials_endpoint.is_some())
    {
        return Ok(());
    }
    let iot = &ctx.c().iot;
    let get = |kind: &'static str| async move {
        iot.describe_endpoint()
            .endpoint_type(kind)
            .send()
            .await
            .doing(|| format!("asking for the {kind} endpoint"))?
            .endpoint_address
            .ok_or_else(|| {
                missing(
                    &format!("asking for the {kind} endpoint"),
                    "endpointAddress",
                )
            })
    };
    let (data, credentials) = tokio::try_join!(get("iot:Data-ATS"), get("iot:CredentialProvider"))?;
    ctx.update_state(|s| {
        s.iot_data_endpoint = Some(data);
        s.iot_credentials_endpoint = Some(credentials);
    });
    Ok(())
}

pub(crate) async fn converge_role_alias(
    ctx: &Ctx<'_>,
    plan: &IotPlan,
    role_arn: &str,
) -> Result<(), ProvisionError> {
    let iot = &ctx.c().iot;
    let alias = &plan.role_alias;
    let current = match iot.describe_role_alias().role_alias(alias).send().await {
        Ok(out) => out.role_alias_description.and_then(|d| d.role_arn),
        Err(e) if is_not_found(&e) => None,
        Err(e) => return Err(e).doing(|| format!("reading the role alias {alias}")),
    };
    ctx.update_state(|s| s.role_alias = Some(alias.clone()));
    match current {
        Some(r) if r == role_arn => ctx.record("iot-role-alias", alias, Action::Unchanged, vec![]),
        Some(r) => {
            if ctx.apply {
                with_propagation(ctx, "updating the role alias", || async {
                    iot.update_role_alias()
                        .role_alias(alias)
                        .role_arn(role_arn)
                        .send()
                        .await
                        .map(|_| ())
                        .doing(|| format!("pointing the role alias {alias} at {role_arn}"))
                })
                .await?;
            }
            ctx.record(
                "iot-role-alias",
                alias,
                Action::Update,
                vec![format!("{r} → {role_arn}")],
            );
        }
        None => {
            if ctx.apply {
                with_propagation(ctx, "creating the role alias", || async {
                    iot.create_role_alias()
                        .role_alias(alias)
                        .role_arn(role_arn)
                        .tags(tag(TAG_MANAGED_BY, "ggp")?)
                        .send()
                        .await
                        .map(|_| ())
                        .doing(|| format!("creating the role alias {alias} for {role_arn}"))
                })
                .await?;
            }
            ctx.record("iot-role-alias", alias, Action::Create, vec![]);
        }
    }
    ctx.checkpoint("after-role-alias")
}
