"""Greengrass V2 (`greengrassv2`), which moto 5.2.5 does not have at all.

Requests are signed as service `greengrass` and use paths under `/greengrass/v2/`, so they reach
moto's greengrass app; `dispatch.py` routes them here with the botocore `greengrassv2` model.
State (components, deployments, core devices, tags) hangs off moto's GreengrassBackend as `ggp_v2`,
so `/moto-api/reset` clears it. Core devices appear only when the bench reports one
(`POST /ggp-bench/greengrassv2/core-device`), as a real device would by connecting. Public (AWS)
components come from the stand-in table `PUBLIC_COMPONENTS`, plus the versions the bench publishes
(`POST /ggp-bench/greengrassv2/public-component`, kept in the bench control state).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import yaml

from . import control
from .errors import ApiError, v2_conflict, v2_not_found, v2_validation
from .model import FieldError

if TYPE_CHECKING:
    from moto.greengrass.models import GreengrassBackend

Handler = Callable[["GreengrassBackend", dict[str, Any]], dict[str, Any] | None]
HANDLERS: dict[str, Handler] = {}


def handles(name: str):
    def deco(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn

    return deco


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# ------------------------------------------------------------------------------------------------
# State
# ------------------------------------------------------------------------------------------------


@dataclass
class ComponentVersion:
    name: str
    version: str
    arn: str
    recipe: dict[str, Any]
    created: dt.datetime
    description: str | None
    publisher: str | None
    platforms: list[dict[str, Any]]
    # A new version starts REQUESTED and becomes DEPLOYABLE once the service has processed it
    # (botocore greengrassv2 CloudComponentState; "Create components" in the V2 developer guide:
    # "the component state is REQUESTED... DEPLOYABLE when ready"). `polls` counts DescribeComponent
    # reads since the create; the bench's `componentPolls` (default 1) say how many see INITIATED.
    state: str = "REQUESTED"
    message: str | None = None
    errors: dict[str, str] = field(default_factory=dict)
    polls: int = 0


@dataclass
class Deployment:
    id: str
    arn: str
    target_arn: str
    revision_id: str
    name: str | None
    components: dict[str, Any]
    policies: dict[str, Any] | None
    iot_job_config: dict[str, Any] | None
    parent_target_arn: str | None
    iot_job_id: str
    iot_job_arn: str
    created: dt.datetime
    status: str = "ACTIVE"
    latest: bool = True
    # thing name -> that core device's execution of this deployment (ListEffectiveDeployments)
    executions: dict[str, "Execution"] = field(default_factory=dict)


@dataclass
class Execution:
    """One core device's execution of a deployment (EffectiveDeployment in the V2 model): it exists
    only once the device has picked the deployment up, QUEUED, then IN_PROGRESS, then what the device
    made of it (EffectiveDeploymentExecutionStatus: SUCCEEDED, FAILED, CANCELED, ...)."""

    status: str = "QUEUED"
    polls: int = 0
    created: dt.datetime = field(default_factory=_now)
    modified: dt.datetime = field(default_factory=_now)
    reason: str | None = None
    error_stack: list[str] | None = None
    error_types: list[str] | None = None


@dataclass
class CoreDevice:
    thing_name: str
    status: str
    last_status_update: dt.datetime
    core_version: str | None = None
    platform: str | None = None
    architecture: str | None = None
    runtime: str | None = None
    installed_components: list[dict[str, Any]] | None = None
    # What the device does with the deployments it gets (bench control): None (the default) applies
    # them and succeeds, {"status": "FAILED", "reason", "errorStack"?, "errorTypes"?} fails them,
    # False never picks them up (an offline device).
    auto_apply: dict[str, Any] | bool | None = None


class V2State:
    def __init__(self, backend: "GreengrassBackend"):
        self.backend = backend
        self.components: dict[str, dict[str, ComponentVersion]] = {}
        self.deployments: dict[str, Deployment] = {}
        self.core_devices: dict[str, CoreDevice] = {}
        self.tags: dict[str, dict[str, str]] = {}
        self.idempotent: dict[tuple[str, str], dict[str, Any]] = {}  # (operation, clientToken) -> output

    def arn_prefix(self) -> str:
        b = self.backend
        return f"arn:{b.partition}:greengrass:{b.region_name}:{b.account_id}"


def _state(b: "GreengrassBackend") -> V2State:
    return b.ggp_v2


# ------------------------------------------------------------------------------------------------
# Versions and pagination
# ------------------------------------------------------------------------------------------------

_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


def _semver_key(v: str) -> tuple:
    m = _SEMVER.match(v)
    if not m:
        return (0, 0, 0, 0, v)
    major, minor, patch, pre = int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4)
    # a pre-release sorts before its release
    return (major, minor, patch, 0 if pre else 1, pre or "")


def _paginate(items: list[Any], p: dict[str, Any]) -> tuple[list[Any], str | None]:
    start = 0
    if p.get("nextToken"):
        try:
            start = int(base64.urlsafe_b64decode(p["nextToken"].encode()).decode())
        except (ValueError, UnicodeDecodeError):
            raise v2_validation(message="The nextToken is not valid.", reason="OTHER")
    size = p.get("maxResults") or 50
    page = items[start : start + size]
    nxt = start + size
    token = base64.urlsafe_b64encode(str(nxt).encode()).decode() if nxt < len(items) else None
    return page, token


# ------------------------------------------------------------------------------------------------
# Components
# ------------------------------------------------------------------------------------------------


def _ci_get(d: dict[str, Any], key: str) -> Any:
    """Recipe top-level keys are case-insensitive."""
    for k, v in d.items():
        if isinstance(k, str) and k.lower() == key.lower():
            return v
    return None


def _parse_recipe(raw: bytes) -> dict[str, Any]:
    text = raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else str(raw)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise v2_validation(message=f"The recipe could not be parsed as JSON or YAML: {e}", reason="CANNOT_PARSE")
    if not isinstance(doc, dict):
        raise v2_validation(message="The recipe must be a JSON or YAML object.", reason="CANNOT_PARSE")
    return _plain(doc)


def _plain(v: Any) -> Any:
    """YAML turns unquoted dates into date objects; recipes keep them as text."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


def _check_recipe(recipe: dict[str, Any]) -> tuple[str, str]:
    errors: list[FieldError] = []
    fmt = _ci_get(recipe, "RecipeFormatVersion")
    if fmt is None:
        errors.append(FieldError("RecipeFormatVersion", "is required"))
    elif str(fmt) != "2020-01-25":
        errors.append(FieldError("RecipeFormatVersion", "must be 2020-01-25"))
    name = _ci_get(recipe, "ComponentName")
    version = _ci_get(recipe, "ComponentVersion")
    if not isinstance(name, str) or not name:
        errors.append(FieldError("ComponentName", "is required"))
    elif len(name) > 128:
        errors.append(FieldError("ComponentName", "length must be at most 128"))
    if not isinstance(version, str) or not version:
        errors.append(FieldError("ComponentVersion", "is required and must be a string"))
    elif not _SEMVER.match(version):
        errors.append(FieldError("ComponentVersion", "must be a semantic version (major.minor.patch)"))
    manifests = _ci_get(recipe, "Manifests")
    if manifests is not None and not isinstance(manifests, list):
        errors.append(FieldError("Manifests", "must be a list"))
    errors += _check_lifecycle("Lifecycle", _ci_get(recipe, "Lifecycle"))
    for i, m in enumerate(manifests if isinstance(manifests, list) else []):
        if not isinstance(m, dict):
            errors.append(FieldError(f"Manifests[{i}]", "must be an object"))
            continue
        if _ci_get(m, "Selections") is None:  # with Selections, Lifecycle is keyed by selection
            errors += _check_lifecycle(f"Manifests[{i}].Lifecycle", _ci_get(m, "Lifecycle"))
        for j, art in enumerate(_ci_get(m, "Artifacts") or []):
            errors += _check_artifact(f"Manifests[{i}].Artifacts[{j}]", art)
    if errors:
        raise v2_validation(errors, message="The recipe is not valid: " + "; ".join(f"{e.path} {e.message}" for e in errors))
    return name, version


