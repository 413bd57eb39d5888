//! `--s3-bucket B --s3-directory D`: put the written bundle, script and OEM archive in an existing
//! bucket, as GGP did (`D` = `/` means the bucket's root).
//!
//! The secrets archive of `--split-secrets` is not uploaded: the point of splitting is that only
//! the device-independent archive is published. Not for: creating buckets or Lambda uploads.

use aws_sdk_s3::primitives::ByteStream;

use super::{BundleError, OutputKind, Written};

/// The object key of `file` under `directory`.
pub fn key(directory: &str, file: &str) -> String {
    let d = directory.trim_matches('/');
    if d.is_empty() {
        file.to_string()
    } else {
        format!("{d}/{file}")
    }
}

/// Uploads the outputs (not the secrets archive) and returns their `s3://` URIs.
pub async fn upload(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    directory: &str,
    files: &[Written],
) -> Result<Vec<String>, BundleError> {
    let mut uris = Vec::new();
    for f in files.iter().filter(|f| f.kind != OutputKind::Secrets) {
        let name = f
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let key = key(directory, &name);
        let doing = || format!("uploading {} to s3://{bucket}/{key}", f.path.display());
        let bytes = std::fs::read(&f.path).map_err(|e| BundleError::Upload {
            doing: doing(),
            message: e.to_string(),
        })?;
        let body = ByteStream::from(bytes);
        s3.put_object()
            .bucket(bucket)
            .key(&key)
            .body(body)
            .send()
            .await
            .map_err(|e| BundleError::Upload {
                doing: doing(),
                message: aws_smithy_types::error::display::DisplayErrorContext(&e).to_string(),
            })?;
        uris.push(format!("s3://{bucket}/{key}"));
    }
    Ok(uris)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_ggp() {
        assert_eq!(key("/", "gg.g.sh"), "gg.g.sh");
        assert_eq!(key("", "gg.g.sh"), "gg.g.sh");
        assert_eq!(
            key("releases/", "g-X86_64.tar.gz"),
            "releases/g-X86_64.tar.gz"
        );
        assert_eq!(key("/a/b", "oem.g.tar"), "a/b/oem.g.tar");
    }
}
