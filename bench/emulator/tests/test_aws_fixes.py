"""IoT and Lambda calls ggp makes, where moto is fixed or checked to behave like AWS."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import error_of

POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}]})


def test_describe_endpoint_is_stable(iot, emu):
    ats = {iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"] for _ in range(3)}
    creds = {iot.describe_endpoint(endpointType="iot:CredentialProvider")["endpointAddress"] for _ in range(3)}
    assert len(ats) == 1 and len(creds) == 1
    (a,), (c,) = ats, creds
    assert a.endswith("-ats.iot.us-east-1.amazonaws.com") and c.endswith(".credentials.iot.us-east-1.amazonaws.com")
    emu.post("/moto-api/reset")
    assert iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"] == a  # per account, not per process state
    other = emu.client("iot")
    other.meta.events.register("before-sign.iot.*", lambda request, **kw: request.headers.__setitem__("x-moto-account-id", "111122223333"))
    assert other.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"] != a


def test_update_role_alias(iot):
    iot.create_role_alias(roleAlias="tes", roleArn="arn:aws:iam::123456789012:role/a", credentialDurationSeconds=3600)
    before = iot.describe_role_alias(roleAlias="tes")["roleAliasDescription"]
    out = iot.update_role_alias(roleAlias="tes", roleArn="arn:aws:iam::123456789012:role/b", credentialDurationSeconds=7200)
    assert out["roleAlias"] == "tes" and out["roleAliasArn"].endswith(":rolealias/tes")
    after = iot.describe_role_alias(roleAlias="tes")["roleAliasDescription"]
    assert (after["roleArn"], after["credentialDurationSeconds"]) == ("arn:aws:iam::123456789012:role/b", 7200)
    assert after["lastModifiedDate"] >= before["lastModifiedDate"]
    with pytest.raises(ClientError) as e:
        iot.update_role_alias(roleAlias="missing", roleArn="arn:aws:iam::123456789012:role/b")
    assert error_of(e)[:2] == (404, "ResourceNotFoundException")


def test_policy_versions(iot):
    iot.create_policy(policyName="p", policyDocument=POLICY)
    for _ in range(4):
        iot.create_policy_version(policyName="p", policyDocument=POLICY, setAsDefault=True)
    versions = iot.list_policy_versions(policyName="p")["policyVersions"]
    assert [(v["versionId"], v["isDefaultVersion"]) for v in versions] == [("1", False), ("2", False), ("3", False), ("4", False), ("5", True)]
    with pytest.raises(ClientError) as e:
        iot.create_policy_version(policyName="p", policyDocument=POLICY)
    assert error_of(e)[:2] == (409, "VersionsLimitExceededException")
    with pytest.raises(ClientError) as e:
        iot.delete_policy_version(policyName="p", policyVersionId="5")
    assert error_of(e)[0] == 400
    iot.delete_policy_version(policyName="p", policyVersionId="1")
    iot.set_default_policy_version(policyName="p", policyVersionId="2")
    assert iot.get_policy(policyName="p")["defaultVersionId"] == "2"
    with pytest.raises(ClientError) as e:
        iot.set_default_policy_version(policyName="p", policyVersionId="9")
    assert error_of(e)[:2] == (404, "ResourceNotFoundException")
    assert iot.get_policy(policyName="p")["defaultVersionId"] == "2"
    assert iot.create_policy_version(policyName="p", policyDocument=POLICY)["policyVersionId"] == "6"


def test_certificate_lifecycle(iot):
    cert = iot.create_keys_and_certificate(setAsActive=True)
    iot.create_thing(thingName="dev")
    iot.create_policy(policyName="p", policyDocument=POLICY)
    iot.attach_thing_principal(thingName="dev", principal=cert["certificateArn"])
    iot.attach_policy(policyName="p", target=cert["certificateArn"])
    with pytest.raises(ClientError) as e:
        iot.delete_certificate(certificateId=cert["certificateId"])
    assert error_of(e)[:2] == (406, "CertificateStateException")
    with pytest.raises(ClientError) as e:
        iot.update_certificate(certificateId=cert["certificateId"], newStatus="PENDING_TRANSFER")
    assert error_of(e)[:2] == (400, "InvalidRequestException")
    iot.update_certificate(certificateId=cert["certificateId"], newStatus="INACTIVE")
    assert iot.describe_certificate(certificateId=cert["certificateId"])["certificateDescription"]["status"] == "INACTIVE"
    with pytest.raises(ClientError) as e:
        iot.delete_certificate(certificateId=cert["certificateId"])
    assert error_of(e)[:2] == (409, "DeleteConflictException")
    iot.detach_thing_principal(thingName="dev", principal=cert["certificateArn"])
    assert iot.list_thing_principals(thingName="dev")["principals"] == []
    with pytest.raises(ClientError) as e:
        iot.delete_certificate(certificateId=cert["certificateId"])
    assert error_of(e)[:2] == (409, "DeleteConflictException")  # the policy is still attached
    iot.delete_certificate(certificateId=cert["certificateId"], forceDelete=True)
    with pytest.raises(ClientError) as e:
        iot.describe_certificate(certificateId=cert["certificateId"])
    assert error_of(e)[:2] == (404, "ResourceNotFoundException")


def test_update_certificate_validates_status(emu):
    iot = emu.client("iot", validate=False)
    cert = iot.create_keys_and_certificate(setAsActive=False)
    with pytest.raises(ClientError) as e:
        iot.update_certificate(certificateId=cert["certificateId"], newStatus="SLEEPING")
    status, code, err = error_of(e)
    assert (status, code) == (400, "InvalidRequestException")
    assert "newStatus must be one of" in err["Message"]


def test_certificate_from_csr_uses_the_csr_key(iot):
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "grp_Core")]))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
        .decode()
    )
    out = iot.create_certificate_from_csr(certificateSigningRequest=csr, setAsActive=True)
    cert = x509.load_pem_x509_certificate(out["certificatePem"].encode())
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    assert cert.public_key().public_bytes(*spki) == key.public_key().public_bytes(*spki)
    assert iot.describe_certificate(certificateId=out["certificateId"])["certificateDescription"]["status"] == "ACTIVE"
    inactive = iot.create_certificate_from_csr(certificateSigningRequest=csr, setAsActive=False)
    assert iot.describe_certificate(certificateId=inactive["certificateId"])["certificateDescription"]["status"] == "INACTIVE"
    with pytest.raises(ClientError) as e:
        iot.create_certificate_from_csr(certificateSigningRequest="-----BEGIN CERTIFICATE REQUEST-----\ngarbage\n-----END CERTIFICATE REQUEST-----\n")
    assert error_of(e)[:2] == (400, "InvalidRequestException")


def test_thing_groups(iot):
    created = iot.create_thing_group(thingGroupName="fleet")
    again = iot.create_thing_group(thingGroupName="fleet")
    assert again["thingGroupArn"] == created["thingGroupArn"]
    for name in ("a", "b"):
        iot.create_thing(thingName=name)
        iot.add_thing_to_thing_group(thingGroupName="fleet", thingName=name)
    iot.add_thing_to_thing_group(thingGroupName="fleet", thingName="a")
    assert sorted(iot.list_things_in_thing_group(thingGroupName="fleet")["things"]) == ["a", "b"]
    with pytest.raises(ClientError) as e:
        iot.add_thing_to_thing_group(thingGroupName="fleet", thingName="ghost")
    assert error_of(e)[:2] == (404, "ResourceNotFoundException")


def _zip(text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", text)
    return buf.getvalue()


def test_publish_version_returns_existing_version_when_unchanged(emu):
    iam, lam = emu.client("iam"), emu.client("lambda")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = _zip("def handler(e, c):\n    return 1\n")
    lam.create_function(FunctionName="f", Runtime="python3.12", Role=role, Handler="app.handler", Code={"ZipFile": code})
    assert lam.publish_version(FunctionName="f")["Version"] == "1"
    lam.update_function_code(FunctionName="f", ZipFile=code)  # same bytes
    lam.update_function_configuration(FunctionName="f", Timeout=3)  # same value
    assert lam.publish_version(FunctionName="f")["Version"] == "1"
    lam.update_function_code(FunctionName="f", ZipFile=_zip("def handler(e, c):\n    return 2\n"))
    assert lam.publish_version(FunctionName="f")["Version"] == "2"
    lam.update_function_configuration(FunctionName="f", Timeout=10)
    assert lam.publish_version(FunctionName="f")["Version"] == "3"
    assert lam.publish_version(FunctionName="f")["Version"] == "3"
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName="f")["Versions"]] == ["$LATEST", "1", "2", "3"]


def test_aws_managed_policies_attach_after_reset(emu):
    for _ in range(2):  # the emu fixture reset once already; reset again and use IAM again
        emu.post("/moto-api/reset")
        iam = emu.client("iam")
        iam.create_role(RoleName="gg", AssumeRolePolicyDocument="{}")
        arn = "arn:aws:iam::aws:policy/service-role/AWSGreengrassResourceAccessRolePolicy"
        iam.attach_role_policy(RoleName="gg", PolicyArn=arn)
        assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="gg")["AttachedPolicies"]] == [arn]
        with pytest.raises(ClientError) as e:
            iam.attach_role_policy(RoleName="gg", PolicyArn="arn:aws:iam::aws:policy/NoSuchManagedPolicy")
        assert error_of(e)[:2][0] == 404


def test_iot_tags(iot):
    tags = [{"Key": "ggp:managed-by", "Value": "ggp"}, {"Key": "ggp:group", "Value": "g"}]
    arn = iot.create_policy(policyName="tagged", policyDocument=POLICY, tags=tags)["policyArn"]
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == sorted(tags, key=lambda t: t["Key"])
    iot.tag_resource(resourceArn=arn, tags=[{"Key": "ggp:group", "Value": "h"}, {"Key": "x", "Value": ""}])
    iot.untag_resource(resourceArn=arn, tagKeys=["x", "absent"])
    got = {t["Key"]: t["Value"] for t in iot.list_tags_for_resource(resourceArn=arn)["tags"]}
    assert got == {"ggp:managed-by": "ggp", "ggp:group": "h"}
    alias = iot.create_role_alias(roleAlias="ra", roleArn="arn:aws:iam::123456789012:role/a", tags=tags[:1])["roleAliasArn"]
    assert iot.list_tags_for_resource(resourceArn=alias)["tags"] == tags[:1]
    assert iot.list_tags_for_resource(resourceArn=iot.create_policy(policyName="plain", policyDocument=POLICY)["policyArn"])["tags"] == []
    # Deleting the resource drops its tags: a new one with the same name starts bare.
    iot.delete_policy(policyName="tagged")
    with pytest.raises(ClientError) as e:
        iot.list_tags_for_resource(resourceArn=arn)
    assert error_of(e)[:2] == (404, "ResourceNotFoundException")
    iot.create_policy(policyName="tagged", policyDocument=POLICY)
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == []
    iot.delete_role_alias(roleAlias="ra")
    with pytest.raises(ClientError) as e:
        iot.tag_resource(resourceArn=alias, tags=tags)
    assert error_of(e)[:2] == (404, "ResourceNotFoundException")


def test_thing_group_tags(iot):
    tags = [{"Key": "ggp:group", "Value": "fleet"}, {"Key": "ggp:managed-by", "Value": "ggp"}]
    arn = iot.create_thing_group(thingGroupName="fleet", tags=tags)["thingGroupArn"]
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == tags
    iot.delete_thing_group(thingGroupName="fleet")
    with pytest.raises(ClientError) as e:
        iot.list_tags_for_resource(resourceArn=arn)
    assert error_of(e)[:2] == (404, "ResourceNotFoundException")
    again = iot.create_thing_group(thingGroupName="fleet")["thingGroupArn"]
    assert iot.list_tags_for_resource(resourceArn=again)["tags"] == []


def test_s3_conditional_writes_answer_412_as_s3_does(emu):
    # S3 conditional writes (moto implements them; kept here so a moto upgrade that loses them shows) (PutObject If-None-Match: * and If-Match: <ETag>): 412 PreconditionFailed.
    s3 = emu.client("s3")
    s3.create_bucket(Bucket="state")
    first = s3.put_object(Bucket="state", Key="g/lock", Body=b"holder-a", IfNoneMatch="*")
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket="state", Key="g/lock", Body=b"holder-b", IfNoneMatch="*")
    assert (error_of(e)[0], error_of(e)[2]["Code"]) == (412, "PreconditionFailed")  # S3: XML error, no x-amzn-errortype
    s3.put_object(Bucket="state", Key="g/lock", Body=b"holder-a2", IfMatch=first["ETag"])
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket="state", Key="g/lock", Body=b"late", IfMatch=first["ETag"])
    assert (error_of(e)[0], error_of(e)[2]["Code"]) == (412, "PreconditionFailed")
    assert s3.get_object(Bucket="state", Key="g/lock")["Body"].read() == b"holder-a2"
