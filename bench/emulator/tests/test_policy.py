"""The policy evaluator (ggp_emulator/policy.py) on the examples of AWS's documentation.

Each test writes out a policy as the named AWS page shows it and the outcome the page gives, with a
case on both sides of the rule (allowed next to denied), so an evaluator that allows (or denies)
everything fails. No emulator process is needed here.
"""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ggp_emulator import policy as P

ACCT = "123456789012"


def iam(doc: dict, name: str = "p") -> P.Policy:
    return P.parse(json.dumps(doc, indent=2), P.IAM, name=name)


def iot(doc: dict, name: str = "p") -> P.Policy:
    return P.parse(json.dumps(doc), P.IOT, name=name, arn=f"arn:aws:iot:us-east-1:{ACCT}:policy/{name}")


def decision(policies, action, resource, context=None, principal=None) -> str:
    return P.decide(policies if isinstance(policies, list) else [policies], P.Request(action, resource, context or {}, principal)).decision


# ------------------------------------------------------------------------------------------------ IAM


# IAM User Guide, "Policy evaluation logic" (reference_policies_evaluation-logic.html), example of the
# identity-based policy of user Carlos: he may list buckets, do anything in his own bucket, and the
# Deny keeps him out of any bucket with "log" in its name: "Carlos can't save to carlossalazar-logs".
CARLOS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AllowS3ListRead",
            "Effect": "Allow",
            "Action": ["s3:GetBucketLocation", "s3:GetAccountPublicAccessBlock", "s3:ListAccessPoints", "s3:ListAllMyBuckets"],
            "Resource": "arn:aws:s3:::*",
        },
        {"Sid": "AllowS3Self", "Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"]},
        {"Sid": "DenyS3Logs", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*log*"},
    ],
}


def test_evaluation_logic_carlos():
    p = iam(CARLOS)
    assert decision(p, "s3:PutObject", "arn:aws:s3:::carlossalazar/report.txt") == P.ALLOWED
    assert decision(p, "s3:ListAllMyBuckets", "arn:aws:s3:::*") == P.ALLOWED
    # explicit deny wins over AllowS3Self's s3:* ...
    assert decision(p, "s3:PutObject", "arn:aws:s3:::carlossalazar-logs/file") == P.EXPLICIT_DENY
    assert decision(p, "s3:ListAllMyBuckets", "arn:aws:s3:::catalog") == P.EXPLICIT_DENY
    # ... and what nothing allows is implicitly denied
    assert decision(p, "s3:PutObject", "arn:aws:s3:::someone-else/file") == P.IMPLICIT_DENY
    assert decision(p, "iam:ListUsers", "*") == P.IMPLICIT_DENY
    r = P.decide([p], P.Request("s3:PutObject", "arn:aws:s3:::carlossalazar-logs/x"))
    assert [m.statement.sid for m in r.matched] == ["DenyS3Logs"]


def test_no_policy_is_implicit_deny():
    assert decision([], "s3:GetObject", "arn:aws:s3:::b/k") == P.IMPLICIT_DENY


def test_action_names_are_case_insensitive_resources_are_not():
    # "Action" element: "action names are case-insensitive"; "Resource": ARNs are case-sensitive.
    p = iam({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "S3:getobject", "Resource": "arn:aws:s3:::Bucket/*"}})
    assert decision(p, "s3:GetObject", "arn:aws:s3:::Bucket/k") == P.ALLOWED
    assert decision(p, "s3:GetObject", "arn:aws:s3:::bucket/k") == P.IMPLICIT_DENY


def test_action_wildcards():
    # "Action" element: "iam:*AccessKey*" matches CreateAccessKey, ListAccessKeys...; "?" is one character.
    p = iam({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["iam:*AccessKey*", "s3:Get?bject"], "Resource": "*"}]})
    assert decision(p, "iam:CreateAccessKey", "*") == P.ALLOWED
    assert decision(p, "iam:ListAccessKeys", "*") == P.ALLOWED
    assert decision(p, "iam:CreateUser", "*") == P.IMPLICIT_DENY
    assert decision(p, "s3:GetObject", "arn:aws:s3:::b/k") == P.ALLOWED
    assert decision(p, "s3:GetObjectAcl", "arn:aws:s3:::b/k") == P.IMPLICIT_DENY


