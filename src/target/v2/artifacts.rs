//! Greengrass V2 component artifacts in S3: the package zips of the native components ggp writes
//! for executable functions, at `s3://<bucket>/<prefix>ggp/<group>/<component>/<version>/<zip>`.
//!
//! The bucket is `--s3-bucket`/`--s3-directory` when given, else `ggp-artifacts-<account>-<region>`,
//! which ggp creates when absent (tagged `ggp:managed-by=ggp`). An object is uploaded only when
//! HeadObject does not find it with the package's size: the key holds the component version,
//! derived from the package's sha256, so an existing key is the same content.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration, Tag, Tagging};

use super::recipe::{artifact_group_prefix, default_artifact_bucket};
use crate::provision::error::{is_not_found, status_of, Doing, ProvisionError};
use crate::provision::{Action, Ctx, DeployOptions, Package, TAG_MANAGED_BY};

/// Where a run puts artifacts: bucket, key prefix (may be empty), and whether it is ggp's default
/// bucket (created when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactLocation {
    pub bucket: String,
    pub prefix: String,
    pub default: bool,
}

impl ArtifactLocation {
    pub(crate) fn of(ctx: &Ctx<'_>, opts: &DeployOptions) -> ArtifactLocation {
        match &opts.s3 {
            Some(s3) => ArtifactLocation {
                bucket: s3.bucket.clone(),
                prefix: s3.prefix.trim_matches('/').to_string(),
                default: false,
            },
            None => ArtifactLocation {
                bucket: default_artifact_bucket(&ctx.cloud.account, &ctx.cloud.region),
                prefix: String::new(),
                default: true,
            },
        }
    }

    /// `s3://bucket/prefix`, what a component version's artifacts depend on.
    pub fn label(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }
}

/// True when the bucket exists (and this account may use it).
async fn bucket_exists(ctx: &Ctx<'_>, bucket: &str) -> Result<bool, ProvisionError> {
    match ctx.c().s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(true),
        Err(e) if is_not_found(&e) || status_of(&e) == Some(404) => Ok(false),
        Err(e) => Err(e).doing(|| format!("checking the bucket {bucket}")),
    }
}

/// The bucket must be in the core's Region: Greengrass V2 reads a component's artifacts only from
/// a bucket in the Region where the component is made ("Upload components to AWS IoT Greengrass",
/// V2 developer guide; CreateComponentVersion leaves the version FAILED otherwise). Checked with
/// GetBucketLocation before any change. A bucket the user named must exist; ggp's default one is
/// made in the core's Region when absent.
pub(crate) async fn check_bucket_region(
    ctx: &Ctx<'_>,
    loc: &ArtifactLocation,
) -> Result<(), ProvisionError> {
    let bucket = &loc.bucket;
    let core = &ctx.cloud.region;
    let out = match ctx.c().s3.get_bucket_location().bucket(bucket).send().await {
        Ok(o) => o,
        Err(e) if is_not_found(&e) || status_of(&e) == Some(404) => {
            if loc.default {
                return Ok(());
            }
            return Err(ProvisionError::Input(format!(
                "the artifact bucket {bucket} (--s3-bucket) does not exist; the deploy stopped before any role, \
                 certificate or component was made. \
                 Create it in {core} (aws s3 mb s3://{bucket} --region {core}), or leave \
                 --s3-bucket out for ggp's own bucket {}",
                default_artifact_bucket(&ctx.cloud.account, core)
            )));
        }
        Err(e) => return Err(e).doing(|| format!("reading the Region of the bucket {bucket}")),
    };
    // GetBucketLocation's LocationConstraint: none (or empty) is us-east-1, "EU" is eu-west-1
    // (S3 API reference, GetBucketLocation).
    let region = match out.location_constraint().map(|c| c.as_str()) {
        None | Some("") => "us-east-1",
        Some("EU") => "eu-west-1",
        Some(r) => r,
    };
    if region == core {
        return Ok(());
    }
    Err(ProvisionError::Input(format!(
        "the artifact bucket {bucket} is in {region}, but the core is in {core}: Greengrass V2 \
         reads a component's artifacts only from a bucket in the component's Region, so every \
         component version with an artifact there would be FAILED; the deploy stopped before any \
         role, certificate or component was made. Use a \
         bucket in {core} (--s3-bucket){}",
        if loc.default {
            String::new()
        } else {
            format!(
                ", or leave --s3-bucket out for ggp's own bucket {}",
                default_artifact_bucket(&ctx.cloud.account, core)
            )
        }
    )))
}