# The lifecycle steps of a recipe ("AWS IoT Greengrass component recipe reference", Lifecycle), and
# the keys a step given as an object may have. Recipe keys are case-insensitive for the nucleus
# (ggp and the service's Lambda recipes write them in either case), so they are compared so here.
LIFECYCLE_STEPS = ("setenv", "install", "run", "startup", "shutdown", "recover", "bootstrap")
STEP_KEYS = ("script", "requiresprivilege", "skipif", "timeout", "setenv", "bootstraponrollback")
# Artifacts: Unarchive is ZIP or NONE; Permission.Read and .Execute are NONE, OWNER or ALL.
UNARCHIVE = ("ZIP", "NONE")
PERMISSIONS = ("NONE", "OWNER", "ALL")


def _check_lifecycle(path: str, lifecycle: Any) -> list[FieldError]:
    if lifecycle is None:
        return []
    if not isinstance(lifecycle, dict):
        return [FieldError(path, "must be an object")]
    errors = []
    for step, value in lifecycle.items():
        where = f"{path}.{step}"
        if step.lower() not in LIFECYCLE_STEPS:
            errors.append(FieldError(where, f"is not a lifecycle step (one of {', '.join(LIFECYCLE_STEPS)})"))
        elif step.lower() == "setenv":
            if not isinstance(value, dict):
                errors.append(FieldError(where, "must be an object of environment variables"))
        elif isinstance(value, dict):
            for k in value:
                if k.lower() not in STEP_KEYS:
                    errors.append(FieldError(f"{where}.{k}", f"is not a key of a lifecycle step (Script, RequiresPrivilege, Skipif, Timeout, Setenv)"))
            if _ci_get(value, "Script") is None:
                errors.append(FieldError(f"{where}.Script", "is required"))
        elif not isinstance(value, str):
            errors.append(FieldError(where, "must be a script or an object with Script"))
    return errors


def _check_artifact(path: str, art: Any) -> list[FieldError]:
    if not isinstance(art, dict):
        return [FieldError(path, "must be an object")]
    errors = []
    if not isinstance(_ci_get(art, "Uri"), str):
        errors.append(FieldError(f"{path}.URI", "is required"))
    unarchive = _ci_get(art, "Unarchive")
    if unarchive is not None and str(unarchive).upper() not in UNARCHIVE:
        errors.append(FieldError(f"{path}.Unarchive", f"must be one of {', '.join(UNARCHIVE)}"))
    perm = _ci_get(art, "Permission")
    if perm is not None:
        if not isinstance(perm, dict):
            errors.append(FieldError(f"{path}.Permission", "must be an object with Read and Execute"))
        else:
            for k, v in perm.items():
                if k.lower() not in ("read", "execute"):
                    errors.append(FieldError(f"{path}.Permission.{k}", "is not Read or Execute"))
                elif str(v).upper() not in PERMISSIONS:
                    errors.append(FieldError(f"{path}.Permission.{k}", f"must be one of {', '.join(PERMISSIONS)}"))
    return errors


def _artifact_digests(b: "GreengrassBackend", recipe: dict[str, Any]) -> dict[str, str]:
    """Fill Digest/Algorithm of s3:// artifacts the way the service does; report the missing ones."""
    import hashlib

    from moto.s3.models import s3_backends

    errors: dict[str, str] = {}
    s3 = s3_backends[b.account_id]["aws"]
    for manifest in _ci_get(recipe, "Manifests") or []:
        if not isinstance(manifest, dict):
            continue
        for art in _ci_get(manifest, "Artifacts") or []:
            if not isinstance(art, dict):
                continue
            uri_key = next((k for k in art if k.lower() == "uri"), None)
            uri = art.get(uri_key) if uri_key else None
            if not isinstance(uri, str) or not uri.startswith("s3://"):
                continue
            bucket, _, key = uri[len("s3://") :].partition("/")
            # "Upload components": the bucket must be in the AWS Region where the component is made;
            # the service does not fetch across regions.
            where = getattr(s3.buckets.get(bucket), "region_name", None)
            if where is not None and where != b.region_name:
                errors[uri] = f"Failed to get artifact {uri}: the S3 bucket {bucket} is in {where}, not in {b.region_name}, the Region of the component."
                continue
            obj = None
            try:
                obj = s3.get_object(bucket, key)
            except Exception:
                obj = None
            if obj is None:
                errors[uri] = f"Failed to get artifact {uri}: the object does not exist or is not accessible."
                continue
            digest = base64.b64encode(hashlib.sha256(obj.value).digest()).decode("ascii")
            art["Digest"] = digest
            art["Algorithm"] = "SHA-256"
    return errors


