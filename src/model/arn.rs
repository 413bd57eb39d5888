//! ARN partitions: `arn:<partition>:…` is `aws` in the commercial Regions, `aws-cn` in China,
//! `aws-us-gov` in AWS GovCloud (US) and `aws-iso*` in the isolated Regions. Every ARN ggp builds
//! (policies, roles, thing groups, functions, secrets, buckets) takes its partition from the
//! Region, so a project deployed to `cn-north-1` or `us-gov-west-1` names its own resources.
//!
//! Written by hand: the SDK's partition resolver (`endpoint_lib::partition` in each aws-sdk-*
//! crate) is private to the crates. The table follows botocore's `data/partitions.json` (the
//! `regionRegex` of each partition); a Region it does not know (or a placeholder) is `aws`.

/// The partition of `region`.
pub fn partition(region: &str) -> &'static str {
    const BY_PREFIX: &[(&str, &str)] = &[
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
        ("eusc-", "aws-eusc"),
    ];
    BY_PREFIX
        .iter()
        .find(|(p, _)| region.starts_with(p))
        .map_or("aws", |(_, part)| part)
}

/// `arn:<partition>:<service>:<region>:<account>`, the prefix of a Regional resource's ARN.
pub fn prefix(service: &str, region: &str, account: &str) -> String {
    format!("arn:{}:{service}:{region}:{account}", partition(region))
}

/// The ARN of object (or pattern) `key` in S3 bucket `bucket`, a bucket of `region`'s partition.
pub fn s3_object(region: &str, bucket: &str, key: &str) -> String {
    format!("arn:{}:s3:::{bucket}/{key}", partition(region))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_follow_botocore() {
        assert_eq!(partition("us-east-1"), "aws");
        assert_eq!(partition("eu-central-2"), "aws");
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("cn-northwest-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition("us-iso-east-1"), "aws-iso");
        assert_eq!(partition("us-isob-east-1"), "aws-iso-b");
        assert_eq!(partition("<unknown:REGION>"), "aws");
        assert_eq!(
            prefix("iot", "cn-north-1", "1"),
            "arn:aws-cn:iot:cn-north-1:1"
        );
        assert_eq!(
            s3_object("us-gov-east-1", "b", "k/*"),
            "arn:aws-us-gov:s3:::b/k/*"
        );
    }
}
