"""Greengrass V2, which the emulator adds to moto, through boto3."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import urllib.error
import zipfile

import boto3
import pytest
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import error_of, greengrass_get

ACCOUNT = "123456789012"


def recipe(name="com.example.Hello", version="1.0.0", **extra) -> bytes:
    r = {"RecipeFormatVersion": "2020-01-25", "ComponentName": name, "ComponentVersion": version, "ComponentPublisher": "ggp"}
    r.update(extra)
    return json.dumps(r).encode()


def thing_arn(name: str) -> str:
    return f"arn:aws:iot:us-east-1:{ACCOUNT}:thing/{name}"


def deployable(gg2, **kw) -> dict:
    """CreateComponentVersion, then DescribeComponent until the service has processed it, as a
    client must (a new version is REQUESTED, then INITIATED, then DEPLOYABLE)."""
    created = gg2.create_component_version(**kw)
    for _ in range(5):
        if gg2.describe_component(arn=created["arn"])["status"]["componentState"] == "DEPLOYABLE":
            return created
    raise AssertionError(f"{created['arn']} never DEPLOYABLE")


def test_component_round_trip(gg2):
    created = gg2.create_component_version(inlineRecipe=recipe(ComponentDescription="hi"), tags={"t": "1"})
    arn = f"arn:aws:greengrass:us-east-1:{ACCOUNT}:components:com.example.Hello:versions:1.0.0"
    assert created["arn"] == arn
    # Processed by the service after the create: REQUESTED, INITIATED (componentPolls reads), DEPLOYABLE.
    assert created["status"]["componentState"] == "REQUESTED"
    states = [gg2.describe_component(arn=arn)["status"]["componentState"] for _ in range(3)]
    assert states == ["INITIATED", "DEPLOYABLE", "DEPLOYABLE"]
    d = gg2.describe_component(arn=arn)
    assert (d["componentName"], d["componentVersion"], d["publisher"], d["description"], d["tags"]) == (
        "com.example.Hello",
        "1.0.0",
        "ggp",
        "hi",
        {"t": "1"},
    )
    got = gg2.get_component(arn=arn)
    assert got["recipeOutputFormat"] == "JSON"
    assert json.loads(got["recipe"])["ComponentName"] == "com.example.Hello"
    as_yaml = gg2.get_component(arn=arn, recipeOutputFormat="YAML")
    assert yaml.safe_load(as_yaml["recipe"])["ComponentVersion"] == "1.0.0"


def test_yaml_recipe_and_versions_listing(gg2):
    for v in ("1.0.0", "1.10.0", "1.2.0"):
        text = f"RecipeFormatVersion: 2020-01-25\nComponentName: com.example.Y\nComponentVersion: '{v}'\nManifests:\n  - Platform: {{os: linux}}\n"
        gg2.create_component_version(inlineRecipe=text.encode())
    comps = gg2.list_components()["components"]
    assert [c["componentName"] for c in comps] == ["com.example.Y"]
    assert comps[0]["latestVersion"]["componentVersion"] == "1.10.0"
    assert comps[0]["latestVersion"]["platforms"] == [{"attributes": {"os": "linux"}}]
    versions = gg2.list_component_versions(arn=f"arn:aws:greengrass:us-east-1:{ACCOUNT}:components:com.example.Y")["componentVersions"]
    assert [v["componentVersion"] for v in versions] == ["1.10.0", "1.2.0", "1.0.0"]
    page = gg2.list_component_versions(arn=f"arn:aws:greengrass:us-east-1:{ACCOUNT}:components:com.example.Y", maxResults=2)
    assert len(page["componentVersions"]) == 2 and page["nextToken"]
    public = gg2.list_components(scope="PUBLIC")["components"]  # AWS's catalogue, not the account's components
    assert public and "com.example.Y" not in [c["componentName"] for c in public]


def test_conflict_and_delete(gg2):
    gg2.create_component_version(inlineRecipe=recipe())
    with pytest.raises(ClientError) as e:
        gg2.create_component_version(inlineRecipe=recipe())
    assert error_of(e)[:2] == (409, "ConflictException")
    assert e.value.response["resourceType"] == "COMPONENT_VERSION"
    arn = gg2.list_components()["components"][0]["latestVersion"]["arn"]
    gg2.delete_component(arn=arn)
    with pytest.raises(ClientError) as e:
        gg2.describe_component(arn=arn)
    assert error_of(e)[:2] == (404, "ResourceNotFoundException")
    assert gg2.list_components()["components"] == []


def test_bad_recipes_are_validation_errors(gg2):
    with pytest.raises(ClientError) as e:
        gg2.create_component_version(inlineRecipe=b"{not json: [")
    assert error_of(e)[:2] == (400, "ValidationException")
    assert e.value.response["reason"] == "CANNOT_PARSE"
    with pytest.raises(ClientError) as e:
        gg2.create_component_version(inlineRecipe=recipe(version="1.0"))
    assert error_of(e)[:2] == (400, "ValidationException")
    assert e.value.response["fields"] == [{"name": "ComponentVersion", "message": "must be a semantic version (major.minor.patch)"}]


def test_request_validation_against_model(emu):
    gg2 = emu.client("greengrassv2", validate=False)
    with pytest.raises(ClientError) as e:
        gg2.create_component_version(inlineRecipe=recipe(), clientToken="not valid!")
    status, code, err = error_of(e)
    assert (status, code) == (400, "ValidationException")
    assert e.value.response["reason"] == "FIELD_VALIDATION_FAILED"
    assert e.value.response["fields"][0]["name"] == "clientToken"
    with pytest.raises(ClientError) as e:
        gg2.create_deployment(components={})
    assert e.value.response["fields"] == [{"name": "targetArn", "message": "is required but was not provided"}]
    with pytest.raises(ClientError) as e:
        gg2.create_component_version()
    assert error_of(e)[:2] == (400, "ValidationException")


def test_artifact_digest_from_s3_and_missing_artifact(emu, gg2):
    s3 = emu.client("s3")
    s3.create_bucket(Bucket="artifacts")
    s3.put_object(Bucket="artifacts", Key="hello.py", Body=b"print('hi')\n")
    man = [{"Platform": {"os": "linux"}, "Artifacts": [{"URI": "s3://artifacts/hello.py"}]}]
    gg2.create_component_version(inlineRecipe=recipe(Manifests=man))
    arn = f"arn:aws:greengrass:us-east-1:{ACCOUNT}:components:com.example.Hello:versions:1.0.0"
    art = json.loads(gg2.get_component(arn=arn)["recipe"])["Manifests"][0]["Artifacts"][0]
    assert art["Digest"] == base64.b64encode(hashlib.sha256(b"print('hi')\n").digest()).decode()
    assert art["Algorithm"] == "SHA-256"
    missing = [{"Artifacts": [{"URI": "s3://artifacts/nope.py"}]}]
    created = gg2.create_component_version(inlineRecipe=recipe(version="2.0.0", Manifests=missing))
    assert created["status"]["componentState"] == "FAILED"
    assert "s3://artifacts/nope.py" in created["status"]["errors"]


def _lambda_version(emu) -> str:
    iam, lam = emu.client("iam"), emu.client("lambda")
    role = iam.create_role(RoleName="lambda-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(e, c):\n    return e\n")
    lam.create_function(FunctionName="sensor", Runtime="python3.12", Role=role, Handler="app.handler", Code={"ZipFile": buf.getvalue()})
    return lam.publish_version(FunctionName="sensor")["FunctionArn"]


def test_lambda_component(emu, gg2):
    fn_arn = _lambda_version(emu)
    created = gg2.create_component_version(
        lambdaFunction={
            "lambdaArn": fn_arn,
            "componentPlatforms": [{"name": "Linux x86", "attributes": {"os": "linux", "architecture": "amd64"}}],
            "componentDependencies": {"aws.greengrass.StreamManager": {"versionRequirement": "^2.0.0"}},
            "componentLambdaParameters": {
                "eventSources": [{"topic": "sensors/in", "type": "PUB_SUB"}],
                "pinned": False,
                "environmentVariables": {"MODE": "x"},
                "linuxProcessParams": {"isolationMode": "NoContainer"},
            },
        }
    )
    assert (created["componentName"], created["componentVersion"]) == ("sensor", "1.0.0")
    r = json.loads(gg2.get_component(arn=created["arn"])["recipe"])
    assert r["ComponentType"] == "aws.greengrass.lambda" and r["ComponentSource"] == fn_arn
    cfg = r["ComponentConfiguration"]["DefaultConfiguration"]
    assert cfg["containerMode"] == "NoContainer" and cfg["pinned"] is False and cfg["maxQueueSize"] == 1000
    assert cfg["pubsubTopics"] == {"0": {"topic": "sensors/in", "type": "PUB_SUB"}}
    assert cfg["lambdaExecutionParameters"]["EnvironmentVariables"] == {"MODE": "x"}
    deps = r["ComponentDependencies"]
    assert deps["aws.greengrass.LambdaLauncher"]["DependencyType"] == "HARD"
    assert deps["aws.greengrass.LambdaRuntimes"]["DependencyType"] == "SOFT"
    assert deps["aws.greengrass.StreamManager"] == {"VersionRequirement": "^2.0.0", "DependencyType": "HARD"}
    assert r["Manifests"][0]["Platform"] == {"os": "linux", "architecture": "amd64"}
    assert r["Manifests"][0]["Artifacts"][0]["Uri"] == "greengrass:lambda-artifact.zip"
    assert r["Lifecycle"]["setenv"]["AWS_GREENGRASS_LAMBDA_FUNCTION_HANDLER"] == "app.handler"
    # Only a published version can be imported: $LATEST, an alias or no qualifier is AccessDenied.
    base = fn_arn.rsplit(":", 1)[0]
    for unversioned in (base + ":$LATEST", base + ":live", base):
        with pytest.raises(ClientError) as e:
            gg2.create_component_version(lambdaFunction={"lambdaArn": unversioned})
        assert error_of(e)[:2] == (403, "AccessDeniedException"), unversioned


def _thing(iot, name="core1") -> str:
    iot.create_thing(thingName=name)
    return thing_arn(name)


def _core(emu, iot, name="core1", **device) -> str:
    """A thing whose core device has connected (registered), as a running nucleus would."""
    arn = _thing(iot, name)
    emu.post("/ggp-bench/greengrassv2/core-device", {"thingName": name, "status": "HEALTHY", **device})
    return arn


def _poll(gg2, dep_id, n):
    return [gg2.get_deployment(deploymentId=dep_id)["deploymentStatus"] for _ in range(n)]


def test_deployment_to_a_thing_no_device_has_connected_stays_active(gg2, iot):
    target = _thing(iot)
    deployable(gg2, inlineRecipe=recipe())
    dep = gg2.create_deployment(targetArn=target, components={"com.example.Hello": {"componentVersion": "1.0.0"}})
    assert _poll(gg2, dep["deploymentId"], 5) == ["ACTIVE"] * 5


def test_deployment_lifecycle(emu, gg2, iot):
    target = _core(emu, iot)
    deployable(gg2, inlineRecipe=recipe())
    dep = gg2.create_deployment(
        targetArn=target,
        deploymentName="d1",
        components={"com.example.Hello": {"componentVersion": "1.0.0", "configurationUpdate": {"merge": '{"a":1}'}}},
        deploymentPolicies={"failureHandlingPolicy": "DO_NOTHING"},
        iotJobConfiguration={"timeoutConfig": {"inProgressTimeoutInMinutes": 5}},
        tags={"k": "v"},
    )
    assert dep["iotJobArn"] == f"arn:aws:iot:us-east-1:{ACCOUNT}:job/{dep['iotJobId']}"
    assert _poll(gg2, dep["deploymentId"], 3) == ["ACTIVE", "ACTIVE", "COMPLETED"]
    eff = gg2.list_effective_deployments(coreDeviceThingName="core1")["effectiveDeployments"]
    assert [(e["deploymentId"], e["coreDeviceExecutionStatus"]) for e in eff] == [(dep["deploymentId"], "SUCCEEDED")]
    got = gg2.get_deployment(deploymentId=dep["deploymentId"])
    assert got["components"]["com.example.Hello"]["configurationUpdate"] == {"merge": '{"a":1}'}
    assert (got["revisionId"], got["isLatestForTarget"], got["tags"]) == ("1", True, {"k": "v"})
    assert got["iotJobConfiguration"] == {"timeoutConfig": {"inProgressTimeoutInMinutes": 5}}


def test_new_deployment_supersedes_active_one(gg2, iot):
    target = _thing(iot)
    first = gg2.create_deployment(targetArn=target, components={})["deploymentId"]
    second = gg2.create_deployment(targetArn=target, components={})["deploymentId"]
    old = gg2.get_deployment(deploymentId=first)
    assert (old["deploymentStatus"], old["isLatestForTarget"]) == ("INACTIVE", False)
    assert gg2.get_deployment(deploymentId=second)["revisionId"] == "2"
    latest = gg2.list_deployments(targetArn=target)["deployments"]
    assert [d["deploymentId"] for d in latest] == [second]
    everything = gg2.list_deployments(targetArn=target, historyFilter="ALL")["deployments"]
    assert [d["deploymentId"] for d in everything] == [second, first]


def test_deployment_failure_by_control(emu, gg2, iot):
    target = _thing(iot)
    emu.post("/ggp-bench/greengrassv2/deployment-outcome", {"targetArn": target, "status": "FAILED", "reason": "nucleus crashed"})
    emu.post("/ggp-bench/greengrassv2/core-device", {"thingName": "core1", "status": "HEALTHY"})
    dep = gg2.create_deployment(targetArn=target, components={})["deploymentId"]
    assert _poll(gg2, dep, 3)[-1] == "FAILED"
    eff = gg2.list_effective_deployments(coreDeviceThingName="core1")["effectiveDeployments"][0]
    assert (eff["coreDeviceExecutionStatus"], eff["reason"]) == ("FAILED", "nucleus crashed")


def test_a_component_not_yet_deployable_fails_on_the_device(emu, gg2, iot):
    target = _core(emu, iot)
    gg2.create_component_version(inlineRecipe=recipe())  # REQUESTED: never read until DEPLOYABLE
    emu.post("/ggp-bench/config", {"componentPolls": 5})
    dep = gg2.create_deployment(targetArn=target, components={"com.example.Hello": {"componentVersion": "1.0.0"}})["deploymentId"]
    assert _poll(gg2, dep, 3)[-1] == "FAILED"
    eff = gg2.list_effective_deployments(coreDeviceThingName="core1")["effectiveDeployments"][0]
    assert eff["statusDetails"]["errorStack"] == ["DEPLOYMENT_FAILURE", "NO_AVAILABLE_COMPONENT_VERSION"]
    assert gg2.list_installed_components(coreDeviceThingName="core1")["installedComponents"] == []


def test_missing_private_component_fails_the_deployment(emu, gg2, iot):
    target = _core(emu, iot)
    dep = gg2.create_deployment(
        targetArn=target,
        components={"com.example.Missing": {"componentVersion": "1.0.0"}, "aws.greengrass.Nucleus": {"componentVersion": "2.12.0"}},
    )["deploymentId"]
    assert _poll(gg2, dep, 3)[-1] == "FAILED"


def test_deployment_target_must_exist(gg2):
    with pytest.raises(ClientError) as e:
        gg2.create_deployment(targetArn=thing_arn("ghost"), components={})
    assert error_of(e)[:2] == (404, "ResourceNotFoundException")


def test_cancel_and_delete(gg2, iot):
    target = _thing(iot)
    dep = gg2.create_deployment(targetArn=target, components={})["deploymentId"]
    with pytest.raises(ClientError) as e:
        gg2.delete_deployment(deploymentId=dep)
    assert error_of(e)[:2] == (409, "ConflictException")
    assert gg2.cancel_deployment(deploymentId=dep)["message"]
    assert gg2.get_deployment(deploymentId=dep)["deploymentStatus"] == "CANCELED"
    gg2.delete_deployment(deploymentId=dep)
    with pytest.raises(ClientError) as e:
        gg2.get_deployment(deploymentId=dep)
    assert error_of(e)[:2] == (404, "ResourceNotFoundException")


def test_thing_group_deployment_and_core_devices(emu, gg2, iot):
    iot.create_thing_group(thingGroupName="fleet")
    for name in ("core1", "core2", "core3"):
        iot.create_thing(thingName=name)
        iot.add_thing_to_thing_group(thingGroupName="fleet", thingName=name)
    for name in ("core1", "core2"):
        emu.post("/ggp-bench/greengrassv2/core-device", {"thingName": name, "status": "HEALTHY", "architecture": "aarch64", "coreVersion": "2.12.0"})
    emu.post("/ggp-bench/greengrassv2/core-device", {"thingName": "core2", "status": "UNHEALTHY", "autoApply": {"status": "FAILED", "reason": "out of disk"}})
    group_arn = iot.describe_thing_group(thingGroupName="fleet")["thingGroupArn"]
    deployable(gg2, inlineRecipe=recipe())
    dep = gg2.create_deployment(targetArn=group_arn, components={"com.example.Hello": {"componentVersion": "1.0.0"}})["deploymentId"]
    # Continuous: a thing-group deployment stays ACTIVE whatever its devices make of it.
    assert _poll(gg2, dep, 4) == ["ACTIVE"] * 4
    eff2 = gg2.list_effective_deployments(coreDeviceThingName="core2")["effectiveDeployments"]
    assert [(e["coreDeviceExecutionStatus"], e["reason"]) for e in eff2] == [("FAILED", "out of disk")]
    assert gg2.list_installed_components(coreDeviceThingName="core2")["installedComponents"] == []
    # core3 never connected: it is no core device and has no execution.
    with pytest.raises(ClientError) as e:
        gg2.list_effective_deployments(coreDeviceThingName="core3")
    assert error_of(e)[:2] == (404, "ResourceNotFoundException")

    devices = gg2.list_core_devices(thingGroupArn=group_arn)["coreDevices"]
    assert sorted(d["coreDeviceThingName"] for d in devices) == ["core1", "core2"]
    assert [d["coreDeviceThingName"] for d in gg2.list_core_devices(status="UNHEALTHY")["coreDevices"]] == ["core2"]
    core = gg2.get_core_device(coreDeviceThingName="core1")
    assert (core["status"], core["architecture"], core["coreVersion"], core["platform"]) == ("HEALTHY", "aarch64", "2.12.0", "linux")
    eff = gg2.list_effective_deployments(coreDeviceThingName="core1")["effectiveDeployments"]
    assert [(e["deploymentId"], e["coreDeviceExecutionStatus"]) for e in eff] == [(dep, "SUCCEEDED")]
    installed = gg2.list_installed_components(coreDeviceThingName="core1")["installedComponents"]
    assert [(c["componentName"], c["componentVersion"], c["lifecycleState"]) for c in installed] == [("com.example.Hello", "1.0.0", "RUNNING")]
    gg2.delete_core_device(coreDeviceThingName="core2")
    with pytest.raises(ClientError) as e:
        gg2.get_core_device(coreDeviceThingName="core2")
    assert error_of(e)[:2] == (404, "ResourceNotFoundException")


def test_v2_tags(emu, gg2, iot):
    created = gg2.create_component_version(inlineRecipe=recipe())
    gg2.tag_resource(resourceArn=created["arn"], tags={"a": "1", "b": "2"})
    gg2.untag_resource(resourceArn=created["arn"], tagKeys=["a"])
    assert gg2.list_tags_for_resource(resourceArn=created["arn"])["tags"] == {"b": "2"}
    emu.post("/ggp-bench/greengrassv2/core-device", {"thingName": "core1"})
    core_arn = f"arn:aws:greengrass:us-east-1:{ACCOUNT}:coreDevices:core1"
    gg2.tag_resource(resourceArn=core_arn, tags={"site": "lab"})
    assert gg2.get_core_device(coreDeviceThingName="core1")["tags"] == {"site": "lab"}
    with pytest.raises(ClientError) as e:
        gg2.list_tags_for_resource(resourceArn=f"arn:aws:greengrass:us-east-1:{ACCOUNT}:deployments:nope")
    assert error_of(e)[:2] == (404, "ResourceNotFoundException")


def test_shared_paths_answer_in_the_v2_model(emu):
    role = emu.client("iam").create_role(RoleName="GreengrassServiceRole", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    # The SDKs name their API in the user agent (the Rust SDK sends api/greengrassv2/<version>).
    gg2 = boto3.client(
        "greengrassv2",
        endpoint_url=emu.url,
        region_name="us-east-1",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="x",
        config=Config(user_agent_extra="api/greengrassv2#1.0", retries={"max_attempts": 1}),
    )
    assert gg2.associate_service_role_to_account(roleArn=role)["associatedAt"]
    assert gg2.get_service_role_for_account()["roleArn"] == role
    assert emu.client("greengrass").get_service_role_for_account()["RoleArn"] == role  # one account role for both APIs
    with pytest.raises(ClientError) as e:
        gg2.associate_service_role_to_account(roleArn="arn:aws:iam::123456789012:role/missing")
    assert error_of(e)[:2] == (400, "ValidationException")
    info = [{"id": "lan", "hostAddress": "192.0.2.1", "portNumber": 8883, "metadata": ""}]
    assert gg2.update_connectivity_info(thingName="core1", connectivityInfo=info)["version"]
    assert gg2.get_connectivity_info(thingName="core1")["connectivityInfo"] == info
    assert gg2.disassociate_service_role_from_account()["disassociatedAt"]


def test_v2_unknown_route_and_operations_not_emulated(emu, gg2):
    with pytest.raises(ClientError) as e:
        gg2.resolve_component_candidates(componentCandidates=[{"componentName": "a", "componentVersion": "1.0.0", "versionRequirements": {}}])
    assert error_of(e)[:2] == (501, "NotImplemented")
    status, _, body = greengrass_get(emu.url, "/greengrass/v2/nothing")
    assert status == 404
    assert "No operation matches" in body["message"]


def test_client_token_makes_create_idempotent(gg2, iot):
    first = gg2.create_component_version(inlineRecipe=recipe(), clientToken="tok-1")
    again = gg2.create_component_version(inlineRecipe=recipe(), clientToken="tok-1")  # no ConflictException
    assert again["arn"] == first["arn"] and again["creationTimestamp"] == first["creationTimestamp"]
    target = _thing(iot)
    d1 = gg2.create_deployment(targetArn=target, components={}, clientToken="dep-1")
    d2 = gg2.create_deployment(targetArn=target, components={}, clientToken="dep-1")
    assert d1["deploymentId"] == d2["deploymentId"]
    assert len(gg2.list_deployments(targetArn=target, historyFilter="ALL")["deployments"]) == 1


def test_control_marks_a_component_version_failed(emu, gg2):
    recipe = {"RecipeFormatVersion": "2020-01-25", "ComponentName": "com.example.F", "ComponentVersion": "1.0.0",
              "Manifests": [{"Platform": {"os": "linux"}, "Lifecycle": {"Run": "echo hi"}}]}
    arn = gg2.create_component_version(inlineRecipe=json.dumps(recipe).encode())["arn"]
    out = emu.post("/ggp-bench/greengrassv2/component-state", {"arn": arn, "state": "FAILED", "message": "gone"})
    assert out["status"]["componentState"] == "FAILED"
    status = gg2.describe_component(arn=arn)["status"]
    assert (status["componentState"], status["message"]) == ("FAILED", "gone")
    for bad in ({"arn": arn, "state": "BROKEN"}, {"arn": arn + "9", "state": "FAILED"}, {"state": "FAILED"}):
        with pytest.raises(urllib.error.HTTPError) as e:
            emu.post("/ggp-bench/greengrassv2/component-state", bad)
        assert e.value.code == 400, bad


@pytest.mark.parametrize(
    "extra, field",
    [
        ({"Lifecycle": {"Rnu": "python3 hello.py"}}, "Lifecycle.Rnu"),
        ({"Lifecycle": {"Run": {"Scirpt": "x"}}}, "Lifecycle.Run.Scirpt"),
        ({"Lifecycle": {"Run": {"RequiresPrivilege": True}}}, "Lifecycle.Run.Script"),
        ({"Manifests": [{"Lifecycle": {"Setenv": "A=1"}}]}, "Manifests[0].Lifecycle.Setenv"),
        ({"Manifests": [{"Artifacts": [{"URI": "s3://b/k.zip", "Unarchive": "TAR"}]}]}, "Manifests[0].Artifacts[0].Unarchive"),
        ({"Manifests": [{"Artifacts": [{"URI": "s3://b/k", "Permission": {"Read": "EVERYONE"}}]}]}, "Manifests[0].Artifacts[0].Permission.Read"),
        ({"Manifests": [{"Artifacts": [{"URI": "s3://b/k", "Permission": {"Write": "ALL"}}]}]}, "Manifests[0].Artifacts[0].Permission.Write"),
    ],
)
def test_recipe_lifecycle_and_artifact_values_are_validated(gg2, extra, field):
    # "AWS IoT Greengrass component recipe reference": lifecycle steps setenv, install, run, startup,
    # shutdown, recover, bootstrap; Unarchive ZIP | NONE; Permission Read/Execute NONE | OWNER | ALL.
    with pytest.raises(ClientError) as e:
        gg2.create_component_version(inlineRecipe=recipe(**extra))
    assert error_of(e)[:2] == (400, "ValidationException")
    assert field in [f["name"] for f in e.value.response["fields"]], e.value.response


def test_recipe_in_any_key_case_with_valid_values_is_accepted(emu, gg2):
    s3 = emu.client("s3")
    s3.create_bucket(Bucket="artifacts")
    s3.put_object(Bucket="artifacts", Key="k.zip", Body=b"PK")
    man = [{"Platform": {"os": "linux"}, "Lifecycle": {"run": {"script": "x", "requiresPrivilege": True}, "Setenv": {"A": "1"}},
            "Artifacts": [{"Uri": "s3://artifacts/k.zip", "Unarchive": "ZIP", "Permission": {"Read": "OWNER", "Execute": "ALL"}}]}]
    assert deployable(gg2, inlineRecipe=recipe(Manifests=man))


def test_artifact_in_a_bucket_of_another_region_fails_the_version(emu, gg2):
    s3 = emu.client("s3")
    s3.create_bucket(Bucket="eu-artifacts", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket="eu-artifacts", Key="hello.py", Body=b"print('hi')\n")
    man = [{"Platform": {"os": "linux"}, "Artifacts": [{"URI": "s3://eu-artifacts/hello.py"}]}]
    created = gg2.create_component_version(inlineRecipe=recipe(Manifests=man))
    assert created["status"]["componentState"] == "FAILED"
    assert "is in eu-west-1, not in us-east-1" in created["status"]["errors"]["s3://eu-artifacts/hello.py"]
    assert gg2.describe_component(arn=created["arn"])["status"]["componentState"] == "FAILED"


def test_arns_of_another_partition_name_nothing(emu):
    # In China the partition is aws-cn: an "arn:aws:" ARN names no thing group or component there.
    gg2 = emu.client("greengrassv2", region_name="cn-north-1")
    iot = emu.client("iot", region_name="cn-north-1")
    group = iot.create_thing_group(thingGroupName="fleet")["thingGroupArn"]
    assert group.startswith("arn:aws-cn:iot:cn-north-1:")
    created = gg2.create_component_version(inlineRecipe=recipe())
    assert created["arn"].startswith("arn:aws-cn:greengrass:cn-north-1:")
    with pytest.raises(ClientError) as e:
        gg2.create_deployment(targetArn=group.replace("arn:aws-cn:", "arn:aws:"), components={})
    assert error_of(e)[:2] == (404, "ResourceNotFoundException")
    with pytest.raises(ClientError) as e:
        gg2.describe_component(arn=created["arn"].replace("arn:aws-cn:", "arn:aws:"))
    assert error_of(e)[:2] == (404, "ResourceNotFoundException")
    assert gg2.create_deployment(targetArn=group, components={})["deploymentId"]


def test_a_device_takes_its_job_and_reports_it(emu, gg2, iot):
    # The device side the stand-in uses (the IoT job and the nucleus's status update on AWS).
    iot.create_thing_group(thingGroupName="fleet")
    iot.create_thing(thingName="core1")
    iot.add_thing_to_thing_group(thingGroupName="fleet", thingName="core1")
    group = iot.describe_thing_group(thingGroupName="fleet")["thingGroupArn"]
    deployable(gg2, inlineRecipe=recipe())
    dep = gg2.create_deployment(targetArn=group, components={"com.example.Hello": {"componentVersion": "1.0.0"}})["deploymentId"]
    with pytest.raises(urllib.error.HTTPError) as e:  # not connected yet: no core device
        emu.post("/ggp-bench/greengrassv2/device-job", {"thingName": "core1"})
    assert e.value.code == 400
    emu.post("/ggp-bench/greengrassv2/core-device", {"thingName": "core1", "autoApply": False})
    job = emu.post("/ggp-bench/greengrassv2/device-job", {"thingName": "core1"})
    assert (job["deploymentId"], job["components"]) == (dep, {"com.example.Hello": {"componentVersion": "1.0.0"}})
    eff = gg2.list_effective_deployments(coreDeviceThingName="core1")["effectiveDeployments"]
    assert [e["coreDeviceExecutionStatus"] for e in eff] == ["IN_PROGRESS"]
    installed = [{"componentName": "com.example.Hello", "componentVersion": "1.0.0", "lifecycleState": "BROKEN", "isRoot": True}]
    emu.post("/ggp-bench/greengrassv2/device-report", {"thingName": "core1", "deploymentId": dep, "status": "FAILED", "reason": "broken", "errorStack": ["DEPLOYMENT_FAILURE", "COMPONENT_BROKEN"], "installedComponents": installed})
    eff = gg2.list_effective_deployments(coreDeviceThingName="core1")["effectiveDeployments"][0]
    assert (eff["coreDeviceExecutionStatus"], eff["reason"], eff["statusDetails"]["errorStack"]) == ("FAILED", "broken", ["DEPLOYMENT_FAILURE", "COMPONENT_BROKEN"])
    assert gg2.get_deployment(deploymentId=dep)["deploymentStatus"] == "ACTIVE"  # a thing group's: continuous
    got = gg2.list_installed_components(coreDeviceThingName="core1")["installedComponents"]
    assert [(c["componentName"], c["lifecycleState"]) for c in got] == [("com.example.Hello", "BROKEN")]
    with pytest.raises(urllib.error.HTTPError) as e:
        emu.post("/ggp-bench/greengrassv2/device-report", {"thingName": "core1", "deploymentId": dep, "status": "DONE"})
    assert e.value.code == 400



def test_a_device_fails_a_component_with_no_manifest_for_its_platform(emu, gg2, iot):
    # The nucleus picks the first manifest whose Platform matches the device (os, architecture;
    # `*` and /regex/ values), and fails the deployment when none does.
    target = _core(emu, iot, architecture="aarch64")
    x86 = [{"Platform": {"os": "linux", "architecture": "amd64"}}]
    deployable(gg2, inlineRecipe=recipe(Manifests=x86))
    dep = gg2.create_deployment(targetArn=target, components={"com.example.Hello": {"componentVersion": "1.0.0"}})["deploymentId"]
    assert _poll(gg2, dep, 3)[-1] == "FAILED"
    eff = gg2.list_effective_deployments(coreDeviceThingName="core1")["effectiveDeployments"][0]
    assert "No manifest of com.example.Hello@1.0.0" in eff["reason"] and "architecture aarch64" in eff["reason"]
    assert eff["statusDetails"]["errorStack"] == ["DEPLOYMENT_FAILURE", "NO_AVAILABLE_COMPONENT_VERSION"]
    arm = [{"Platform": {"os": "linux", "architecture": "/aarch64|arm/"}}]
    deployable(gg2, inlineRecipe=recipe(version="1.0.1", Manifests=arm))
    dep = gg2.create_deployment(targetArn=target, components={"com.example.Hello": {"componentVersion": "1.0.1"}})["deploymentId"]
    assert _poll(gg2, dep, 3)[-1] == "COMPLETED"
