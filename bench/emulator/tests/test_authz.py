"""IoT TestAuthorization and IAM SimulatePrincipalPolicy / SimulateCustomPolicy, through boto3.

The policies are AWS's documentation examples (AWS IoT "Connect policy examples", "Publish/Subscribe
policy examples", "Thing policy variables"; the AWS CLI reference example of `aws iot
test-authorization`; IAM "Policy evaluation logic"), each checked on both sides of its rule.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from conftest import error_of

ACCT = "123456789012"
R = "us-east-1"


def arn(kind: str, name: str) -> str:
    return f"arn:aws:iot:{R}:{ACCT}:{kind}/{name}"


def doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def device(iot):
    """An active certificate attached to thing core1 (in group fleet), with no policy yet."""
    cert = iot.create_keys_and_certificate(setAsActive=True)
    iot.create_thing(thingName="core1", attributePayload={"attributes": {"site": "north"}})
    iot.attach_thing_principal(thingName="core1", principal=cert["certificateArn"])
    return cert["certificateArn"]


def authz(iot, principal, action, resources, client_id=None, **kw):
    args = dict(principal=principal, authInfos=[{"actionType": action, "resources": resources}], **kw)
    if client_id is not None:
        args["clientId"] = client_id
    return iot.test_authorization(**args)["authResults"][0]


def names(result, *path):
    for p in path:
        result = result[p]
    return [p["policyName"] for p in result["policies"]]


# ------------------------------------------------------------------------------------------------ TestAuthorization


def test_cli_reference_example(iot, device):
    # AWS CLI reference, `aws iot test-authorization`: CONNECT on client/client1 with the policy
    # TestPolicyAllowed attached -> ALLOWED, the policy listed under allowed; the same with a policy
    # that does not cover the client -> IMPLICIT_DENY, the policy listed under denied.implicitDeny.
    iot.create_policy(policyName="TestPolicyAllowed", policyDocument=doc({"Effect": "Allow", "Action": "iot:Connect", "Resource": arn("client", "client1")}))
    iot.attach_policy(policyName="TestPolicyAllowed", target=device)
    r = authz(iot, device, "CONNECT", [arn("client", "client1")])
    assert r["authDecision"] == "ALLOWED"
    assert r["allowed"]["policies"] == [{"policyName": "TestPolicyAllowed", "policyArn": arn("policy", "TestPolicyAllowed")}]
    assert r["denied"] == {"implicitDeny": {"policies": []}, "explicitDeny": {"policies": []}}
    assert r["authInfo"] == {"actionType": "CONNECT", "resources": [arn("client", "client1")]}
    iot.detach_policy(policyName="TestPolicyAllowed", target=device)
    iot.create_policy(policyName="TestPolicyDenied", policyDocument=doc({"Effect": "Allow", "Action": "iot:Connect", "Resource": arn("client", "client2")}))
    iot.attach_policy(policyName="TestPolicyDenied", target=device)
    r = authz(iot, device, "CONNECT", [arn("client", "client1")])
    assert r["authDecision"] == "IMPLICIT_DENY"
    assert names(r, "denied", "implicitDeny") == ["TestPolicyDenied"] and r["allowed"]["policies"] == []


def test_no_policy_is_implicit_deny(iot, device):
    r = authz(iot, device, "CONNECT", [arn("client", "core1")], client_id="core1")
    assert r["authDecision"] == "IMPLICIT_DENY" and r["allowed"]["policies"] == []


def test_explicit_deny_wins(iot, device):
    # "Connect policy examples": allow every client except client1.
    iot.create_policy(
        policyName="all-but-client1",
        policyDocument=doc(
            {"Effect": "Allow", "Action": ["iot:Connect"], "Resource": [arn("client", "*")]},
            {"Effect": "Deny", "Action": ["iot:Connect"], "Resource": [arn("client", "client1")]},
        ),
    )
    iot.attach_policy(policyName="all-but-client1", target=device)
    assert authz(iot, device, "CONNECT", [arn("client", "client2")])["authDecision"] == "ALLOWED"
    r = authz(iot, device, "CONNECT", [arn("client", "client1")])
    assert r["authDecision"] == "EXPLICIT_DENY" and names(r, "denied", "explicitDeny") == ["all-but-client1"]
    # an Allow in a second policy does not beat the Deny
    iot.create_policy(policyName="allow-client1", policyDocument=doc({"Effect": "Allow", "Action": "iot:Connect", "Resource": arn("client", "client1")}))
    iot.attach_policy(policyName="allow-client1", target=device)
    assert authz(iot, device, "CONNECT", [arn("client", "client1")])["authDecision"] == "EXPLICIT_DENY"


def test_thing_policy_variables_need_the_attached_thing_as_client_id(iot, device):
    # "Thing policy variables": client/${iot:Connection.Thing.ThingName} with IsAttached.
    iot.create_policy(
        policyName="thing",
        policyDocument=doc(
            {
                "Effect": "Allow",
                "Action": "iot:Connect",
                "Resource": arn("client", "${iot:Connection.Thing.ThingName}"),
                "Condition": {"Bool": {"iot:Connection.Thing.IsAttached": "true"}},
            },
            {
                "Effect": "Allow",
                "Action": "iot:Publish",
                "Resource": arn("topic", "${iot:Connection.Thing.ThingName}/*"),
                "Condition": {"StringEquals": {"iot:Connection.Thing.Attributes[site]": "north"}},
            },
        ),
    )
    iot.attach_policy(policyName="thing", target=device)
    assert authz(iot, device, "CONNECT", [arn("client", "core1")], client_id="core1")["authDecision"] == "ALLOWED"
    assert authz(iot, device, "PUBLISH", [arn("topic", "core1/status")], client_id="core1")["authDecision"] == "ALLOWED"
    # another thing, not attached to this certificate: the variables do not resolve
    iot.create_thing(thingName="core2", attributePayload={"attributes": {"site": "north"}})
    r = authz(iot, device, "CONNECT", [arn("client", "core2")], client_id="core2")
    assert r["authDecision"] == "IMPLICIT_DENY" and "iot:Connection.Thing.ThingName" in r["missingContextValues"]
    # no client id at all
    assert authz(iot, device, "CONNECT", [arn("client", "core1")])["authDecision"] == "IMPLICIT_DENY"
    iot.update_thing(thingName="core1", attributePayload={"attributes": {"site": "south"}})
    assert authz(iot, device, "PUBLISH", [arn("topic", "core1/status")], client_id="core1")["authDecision"] == "IMPLICIT_DENY"


def test_client_id_variable(iot, device):
    # "Publish/Subscribe policy examples": iot:Connect on client/${iot:ClientId}.
    iot.create_policy(policyName="cid", policyDocument=doc({"Effect": "Allow", "Action": "iot:Connect", "Resource": arn("client", "${iot:ClientId}")}))
    iot.attach_policy(policyName="cid", target=device)
    assert authz(iot, device, "CONNECT", [arn("client", "abc")], client_id="abc")["authDecision"] == "ALLOWED"
    assert authz(iot, device, "CONNECT", [arn("client", "abc")], client_id="xyz")["authDecision"] == "IMPLICIT_DENY"


def test_topic_filters_and_mqtt_wildcards(iot, device):
    # "Publish/Subscribe policy examples": Subscribe is on topicfilter/, Receive/Publish on topic/;
    # + and # are literal in the policy, the policy's * matches them.
    iot.create_policy(
        policyName="pubsub",
        policyDocument=doc(
            {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": arn("topicfilter", "core1/python/*")},
            {"Effect": "Allow", "Action": ["iot:Receive", "iot:Publish"], "Resource": arn("topic", "core1/python/*")},
        ),
    )
    iot.attach_policy(policyName="pubsub", target=device)
    ok = lambda a, r: authz(iot, device, a, [r], client_id="core1")["authDecision"]  # noqa: E731
    assert ok("SUBSCRIBE", arn("topicfilter", "core1/python/#")) == "ALLOWED"
    assert ok("SUBSCRIBE", arn("topicfilter", "core1/python/request")) == "ALLOWED"
    assert ok("SUBSCRIBE", arn("topicfilter", "core1/#")) == "IMPLICIT_DENY"
    assert ok("SUBSCRIBE", arn("topic", "core1/python/request")) == "IMPLICIT_DENY"
    assert ok("RECEIVE", arn("topic", "core1/python/request")) == "ALLOWED"
    assert ok("PUBLISH", arn("topic", "core1/other")) == "IMPLICIT_DENY"
    # every resource of an auth info must be allowed
    r = authz(iot, device, "PUBLISH", [arn("topic", "core1/python/a"), arn("topic", "core1/other")], client_id="core1")
    assert r["authDecision"] == "IMPLICIT_DENY"


def test_thing_group_policies_apply_to_the_connected_thing(iot, device):
    iot.create_thing_group(thingGroupName="fleet")
    iot.create_thing_group(thingGroupName="site-a", parentGroupName="fleet")
    iot.add_thing_to_thing_group(thingGroupName="site-a", thingName="core1")
    iot.create_policy(policyName="fleet-connect", policyDocument=doc({"Effect": "Allow", "Action": "iot:Connect", "Resource": arn("client", "*")}))
    iot.attach_policy(policyName="fleet-connect", target=arn("thinggroup", "fleet"))  # on the parent group
    r = authz(iot, device, "CONNECT", [arn("client", "core1")], client_id="core1")
    assert r["authDecision"] == "ALLOWED" and names(r, "allowed") == ["fleet-connect"]
    # connected under another client id, the connection has no thing, so no group policy applies
    assert authz(iot, device, "CONNECT", [arn("client", "other")], client_id="other")["authDecision"] == "IMPLICIT_DENY"


def test_policy_names_to_add_and_skip(iot, device):
    iot.create_policy(policyName="attached", policyDocument=doc({"Effect": "Allow", "Action": "iot:Connect", "Resource": arn("client", "*")}))
    iot.create_policy(policyName="extra", policyDocument=doc({"Effect": "Allow", "Action": "iot:Publish", "Resource": arn("topic", "*")}))
    iot.attach_policy(policyName="attached", target=device)
    assert authz(iot, device, "CONNECT", [arn("client", "c")], policyNamesToSkip=["attached"])["authDecision"] == "IMPLICIT_DENY"
    assert authz(iot, device, "PUBLISH", [arn("topic", "t")])["authDecision"] == "IMPLICIT_DENY"
    r = authz(iot, device, "PUBLISH", [arn("topic", "t")], policyNamesToAdd=["extra"])
    assert r["authDecision"] == "ALLOWED" and names(r, "allowed") == ["extra"]
    with pytest.raises(ClientError) as e:
        authz(iot, device, "PUBLISH", [arn("topic", "t")], policyNamesToAdd=["missing"])
    assert error_of(e)[:2] == (404, "ResourceNotFoundException")


def test_several_auth_infos(iot, device):
    iot.create_policy(policyName="p", policyDocument=doc({"Effect": "Allow", "Action": "iot:Connect", "Resource": arn("client", "core1")}))
    iot.attach_policy(policyName="p", target=device)
    out = iot.test_authorization(
        principal=device,
        authInfos=[{"actionType": "CONNECT", "resources": [arn("client", "core1")]}, {"actionType": "PUBLISH", "resources": [arn("topic", "x")]}],
    )["authResults"]
    assert [r["authDecision"] for r in out] == ["ALLOWED", "IMPLICIT_DENY"]


def test_request_validation(emu, iot, device):
    loose = emu.client("iot", validate=False)
    cases = [
        (dict(principal=device, authInfos=[]), 400, "InvalidRequestException"),  # authInfos: min 1
        (dict(principal=device, authInfos=[{"actionType": "CONNECT", "resources": ["x"]}] * 11), 400, "InvalidRequestException"),  # max 10
        (dict(principal=device, authInfos=[{"actionType": "CONNECT"}]), 400, "InvalidRequestException"),  # resources required
        (dict(principal=device, authInfos=[{"actionType": "DANCE", "resources": ["x"]}]), 400, "InvalidRequestException"),
        (dict(principal=device, authInfos=[{"resources": ["x"]}]), 400, "InvalidRequestException"),
        (dict(authInfos=[{"actionType": "CONNECT", "resources": ["x"]}]), 400, "InvalidRequestException"),
        (dict(principal=arn("cert", "0" * 64), authInfos=[{"actionType": "CONNECT", "resources": ["x"]}]), 404, "ResourceNotFoundException"),
    ]
    for args, status, code in cases:
        with pytest.raises(ClientError) as e:
            loose.test_authorization(**args)
        assert error_of(e)[0] == status and e.value.response["Error"]["Code"] == code, args


def test_malformed_iot_policy_is_refused(iot):
    bad = [
        "not json",
        json.dumps({"Version": "2012-10-17"}),
        doc({"Effect": "Maybe", "Action": "iot:Connect", "Resource": "*"}),
        doc({"Effect": "Allow", "Action": "iot:Connect", "Resource": "*", "Condition": {"StringSortOf": {"iot:ClientId": "x"}}}),
    ]
    for d in bad:
        with pytest.raises(ClientError) as e:
            iot.create_policy(policyName="bad", policyDocument=d)
        assert error_of(e)[0] == 400 and e.value.response["Error"]["Code"] == "MalformedPolicyException", d
    iot.create_policy(policyName="good", policyDocument=doc({"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}))
    with pytest.raises(ClientError) as e:
        iot.create_policy_version(policyName="good", policyDocument=bad[2])
    assert e.value.response["Error"]["Code"] == "MalformedPolicyException"


# ------------------------------------------------------------------------------------------------ SimulatePrincipalPolicy

TRUST = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "credentials.iot.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
)
ROLE = f"arn:aws:iam::{ACCT}:role/tes"


@pytest.fixture
def iam(emu):
    return emu.client("iam")


@pytest.fixture
def role(iam):
    iam.create_role(RoleName="tes", AssumeRolePolicyDocument=TRUST)
    iam.put_role_policy(
        RoleName="tes",
        PolicyName="artifacts",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/ggp/*"}]}, indent=2
        ),
    )
    iam.attach_role_policy(RoleName="tes", PolicyArn="arn:aws:iam::aws:policy/CloudWatchLogsFullAccess")
    return ROLE


def sim(iam, actions, resources=None, source=ROLE, **kw):
    args = dict(PolicySourceArn=source, ActionNames=actions, **kw)
    if resources is not None:
        args["ResourceArns"] = resources
    return iam.simulate_principal_policy(**args)


def test_simulate_role_inline_and_managed(iam, role):
    out = sim(iam, ["s3:GetObject", "logs:PutLogEvents", "secretsmanager:GetSecretValue"], ["arn:aws:s3:::bucket/ggp/a.zip", "arn:aws:s3:::other/a.zip"])
    got = [(r["EvalActionName"], r["EvalResourceName"], r["EvalDecision"]) for r in out["EvaluationResults"]]
    assert got == [
        ("s3:GetObject", "arn:aws:s3:::bucket/ggp/a.zip", "allowed"),
        ("s3:GetObject", "arn:aws:s3:::other/a.zip", "implicitDeny"),
        ("logs:PutLogEvents", "arn:aws:s3:::bucket/ggp/a.zip", "allowed"),  # CloudWatchLogsFullAccess: logs:* on *
        ("logs:PutLogEvents", "arn:aws:s3:::other/a.zip", "allowed"),
        ("secretsmanager:GetSecretValue", "arn:aws:s3:::bucket/ggp/a.zip", "implicitDeny"),
        ("secretsmanager:GetSecretValue", "arn:aws:s3:::other/a.zip", "implicitDeny"),
    ]
    assert out["IsTruncated"] is False
    first = out["EvaluationResults"][0]
    (m,) = first["MatchedStatements"]
    assert (m["SourcePolicyId"], m["SourcePolicyType"]) == ("artifacts", "role")
    # the positions point at the statement in the document as stored
    text = iam.get_role_policy(RoleName="tes", PolicyName="artifacts")["PolicyDocument"]
    lines = json.dumps(text, indent=2).split("\n")
    assert lines[m["StartPosition"]["Line"] - 1][m["StartPosition"]["Column"] - 1] == "{"
    assert lines[m["EndPosition"]["Line"] - 1][m["EndPosition"]["Column"] - 1] == "}"
    logs = out["EvaluationResults"][2]["MatchedStatements"]
    assert [(s["SourcePolicyId"], s["SourcePolicyType"]) for s in logs] == [("CloudWatchLogsFullAccess", "aws-managed")]
    assert out["EvaluationResults"][1]["MatchedStatements"] == []


def test_simulate_default_resource_is_star(iam, role):
    # No ResourceArns: '*'. A statement scoped to a bucket does not cover '*'.
    (r,) = sim(iam, ["s3:GetObject"])["EvaluationResults"]
    assert (r["EvalResourceName"], r["EvalDecision"]) == ("*", "implicitDeny")


def test_simulate_explicit_deny(iam, role):
    iam.put_role_policy(
        RoleName="tes",
        PolicyName="no-logs",
        PolicyDocument=doc({"Effect": "Deny", "Action": "logs:PutLogEvents", "Resource": "*"}),
    )
    r = sim(iam, ["logs:PutLogEvents", "logs:CreateLogStream"])["EvaluationResults"]
    assert [x["EvalDecision"] for x in r] == ["explicitDeny", "allowed"]
    assert [s["SourcePolicyId"] for s in r[0]["MatchedStatements"]] == ["no-logs"]


def test_simulate_policy_input_and_boundary(iam, role):
    extra = doc({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
    (r,) = sim(iam, ["secretsmanager:GetSecretValue"], PolicyInputList=[extra])["EvaluationResults"]
    assert r["EvalDecision"] == "allowed" and r["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"
    boundary = doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    out = sim(iam, ["s3:GetObject", "logs:PutLogEvents"], ["arn:aws:s3:::bucket/ggp/k"], PermissionsBoundaryPolicyInputList=[boundary])["EvaluationResults"]
    assert [(x["EvalDecision"], x["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"]) for x in out] == [
        ("allowed", True),
        ("implicitDeny", False),
    ]
    with pytest.raises(ClientError) as e:
        sim(iam, ["s3:GetObject"], PermissionsBoundaryPolicyInputList=[boundary, boundary])
    assert error_of(e)[0] == 400 and e.value.response["Error"]["Code"] == "InvalidInput"


def test_simulate_attached_permissions_boundary(iam):
    b = iam.create_policy(PolicyName="only-s3", PolicyDocument=doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}))["Policy"]["Arn"]
    iam.create_role(RoleName="bounded", AssumeRolePolicyDocument=TRUST, PermissionsBoundary=b)
    iam.put_role_policy(RoleName="bounded", PolicyName="all", PolicyDocument=doc({"Effect": "Allow", "Action": "*", "Resource": "*"}))
    out = sim(iam, ["s3:GetObject", "iam:CreateUser"], source=f"arn:aws:iam::{ACCT}:role/bounded")["EvaluationResults"]
    assert [x["EvalDecision"] for x in out] == ["allowed", "implicitDeny"]
    out = sim(iam, ["iam:CreateUser"], source=f"arn:aws:iam::{ACCT}:role/bounded", PolicyExclusionList=[{"PolicyType": "permission-boundary"}])
    assert out["EvaluationResults"][0]["EvalDecision"] == "allowed"


def test_simulate_context_entries_and_missing_values(iam, role):
    iam.put_role_policy(
        RoleName="tes",
        PolicyName="tls",
        PolicyDocument=doc({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}),
    )
    (r,) = sim(iam, ["secretsmanager:GetSecretValue"])["EvaluationResults"]
    assert r["EvalDecision"] == "implicitDeny" and r["MissingContextValues"] == ["aws:SecureTransport"]
    ctx = lambda v: [{"ContextKeyName": "aws:SecureTransport", "ContextKeyValues": [v], "ContextKeyType": "boolean"}]  # noqa: E731
    (r,) = sim(iam, ["secretsmanager:GetSecretValue"], ContextEntries=ctx("true"))["EvaluationResults"]
    assert r["EvalDecision"] == "allowed" and r["MissingContextValues"] == []
    (r,) = sim(iam, ["secretsmanager:GetSecretValue"], ContextEntries=ctx("false"))["EvaluationResults"]
    assert r["EvalDecision"] == "implicitDeny"


def test_simulate_user_with_groups_and_resource_policy(iam):
    iam.create_user(UserName="carlos")
    iam.create_group(GroupName="readers")
    iam.add_user_to_group(GroupName="readers", UserName="carlos")
    iam.put_group_policy(GroupName="readers", PolicyName="read", PolicyDocument=doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}))
    user = f"arn:aws:iam::{ACCT}:user/carlos"
    (r,) = sim(iam, ["s3:GetObject"], ["arn:aws:s3:::b/k"], source=user)["EvaluationResults"]
    assert r["EvalDecision"] == "allowed" and (r["MatchedStatements"][0]["SourcePolicyId"], r["MatchedStatements"][0]["SourcePolicyType"]) == ("read", "group")
    # a bucket policy that allows carlos s3:PutObject: allowed through the resource policy alone
    bucket = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": user}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"}]}
    )
    (r,) = sim(iam, ["s3:PutObject"], ["arn:aws:s3:::b/k"], source=user, ResourcePolicy=bucket)["EvaluationResults"]
    assert r["EvalDecision"] == "allowed" and r["MatchedStatements"][0]["SourcePolicyType"] == "resource"
    (r,) = sim(iam, ["s3:PutObject"], ["arn:aws:s3:::b/k"], source=user)["EvaluationResults"]
    assert r["EvalDecision"] == "implicitDeny"
    (r,) = sim(iam, ["s3:PutObject"], ["arn:aws:s3:::b/k"], source=user, ResourcePolicy=bucket, CallerArn=f"arn:aws:iam::{ACCT}:user/eve")["EvaluationResults"]
    assert r["EvalDecision"] == "implicitDeny"
    # the group's policy excluded by its inline identifier
    excl = [{"InlinePolicyIdentifier": {"PolicyName": "read", "AttachmentType": "group", "AttachmentName": "readers"}}]
    (r,) = sim(iam, ["s3:GetObject"], ["arn:aws:s3:::b/k"], source=user, PolicyExclusionList=excl)["EvaluationResults"]
    assert r["EvalDecision"] == "implicitDeny"


def test_simulate_pagination(iam, role):
    actions = ["s3:GetObject", "logs:PutLogEvents", "logs:CreateLogStream"]
    first = sim(iam, actions, MaxItems=2)
    assert len(first["EvaluationResults"]) == 2 and first["IsTruncated"] is True and first["Marker"]
    second = sim(iam, actions, MaxItems=2, Marker=first["Marker"])
    assert [r["EvalActionName"] for r in second["EvaluationResults"]] == ["logs:CreateLogStream"] and second["IsTruncated"] is False
    assert "Marker" not in second
    pages = list(iam.get_paginator("simulate_principal_policy").paginate(PolicySourceArn=ROLE, ActionNames=actions, PaginationConfig={"PageSize": 1}))
    assert [p["EvaluationResults"][0]["EvalActionName"] for p in pages] == actions
    with pytest.raises(ClientError) as e:
        sim(iam, actions, Marker="bm90LWEtbWFya2Vy")
    assert e.value.response["Error"]["Code"] == "InvalidInput"


def test_simulate_errors(emu, iam, role):
    loose = emu.client("iam", validate=False)
    with pytest.raises(ClientError) as e:
        sim(iam, ["s3:GetObject"], source=f"arn:aws:iam::{ACCT}:role/missing")
    assert error_of(e)[0] == 404 and e.value.response["Error"]["Code"] == "NoSuchEntity"
    cases = [
        dict(PolicySourceArn=f"arn:aws:sts::{ACCT}:assumed-role/tes/session", ActionNames=["s3:GetObject"]),
        dict(PolicySourceArn=ROLE, ActionNames=["GetObject"]),
        dict(PolicySourceArn=ROLE, ActionNames=["s3:GetObject"], PolicyInputList=["{not json"]),
        dict(PolicySourceArn=ROLE, ActionNames=["s3:GetObject"], MaxItems=0),
        dict(PolicySourceArn=ROLE),
        dict(PolicySourceArn=ROLE, ActionNames=["s3:GetObject"], ResourcePolicy=doc({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"})),
    ]
    for args in cases:
        with pytest.raises(ClientError) as e:
            loose.simulate_principal_policy(**args)
        assert error_of(e)[0] == 400 and e.value.response["Error"]["Code"] in ("InvalidInput", "ValidationError"), args


def test_simulate_custom_policy(iam):
    allow = doc({"Effect": "Allow", "Action": "logs:*", "Resource": "arn:aws:logs:*:*:log-group:/aws/greengrass/*"})
    out = iam.simulate_custom_policy(
        PolicyInputList=[allow],
        ActionNames=["logs:CreateLogStream"],
        ResourceArns=[f"arn:aws:logs:{R}:{ACCT}:log-group:/aws/greengrass/GreengrassSystemComponent:log-stream:s", f"arn:aws:logs:{R}:{ACCT}:log-group:/other:log-stream:s"],
    )["EvaluationResults"]
    assert [r["EvalDecision"] for r in out] == ["allowed", "implicitDeny"]
