"""Greengrass V1 calls the emulator adds or fixes, through boto3."""

from __future__ import annotations

import urllib.error

import pytest
from botocore.exceptions import ClientError
from cryptography import x509

from conftest import error_of, greengrass_get

LOGGER = {"Component": "GreengrassSystem", "Id": "sys", "Level": "INFO", "Space": 1024, "Type": "FileSystem"}
CONNECTOR = {"ConnectorArn": "arn:aws:greengrass:us-east-1::/connectors/SNS/versions/1", "Id": "sns", "Parameters": {"DefaultSNSArn": "arn:aws:sns:us-east-1:123456789012:t"}}
CORE = {"CertificateArn": "arn:aws:iot:us-east-1:123456789012:cert/abc", "Id": "core", "ThingArn": "arn:aws:iot:us-east-1:123456789012:thing/grp_Core", "SyncShadow": True}


def _core_group_version(gg, **extra) -> tuple[str, str]:
    core = gg.create_core_definition(Name="cores", InitialVersion={"Cores": [CORE]})
    group = gg.create_group(Name="grp")
    v = gg.create_group_version(GroupId=group["Id"], CoreDefinitionVersionArn=core["LatestVersionArn"], **extra)
    return group["Id"], v["Version"]


def test_service_role_round_trip(emu, gg):
    iam = emu.client("iam")
    role = iam.create_role(RoleName="GreengrassServiceRole", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    assert "RoleArn" not in gg.get_service_role_for_account()
    at = gg.associate_service_role_to_account(RoleArn=role)["AssociatedAt"]
    got = gg.get_service_role_for_account()
    assert got["RoleArn"] == role and got["AssociatedAt"] == at
    assert gg.disassociate_service_role_from_account()["DisassociatedAt"]
    assert "RoleArn" not in gg.get_service_role_for_account()


def test_service_role_must_exist(gg):
    with pytest.raises(ClientError) as e:
        gg.associate_service_role_to_account(RoleArn="arn:aws:iam::123456789012:role/missing")
    status, code, err = error_of(e)
    assert (status, code, err["Code"]) == (400, "BadRequestException", "BadRequestException")


@pytest.mark.parametrize(
    "kind,items,content",
    [("logger", "Loggers", [LOGGER]), ("connector", "Connectors", [CONNECTOR])],
)
def test_logger_and_connector_definitions(gg, kind, items, content):
    K = kind.capitalize()
    created = getattr(gg, f"create_{kind}_definition")(Name=f"{kind}s", InitialVersion={items: content}, tags={"ggp:hash": "abc"})
    def_id = created["Id"]
    assert created["LatestVersion"] and created["LatestVersionArn"].endswith(created["LatestVersion"])
    got = getattr(gg, f"get_{kind}_definition")(**{f"{K}DefinitionId": def_id})
    assert got["Name"] == f"{kind}s" and got["tags"] == {"ggp:hash": "abc"}
    listed = getattr(gg, f"list_{kind}_definitions")()["Definitions"]
    assert [(d["Id"], d["Tags"]) for d in listed] == [(def_id, {"ggp:hash": "abc"})]

    v2 = getattr(gg, f"create_{kind}_definition_version")(**{f"{K}DefinitionId": def_id, items: content + content[:0]})
    versions = getattr(gg, f"list_{kind}_definition_versions")(**{f"{K}DefinitionId": def_id})["Versions"]
    assert {v["Version"] for v in versions} == {created["LatestVersion"], v2["Version"]}
    detail = getattr(gg, f"get_{kind}_definition_version")(**{f"{K}DefinitionId": def_id, f"{K}DefinitionVersionId": v2["Version"]})
    assert detail["Definition"] == {items: content}
    assert getattr(gg, f"get_{kind}_definition")(**{f"{K}DefinitionId": def_id})["LatestVersion"] == v2["Version"]

    getattr(gg, f"update_{kind}_definition")(**{f"{K}DefinitionId": def_id, "Name": "renamed"})
    assert getattr(gg, f"get_{kind}_definition")(**{f"{K}DefinitionId": def_id})["Name"] == "renamed"
    getattr(gg, f"delete_{kind}_definition")(**{f"{K}DefinitionId": def_id})
    with pytest.raises(ClientError) as e:
        getattr(gg, f"get_{kind}_definition")(**{f"{K}DefinitionId": def_id})
    assert error_of(e)[0] == 404


def test_logger_version_rejects_bad_enum(emu):
    gg = emu.client("greengrass", validate=False)
    d = gg.create_logger_definition(Name="l")
    with pytest.raises(ClientError) as e:
        gg.create_logger_definition_version(LoggerDefinitionId=d["Id"], Loggers=[dict(LOGGER, Level="LOUD")])
    status, code, err = error_of(e)
    assert (status, code) == (400, "BadRequestException")
    assert "Loggers[0].Level" in err["Message"]
    assert e.value.response["ErrorDetails"][0]["DetailedErrorMessage"].startswith("Loggers[0].Level must be one of")


def test_missing_required_member_is_bad_request(emu):
    gg = emu.client("greengrass", validate=False)
    with pytest.raises(ClientError) as e:
        gg.create_logger_definition(Name="l", InitialVersion={"Loggers": [{"Component": "Lambda", "Id": "x", "Type": "FileSystem"}]})
    status, code, err = error_of(e)
    assert (status, code) == (400, "BadRequestException")
    assert "InitialVersion.Loggers[0].Level is required" in err["Message"]
    assert gg.list_logger_definitions()["Definitions"] == []


@pytest.mark.parametrize("kind", ["core", "device", "function", "resource", "subscription", "logger", "connector"])
def test_create_definition_without_initial_version(gg, kind):
    created = getattr(gg, f"create_{kind}_definition")(Name="bare")
    assert "LatestVersion" not in created and "LatestVersionArn" not in created
    got = getattr(gg, f"get_{kind}_definition")(**{f"{kind.capitalize()}DefinitionId": created["Id"]})
    assert got["Id"] == created["Id"] and "LatestVersion" not in got
    versions = getattr(gg, f"list_{kind}_definition_versions")(**{f"{kind.capitalize()}DefinitionId": created["Id"]})
    assert versions["Versions"] == []


def test_function_definition_version_keeps_default_config(gg):
    fn = {
        "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f:1",
        "FunctionConfiguration": {"MemorySize": 16384, "Timeout": 3, "Pinned": True},
        "Id": "f",
    }
    default = {"Execution": {"IsolationMode": "NoContainer", "RunAs": {"Uid": 1000, "Gid": 1000}}}
    d = gg.create_function_definition(Name="fns", InitialVersion={"Functions": [fn], "DefaultConfig": default})
    v = gg.get_function_definition_version(FunctionDefinitionId=d["Id"], FunctionDefinitionVersionId=d["LatestVersion"])
    assert v["Definition"] == {"Functions": [fn], "DefaultConfig": default}


def test_group_version_keeps_logger_and_connector_arns(gg):
    loggers = gg.create_logger_definition(InitialVersion={"Loggers": [LOGGER]})
    connectors = gg.create_connector_definition(InitialVersion={"Connectors": [CONNECTOR]})
    group_id, version = _core_group_version(
        gg, LoggerDefinitionVersionArn=loggers["LatestVersionArn"], ConnectorDefinitionVersionArn=connectors["LatestVersionArn"]
    )
    d = gg.get_group_version(GroupId=group_id, GroupVersionId=version)["Definition"]
    assert d["LoggerDefinitionVersionArn"] == loggers["LatestVersionArn"]
    assert d["ConnectorDefinitionVersionArn"] == connectors["LatestVersionArn"]
    assert gg.get_group(GroupId=group_id)["LatestVersion"] == version


@pytest.mark.parametrize("member", ["LoggerDefinitionVersionArn", "ConnectorDefinitionVersionArn"])
def test_group_version_rejects_missing_logger_or_connector(gg, member):
    group = gg.create_group(Name="g")
    segment = "loggers" if member.startswith("Logger") else "connectors"
    bogus = f"arn:aws:greengrass:us-east-1:123456789012:greengrass/definition/{segment}/{'0' * 36}/versions/{'0' * 36}"
    with pytest.raises(ClientError) as e:
        gg.create_group_version(GroupId=group["Id"], **{member: bogus})
    status, code, err = error_of(e)
    assert (status, code) == (400, "BadRequestException")
    assert "definition reference does not exist" in err["Message"]


def test_subscription_with_underscore_thing_is_accepted(gg):
    sub = {"Id": "s1", "Source": "arn:aws:iot:us-east-1:123456789012:thing/grp_Core", "Subject": "t/#", "Target": "cloud"}
    d = gg.create_subscription_definition(InitialVersion={"Subscriptions": [sub]})
    v = gg.get_subscription_definition_version(SubscriptionDefinitionId=d["Id"], SubscriptionDefinitionVersionId=d["LatestVersion"])
    assert v["Definition"]["Subscriptions"] == [sub]
    with pytest.raises(ClientError) as e:
        gg.create_subscription_definition_version(SubscriptionDefinitionId=d["Id"], Subscriptions=[dict(sub, Source="not-an-arn")])
    assert error_of(e)[:2] == (400, "BadRequestException")


def test_group_certificate_authority(gg):
    group = gg.create_group(Name="g")
    cas = gg.list_group_certificate_authorities(GroupId=group["Id"])["GroupCertificateAuthorities"]
    assert len(cas) == 1
    new_arn = gg.create_group_certificate_authority(GroupId=group["Id"])["GroupCertificateAuthorityArn"]
    cas = gg.list_group_certificate_authorities(GroupId=group["Id"])["GroupCertificateAuthorities"]
    assert len(cas) == 2 and cas[1]["GroupCertificateAuthorityArn"] == new_arn
    got = gg.get_group_certificate_authority(GroupId=group["Id"], CertificateAuthorityId=cas[1]["GroupCertificateAuthorityId"])
    cert = x509.load_pem_x509_certificate(got["PemEncodedCertificate"].encode())
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    with pytest.raises(ClientError) as e:
        gg.list_group_certificate_authorities(GroupId="nope")
    assert error_of(e)[0] == 404


def test_connectivity_info(gg):
    assert gg.get_connectivity_info(ThingName="grp_Core")["ConnectivityInfo"] == []
    info = [{"HostAddress": "192.0.2.10", "Id": "lan", "Metadata": "", "PortNumber": 8883}]
    version = gg.update_connectivity_info(ThingName="grp_Core", ConnectivityInfo=info)["Version"]
    assert version
    assert gg.get_connectivity_info(ThingName="grp_Core")["ConnectivityInfo"] == info


def test_tags_on_groups_and_definitions(gg):
    group = gg.create_group(Name="g", tags={"a": "1"})
    assert gg.get_group(GroupId=group["Id"])["tags"] == {"a": "1"}
    gg.tag_resource(ResourceArn=group["Arn"], tags={"b": "2"})
    assert gg.list_tags_for_resource(ResourceArn=group["Arn"])["tags"] == {"a": "1", "b": "2"}
    gg.untag_resource(ResourceArn=group["Arn"], TagKeys=["a"])
    assert gg.list_tags_for_resource(ResourceArn=group["Arn"])["tags"] == {"b": "2"}
    d = gg.create_core_definition(Name="c", tags={"ggp:hash": "h1"})
    assert gg.list_tags_for_resource(ResourceArn=d["Arn"])["tags"] == {"ggp:hash": "h1"}
    with pytest.raises(ClientError) as e:
        gg.list_tags_for_resource(ResourceArn="arn:aws:greengrass:us-east-1:123456789012:greengrass/groups/nope")
    assert error_of(e)[:2] == (400, "BadRequestException")


def _poll(gg, group_id, deployment_id, n):
    return [gg.get_deployment_status(GroupId=group_id, DeploymentId=deployment_id) for _ in range(n)]


def test_deployment_progresses_to_success(gg):
    group_id, version = _core_group_version(gg)
    dep = gg.create_deployment(GroupId=group_id, GroupVersionId=version, DeploymentType="NewDeployment")
    statuses = [s["DeploymentStatus"] for s in _poll(gg, group_id, dep["DeploymentId"], 4)]
    assert statuses == ["Building", "InProgress", "Success", "Success"]
    listed = gg.list_deployments(GroupId=group_id)["Deployments"]
    assert [d["DeploymentId"] for d in listed] == [dep["DeploymentId"]]


def test_deployment_failure_by_control(emu, gg):
    group_id, version = _core_group_version(gg)
    emu.post("/ggp-bench/greengrass/deployment-outcome", {"groupId": group_id, "status": "Failure", "errorMessage": "core went away"})
    dep = gg.create_deployment(GroupId=group_id, GroupVersionId=version, DeploymentType="NewDeployment")
    last = _poll(gg, group_id, dep["DeploymentId"], 3)[-1]
    assert last["DeploymentStatus"] == "Failure"
    assert last["ErrorMessage"] == "core went away"
    assert last["ErrorDetails"] == [{"DetailedErrorMessage": "core went away"}]


def test_failure_for_all_groups_and_poll_count(emu, gg):
    emu.post("/ggp-bench/config", {"deploymentPolls": 0})
    emu.post(
        "/ggp-bench/greengrass/deployment-outcome",
        {"status": "Failure", "errorMessage": "boom", "errorDetails": [{"DetailedErrorCode": "GG-1", "DetailedErrorMessage": "x"}]},
    )
    group_id, version = _core_group_version(gg)
    dep = gg.create_deployment(GroupId=group_id, GroupVersionId=version, DeploymentType="NewDeployment")
    s = gg.get_deployment_status(GroupId=group_id, DeploymentId=dep["DeploymentId"])
    assert (s["DeploymentStatus"], s["ErrorDetails"]) == ("Failure", [{"DetailedErrorCode": "GG-1", "DetailedErrorMessage": "x"}])


def test_reset_deployments_route(gg):
    group_id, version = _core_group_version(gg)
    with pytest.raises(ClientError) as e:
        gg.reset_deployments(GroupId=group_id)
    assert error_of(e)[:2] == (400, "BadRequestException")
    gg.create_deployment(GroupId=group_id, GroupVersionId=version, DeploymentType="NewDeployment")
    reset = gg.reset_deployments(GroupId=group_id)
    assert reset["DeploymentId"] and reset["DeploymentArn"].endswith(reset["DeploymentId"])
    types = [d["DeploymentType"] for d in gg.list_deployments(GroupId=group_id)["Deployments"]]
    assert types == ["ResetDeployment", "NewDeployment"]
    assert gg.reset_deployments(GroupId=group_id, Force=True)["DeploymentId"]


def test_deployment_needs_a_core(gg):
    group = gg.create_group(Name="g", InitialVersion={})
    with pytest.raises(ClientError) as e:
        gg.create_deployment(GroupId=group["Id"], GroupVersionId=group["LatestVersion"], DeploymentType="NewDeployment")
    status, code, _ = error_of(e)
    assert (status, code) == (400, "BadRequestException")
    assert e.value.response["ErrorDetails"][0]["DetailedErrorCode"] == "GG-303"


def test_unknown_greengrass_route_is_json(emu):
    status, headers, body = greengrass_get(emu.url, "/greengrass/no/such/thing")
    assert (status, headers["x-amzn-ErrorType"]) == (404, "UnknownOperationException")
    assert "No operation matches" in body["Message"]


def test_control_rejects_bad_input(emu):
    with pytest.raises(urllib.error.HTTPError) as e:
        emu.post("/ggp-bench/greengrass/deployment-outcome", {"status": "Maybe"})
    assert e.value.code == 400
    with pytest.raises(urllib.error.HTTPError) as e:
        emu.post("/ggp-bench/nope", {})
    assert e.value.code == 404


def test_group_role(emu, gg):
    role = emu.client("iam").create_role(RoleName="GroupRole", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    group = gg.create_group(Name="g")
    with pytest.raises(ClientError) as e:
        gg.get_associated_role(GroupId=group["Id"])
    assert error_of(e)[:2] == (400, "BadRequestException")
    at = gg.associate_role_to_group(GroupId=group["Id"], RoleArn=role)["AssociatedAt"]
    got = gg.get_associated_role(GroupId=group["Id"])
    assert (got["RoleArn"], got["AssociatedAt"]) == (role, at)
    with pytest.raises(ClientError) as e:
        gg.associate_role_to_group(GroupId="nope", RoleArn=role)
    assert error_of(e)[0] == 404
    gg.disassociate_role_from_group(GroupId=group["Id"])
    with pytest.raises(ClientError):
        gg.get_associated_role(GroupId=group["Id"])


def test_operations_not_emulated_answer_json(gg):
    with pytest.raises(ClientError) as e:
        gg.list_bulk_deployments()
    assert error_of(e)[:2] == (501, "NotImplemented")
    assert "ListBulkDeployments is not emulated" in error_of(e)[2]["Message"]