def _platforms(recipe: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for m in _ci_get(recipe, "Manifests") or []:
        if isinstance(m, dict):
            plat = _ci_get(m, "Platform")
            entry: dict[str, Any] = {"attributes": {str(k): str(v) for k, v in (plat or {}).items()}}
            if _ci_get(m, "Name"):
                entry["name"] = str(_ci_get(m, "Name"))
            out.append(entry)
    return out


def _lambda_recipe(b: "GreengrassBackend", src: dict[str, Any]) -> dict[str, Any]:
    """The recipe the service generates for a Lambda function component (B.5 of the formats reference)."""
    from moto.awslambda.models import lambda_backends

    arn = src["lambdaArn"]
    m = re.match(r"^arn:aws[a-z-]*:lambda:([a-z0-9-]+):([0-9]{12}):function:([a-zA-Z0-9_-]+):([0-9]+)$", arn)
    if not m:
        # The model's LambdaFunctionRecipeSource.lambdaArn: "The ARN of the Lambda function. The ARN
        # must include the version of the function to import. You can't use version aliases like
        # $LATEST." The service does not resolve what is not a version and answers AccessDenied.
        raise ApiError(
            {"message": f"You are not authorized to import {arn}: the lambdaArn must be the ARN of a published function version (not $LATEST, an alias or the unqualified function)."},
            403,
            "AccessDeniedException",
        )
    region, account, fname, fversion = m.groups()
    fn = None
    try:
        fn = lambda_backends[account][region].get_function(fname, fversion)
    except Exception:
        fn = None
    if fn is None or str(fn.version) != fversion:
        raise v2_validation([FieldError("lambdaFunction.lambdaArn", f"function version {arn} does not exist")])
    params = src.get("componentLambdaParameters") or {}
    linux = params.get("linuxProcessParams") or {}
    container = linux.get("containerParams") or {}
    isolation = linux.get("isolationMode") or "GreengrassContainer"
    volumes = {
        str(i): {
            "sourcePath": v.get("sourcePath"),
            "destinationPath": v.get("destinationPath"),
            "permission": v.get("permission") or "ro",
            "addGroupOwner": bool(v.get("addGroupOwner", False)),
        }
        for i, v in enumerate(container.get("volumes") or [])
    }
    devices = {
        str(i): {"path": d.get("path"), "permission": d.get("permission") or "ro", "addGroupOwner": bool(d.get("addGroupOwner", False))}
        for i, d in enumerate(container.get("devices") or [])
    }
    topics = {str(i): {"topic": e["topic"], "type": e["type"]} for i, e in enumerate(params.get("eventSources") or [])}
    default_config = {
        "lambdaExecutionParameters": {"EnvironmentVariables": dict(params.get("environmentVariables") or {})},
        "containerParams": {
            "memorySize": container.get("memorySizeInKB", 16384),
            "mountROSysfs": bool(container.get("mountROSysfs", False)),
            "volumes": volumes,
            "devices": devices,
        },
        "containerMode": isolation,
        "timeoutInSeconds": params.get("timeoutInSeconds", 3),
        "maxInstancesCount": params.get("maxInstancesCount", 100),
        "inputPayloadEncodingType": params.get("inputPayloadEncodingType") or "json",
        "maxQueueSize": params.get("maxQueueSize", 1000),
        "pinned": params.get("pinned", True),
        "maxIdleTimeInSeconds": params.get("maxIdleTimeInSeconds", 60),
        "statusTimeoutInSeconds": params.get("statusTimeoutInSeconds", 60),
        "pubsubTopics": topics,
    }
    deps: dict[str, Any] = {
        "aws.greengrass.LambdaLauncher": {"VersionRequirement": ">=2.0.0 <3.0.0", "DependencyType": "HARD"},
        "aws.greengrass.TokenExchangeService": {"VersionRequirement": ">=2.0.0 <3.0.0", "DependencyType": "HARD"},
        "aws.greengrass.LambdaRuntimes": {"VersionRequirement": ">=2.0.0 <3.0.0", "DependencyType": "SOFT"},
    }
    for name, req in (src.get("componentDependencies") or {}).items():
        deps[name] = {"VersionRequirement": req.get("versionRequirement"), "DependencyType": req.get("dependencyType") or "HARD"}
    artifact = {
        "Uri": "greengrass:lambda-artifact.zip",
        "Digest": fn.code_sha_256,
        "Algorithm": "SHA-256",
        "Unarchive": "ZIP",
        "Permission": {"Read": "OWNER", "Execute": "NONE"},
    }
    platforms = src.get("componentPlatforms") or [{"attributes": {"os": "linux"}}]
    manifests = []
    for plat in platforms:
        man: dict[str, Any] = {"Platform": dict(plat.get("attributes") or {}), "Lifecycle": {}, "Artifacts": [dict(artifact)]}
        if plat.get("name"):
            man["Name"] = plat["name"]
        manifests.append(man)
    launcher = "{aws.greengrass.LambdaLauncher:artifacts:path}/lambda-launcher"
    recipe = {
        "RecipeFormatVersion": "2020-01-25",
        "ComponentName": src.get("componentName") or fname,
        "ComponentVersion": src.get("componentVersion") or f"{fversion}.0.0",
        "ComponentType": "aws.greengrass.lambda",
        "ComponentDescription": fn.description or "",
        "ComponentPublisher": "AWS Lambda",
        "ComponentSource": arn,
        "ComponentConfiguration": {"DefaultConfiguration": default_config},
        "ComponentDependencies": deps,
        "Manifests": manifests,
        "Lifecycle": {
            "startup": {"requiresPrivilege": True, "script": f"{launcher} start"},
            "setenv": {
                "AWS_GREENGRASS_LAMBDA_CONTAINER_MODE": "{configuration:/containerMode}",
                "AWS_GREENGRASS_LAMBDA_ARN": arn,
                "AWS_GREENGRASS_LAMBDA_FUNCTION_HANDLER": fn.handler,
                "AWS_GREENGRASS_LAMBDA_ARTIFACT_PATH": "{artifacts:decompressedPath}/lambda-artifact",
                "AWS_GREENGRASS_LAMBDA_CONTAINER_PARAMS": "{configuration:/containerParams}",
                "AWS_GREENGRASS_LAMBDA_STATUS_TIMEOUT_SECONDS": "{configuration:/statusTimeoutInSeconds}",
                "AWS_GREENGRASS_LAMBDA_ENCODING_TYPE": "{configuration:/inputPayloadEncodingType}",
                "AWS_GREENGRASS_LAMBDA_PARAMS": "{configuration:/lambdaExecutionParameters}",
                "AWS_GREENGRASS_LAMBDA_RUNTIME_PATH": "{aws.greengrass.LambdaRuntimes:artifacts:decompressedPath}/runtime/",
                "AWS_GREENGRASS_LAMBDA_EXEC_ARGS": json.dumps(params.get("execArgs") or []),
                "AWS_GREENGRASS_LAMBDA_RUNTIME": fn.run_time,
            },
            "shutdown": {"requiresPrivilege": True, "script": f"{launcher} stop; {launcher} clean"},
        },
    }
    if recipe["ComponentVersion"] and not _SEMVER.match(recipe["ComponentVersion"]):
        raise v2_validation([FieldError("lambdaFunction.componentVersion", "must be a semantic version (major.minor.patch)")])
    return recipe


# ------------------------------------------------------------------------------------------------
# Public (AWS-provided) components
# ------------------------------------------------------------------------------------------------

# A STAND-IN for the service's catalogue of public components (publisher "AWS"), plausible for late 2025:
# real component names, version numbers in the style AWS releases them, but NOT a copy of the service's
# list (some versions may be missing or never have existed). Edit here; README "Greengrass V2 behaviour"
# lists the names. name -> (ComponentType, description, operating systems, versions).
PUBLIC_COMPONENTS: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {
    "aws.greengrass.Nucleus": (
        "aws.greengrass.nucleus",
        "Core functionality for AWS IoT Greengrass.",
        ("linux", "windows"),
        ("2.9.6", "2.10.3", "2.11.3", "2.12.0", "2.12.1", "2.12.6", "2.13.0", "2.14.0", "2.14.1", "2.14.2", "2.14.3", "2.15.0"),
    ),
    "aws.greengrass.LambdaLauncher": (
        "aws.greengrass.generic",
        "Handles process and environment for Lambda functions.",
        ("linux",),
        ("2.0.9", "2.0.10", "2.0.11", "2.0.12", "2.0.13"),
    ),
    "aws.greengrass.LambdaRuntimes": (
        "aws.greengrass.generic",
        "Provides the runtimes for Lambda functions.",
        ("linux",),
        ("2.0.5", "2.0.6", "2.0.7", "2.0.8"),
    ),
    "aws.greengrass.LambdaManager": (
        "aws.greengrass.plugin",
        "Handles the execution of Lambda functions.",
        ("linux",),
        ("2.2.10", "2.3.0", "2.3.1", "2.3.2", "2.3.3", "2.3.4", "2.3.5"),
    ),
    "aws.greengrass.TokenExchangeService": (
        "aws.greengrass.plugin",
        "Makes AWS credentials available to the components on the core device.",
        ("linux", "windows"),
        ("2.0.1", "2.0.2", "2.0.3"),
    ),
    "aws.greengrass.LegacySubscriptionRouter": (
        "aws.greengrass.generic",
        "Manages subscriptions for V1 Lambda functions and connectors.",
        ("linux",),
        ("2.1.9", "2.1.10", "2.1.11", "2.1.12", "2.1.13"),
    ),
    "aws.greengrass.SecretManager": (
        "aws.greengrass.plugin",
        "Deploys secrets from AWS Secrets Manager to the core device.",
        ("linux", "windows"),
        ("2.1.8", "2.1.9", "2.2.0", "2.2.1", "2.2.2", "2.2.3"),
    ),
    "aws.greengrass.LogManager": (
        "aws.greengrass.plugin",
        "Uploads logs from the core device to Amazon CloudWatch Logs.",
        ("linux", "windows"),
        ("2.0.6", "2.1.3", "2.2.0", "2.2.8", "2.3.0", "2.3.5", "2.3.7", "2.3.8", "2.3.9", "2.3.10"),
    ),
    "aws.greengrass.ShadowManager": (
        "aws.greengrass.plugin",
        "Stores and syncs device shadows on the core device.",
        ("linux", "windows"),
        ("2.2.4", "2.3.0", "2.3.4", "2.3.8", "2.3.9", "2.3.10", "2.3.11"),
    ),
    "aws.greengrass.Cloudwatch": (
        "aws.greengrass.generic",
        "Publishes custom metrics to Amazon CloudWatch.",
        ("linux", "windows"),
        ("3.0.0", "3.0.1", "3.1.0", "3.2.0"),
    ),
    "aws.greengrass.Cli": (
        "aws.greengrass.plugin",
        "The Greengrass CLI component provides a local command-line interface on the core device.",
        ("linux", "windows"),
        ("2.12.6", "2.13.0", "2.14.0", "2.14.1", "2.14.2", "2.14.3", "2.15.0"),
    ),
}
# creationTimestamp of the built-in public versions (fixed, so responses are reproducible)
PUBLIC_CREATED = dt.datetime(2025, 11, 1, tzinfo=dt.timezone.utc)
PUBLIC_ACCOUNT = "aws"


def _public_arn(b: "GreengrassBackend", name: str, version: str | None = None) -> str:
    arn = f"arn:{b.partition}:greengrass:{b.region_name}:{PUBLIC_ACCOUNT}:components:{name}"
    return f"{arn}:versions:{version}" if version else arn


def _public_version(b: "GreengrassBackend", name: str, version: str, created: dt.datetime, description: str | None = None) -> ComponentVersion:
    ctype, desc, systems, _ = PUBLIC_COMPONENTS.get(name, ("aws.greengrass.generic", description or name, ("linux",), ()))
    desc = description or desc
    recipe = {  # minimal: what the service's recipe has besides lifecycle and artifacts
        "RecipeFormatVersion": "2020-01-25",
        "ComponentName": name,
        "ComponentVersion": version,
        "ComponentType": ctype,
        "ComponentDescription": desc,
        "ComponentPublisher": "AWS",
        "Manifests": [{"Name": os_, "Platform": {"os": os_}, "Lifecycle": {}, "Artifacts": []} for os_ in systems],
    }
    return ComponentVersion(
        name=name,
        version=version,
        arn=_public_arn(b, name, version),
        recipe=recipe,
        created=created,
        description=desc,
        publisher="AWS",
        platforms=[{"name": os_, "attributes": {"os": os_}} for os_ in systems],
        state="DEPLOYABLE",  # published by AWS: long processed
    )


def _public_component(b: "GreengrassBackend", name: str) -> dict[str, ComponentVersion]:
    """The versions of a public component: the built-in ones plus those published through the control API."""
    out = {v: _public_version(b, name, v, PUBLIC_CREATED) for v in PUBLIC_COMPONENTS.get(name, (None, None, None, ()))[3]}
    for v, extra in control.control_for(b.account_id).public_versions.get(name, {}).items():
        out.setdefault(v, _public_version(b, name, v, extra["created"], extra.get("description")))
    return out


def _public_names(b: "GreengrassBackend") -> list[str]:
    return sorted(set(PUBLIC_COMPONENTS) | set(control.control_for(b.account_id).public_versions))


def publish_public_version(b: "GreengrassBackend", body: dict[str, Any]) -> dict[str, Any]:
    """Control endpoint: AWS released a (new) version of a public component."""
    name, version = body.get("componentName"), body.get("componentVersion")
    if not isinstance(name, str) or not 1 <= len(name) <= 128 or ":" in name:
        raise ValueError("componentName is required: 1 to 128 characters, no ':'")
    if not isinstance(version, str) or len(version) > 64 or not _SEMVER.match(version):
        raise ValueError("componentVersion is required and must be a semantic version (major.minor.patch)")
    description = body.get("description")
    if description is not None and (not isinstance(description, str) or not description):
        raise ValueError("description must be a non-empty string")
    published = version not in _public_component(b, name)
    if published:
        entry = {"created": _now(), "description": description}
        control.control_for(b.account_id).public_versions.setdefault(name, {})[version] = entry
    versions = sorted(_public_component(b, name), key=_semver_key, reverse=True)
    return {"componentName": name, "componentVersion": version, "published": published, "versions": versions}


def _component_arn(st: V2State, name: str, version: str | None = None) -> str:
    arn = f"{st.arn_prefix()}:components:{name}"
    return f"{arn}:versions:{version}" if version else arn


@handles("CreateComponentVersion")
def create_component_version(b: "GreengrassBackend", p: dict[str, Any]) -> dict[str, Any]:
    st = _state(b)
    has_inline, has_lambda = p.get("inlineRecipe") is not None, p.get("lambdaFunction") is not None
    if has_inline == has_lambda:
        raise v2_validation(message="Specify exactly one of inlineRecipe or lambdaFunction.", reason="OTHER")
    recipe = _parse_recipe(p["inlineRecipe"]) if has_inline else _lambda_recipe(b, p["lambdaFunction"])
    name, version = _check_recipe(recipe)
    arn = _component_arn(st, name, version)
    if version in st.components.get(name, {}):
        raise v2_conflict("COMPONENT_VERSION", arn, f"Component {name} version {version} already exists.")
    errors = _artifact_digests(b, recipe) if has_inline else {}
    cv = ComponentVersion(
        name=name,
        version=version,
        arn=arn,
        recipe=recipe,
        created=_now(),
        description=_ci_get(recipe, "ComponentDescription"),
        publisher=_ci_get(recipe, "ComponentPublisher"),
        platforms=_platforms(recipe),
    )
    if errors:
        cv.state, cv.errors = "FAILED", errors
        cv.message = "Failed to validate the artifacts of the component."
    st.components.setdefault(name, {})[version] = cv
    if p.get("tags"):
        st.tags[arn] = dict(p["tags"])
    return {"arn": arn, "componentName": name, "componentVersion": version, "creationTimestamp": cv.created, "status": _status(cv)}


def _status(cv: ComponentVersion) -> dict[str, Any]:
    out: dict[str, Any] = {"componentState": cv.state, "vendorGuidance": "ACTIVE"}
    if cv.message:
        out["message"] = cv.message
    if cv.errors:
        out["errors"] = dict(cv.errors)
    return out


_VERSION_ARN = re.compile(r"^arn:[^:]*:greengrass:([^:]*):(aws|[0-9]+):components:([^:]+):versions:([^:]+)$")
_COMPONENT_ARN = re.compile(r"^arn:[^:]*:greengrass:([^:]*):(aws|[0-9]+):components:([^:]+)$")


def _component_version(b: "GreengrassBackend", arn: str, public: bool = True) -> ComponentVersion:
    """The private version (own account) or, if `public`, the public one (account `aws`) the ARN names."""
    st = _state(b)
    m = _VERSION_ARN.match(arn)
    cv = None
    if m and m.group(1) == b.region_name and arn.startswith(f"arn:{b.partition}:"):  # the Region's partition only
        if m.group(2) == b.account_id:
            cv = st.components.get(m.group(3), {}).get(m.group(4))
        elif public and m.group(2) == PUBLIC_ACCOUNT:
            cv = _public_component(b, m.group(3)).get(m.group(4))
    if cv is None:
        raise v2_not_found("COMPONENT_VERSION", arn, f"Component version {arn} not found.")
    return cv


# The states DescribeComponent's `status.componentState` can have (botocore greengrassv2 model,
# CloudComponentState): REQUESTED, INITIATED, DEPLOYABLE, FAILED, DEPRECATED.
COMPONENT_STATES = ("REQUESTED", "INITIATED", "DEPLOYABLE", "FAILED", "DEPRECATED")


def set_component_state(b: "GreengrassBackend", body: dict[str, Any]) -> dict[str, Any]:
    """Bench control (tests only): what the service decides on its own after CreateComponentVersion,
    e.g. a version that ends FAILED because an artifact could not be read later. `body` is
    {"arn": <component version ARN>, "state": one of COMPONENT_STATES, "message"?, "errors"?}."""
    state = body.get("state")
    if state not in COMPONENT_STATES:
        raise ValueError(f"state must be one of {', '.join(COMPONENT_STATES)}")
    arn = body.get("arn")
    if not isinstance(arn, str):
        raise ValueError("arn must be a component version ARN")
    try:
        cv = _component_version(b, arn, public=False)
    except ApiError as e:
        raise ValueError(str(e))
    errors = body.get("errors") or {}
    if not isinstance(errors, dict) or not all(isinstance(v, str) for v in errors.values()):
        raise ValueError("errors must be an object of strings")
    cv.state = state
    cv.message = str(body["message"]) if body.get("message") is not None else None
    cv.errors = {str(k): v for k, v in errors.items()}
    return {"arn": cv.arn, "status": _status(cv)}


def _process(b: "GreengrassBackend", cv: ComponentVersion) -> None:
    """One DescribeComponent read of a version the service is still processing: INITIATED for the
    bench's `componentPolls` reads, then DEPLOYABLE."""
    if cv.state not in ("REQUESTED", "INITIATED"):
        return
    cv.polls += 1
    cv.state = "DEPLOYABLE" if cv.polls > control.control_for(b.account_id).component_polls else "INITIATED"


@handles("DescribeComponent")
def describe_component(b: "GreengrassBackend", p: dict[str, Any]) -> dict[str, Any]:
    cv = _component_version(b, p["arn"])
    _process(b, cv)
    return {
        "arn": cv.arn,
        "componentName": cv.name,
        "componentVersion": cv.version,
        "creationTimestamp": cv.created,
        "publisher": cv.publisher,
        "description": cv.description,
        "status": _status(cv),
        "platforms": cv.platforms,
        "tags": _state(b).tags.get(cv.arn) or None,
    }


@handles("GetComponent")
def get_component(b: "GreengrassBackend", p: dict[str, Any]) -> dict[str, Any]:
    cv = _component_version(b, p["arn"])
    fmt = p.get("recipeOutputFormat") or "JSON"
    if fmt == "YAML":
        recipe = yaml.safe_dump(cv.recipe, sort_keys=False).encode("utf-8")
    else:
        recipe = json.dumps(cv.recipe, indent=2).encode("utf-8")
    return {"recipeOutputFormat": fmt, "recipe": recipe, "tags": _state(b).tags.get(cv.arn) or None}


def _latest(versions: dict[str, ComponentVersion]) -> ComponentVersion:
    return max(versions.values(), key=lambda cv: _semver_key(cv.version))


@handles("ListComponents")
def list_components(b: "GreengrassBackend", p: dict[str, Any]) -> dict[str, Any]:
    st = _state(b)
    items = []
    public = p.get("scope") == "PUBLIC"  # the model's scopes are PRIVATE (default) and PUBLIC, nothing else
    components = {name: _public_component(b, name) for name in _public_names(b)} if public else st.components
    for name in sorted(components):
        versions = components[name]
        if not versions:
            continue
        cv = _latest(versions)
        items.append(
            {
                "arn": _public_arn(b, name) if public else _component_arn(st, name),
                "componentName": name,
                "latestVersion": {
                    "arn": cv.arn,
                    "componentVersion": cv.version,
                    "creationTimestamp": cv.created,
                    "description": cv.description or None,
                    "publisher": cv.publisher or None,
                    "platforms": cv.platforms,
                },
            }
        )
    page, token = _paginate(items, p)
    return {"components": page, "nextToken": token}


@handles("ListComponentVersions")
def list_component_versions(b: "GreengrassBackend", p: dict[str, Any]) -> dict[str, Any]:
    st = _state(b)
    m = _COMPONENT_ARN.match(p["arn"])
    versions: dict[str, ComponentVersion] = {}
    if m and m.group(1) == b.region_name and p["arn"].startswith(f"arn:{b.partition}:"):
        if m.group(2) == b.account_id:
            versions = st.components.get(m.group(3), {})
        elif m.group(2) == PUBLIC_ACCOUNT:
            versions = _public_component(b, m.group(3))
    if not versions:
        raise v2_not_found("COMPONENT", p["arn"], f"Component {p['arn']} not found.")
    ordered = sorted(versions.values(), key=lambda cv: _semver_key(cv.version), reverse=True)
    page, token = _paginate([{"componentName": cv.name, "componentVersion": cv.version, "arn": cv.arn} for cv in ordered], p)
    return {"componentVersions": page, "nextToken": token}


@handles("DeleteComponent")
def delete_component(b: "GreengrassBackend", p: dict[str, Any]) -> dict[str, Any]:
    st = _state(b)
    cv = _component_version(b, p["arn"], public=False)  # public components are not the account's to delete
    del st.components[cv.name][cv.version]
    if not st.components[cv.name]:
        del st.components[cv.name]
    st.tags.pop(cv.arn, None)
    return {}


# ------------------------------------------------------------------------------------------------
# Deployments
# ------------------------------------------------------------------------------------------------

_TARGET = re.compile(r"^arn:[^:]*:iot:([^:]*):([0-9]+):(thing|thinggroup)/(.+)$")


def _iot(b: "GreengrassBackend"):
    from moto.iot.models import iot_backends

    return iot_backends[b.account_id][b.region_name]


def _target_exists(b: "GreengrassBackend", target_arn: str) -> bool:
    m = _TARGET.match(target_arn)
    if not m or m.group(2) != b.account_id or m.group(1) != b.region_name or not target_arn.startswith(f"arn:{b.partition}:"):
        return False  # a thing (group) of this account, Region and partition ("arn:aws-cn:" in China)
    iot = _iot(b)
    if m.group(3) == "thing":
        return any(t.thing_name == m.group(4) for t in iot.things.values())
    return any(g.thing_group_name == m.group(4) for g in iot.thing_groups.values())


def _device_groups(b: "GreengrassBackend", thing_name: str) -> set[str]:
    """ARNs of the thing groups the thing is in."""
    iot = _iot(b)
    thing_arns = {t.arn for t in iot.things.values() if t.thing_name == thing_name}
    return {g.arn for g in iot.thing_groups.values() if thing_arns & set(g.things)}


@handles("CreateDeployment")
def create_deployment(b: "GreengrassBackend", p: dict[str, Any]) -> dict[str, Any]:
    st = _state(b)
    target = p["targetArn"]
    if not _target_exists(b, target):
        raise v2_not_found("THING_OR_THING_GROUP", target, f"The target {target} does not exist.")
    previous = [d for d in st.deployments.values() if d.target_arn == target]
    for d in previous:
        if d.latest:
            d.latest = False
            if d.status == "ACTIVE":  # replaced by the new revision
                d.status = "INACTIVE"
                _cancel_executions(d)
    dep_id = str(uuid.uuid4())
    job_id = str(uuid.uuid4())
    d = Deployment(
        id=dep_id,
        arn=f"{st.arn_prefix()}:deployments:{dep_id}",
        target_arn=target,
        revision_id=str(len(previous) + 1),
        name=p.get("deploymentName"),
        components=p.get("components") or {},
        policies=p.get("deploymentPolicies"),
        iot_job_config=p.get("iotJobConfiguration"),
        parent_target_arn=p.get("parentTargetArn"),
        iot_job_id=job_id,
        iot_job_arn=f"arn:{b.partition}:iot:{b.region_name}:{b.account_id}:job/{job_id}",
        created=_now(),
    )
    st.deployments[dep_id] = d
    if p.get("tags"):
        st.tags[d.arn] = dict(p["tags"])
    return {"deploymentId": d.id, "iotJobId": d.iot_job_id, "iotJobArn": d.iot_job_arn}


def _missing_components(b: "GreengrassBackend", d: Deployment) -> list[str]:
    st = _state(b)
    missing = []
    for name, spec in d.components.items():
        version = spec.get("componentVersion")
        cv = st.components.get(name, {}).get(version)  # a private component of the same name comes first
        if cv is not None and cv.state == "DEPLOYABLE":
            continue
        if cv is None and version in _public_component(b, name):
            continue
        missing.append(f"{name}@{version}")
    return missing


def _platform_value_matches(want: Any, have: str) -> bool:
    """A recipe platform value against the device's ("component recipe reference", Platform): equal,
    `*` for any, or a Java regular expression written `/…/`."""
    w = str(want)
    if w == "*":
        return True
    if len(w) >= 2 and w.startswith("/") and w.endswith("/"):
        return re.fullmatch(w[1:-1], have) is not None
    return w == have


def _unplatformed(b: "GreengrassBackend", d: Deployment, cd: CoreDevice) -> list[str]:
    """The private component versions of `d` with no manifest for the device's platform: the nucleus
    takes the first manifest whose Platform matches (os, architecture, architecture.detail as the
    device reports them) and fails the deployment when none does. A device that reported no
    architecture is not checked on it."""
    device = {"os": cd.platform or "linux"}
    if cd.architecture:
        device["architecture"] = cd.architecture
    out = []
    for name, spec in d.components.items():
        cv = _state(b).components.get(name, {}).get(spec.get("componentVersion"))
        if cv is None or not cv.platforms:
            continue
        if not any(
            all(k not in device or _platform_value_matches(v, device[k]) for k, v in p.get("attributes", {}).items())
            for p in cv.platforms
        ):
            out.append(f"{name}@{cv.version}")
    return out


def _cancel_executions(d: Deployment) -> None:
    for e in d.executions.values():
        if e.status in ("QUEUED", "IN_PROGRESS"):
            e.status, e.modified = "CANCELED", _now()


def _members(b: "GreengrassBackend", d: Deployment) -> list[CoreDevice]:
    """The core devices the deployment reaches: the target thing, or the target group's members,
    that have registered as core devices."""
    out = []
    for cd in _state(b).core_devices.values():
        me = {f"arn:{b.partition}:iot:{b.region_name}:{b.account_id}:thing/{cd.thing_name}"} | _device_groups(b, cd.thing_name)
        if d.target_arn in me:
            out.append(cd)
    return out


def _device_outcome(b: "GreengrassBackend", d: Deployment, cd: CoreDevice) -> dict[str, Any]:
    """What the device makes of the deployment: its own setting, else the bench's outcome for the
    deployment or target, else success; an unresolvable component fails it as the nucleus does."""
    ctl = control.control_for(b.account_id)
    outcome = cd.auto_apply if isinstance(cd.auto_apply, dict) else ctl.v2_outcome(d.id, d.target_arn)
    if outcome and outcome.get("status") == "FAILED":
        return {
            "status": "FAILED",
            "reason": outcome.get("reason") or "Deployment failed.",
            "errorStack": outcome.get("errorStack") or ["DEPLOYMENT_FAILURE"],
            "errorTypes": outcome.get("errorTypes") or ["DEPLOYMENT_FAILURE"],
        }
    missing = _missing_components(b, d)
    if missing:
        return {
            "status": "FAILED",
            "reason": f"Component versions could not be resolved: {', '.join(missing)}",
            "errorStack": ["DEPLOYMENT_FAILURE", "NO_AVAILABLE_COMPONENT_VERSION"],
            "errorTypes": ["REQUEST_ERROR"],
        }
    foreign = _unplatformed(b, d, cd)
    if foreign:
        return {
            "status": "FAILED",
            "reason": f"No manifest of {', '.join(foreign)} matches the platform of {cd.thing_name} (os {cd.platform or 'linux'}, architecture {cd.architecture})",
            "errorStack": ["DEPLOYMENT_FAILURE", "NO_AVAILABLE_COMPONENT_VERSION"],
            "errorTypes": ["REQUEST_ERROR"],
        }
    return {"status": "SUCCEEDED", "reason": "SUCCESSFUL"}


def _report_installed(cd: CoreDevice, d: Deployment) -> None:
    """The device reports its components after applying `d` (the nucleus's status update): those
    of `d` replace the ones an earlier deployment to the same target installed."""
    now = _now()
    kept = [c for c in (cd.installed_components or []) if c.get("lastInstallationSource") != d.target_arn and c.get("componentName") not in d.components]
    for name in sorted(d.components):
        kept.append(
            {
                "componentName": name,
                "componentVersion": d.components[name].get("componentVersion"),
                "lifecycleState": "RUNNING",
                "isRoot": True,
                "lastStatusChangeTimestamp": now,
                "lastReportedTimestamp": now,
                "lastInstallationSource": d.target_arn,
            }
        )
    cd.installed_components = kept


def _advance(b: "GreengrassBackend", d: Deployment) -> None:
    """One read of an ACTIVE deployment, as the devices it reaches work on it.

    Each registered core device in the target picks it up (QUEUED), works on it (IN_PROGRESS) for the
    bench's `v2DeploymentPolls` reads, then ends it and reports its components. A deployment to a
    thing group stays ACTIVE: it is continuous, new members get it when they join ("Deploy AWS IoT
    Greengrass components to devices", V2 developer guide), and per-device outcomes are only in
    ListEffectiveDeployments. A deployment to one thing ends with its device: COMPLETED or FAILED.
    """
    if d.status != "ACTIVE" or not d.latest:
        return
    ctl = control.control_for(b.account_id)
    for cd in _members(b, d):
        if cd.auto_apply is False:
            continue
        e = d.executions.setdefault(cd.thing_name, Execution())
        if e.status not in ("QUEUED", "IN_PROGRESS"):
            continue
        e.polls += 1
        if e.polls <= ctl.v2_deployment_polls:
            if e.status == "QUEUED":
                e.status, e.modified = "IN_PROGRESS", _now()
            continue
        o = _device_outcome(b, d, cd)
        e.status, e.reason, e.modified = o["status"], o["reason"], _now()
        e.error_stack, e.error_types = o.get("errorStack"), o.get("errorTypes")
        if e.status == "SUCCEEDED":
            _report_installed(cd, d)
    m = _TARGET.match(d.target_arn)
    if m and m.group(3) == "thing":
        e = d.executions.get(m.group(4))
        if e is not None and e.status == "SUCCEEDED":
            d.status = "COMPLETED"
        elif e is not None and e.status not in ("QUEUED", "IN_PROGRESS"):
            d.status = "FAILED"


def _advance_all(b: "GreengrassBackend") -> None:
    for d in list(_state(b).deployments.values()):
        _advance(b, d)


def _deployment(b: "GreengrassBackend", dep_id: str) -> Deployment:
    d = _state(b).deployments.get(dep_id)
    if d is None:
        raise v2_not_found("DEPLOYMENT", dep_id, f"Deployment {dep_id} not found.")
    return d


@handles("GetDeployment")
def get_deployment(b: "GreengrassBackend", p: dict[str, Any]) -> dict[str, Any]:
    d = _deployment(b, p["deploymentId"])
    _advance(b, d)
    return {
        "targetArn": d.target_arn,
        "revisionId": d.revision_id,
        "deploymentId": d.id,
        "deploymentName": d.name,
        "deploymentStatus": d.status,
        "iotJobId": d.iot_job_id,
        "iotJobArn": d.iot_job_arn,
        "components": d.components,
        "deploymentPolicies": d.policies,
        "iotJobConfiguration": d.iot_job_config,
        "creationTimestamp": d.created,
        "isLatestForTarget": d.latest,
        "parentTargetArn": d.parent_target_arn,
        "tags": _state(b).tags.get(d.arn) or None,
    }


@handles("ListDeployments")
def list_deployments(b: "GreengrassBackend", p: dict[str, Any]) -> dict[str, Any]:
    ds = list(_state(b).deployments.values())
    if p.get("targetArn"):
        ds = [d for d in ds if d.target_arn == p["targetArn"]]
    if p.get("parentTargetArn"):
        ds = [d for d in ds if d.parent_target_arn == p["parentTargetArn"]]
    if (p.get("historyFilter") or "LATEST_ONLY") == "LATEST_ONLY":
        ds = [d for d in ds if d.latest]
    ds.sort(key=lambda d: d.created, reverse=True)
    items = [
        {
            "targetArn": d.target_arn,
            "revisionId": d.revision_id,
            "deploymentId": d.id,
            "deploymentName": d.name,
            "creationTimestamp": d.created,
            "deploymentStatus": d.status,
            "isLatestForTarget": d.latest,
            "parentTargetArn": d.parent_target_arn,
        }
        for d in ds
    ]
    page, token = _paginate(items, p)
    return {"deployments": page, "nextToken": token}


@handles("CancelDeployment")
def cancel_deployment(b: "GreengrassBackend", p: dict[str, Any]) -> dict[str, Any]:
    d = _deployment(b, p["deploymentId"])
    if d.status != "ACTIVE":
        raise v2_conflict("DEPLOYMENT", d.id, f"Deployment {d.id} is {d.status} and cannot be canceled.")
    d.status = "CANCELED"
    _cancel_executions(d)
    return {"message": "SUCCESS"}


@handles("DeleteDeployment")
def delete_deployment(b: "GreengrassBackend", p: dict[str, Any]) -> dict[str, Any]:
    d = _deployment(b, p["deploymentId"])
    if d.status == "ACTIVE":
        raise v2_conflict("DEPLOYMENT", d.id, f"Deployment {d.id} is active; cancel it before deleting it.")
    del _state(b).deployments[d.id]
    _state(b).tags.pop(d.arn, None)
    return {}


# ------------------------------------------------------------------------------------------------
# Core devices
# ------------------------------------------------------------------------------------------------


def _core_device(b: "GreengrassBackend", name: str) -> CoreDevice:
    cd = _state(b).core_devices.get(name)
    if cd is None:
        raise v2_not_found("CORE_DEVICE", name, f"Core device {name} not found.")
    return cd


def _core_device_arn(b: "GreengrassBackend", name: str) -> str:
    return f"{_state(b).arn_prefix()}:coreDevices:{name}"


@handles("ListCoreDevices")
def list_core_devices(b: "GreengrassBackend", p: dict[str, Any]) -> dict[str, Any]:
    cds = list(_state(b).core_devices.values())
    if p.get("status"):
        cds = [c for c in cds if c.status == p["status"]]
    if p.get("runtime"):
        cds = [c for c in cds if c.runtime == p["runtime"]]
    if p.get("thingGroupArn"):
        cds = [c for c in cds if p["thingGroupArn"] in _device_groups(b, c.thing_name)]
    items = [
        {
            "coreDeviceThingName": c.thing_name,
            "status": c.status,
            "lastStatusUpdateTimestamp": c.last_status_update,
            "platform": c.platform,
            "architecture": c.architecture,
            "runtime": c.runtime,
        }
        for c in cds
    ]
    page, token = _paginate(items, p)
    return {"coreDevices": page, "nextToken": token}


@handles("GetCoreDevice")
def get_core_device(b: "GreengrassBackend", p: dict[str, Any]) -> dict[str, Any]:
    c = _core_device(b, p["coreDeviceThingName"])
    return {
        "coreDeviceThingName": c.thing_name,
        "coreVersion": c.core_version,
        "platform": c.platform,
        "architecture": c.architecture,
        "runtime": c.runtime,
        "status": c.status,
        "lastStatusUpdateTimestamp": c.last_status_update,
        "tags": _state(b).tags.get(_core_device_arn(b, c.thing_name)) or None,
    }


@handles("DeleteCoreDevice")
def delete_core_device(b: "GreengrassBackend", p: dict[str, Any]) -> dict[str, Any]:
    c = _core_device(b, p["coreDeviceThingName"])
    del _state(b).core_devices[c.thing_name]
    _state(b).tags.pop(_core_device_arn(b, c.thing_name), None)
    return {}


def _effective(b: "GreengrassBackend", thing_name: str) -> list[tuple[Deployment, Execution]]:
    """The deployments the device has picked up, newest first, with its execution of each."""
    _advance_all(b)
    ds = [(d, d.executions[thing_name]) for d in _state(b).deployments.values() if thing_name in d.executions]
    ds.sort(key=lambda x: x[0].created, reverse=True)
    return ds


@handles("ListEffectiveDeployments")
def list_effective_deployments(b: "GreengrassBackend", p: dict[str, Any]) -> dict[str, Any]:
    c = _core_device(b, p["coreDeviceThingName"])
    items = []
    for d, e in _effective(b, c.thing_name):
        item: dict[str, Any] = {
            "deploymentId": d.id,
            "deploymentName": d.name or d.id,
            "iotJobId": d.iot_job_id,
            "iotJobArn": d.iot_job_arn,
            "targetArn": d.target_arn,
            "coreDeviceExecutionStatus": e.status,
            "reason": e.reason,
            "creationTimestamp": e.created,
            "modifiedTimestamp": e.modified,
        }
        if e.error_stack or e.error_types:
            item["statusDetails"] = {"errorStack": e.error_stack or [], "errorTypes": e.error_types or []}
        items.append(item)
    page, token = _paginate(items, p)
    return {"effectiveDeployments": page, "nextToken": token}


@handles("ListInstalledComponents")
def list_installed_components(b: "GreengrassBackend", p: dict[str, Any]) -> dict[str, Any]:
    """Only what the device reported (the service knows nothing else of the device)."""
    c = _core_device(b, p["coreDeviceThingName"])
    _advance_all(b)
    items = [dict(x) for x in c.installed_components or []]
    if p.get("topologyFilter") == "ROOT":
        items = [i for i in items if i.get("isRoot", True)]
    page, token = _paginate(items, p)
    return {"installedComponents": page, "nextToken": token}


def report_core_device(b: "GreengrassBackend", body: dict[str, Any]) -> CoreDevice:
    """Control endpoint: a core device connected (or changed its health)."""
    name = body.get("thingName") or body.get("coreDeviceThingName")
    if not isinstance(name, str) or not name:
        raise ValueError("thingName is required")
    status = body.get("status", "HEALTHY")
    if status not in ("HEALTHY", "UNHEALTHY"):
        raise ValueError("status must be HEALTHY or UNHEALTHY")
    st = _state(b)
    cd = st.core_devices.get(name) or CoreDevice(name, status, _now())
    cd.status = status
    cd.last_status_update = _now()
    for key, attr in (("coreVersion", "core_version"), ("platform", "platform"), ("architecture", "architecture"), ("runtime", "runtime")):
        if body.get(key) is not None:
            setattr(cd, attr, str(body[key]))
    if cd.platform is None:
        cd.platform = "linux"
    if cd.runtime is None:
        cd.runtime = "aws_nucleus_classic"
    if "installedComponents" in body:
        cd.installed_components = body["installedComponents"]
    if "autoApply" in body:
        auto = body["autoApply"]
        if auto is True or auto is None:
            auto = None
        elif isinstance(auto, dict):
            status = {"COMPLETED": "SUCCEEDED"}.get(auto.get("status"), auto.get("status"))
            if status not in ("SUCCEEDED", "FAILED"):
                raise ValueError("autoApply.status must be SUCCEEDED or FAILED")
            auto = {**auto, "status": status}
        elif auto is not False:
            raise ValueError("autoApply must be true, false or {status: SUCCEEDED|FAILED, reason?, errorStack?, errorTypes?}")
        cd.auto_apply = auto
    st.core_devices[name] = cd
    return cd


def device_job(b: "GreengrassBackend", body: dict[str, Any]) -> dict[str, Any]:
    """Device side, STAND-IN for the IoT job through which the nucleus gets its deployment (the
    service has no HTTP API for it): the latest ACTIVE deployment reaching the registered core device
    `thingName` (its thing or a thing group it is in), as {"deploymentId", "targetArn", "components"},
    or {} when there is none. The device's execution becomes IN_PROGRESS."""
    name = body.get("thingName")
    if not isinstance(name, str) or not name:
        raise ValueError("thingName is required")
    cd = _state(b).core_devices.get(name)
    if cd is None:
        raise ValueError(f"{name} is not a registered core device (report it with /ggp-bench/greengrassv2/core-device first)")
    reach = [d for d in _state(b).deployments.values() if d.status == "ACTIVE" and d.latest and cd in _members(b, d)]
    if not reach:
        return {}
    d = max(reach, key=lambda x: x.created)
    e = d.executions.setdefault(name, Execution())
    if e.status == "QUEUED":
        e.status, e.modified = "IN_PROGRESS", _now()
    return {"deploymentId": d.id, "targetArn": d.target_arn, "components": d.components}


def device_report(b: "GreengrassBackend", body: dict[str, Any]) -> dict[str, Any]:
    """Device side, STAND-IN for the nucleus's status update after a deployment (over MQTT on AWS):
    {"thingName", "deploymentId", "status": "SUCCEEDED"|"FAILED", "reason"?, "errorStack"?,
    "errorTypes"?, "installedComponents": [...]} sets the device's execution and what it reports
    installed; a thing target's deployment ends with it."""
    name, dep_id, status = body.get("thingName"), body.get("deploymentId"), body.get("status")
    if status not in ("SUCCEEDED", "FAILED"):
        raise ValueError("status must be SUCCEEDED or FAILED")
    cd = _state(b).core_devices.get(str(name))
    d = _state(b).deployments.get(str(dep_id))
    if cd is None or d is None:
        raise ValueError("thingName must be a registered core device and deploymentId a deployment")
    for key in ("errorStack", "errorTypes"):
        v = body.get(key)
        if v is not None and (not isinstance(v, list) or not all(isinstance(x, str) for x in v)):
            raise ValueError(f"{key} must be a list of strings")
    e = d.executions.setdefault(cd.thing_name, Execution())
    e.status, e.modified = status, _now()
    e.reason = body.get("reason") or ("SUCCESSFUL" if status == "SUCCEEDED" else "Deployment failed.")
    e.error_stack, e.error_types = body.get("errorStack"), body.get("errorTypes")
    if isinstance(body.get("installedComponents"), list):
        cd.installed_components = body["installedComponents"]
    cd.last_status_update = _now()
    m = _TARGET.match(d.target_arn)
    if m and m.group(3) == "thing" and m.group(4) == cd.thing_name:
        d.status = "COMPLETED" if status == "SUCCEEDED" else "FAILED"
    return {"deploymentId": d.id, "coreDeviceExecutionStatus": e.status}


# ------------------------------------------------------------------------------------------------
# Tags (V2 resources: components, deployments, core devices)
# ------------------------------------------------------------------------------------------------

_V2_ARN = re.compile(r"^arn:[^:]*:greengrass:([^:]*):(aws|[0-9]+):(components|deployments|coreDevices):(.*)$")


def is_v2_arn(arn: str) -> bool:
    return bool(_V2_ARN.match(arn))


def _check_v2_resource(b: "GreengrassBackend", arn: str) -> None:
    st = _state(b)
    m = _V2_ARN.match(arn)
    ok = False
    if m and m.group(2) == b.account_id and m.group(1) == b.region_name:
        kind, rest = m.group(3), m.group(4)
        if kind == "components":
            name, _, ver = rest.partition(":versions:")
            ok = name in st.components and (not ver or ver in st.components[name])
        elif kind == "deployments":
            ok = rest in st.deployments
        else:
            ok = rest in st.core_devices
    if not ok:
        raise v2_not_found("RESOURCE", arn, f"Resource {arn} not found.")


@handles("TagResource")
def tag_resource(b: "GreengrassBackend", p: dict[str, Any]) -> dict[str, Any]:
    _check_v2_resource(b, p["resourceArn"])
    _state(b).tags.setdefault(p["resourceArn"], {}).update(p["tags"])
    return {}


@handles("UntagResource")
def untag_resource(b: "GreengrassBackend", p: dict[str, Any]) -> dict[str, Any]:
    _check_v2_resource(b, p["resourceArn"])
    tags = _state(b).tags.get(p["resourceArn"], {})
    for k in p["tagKeys"]:
        tags.pop(k, None)
    return {}


@handles("ListTagsForResource")
def list_tags(b: "GreengrassBackend", p: dict[str, Any]) -> dict[str, Any]:
    _check_v2_resource(b, p["resourceArn"])
    return {"tags": dict(_state(b).tags.get(p["resourceArn"], {})) or None}

# The account service role and connectivity info paths are shared with V1 and have the same wire format
# in both models (the V2 model maps its camelCase members to the PascalCase names). dispatch.py sends a
# request on them here when the caller says it is the V2 API (the SDKs' `api/greengrassv2` user-agent
# token), so that validation and errors follow the V2 model; the state is V1's.


def _as_v2_error(e: ApiError) -> ApiError:
    return v2_validation(message=e.body.get("Message", "invalid request"), reason="OTHER") if e.status == 400 else e


@handles("AssociateServiceRoleToAccount")
def associate_service_role(b: "GreengrassBackend", p: dict[str, Any]) -> dict[str, Any]:
    from . import greengrass_v1

    try:
        out = greengrass_v1.associate_service_role(b, {"RoleArn": p["roleArn"]})
    except ApiError as e:
        raise _as_v2_error(e)
    return {"associatedAt": out["AssociatedAt"]}


@handles("GetServiceRoleForAccount")
def get_service_role(b: "GreengrassBackend", p: dict[str, Any]) -> dict[str, Any]:
    from . import greengrass_v1

    out = greengrass_v1.get_service_role(b, {})
    return {"associatedAt": out.get("AssociatedAt"), "roleArn": out.get("RoleArn")}


@handles("DisassociateServiceRoleFromAccount")
def disassociate_service_role(b: "GreengrassBackend", p: dict[str, Any]) -> dict[str, Any]:
    from . import greengrass_v1

    return {"disassociatedAt": greengrass_v1.disassociate_service_role(b, {})["DisassociatedAt"]}


_CONNECTIVITY = (("id", "Id"), ("hostAddress", "HostAddress"), ("portNumber", "PortNumber"), ("metadata", "Metadata"))


@handles("GetConnectivityInfo")
def get_connectivity_info(b: "GreengrassBackend", p: dict[str, Any]) -> dict[str, Any]:
    infos = b.ggp_connectivity.get(p["thingName"], ([], None))[0]
    return {"connectivityInfo": [{v2: i.get(v1) for v2, v1 in _CONNECTIVITY} for i in infos]}


@handles("UpdateConnectivityInfo")
def update_connectivity_info(b: "GreengrassBackend", p: dict[str, Any]) -> dict[str, Any]:
    from . import greengrass_v1

    infos = [{v1: i.get(v2) for v2, v1 in _CONNECTIVITY} for i in p.get("connectivityInfo") or []]
    out = greengrass_v1.update_connectivity_info(b, {"ThingName": p["thingName"], "ConnectivityInfo": infos})
    return {"version": out["Version"]}