/// The default bucket: created (tagged as ggp's) when absent. Returns whether it exists now (false
/// only in a dry run).
pub(crate) async fn ensure_default_bucket(
    ctx: &Ctx<'_>,
    bucket: &str,
) -> Result<bool, ProvisionError> {
    if bucket_exists(ctx, bucket).await? {
        return Ok(true);
    }
    if ctx.apply {
        let s3 = &ctx.c().s3;
        let mut req = s3.create_bucket().bucket(bucket);
        if ctx.cloud.region != "us-east-1" {
            req = req.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(ctx.cloud.region.as_str()))
                    .build(),
            );
        }
        match req.send().await {
            Ok(_) => {}
            // Made meanwhile by another run of ggp.
            Err(e) if e.code() == Some("BucketAlreadyOwnedByYou") => return Ok(true),
            Err(e) => return Err(e).doing(|| format!("creating the bucket {bucket}")),
        }
        let tag = Tag::builder()
            .key(TAG_MANAGED_BY)
            .value("ggp")
            .build()
            .map_err(|e| ProvisionError::Input(format!("tagging the bucket {bucket}: {e}")))?;
        let tagging = Tagging::builder()
            .tag_set(tag)
            .build()
            .map_err(|e| ProvisionError::Input(format!("tagging the bucket {bucket}: {e}")))?;
        s3.put_bucket_tagging()
            .bucket(bucket)
            .tagging(tagging)
            .send()
            .await
            .doing(|| format!("tagging the bucket {bucket}"))?;
    }
    ctx.record(
        "s3-bucket",
        bucket,
        Action::Create,
        vec!["ggp's bucket for Greengrass V2 artifacts".into()],
    );
    Ok(ctx.apply)
}

/// The package at `s3://bucket/key`: uploaded unless HeadObject finds it with the package's size.
pub(crate) async fn ensure_object(
    ctx: &Ctx<'_>,
    loc: &ArtifactLocation,
    key: &str,
    pkg: &Package,
) -> Result<(), ProvisionError> {
    let bucket = &loc.bucket;
    let uri = format!("s3://{bucket}/{key}");
    let bucket_there = if loc.default {
        ensure_default_bucket(ctx, bucket).await?
    } else {
        true
    };
    let exists = bucket_there
        && match ctx
            .c()
            .s3
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(h) => h.content_length == Some(pkg.size as i64),
            Err(e) if is_not_found(&e) || status_of(&e) == Some(404) => false,
            Err(e) => return Err(e).doing(|| format!("checking {uri}")),
        };
    if !loc.default {
        ctx.update_state(|s| {
            s.artifact_locations
                .insert(format!("s3://{bucket}/{}", loc.prefix.trim_matches('/')));
        });
    }
    if exists {
        ctx.record("s3-object", &uri, Action::Unchanged, vec![]);
        return Ok(());
    }
    if ctx.apply {
        let body = ByteStream::from_path(&pkg.path).await.map_err(|e| {
            ProvisionError::Input(format!(
                "cannot read the package {}: {e}",
                pkg.path.display()
            ))
        })?;
        ctx.c()
            .s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(body)
            .send()
            .await
            .doing(|| format!("uploading the package of {} to {uri}", pkg.function))?;
    }
    ctx.record(
        "s3-object",
        &uri,
        Action::Create,
        vec![format!("the package of {}", pkg.function)],
    );
    Ok(())
}

/// Deletes the group's artifacts: `<prefix>ggp/<group>/` in each bucket of the user's the state
/// names (the buckets stay), and `ggp/<group>/` in ggp's default bucket, then that bucket itself
/// when it is empty and tagged as ggp's.
pub(crate) async fn destroy_group_artifacts(ctx: &Ctx<'_>) -> Result<(), ProvisionError> {
    let user_locations = ctx.state(|s| s.artifact_locations.clone());
    for loc in user_locations {
        let rest = loc.strip_prefix("s3://").unwrap_or(&loc);
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket_exists(ctx, bucket).await? {
            delete_prefix(ctx, bucket, &artifact_group_prefix(prefix, &ctx.group)).await?;
        }
    }
    let bucket = default_artifact_bucket(&ctx.cloud.account, &ctx.cloud.region);
    if !bucket_exists(ctx, &bucket).await? {
        return Ok(());
    }
    let s3 = &ctx.c().s3;
    delete_prefix(ctx, &bucket, &artifact_group_prefix("", &ctx.group)).await?;
    let left = s3
        .list_objects_v2()
        .bucket(&bucket)
        .max_keys(1)
        .send()
        .await
        .doing(|| format!("listing s3://{bucket}"))?;
    if left.key_count().unwrap_or(0) > 0 || !left.contents().is_empty() {
        return Ok(());
    }
    let ours = match s3.get_bucket_tagging().bucket(&bucket).send().await {
        Ok(t) => t
            .tag_set()
            .iter()
            .any(|t| t.key() == TAG_MANAGED_BY && t.value() == "ggp"),
        Err(e) if status_of(&e) == Some(404) => false,
        Err(e) => return Err(e).doing(|| format!("reading the tags of the bucket {bucket}")),
    };
    if ours {
        s3.delete_bucket()
            .bucket(&bucket)
            .send()
            .await
            .doing(|| format!("deleting the bucket {bucket}"))?;
        ctx.record("s3-bucket", &bucket, Action::Delete, vec![]);
    }
    Ok(())
}

/// Deletes every object under `s3://bucket/prefix`.
async fn delete_prefix(ctx: &Ctx<'_>, bucket: &str, prefix: &str) -> Result<(), ProvisionError> {
    let s3 = &ctx.c().s3;
    let mut keys = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.doing(|| format!("listing s3://{bucket}/{prefix}"))?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
    }
    for key in keys {
        s3.delete_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .doing(|| format!("deleting s3://{bucket}/{key}"))?;
        ctx.record(
            "s3-object",
            &format!("s3://{bucket}/{key}"),
            Action::Delete,
            vec![],
        );
    }
    Ok(())
}