def test_resource_wildcards_within_a_segment():
    # "Resource" element: * and ? within a segment; a * ending a segment may match beyond the colon.
    p = iam({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "arn:aws:logs:us-east-?:*:log-group:/aws/greengrass/*"}]})
    assert decision(p, "logs:PutLogEvents", f"arn:aws:logs:us-east-1:{ACCT}:log-group:/aws/greengrass/Lambda/x:log-stream:s") == P.ALLOWED
    assert decision(p, "logs:PutLogEvents", f"arn:aws:logs:us-west-1:{ACCT}:log-group:/aws/greengrass/x:log-stream:s") == P.IMPLICIT_DENY
    mid = iam({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "arn:aws:logs:*:*:log-group:a*b"}]})
    assert decision(mid, "logs:CreateLogGroup", f"arn:aws:logs:us-east-1:{ACCT}:log-group:axxb") == P.ALLOWED
    # a * in the middle of a segment does not swallow a colon
    assert decision(mid, "logs:CreateLogGroup", f"arn:aws:logs:us-east-1:{ACCT}:log-group:a:b") == P.IMPLICIT_DENY


def test_not_action():
    # "NotAction" element: allow everything but IAM; and the doc's Deny with NotAction + BoolIfExists MFA.
    p = iam({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}})
    assert decision(p, "s3:GetObject", "arn:aws:s3:::b/k") == P.ALLOWED
    assert decision(p, "iam:CreateUser", "*") == P.IMPLICIT_DENY
    mfa = iam(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {
                    "Sid": "DenyAllUsersNotUsingMFA",
                    "Effect": "Deny",
                    "NotAction": "iam:*",
                    "Resource": "*",
                    "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
                },
            ],
        }
    )
    assert decision(mfa, "s3:GetObject", "x", {"aws:MultiFactorAuthPresent": "true"}) == P.ALLOWED
    assert decision(mfa, "s3:GetObject", "x", {"aws:MultiFactorAuthPresent": "false"}) == P.EXPLICIT_DENY
    assert decision(mfa, "s3:GetObject", "x") == P.EXPLICIT_DENY  # IfExists: missing key -> the condition holds
    assert decision(mfa, "iam:ListUsers", "*") == P.ALLOWED


def test_not_resource():
    # "NotResource" element: deny all S3 except the Payroll folder... here: the doc's HRBucket example.
    p = iam(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                {"Effect": "Deny", "Action": "s3:*", "NotResource": ["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"]},
            ],
        }
    )
    assert decision(p, "s3:GetObject", "arn:aws:s3:::HRBucket/Payroll/jan.csv") == P.ALLOWED
    assert decision(p, "s3:GetObject", "arn:aws:s3:::HRBucket/Other/x") == P.EXPLICIT_DENY


def test_policy_variables_and_version():
    # "IAM policy elements: Variables and tags": ${aws:username} in Resource and in a StringLike condition.
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Action": ["s3:ListBucket"],
                "Effect": "Allow",
                "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket"],
                "Condition": {"StringLike": {"s3:prefix": ["${aws:username}/*"]}},
            },
            {"Action": ["s3:GetObject", "s3:PutObject"], "Effect": "Allow", "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket/${aws:username}/*"]},
        ],
    }
    p = iam(doc)
    bob = {"aws:username": "bob"}
    assert decision(p, "s3:GetObject", "arn:aws:s3:::amzn-s3-demo-bucket/bob/a.txt", bob) == P.ALLOWED
    assert decision(p, "s3:GetObject", "arn:aws:s3:::amzn-s3-demo-bucket/alice/a.txt", bob) == P.IMPLICIT_DENY
    assert decision(p, "s3:ListBucket", "arn:aws:s3:::amzn-s3-demo-bucket", {**bob, "s3:prefix": "bob/x"}) == P.ALLOWED
    assert decision(p, "s3:ListBucket", "arn:aws:s3:::amzn-s3-demo-bucket", {**bob, "s3:prefix": "alice/x"}) == P.IMPLICIT_DENY
    # a key the request does not have: the value matches nothing and the key is reported missing
    r = P.decide([p], P.Request("s3:GetObject", "arn:aws:s3:::amzn-s3-demo-bucket/bob/a.txt"))
    assert r.decision == P.IMPLICIT_DENY and "aws:username" in r.missing
    # "2008-10-17" (or no Version): variables are literal text
    old = iam({**doc, "Version": "2008-10-17"})
    assert decision(old, "s3:GetObject", "arn:aws:s3:::amzn-s3-demo-bucket/bob/a.txt", bob) == P.IMPLICIT_DENY
    assert decision(old, "s3:GetObject", "arn:aws:s3:::amzn-s3-demo-bucket/${aws:username}/a.txt", bob) == P.ALLOWED


