"""Greengrass V2 public (AWS-provided) components: the built-in stand-in catalogue, through boto3."""

from __future__ import annotations

import json
import urllib.error

import boto3
import pytest
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import error_of
from test_greengrass_v2 import ACCOUNT, _core, _poll, _thing, deployable, recipe

CATALOGUE = {
    "aws.greengrass.Nucleus",
    "aws.greengrass.LambdaLauncher",
    "aws.greengrass.LambdaRuntimes",
    "aws.greengrass.LambdaManager",
    "aws.greengrass.TokenExchangeService",
    "aws.greengrass.LegacySubscriptionRouter",
    "aws.greengrass.SecretManager",
    "aws.greengrass.LogManager",
    "aws.greengrass.ShadowManager",
    "aws.greengrass.Cloudwatch",
    "aws.greengrass.Cli",
}


def public_arn(name: str, version: str | None = None, region: str = "us-east-1") -> str:
    arn = f"arn:aws:greengrass:{region}:aws:components:{name}"
    return f"{arn}:versions:{version}" if version else arn


def versions(gg2, name: str, **kw) -> list[str]:
    return [v["componentVersion"] for v in gg2.list_component_versions(arn=public_arn(name), **kw)["componentVersions"]]


def semver(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


def test_public_component_versions_newest_first(gg2):
    out = gg2.list_component_versions(arn=public_arn("aws.greengrass.LogManager"))
    got = [v["componentVersion"] for v in out["componentVersions"]]
    assert len(got) >= 4 and got == sorted(got, key=semver, reverse=True)
    assert {v.split(".")[1] for v in got} >= {"0", "1", "2", "3"}  # 2.0.x .. 2.3.x
    first = out["componentVersions"][0]
    assert first == {"componentName": "aws.greengrass.LogManager", "componentVersion": got[0], "arn": public_arn("aws.greengrass.LogManager", got[0])}
    assert "nextToken" not in out
    assert all(v.startswith("3.") for v in versions(gg2, "aws.greengrass.Cloudwatch"))
    for name in CATALOGUE:
        assert len(versions(gg2, name)) >= 3, name


def test_public_component_versions_paginate(gg2):
    every = versions(gg2, "aws.greengrass.Nucleus")
    seen, token = [], None
    while True:
        kw = {"nextToken": token} if token else {}
        page = gg2.list_component_versions(arn=public_arn("aws.greengrass.Nucleus"), maxResults=3, **kw)
        assert len(page["componentVersions"]) <= 3
        seen += [v["componentVersion"] for v in page["componentVersions"]]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == every and len(every) > 3


def test_unknown_public_component_is_not_found(gg2):
    for arn in (public_arn("aws.greengrass.NoSuchThing"), public_arn("aws.greengrass.Nucleus", region="eu-west-1")):
        with pytest.raises(ClientError) as e:
            gg2.list_component_versions(arn=arn)
        assert error_of(e)[:2] == (404, "ResourceNotFoundException")
        assert e.value.response["resourceType"] == "COMPONENT"
    with pytest.raises(ClientError) as e:  # a private component is not public
        gg2.create_component_version(inlineRecipe=recipe())
        gg2.list_component_versions(arn=public_arn("com.example.Hello"))
    assert error_of(e)[:2] == (404, "ResourceNotFoundException")


def test_describe_and_get_public_version(gg2):
    v = versions(gg2, "aws.greengrass.Nucleus")[0]
    arn = public_arn("aws.greengrass.Nucleus", v)
    d = gg2.describe_component(arn=arn)
    assert (d["arn"], d["componentName"], d["componentVersion"], d["publisher"]) == (arn, "aws.greengrass.Nucleus", v, "AWS")
    assert d["status"]["componentState"] == "DEPLOYABLE"
    assert {"name": "linux", "attributes": {"os": "linux"}} in d["platforms"]
    assert d["description"] and d["creationTimestamp"]
    assert "tags" not in d
    got = gg2.get_component(arn=arn)
    r = json.loads(got["recipe"])
    assert (r["ComponentName"], r["ComponentVersion"], r["ComponentPublisher"], r["ComponentType"]) == (
        "aws.greengrass.Nucleus",
        v,
        "AWS",
        "aws.greengrass.nucleus",
    )
    assert yaml.safe_load(gg2.get_component(arn=arn, recipeOutputFormat="YAML")["recipe"])["ComponentVersion"] == v
    for missing in (public_arn("aws.greengrass.Nucleus", "0.0.1"), public_arn("aws.greengrass.Nope", "1.0.0")):
        with pytest.raises(ClientError) as e:
            gg2.describe_component(arn=missing)
        assert error_of(e)[:2] == (404, "ResourceNotFoundException")
    with pytest.raises(ClientError) as e:  # not the account's to delete
        gg2.delete_component(arn=arn)
    assert error_of(e)[:2] == (404, "ResourceNotFoundException")
    assert v in versions(gg2, "aws.greengrass.Nucleus")
    with pytest.raises(ClientError) as e:  # nor to tag
        gg2.tag_resource(resourceArn=arn, tags={"k": "v"})
    assert error_of(e)[:2] == (404, "ResourceNotFoundException")


def test_list_components_scopes(emu, gg2):
    gg2.create_component_version(inlineRecipe=recipe())
    private = gg2.list_components()["components"]
    assert [c["componentName"] for c in private] == ["com.example.Hello"]
    assert gg2.list_components(scope="PRIVATE")["components"] == private
    public = gg2.list_components(scope="PUBLIC")["components"]
    names = [c["componentName"] for c in public]
    assert set(names) >= CATALOGUE and names == sorted(names) and "com.example.Hello" not in names
    log = next(c for c in public if c["componentName"] == "aws.greengrass.LogManager")
    latest = versions(gg2, "aws.greengrass.LogManager")[0]
    assert log["arn"] == public_arn("aws.greengrass.LogManager")
    assert log["latestVersion"]["arn"] == public_arn("aws.greengrass.LogManager", latest)
    assert (log["latestVersion"]["componentVersion"], log["latestVersion"]["publisher"]) == (latest, "AWS")
    assert log["latestVersion"]["platforms"]
    page = gg2.list_components(scope="PUBLIC", maxResults=4)
    assert len(page["components"]) == 4 and page["nextToken"]
    rest = gg2.list_components(scope="PUBLIC", nextToken=page["nextToken"])["components"]
    assert [c["componentName"] for c in page["components"] + rest] == names
    # The model's ComponentVisibilityScope is PRIVATE | PUBLIC; there is no ALL.
    with pytest.raises(ClientError) as e:
        emu.client("greengrassv2", validate=False).list_components(scope="ALL")
    assert error_of(e)[:2] == (400, "ValidationException")


def test_deployment_of_public_components(emu, gg2, iot):
    target = _core(emu, iot)
    nucleus = versions(gg2, "aws.greengrass.Nucleus")[0]
    cli = versions(gg2, "aws.greengrass.Cli")[-1]  # any listed version, not only the latest
    deployable(gg2, inlineRecipe=recipe())
    ok = gg2.create_deployment(
        targetArn=target,
        components={
            "aws.greengrass.Nucleus": {"componentVersion": nucleus},
            "aws.greengrass.Cli": {"componentVersion": cli},
            "com.example.Hello": {"componentVersion": "1.0.0"},
        },
    )["deploymentId"]
    assert _poll(gg2, ok, 3) == ["ACTIVE", "ACTIVE", "COMPLETED"]


def test_deployment_of_unknown_public_version_fails(emu, gg2, iot):
    target = _thing(iot)
    emu.post("/ggp-bench/greengrassv2/core-device", {"thingName": "core1"})
    dep = gg2.create_deployment(
        targetArn=target,
        components={"aws.greengrass.Nucleus": {"componentVersion": "2.99.0"}, "aws.greengrass.Nope": {"componentVersion": "1.0.0"}},
    )["deploymentId"]
    assert _poll(gg2, dep, 3)[-1] == "FAILED"
    eff = gg2.list_effective_deployments(coreDeviceThingName="core1")["effectiveDeployments"][0]
    assert eff["coreDeviceExecutionStatus"] == "FAILED"
    assert "aws.greengrass.Nucleus@2.99.0" in eff["reason"] and "aws.greengrass.Nope@1.0.0" in eff["reason"]
    assert eff["statusDetails"]["errorStack"] == ["DEPLOYMENT_FAILURE", "NO_AVAILABLE_COMPONENT_VERSION"]


def test_private_component_overrides_public_name(emu, gg2, iot):
    target = _core(emu, iot)
    deployable(gg2, inlineRecipe=recipe(name="aws.greengrass.LogManager", version="9.0.0"))
    dep = gg2.create_deployment(targetArn=target, components={"aws.greengrass.LogManager": {"componentVersion": "9.0.0"}})["deploymentId"]
    assert _poll(gg2, dep, 3)[-1] == "COMPLETED"
    assert "9.0.0" not in versions(gg2, "aws.greengrass.LogManager")  # the public list is AWS's only


def test_control_publishes_public_version_until_reset(emu, gg2, iot):
    before = versions(gg2, "aws.greengrass.LogManager")
    out = emu.post("/ggp-bench/greengrassv2/public-component", {"componentName": "aws.greengrass.LogManager", "componentVersion": "2.4.0"})
    assert (out["componentName"], out["componentVersion"], out["published"]) == ("aws.greengrass.LogManager", "2.4.0", True)
    assert out["versions"] == ["2.4.0"] + before
    assert versions(gg2, "aws.greengrass.LogManager") == ["2.4.0"] + before
    assert versions(gg2, "aws.greengrass.LogManager", maxResults=1) == ["2.4.0"]
    d = gg2.describe_component(arn=public_arn("aws.greengrass.LogManager", "2.4.0"))
    assert (d["publisher"], d["status"]["componentState"]) == ("AWS", "DEPLOYABLE")
    latest = next(c for c in gg2.list_components(scope="PUBLIC")["components"] if c["componentName"] == "aws.greengrass.LogManager")
    assert latest["latestVersion"]["componentVersion"] == "2.4.0"
    again = emu.post("/ggp-bench/greengrassv2/public-component", {"componentName": "aws.greengrass.LogManager", "componentVersion": "2.4.0"})
    assert again["published"] is False and again["versions"] == out["versions"]
    # a component AWS did not have before
    emu.post("/ggp-bench/greengrassv2/public-component", {"componentName": "aws.greengrass.New", "componentVersion": "1.0.0", "description": "new"})
    assert versions(gg2, "aws.greengrass.New") == ["1.0.0"]
    assert gg2.describe_component(arn=public_arn("aws.greengrass.New", "1.0.0"))["description"] == "new"
    # in every region
    eu = boto3.client(
        "greengrassv2",
        endpoint_url=emu.url,
        region_name="eu-west-1",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="bench-secret",
        config=Config(retries={"max_attempts": 1}),
    )
    eu_versions = eu.list_component_versions(arn=public_arn("aws.greengrass.LogManager", region="eu-west-1"))["componentVersions"]
    assert eu_versions[0]["componentVersion"] == "2.4.0"
    # deployable once published
    target = _core(emu, iot)
    dep = gg2.create_deployment(targetArn=target, components={"aws.greengrass.LogManager": {"componentVersion": "2.4.0"}})["deploymentId"]
    assert _poll(gg2, dep, 3)[-1] == "COMPLETED"
    # reset restores the built-in catalogue
    emu.post("/moto-api/reset")
    assert versions(gg2, "aws.greengrass.LogManager") == before
    with pytest.raises(ClientError) as e:
        gg2.list_component_versions(arn=public_arn("aws.greengrass.New"))
    assert error_of(e)[:2] == (404, "ResourceNotFoundException")


@pytest.mark.parametrize(
    "body",
    [
        {"componentVersion": "1.0.0"},
        {"componentName": "aws.greengrass.LogManager"},
        {"componentName": "aws.greengrass.LogManager", "componentVersion": "2.4"},
        {"componentName": "a:b", "componentVersion": "1.0.0"},
        {"componentName": "aws.greengrass.LogManager", "componentVersion": "2.4.0", "description": 3},
    ],
)
def test_control_public_component_rejects_bad_input(emu, gg2, body):
    with pytest.raises(urllib.error.HTTPError) as e:
        emu.post("/ggp-bench/greengrassv2/public-component", body)
    assert e.value.code == 400
    assert "error" in json.loads(e.value.read())