def test_variable_values_are_literal_and_special_characters():
    # a request value with a * must not act as a wildcard; ${*} is a literal *; ${k, 'default'}.
    p = iam({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${aws:username}/x${*}"}]})
    assert decision(p, "s3:GetObject", "arn:aws:s3:::b/bob/x*", {"aws:username": "bob"}) == P.ALLOWED
    assert decision(p, "s3:GetObject", "arn:aws:s3:::b/bob/xy", {"aws:username": "bob"}) == P.IMPLICIT_DENY
    assert decision(p, "s3:GetObject", "arn:aws:s3:::b/anyone/x*", {"aws:username": "*"}) == P.IMPLICIT_DENY
    d = iam({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${aws:PrincipalTag/team, 'shared'}/*"}]})
    assert decision(d, "s3:GetObject", "arn:aws:s3:::b/shared/k") == P.ALLOWED
    assert decision(d, "s3:GetObject", "arn:aws:s3:::b/red/k", {"aws:PrincipalTag/team": "red"}) == P.ALLOWED
    assert decision(d, "s3:GetObject", "arn:aws:s3:::b/shared/k", {"aws:PrincipalTag/team": "red"}) == P.IMPLICIT_DENY


@pytest.mark.parametrize(
    "condition, context, expected",
    [
        # "IAM JSON policy elements: Condition operators", one example per family, both outcomes.
        ({"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}}, {"aws:PrincipalTag/job-category": "iamuser-admin"}, True),
        ({"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}}, {"aws:PrincipalTag/job-category": "IAMuser-admin"}, False),
        ({"StringEqualsIgnoreCase": {"aws:PrincipalTag/job-category": "iamuser-admin"}}, {"aws:PrincipalTag/job-category": "IAMuser-admin"}, True),
        ({"StringNotEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}}, {"aws:PrincipalTag/job-category": "other"}, True),
        ({"StringNotEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}}, {"aws:PrincipalTag/job-category": "iamuser-admin"}, False),
        ({"StringNotEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}}, {}, True),  # negated + missing key: true
        ({"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}}, {}, False),  # missing key: false
        ({"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/"]}}, {"s3:prefix": "home/bob/", "aws:username": "bob"}, True),
        ({"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/"]}}, {"s3:prefix": "home/eve/", "aws:username": "bob"}, False),
        ({"StringNotLike": {"s3:prefix": "home/*"}}, {"s3:prefix": "tmp/x"}, True),
        ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, True),
        ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "11"}, False),
        ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "ten"}, False),
        ({"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}}, {"aws:TokenIssueTime": "2021-05-01T00:00:00Z"}, True),
        ({"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}}, {"aws:TokenIssueTime": "2019-05-01T00:00:00Z"}, False),
        ({"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, {"aws:CurrentTime": "1500000000"}, True),  # epoch seconds
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "false"}, True),
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"}, False),
        ({"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64"]}}, {"aws:SourceIp": "203.0.113.7"}, True),
        ({"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64"]}}, {"aws:SourceIp": "2001:db8:1234:5678::1"}, True),
        ({"IpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}}, {"aws:SourceIp": "198.51.100.1"}, False),
        ({"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}}, {"aws:SourceIp": "198.51.100.1"}, True),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:TOPIC-*"}}, {"aws:SourceArn": "arn:aws:sns:us-east-2:123456789012:TOPIC-1"}, True),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:TOPIC-*"}}, {"aws:SourceArn": "arn:aws:sns:us-east-2:111122223333:TOPIC-1"}, False),
        ({"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-2:123456789012:TOPIC-ID"}}, {"aws:SourceArn": "arn:aws:sns:us-east-2:123456789012:TOPIC-ID"}, True),
        ({"ArnNotEquals": {"aws:SourceArn": "arn:aws:sns:us-east-2:123456789012:TOPIC-ID"}}, {"aws:SourceArn": "arn:aws:sns:us-east-2:123456789012:TOPIC-ID"}, False),
        ({"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}, {}, True),
        ({"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}, {"ec2:InstanceType": "t2.micro"}, True),
        ({"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}, {"ec2:InstanceType": "c5.large"}, False),
        ({"Null": {"aws:TokenIssueTime": "true"}}, {}, True),
        ({"Null": {"aws:TokenIssueTime": "true"}}, {"aws:TokenIssueTime": "2021-05-01T00:00:00Z"}, False),
        ({"Null": {"aws:TokenIssueTime": "false"}}, {"aws:TokenIssueTime": "2021-05-01T00:00:00Z"}, True),
        ({"BinaryEquals": {"key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}, {"key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}, True),
        # "Single-valued vs. multivalued context keys": set operators.
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}}, {"aws:TagKeys": ["environment"]}, True),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}}, {"aws:TagKeys": ["environment", "owner"]}, False),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}}, {}, True),  # no values: true
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}}, {"aws:TagKeys": ["owner", "cost-center"]}, True),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}}, {"aws:TagKeys": ["owner"]}, False),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}}, {}, False),  # no values: false
        # two keys in a block are ANDed; the values of one key are ORed
        ({"StringEquals": {"a:k1": ["x", "y"], "a:k2": "z"}}, {"a:k1": "y", "a:k2": "z"}, True),
        ({"StringEquals": {"a:k1": ["x", "y"], "a:k2": "z"}}, {"a:k1": "y", "a:k2": "w"}, False),
    ],
)
def test_condition_operators(condition, context, expected):
    p = iam({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*", "Condition": condition}})
    assert decision(p, "s3:ListBucket", "arn:aws:s3:::b", context) == (P.ALLOWED if expected else P.IMPLICIT_DENY)


def test_condition_keys_are_case_insensitive():
    p = iam({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"AWS:SecureTransport": "true"}}}})
    assert decision(p, "s3:GetObject", "x", {"aws:securetransport": "true"}) == P.ALLOWED
    assert decision(p, "s3:GetObject", "x", {"aws:securetransport": "false"}) == P.IMPLICIT_DENY


def test_permissions_boundary_and_resource_policy():
    # "Policy evaluation logic": identity allow + boundary without that action -> implicit deny;
    # a same-account resource-based policy that allows the principal is enough on its own.
    ident = iam({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": ["s3:*", "iam:*"], "Resource": "*"}})
    boundary = iam({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}})
    req = lambda a, r: P.Request(a, r)  # noqa: E731
    assert P.decide([ident], req("iam:CreateUser", "*"), boundary=[boundary]).decision == P.IMPLICIT_DENY
    d = P.decide([ident], req("s3:GetObject", "arn:aws:s3:::b/k"), boundary=[boundary])
    assert d.decision == P.ALLOWED and d.allowed_by_boundary is True
    bucket = iam(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/bob"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}],
        }
    )
    bob = P.Principal(arns=[f"arn:aws:iam::{ACCT}:user/bob"], account=ACCT)
    eve = P.Principal(arns=[f"arn:aws:iam::{ACCT}:user/eve"], account=ACCT)
    assert P.decide([], P.Request("s3:GetObject", "arn:aws:s3:::b/k", principal=bob), resource=[bucket]).decision == P.ALLOWED
    assert P.decide([], P.Request("s3:GetObject", "arn:aws:s3:::b/k", principal=eve), resource=[bucket]).decision == P.IMPLICIT_DENY
    deny = iam({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}]})
    assert P.decide([ident], P.Request("s3:GetObject", "arn:aws:s3:::b/k", principal=bob), resource=[deny]).decision == P.EXPLICIT_DENY


def test_trust_policy_service_principal():
    # The token exchange role's trust policy (Greengrass V2 "Authorize core devices to interact with AWS services").
    trust = iam(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "credentials.iot.amazonaws.com"}, "Action": "sts:AssumeRole"}],
        }
    )
    iot_service = P.Principal(service="credentials.iot.amazonaws.com")
    lambda_service = P.Principal(service="lambda.amazonaws.com")
    assert decision(trust, "sts:AssumeRole", "arn:aws:iam::1:role/r", principal=iot_service) == P.ALLOWED
    assert decision(trust, "sts:AssumeRole", "arn:aws:iam::1:role/r", principal=lambda_service) == P.IMPLICIT_DENY
    account_root = iam({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"}]})
    assert decision(account_root, "sts:AssumeRole", "r", principal=P.Principal(arns=["x"], account=ACCT)) == P.ALLOWED
    assert decision(account_root, "sts:AssumeRole", "r", principal=P.Principal(arns=["x"], account="111122223333")) == P.IMPLICIT_DENY


def test_statement_positions_for_matched_statements():
    text = json.dumps(CARLOS, indent=2)
    p = P.parse(text)
    lines = text.split("\n")
    for st in p.statements:
        assert lines[st.start.line - 1][st.start.column - 1] == "{"
        assert lines[st.end.line - 1][st.end.column - 1] == "}"
    assert p.statements[0].start.line < p.statements[1].start.line < p.statements[2].start.line
    single = P.parse('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}')
    assert (single.statements[0].start.column, single.statements[0].end.column) == (37, 82)


@pytest.mark.parametrize(
    "doc, message",
    [
        ("not json", "not valid JSON"),
        ({"Version": "2012-10-17"}, "no Statement"),
        ({"Statement": [{"Effect": "Permit", "Action": "*", "Resource": "*"}]}, "Effect"),
        ({"Statement": [{"Effect": "Allow", "Resource": "*"}]}, "Action and NotAction"),
        ({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringSorta": {"k": "v"}}}]}, "unknown condition operator"),
        ({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"ForSomeValues:StringLike": {"k": "v"}}}]}, "set operator"),
        ({"Statement": [{"Effect": "Allow", "Action": [], "Resource": "*"}]}, "non-empty list"),
    ],
)
def test_malformed_documents(doc, message):
    with pytest.raises(P.PolicyError, match=message):
        P.parse(doc if isinstance(doc, str) else json.dumps(doc))


# ------------------------------------------------------------------------------------------------ AWS IoT

R = "us-east-1"


def topic(action: str, name: str) -> str:
    return P.iot_topic_resource(R, ACCT, action, name)


def client(cid: str) -> str:
    return P.iot_arn(R, ACCT, "client", cid)


# AWS IoT Core Developer Guide, "Publish/Subscribe policy examples" (pub-sub-policy.html): "Allow to
# publish, subscribe and receive messages to/from a specific topic".
SPECIFIC_TOPIC = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "iot:Connect", "Resource": f"arn:aws:iot:us-east-1:{ACCT}:client/${{iot:ClientId}}"},
        {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": [f"arn:aws:iot:us-east-1:{ACCT}:topic/some_specific_topic"]},
        {"Effect": "Allow", "Action": ["iot:Subscribe"], "Resource": [f"arn:aws:iot:us-east-1:{ACCT}:topicfilter/some_specific_topic"]},
    ],
}


def test_iot_specific_topic():
    p = iot(SPECIFIC_TOPIC)
    ctx = {"iot:ClientId": "device1"}
    assert decision(p, "iot:Connect", client("device1"), ctx) == P.ALLOWED
    assert decision(p, "iot:Connect", client("device2"), ctx) == P.IMPLICIT_DENY
    for action in ("iot:Publish", "iot:Receive", "iot:Subscribe"):
        assert decision(p, action, topic(action, "some_specific_topic"), ctx) == P.ALLOWED
        assert decision(p, action, topic(action, "some_other_topic"), ctx) == P.IMPLICIT_DENY
    # Subscribe is authorized on topicfilter/, Publish/Receive on topic/: not interchangeable
    assert decision(p, "iot:Subscribe", P.iot_arn(R, ACCT, "topic", "some_specific_topic"), ctx) == P.IMPLICIT_DENY
    assert decision(p, "iot:Publish", P.iot_arn(R, ACCT, "topicfilter", "some_specific_topic"), ctx) == P.IMPLICIT_DENY


def test_iot_mqtt_wildcards_are_literal_in_policies():
    # pub-sub-policy.html, "Using wildcard characters in MQTT and AWS IoT Core policies": + and # are
    # literal characters in a policy; the policy's * matches any characters, # and + included.
    star = iot({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Subscribe", "Resource": f"arn:aws:iot:{R}:{ACCT}:topicfilter/a/*"}]})
    assert decision(star, "iot:Subscribe", topic("iot:Subscribe", "a/#")) == P.ALLOWED
    assert decision(star, "iot:Subscribe", topic("iot:Subscribe", "a/+/b")) == P.ALLOWED
    assert decision(star, "iot:Subscribe", topic("iot:Subscribe", "#")) == P.IMPLICIT_DENY
    plus = iot({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Subscribe", "Resource": f"arn:aws:iot:{R}:{ACCT}:topicfilter/some/+/filter"}]})
    assert decision(plus, "iot:Subscribe", topic("iot:Subscribe", "some/+/filter")) == P.ALLOWED
    # + is not a wildcard: subscribing to one concrete filter it would cover in MQTT is not allowed
    assert decision(plus, "iot:Subscribe", topic("iot:Subscribe", "some/x/filter")) == P.IMPLICIT_DENY
    hash_ = iot({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Receive", "Resource": f"arn:aws:iot:{R}:{ACCT}:topic/sensors/#"}]})
    assert decision(hash_, "iot:Receive", topic("iot:Receive", "sensors/#")) == P.ALLOWED
    assert decision(hash_, "iot:Receive", topic("iot:Receive", "sensors/temp")) == P.IMPLICIT_DENY
    # in IoT resources * crosses slashes, ? is one character
    q = iot({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Publish", "Resource": f"arn:aws:iot:{R}:{ACCT}:topic/dev?/*"}]})
    assert decision(q, "iot:Publish", topic("iot:Publish", "dev1/a/b/c")) == P.ALLOWED
    assert decision(q, "iot:Publish", topic("iot:Publish", "dev10/a")) == P.IMPLICIT_DENY


def test_iot_connect_policy_examples():
    # "Connect policy examples" (connect-policy.html): allow all clients except client1 (the Deny wins).
    p = iot(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["iot:Connect"], "Resource": [f"arn:aws:iot:us-east-1:{ACCT}:client/*"]},
                {"Effect": "Deny", "Action": ["iot:Connect"], "Resource": [f"arn:aws:iot:us-east-1:{ACCT}:client/client1"]},
            ],
        }
    )
    assert decision(p, "iot:Connect", client("client2")) == P.ALLOWED
    assert decision(p, "iot:Connect", client("client1")) == P.EXPLICIT_DENY
    # "Allow only clients with a client ID prefix"
    prefix = iot({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["iot:Connect"], "Resource": [f"arn:aws:iot:us-east-1:{ACCT}:client/clientid-prefix-*"]}]})
    assert decision(prefix, "iot:Connect", client("clientid-prefix-7")) == P.ALLOWED
    assert decision(prefix, "iot:Connect", client("other-7")) == P.IMPLICIT_DENY
    # action names in IoT policies are case-insensitive too
    assert decision(prefix, "IOT:connect", client("clientid-prefix-7")) == P.ALLOWED


def thing(name: str, type_name: str | None = None, attributes: dict | None = None):
    return SimpleNamespace(thing_name=name, thing_type=SimpleNamespace(thing_type_name=type_name) if type_name else None, attributes=attributes or {})


def test_iot_thing_policy_variables():
    # "Thing policy variables" (thing-policy-variables.html): connect only as the registered thing
    # attached to the certificate, and the IsAttached condition.
    p = iot(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["iot:Connect"],
                    "Resource": [f"arn:aws:iot:us-east-1:{ACCT}:client/${{iot:Connection.Thing.ThingName}}"],
                    "Condition": {"Bool": {"iot:Connection.Thing.IsAttached": "true"}},
                },
                {
                    "Effect": "Allow",
                    "Action": ["iot:Publish"],
                    "Resource": [f"arn:aws:iot:us-east-1:{ACCT}:topic/${{iot:Connection.Thing.ThingName}}/*"],
                    "Condition": {
                        "StringEquals": {"iot:Connection.Thing.ThingTypeName": "sensor", "iot:Connection.Thing.Attributes[site]": "north"}
                    },
                },
            ],
        }
    )
    t = thing("core1", "sensor", {"site": "north"})
    attached = P.iot_context("core1", t, True, None)
    assert decision(p, "iot:Connect", client("core1"), attached) == P.ALLOWED
    assert decision(p, "iot:Publish", topic("iot:Publish", "core1/data"), attached) == P.ALLOWED
    assert decision(p, "iot:Publish", topic("iot:Publish", "core2/data"), attached) == P.IMPLICIT_DENY
    # the thing exists but is not attached to the certificate: no ThingName, IsAttached false
    not_attached = P.iot_context("core1", t, False, None)
    assert not_attached["iot:Connection.Thing.IsAttached"] == ["false"]
    r = P.decide([p], P.Request("iot:Connect", client("core1"), not_attached))
    assert r.decision == P.IMPLICIT_DENY and "iot:Connection.Thing.ThingName" in r.missing
    # attribute names are case-sensitive, and a different attribute value does not match
    south = P.iot_context("core1", thing("core1", "sensor", {"site": "south"}), True, None)
    assert decision(p, "iot:Publish", topic("iot:Publish", "core1/data"), south) == P.IMPLICIT_DENY
    upper = P.iot_context("core1", thing("core1", "sensor", {"Site": "north"}), True, None)
    assert decision(p, "iot:Publish", topic("iot:Publish", "core1/data"), upper) == P.IMPLICIT_DENY


def _cert(cn: str, org: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, cn), x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, org)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Issuer CA")]))
        .public_key(key.public_key())
        .serial_number(4242)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("dev.example.com")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_iot_certificate_policy_variables():
    # "X.509 Certificate AWS IoT Core policy variables" (cert-policy-variables.html): connect with the
    # certificate's subject common name as client id, for one organization.
    p = iot(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["iot:Connect"],
                    "Resource": [f"arn:aws:iot:us-east-1:{ACCT}:client/${{iot:Certificate.Subject.CommonName}}"],
                    "Condition": {"StringEquals": {"iot:Certificate.Subject.Organization": "Example Corp"}},
                }
            ],
        }
    )
    ctx = P.iot_context("dev-7", None, False, _cert("dev-7", "Example Corp"))
    assert ctx["iot:Certificate.SerialNumber"] == ["4242"]
    assert ctx["iot:Certificate.Issuer.CommonName"] == ["Issuer CA"]
    assert ctx["iot:Certificate.Subject.AlternativeName.DNSName"] == ["dev.example.com"]
    assert "Subject.CommonName" in ctx["iot:Certificate.AvailableKeys"]
    assert decision(p, "iot:Connect", client("dev-7"), ctx) == P.ALLOWED
    assert decision(p, "iot:Connect", client("dev-8"), ctx) == P.IMPLICIT_DENY
    other_org = P.iot_context("dev-7", None, False, _cert("dev-7", "Other Corp"))
    assert decision(p, "iot:Connect", client("dev-7"), other_org) == P.IMPLICIT_DENY


def test_iot_assume_role_with_certificate():
    # Greengrass V2 "Minimal AWS IoT policy": iot:AssumeRoleWithCertificate on the role alias.
    p = iot({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "iot:AssumeRoleWithCertificate", "Resource": P.iot_arn(R, ACCT, "rolealias", "TokenExchangeRoleAlias")}})
    assert decision(p, "iot:AssumeRoleWithCertificate", P.iot_arn(R, ACCT, "rolealias", "TokenExchangeRoleAlias")) == P.ALLOWED
    assert decision(p, "iot:AssumeRoleWithCertificate", P.iot_arn(R, ACCT, "rolealias", "OtherAlias")) == P.IMPLICIT_DENY
    assert decision(p, "iot:Connect", P.iot_arn(R, ACCT, "rolealias", "TokenExchangeRoleAlias")) == P.IMPLICIT_DENY
