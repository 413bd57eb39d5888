"""Greengrass V1 operations on top of moto's greengrass backend.

moto 5.2.5 stores groups, definitions and deployments well but lacks loggers, connectors, the account
service role, group CAs, connectivity info and tags, answers 500 for a definition created without
InitialVersion, drops DefaultConfig and the logger/connector ARNs of group versions, and never ends a
deployment. This module handles those operations itself (using moto's backend objects for storage, so
moto's remaining handlers see the same state) and leaves the rest to moto.
Each handler gets the validated input (member names of the botocore model) and returns the output
as member names; `dispatch.py` does parsing, validation and serialization.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from moto.core.utils import iso_8601_datetime_with_milliseconds, utcnow
from moto.greengrass.models import FakeAssociatedRole, FakeDeployment, FakeGroup, FakeGroupVersion, GreengrassBackend

from . import control
from .errors import v1_bad_request, v1_not_found

Handler = Callable[[GreengrassBackend, dict[str, Any]], dict[str, Any] | None]
HANDLERS: dict[str, Handler] = {}


def handles(*names: str):
    def deco(fn: Handler) -> Handler:
        for n in names:
            HANDLERS[n] = fn
        return fn

    return deco


def _ts(value: dt.datetime | None = None) -> str:
    return iso_8601_datetime_with_milliseconds(value or utcnow())


# ------------------------------------------------------------------------------------------------
# Definitions: one generic implementation for the seven kinds
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    name: str  # Core, Device, ...: the operation infix (CreateCoreDefinition)
    segment: str  # cores, devices, ...: the URI / ARN segment
    items: str  # Cores, Devices, ...: the list member of the version
    label: str  # how the service names it in messages
    reference: str  # error detail when a group version points at a missing version

    @property
    def defs_attr(self) -> str:
        return f"{self.name.lower()}_definitions"

    @property
    def vers_attr(self) -> str:
        return f"{self.name.lower()}_definition_versions"


KINDS = [
    Kind("Core", "cores", "Cores", "Core List", "Cores definition reference does not exist"),
    Kind("Device", "devices", "Devices", "Device List", "Devices definition reference does not exist"),
    Kind("Function", "functions", "Functions", "Lambda List", "Lambda definition reference does not exist"),
    Kind("Resource", "resources", "Resources", "Resource List", "Resource definition reference does not exist"),
    Kind("Subscription", "subscriptions", "Subscriptions", "Subscription List", "Subscription definition reference does not exist"),
    Kind("Logger", "loggers", "Loggers", "Logger List", "Loggers definition reference does not exist"),
    Kind("Connector", "connectors", "Connectors", "Connector List", "Connectors definition reference does not exist"),
]
KIND_BY_SEGMENT = {k.segment: k for k in KINDS}


class GgDefinition:
    """A definition of any kind. moto's own Fake*Definition classes are not used for new ones because
    they cannot be created without an initial version; their attribute names are kept."""

    def __init__(self, backend: GreengrassBackend, kind: Kind, name: str | None):
        self.kind = kind
        self.id = str(uuid.uuid4())
        self.name = name
        self.arn = f"arn:{backend.partition}:greengrass:{backend.region_name}:{backend.account_id}:greengrass/definition/{kind.segment}/{self.id}"
        self.created_at_datetime = utcnow()
        self.update_at_datetime = self.created_at_datetime
        self.latest_version = ""
        self.latest_version_arn = ""


class GgDefinitionVersion:
    def __init__(self, backend: GreengrassBackend, kind: Kind, definition_id: str, definition: dict[str, Any]):
        self.version = str(uuid.uuid4())
        self.definition_id = definition_id
        self.arn = f"arn:{backend.partition}:greengrass:{backend.region_name}:{backend.account_id}:greengrass/definition/{kind.segment}/{definition_id}/versions/{self.version}"
        self.created_at_datetime = utcnow()
        self.ggp_definition = definition


def _defs(b: GreengrassBackend, kind: Kind) -> dict[str, Any]:
    return getattr(b, kind.defs_attr)


def _vers(b: GreengrassBackend, kind: Kind) -> dict[str, dict[str, Any]]:
    return getattr(b, kind.vers_attr)


def _get_def(b: GreengrassBackend, kind: Kind, def_id: str) -> Any:
    d = _defs(b, kind).get(def_id)
    if d is None:
        raise v1_not_found("IdNotFoundException", f"That {kind.label} Definition does not exist.")
    return d


def _def_info(b: GreengrassBackend, d: Any) -> dict[str, Any]:
    return {
        "Arn": d.arn,
        "CreationTimestamp": _ts(d.created_at_datetime),
        "Id": d.id,
        "LastUpdatedTimestamp": _ts(getattr(d, "update_at_datetime", d.created_at_datetime)),
        "LatestVersion": d.latest_version or None,
        "LatestVersionArn": d.latest_version_arn or None,
        "Name": d.name,
    }


def _version_content(kind: Kind, v: Any) -> dict[str, Any]:
    """The Definition member of Get*DefinitionVersion, from our versions or moto's."""
    if hasattr(v, "ggp_definition"):
        return v.ggp_definition
    if kind.name == "Core":
        return v.definition
    return {kind.items: getattr(v, kind.items.lower())}


def _create_version(b: GreengrassBackend, kind: Kind, def_id: str, content: dict[str, Any]) -> Any:
    items = content.get(kind.items) or []
    d = _get_def(b, kind, def_id)
    if kind.name == "Core":
        v = b.create_core_definition_version(def_id, items)
    elif kind.name == "Device":
        v = b.create_device_definition_version(def_id, items)
    elif kind.name == "Function":
        v = b.create_function_definition_version(def_id, items, content.get("DefaultConfig"))
    elif kind.name == "Resource":
        GreengrassBackend._validate_resources(items)
        v = b.create_resource_definition_version(def_id, items)
    elif kind.name == "Subscription":
        v = b.create_subscription_definition_version(def_id, items)
    else:
        v = GgDefinitionVersion(b, kind, def_id, content)
        _vers(b, kind).setdefault(def_id, {})[v.version] = v
    # Keep exactly what was sent (moto drops DefaultConfig and other members it doesn't know).
    v.ggp_definition = {k: val for k, val in content.items() if val is not None}
    d.latest_version = v.version
    d.latest_version_arn = v.arn
    d.update_at_datetime = utcnow()
    return v


def _version_info(v: Any, def_id: str) -> dict[str, Any]:
    return {"Arn": v.arn, "CreationTimestamp": _ts(v.created_at_datetime), "Id": def_id, "Version": v.version}


def _register_definition_ops(kind: Kind) -> None:
    n = kind.name

    @handles(f"Create{n}Definition")
    def create(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
        initial = p.get("InitialVersion")
        if kind.name == "Subscription" and initial:
            GreengrassBackend._validate_subscription_target_or_source(initial.get("Subscriptions") or [])
        if kind.name == "Resource" and initial:
            GreengrassBackend._validate_resources(initial.get("Resources") or [])
        d = GgDefinition(b, kind, p.get("Name"))
        _defs(b, kind)[d.id] = d
        _vers(b, kind)[d.id] = {}
        try:
            if initial is not None:
                _create_version(b, kind, d.id, initial)
        except Exception:
            del _defs(b, kind)[d.id]
            del _vers(b, kind)[d.id]
            raise
        if p.get("tags"):
            b.ggp_tags[d.arn] = dict(p["tags"])
        return _def_info(b, d)

    @handles(f"Get{n}Definition")
    def get(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
        d = _get_def(b, kind, p[f"{n}DefinitionId"])
        out = _def_info(b, d)
        out["tags"] = b.ggp_tags.get(d.arn) or None
        return out

    @handles(f"List{n}Definitions")
    def list_(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
        defs = []
        for d in _defs(b, kind).values():
            info = _def_info(b, d)
            info["Tags"] = b.ggp_tags.get(d.arn) or None
            defs.append(info)
        page, token = _paginate(defs, p)
        return {"Definitions": page, "NextToken": token}

    @handles(f"Update{n}Definition")
    def update(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
        d = _get_def(b, kind, p[f"{n}DefinitionId"])
        if not p.get("Name"):
            raise v1_bad_request("Input does not contain any attributes to be updated")
        d.name = p["Name"]
        d.update_at_datetime = utcnow()
        return {}

    @handles(f"Delete{n}Definition")
    def delete(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
        d = _get_def(b, kind, p[f"{n}DefinitionId"])
        del _defs(b, kind)[d.id]
        _vers(b, kind).pop(d.id, None)
        b.ggp_tags.pop(d.arn, None)
        return {}

    @handles(f"Create{n}DefinitionVersion")
    def create_version(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
        def_id = p[f"{n}DefinitionId"]
        _get_def(b, kind, def_id)
        content = {k: v for k, v in p.items() if k not in (f"{n}DefinitionId", "AmznClientToken")}
        v = _create_version(b, kind, def_id, content)
        return _version_info(v, def_id)

    @handles(f"Get{n}DefinitionVersion")
    def get_version(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
        def_id = p[f"{n}DefinitionId"]
        _get_def(b, kind, def_id)
        ver_id = p[f"{n}DefinitionVersionId"]
        v = _vers(b, kind).get(def_id, {}).get(ver_id)
        if v is None:
            raise v1_not_found("VersionNotFoundException", f"Version {ver_id} of {kind.label} Definition {def_id} does not exist.")
        out = _version_info(v, def_id)
        out["Definition"] = _version_content(kind, v)
        return out

    @handles(f"List{n}DefinitionVersions")
    def list_versions(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
        def_id = p[f"{n}DefinitionId"]
        _get_def(b, kind, def_id)
        versions = [_version_info(v, def_id) for v in _vers(b, kind).get(def_id, {}).values()]
        page, token = _paginate(versions, p)
        return {"Versions": page, "NextToken": token}


for _k in KINDS:
    _register_definition_ops(_k)


def _paginate(items: list[Any], p: dict[str, Any]) -> tuple[list[Any], str | None]:
    """MaxResults/NextToken are strings in the V1 model."""
    try:
        start = int(p.get("NextToken") or 0)
        size = int(p.get("MaxResults") or 0) or len(items) or 1
    except ValueError:
        raise v1_bad_request("Invalid pagination parameters.")
    page = items[start : start + size]
    nxt = start + size
    return page, (str(nxt) if nxt < len(items) else None)


# ------------------------------------------------------------------------------------------------
# Subscriptions: moto's regex rejects thing names with '_' (ggp's core is <group>_Core) and connectors
# ------------------------------------------------------------------------------------------------

_SUB_PATTERNS = [
    re.compile(r"^arn:aws[a-z-]*:iot:[a-z0-9-]+:[0-9]{12}:thing/[a-zA-Z0-9:_-]+$"),
    re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[a-zA-Z0-9_-]+:[a-zA-Z0-9_-]+$"),
    re.compile(r"^arn:aws[a-z-]*:greengrass:[a-z0-9-]+::/connectors/[a-zA-Z0-9_-]+/versions/[0-9]+$"),
]


def _is_valid_subscription_target_or_source(target_or_source: str) -> bool:
    if target_or_source in ("cloud", "GGShadowService"):
        return True
    return any(p.match(target_or_source) for p in _SUB_PATTERNS)


# ------------------------------------------------------------------------------------------------
# Groups and group versions
# ------------------------------------------------------------------------------------------------

GROUP_VERSION_MEMBERS = {
    "CoreDefinitionVersionArn": KIND_BY_SEGMENT["cores"],
    "DeviceDefinitionVersionArn": KIND_BY_SEGMENT["devices"],
    "FunctionDefinitionVersionArn": KIND_BY_SEGMENT["functions"],
    "ResourceDefinitionVersionArn": KIND_BY_SEGMENT["resources"],
    "SubscriptionDefinitionVersionArn": KIND_BY_SEGMENT["subscriptions"],
    "LoggerDefinitionVersionArn": KIND_BY_SEGMENT["loggers"],
    "ConnectorDefinitionVersionArn": KIND_BY_SEGMENT["connectors"],
}
_DEF_VERSION_ARN = re.compile(r"^arn:aws[a-z-]*:greengrass:[a-z0-9-]+:[0-9]{12}:/?greengrass/definition/([a-z]+)/([^/]+)/versions/([^/]+)$")


def _group(b: GreengrassBackend, group_id: str) -> FakeGroup:
    g = b.groups.get(group_id)
    if g is None:
        raise v1_not_found("IdNotFoundException", "That Group Definition does not exist.")
    return g


def _group_info(g: FakeGroup) -> dict[str, Any]:
    return {
        "Arn": g.arn,
        "CreationTimestamp": _ts(g.created_at_datetime),
        "Id": g.group_id,
        "LastUpdatedTimestamp": _ts(g.last_updated_datetime),
        "LatestVersion": g.latest_version or None,
        "LatestVersionArn": g.latest_version_arn or None,
        "Name": g.name,
    }


def _create_group_version(b: GreengrassBackend, group_id: str, content: dict[str, Any]) -> FakeGroupVersion:
    g = _group(b, group_id)
    errors = []
    for member, kind in GROUP_VERSION_MEMBERS.items():
        arn = content.get(member)
        if arn is None:
            continue
        m = _DEF_VERSION_ARN.match(arn)
        ok = False
        if m and m.group(1) == kind.segment:
            v = _vers(b, kind).get(m.group(2), {}).get(m.group(3))
            ok = v is not None and v.arn == arn
        if not ok:
            errors.append(kind.reference)
    if errors:
        raise v1_bad_request(
            f"The group is invalid or corrupted. (ErrorDetails: [{', '.join(errors)}])",
            [("GG-400", e) for e in errors],
        )
    gv = FakeGroupVersion(
        b.account_id,
        b.region_name,
        group_id=group_id,
        core_definition_version_arn=content.get("CoreDefinitionVersionArn"),
        device_definition_version_arn=content.get("DeviceDefinitionVersionArn"),
        function_definition_version_arn=content.get("FunctionDefinitionVersionArn"),
        resource_definition_version_arn=content.get("ResourceDefinitionVersionArn"),
        subscription_definition_version_arn=content.get("SubscriptionDefinitionVersionArn"),
    )
    gv.ggp_definition = {m: content[m] for m in GROUP_VERSION_MEMBERS if content.get(m)}
    b.group_versions.setdefault(group_id, {})[gv.version] = gv
    g.latest_version = gv.version
    g.latest_version_arn = gv.arn
    g.last_updated_datetime = utcnow()
    return gv


def _group_version_info(gv: FakeGroupVersion) -> dict[str, Any]:
    return {"Arn": gv.arn, "CreationTimestamp": _ts(gv.created_at_datetime), "Id": gv.group_id, "Version": gv.version}


@handles("CreateGroup")
def create_group(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    g = FakeGroup(b.account_id, b.region_name, p.get("Name"))
    b.groups[g.group_id] = g
    b.group_versions[g.group_id] = {}
    try:
        if p.get("InitialVersion") is not None:
            _create_group_version(b, g.group_id, p["InitialVersion"])
    except Exception:
        del b.groups[g.group_id]
        del b.group_versions[g.group_id]
        raise
    if p.get("tags"):
        b.ggp_tags[g.arn] = dict(p["tags"])
    return _group_info(g)


@handles("GetGroup")
def get_group(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    g = _group(b, p["GroupId"])
    out = _group_info(g)
    out["tags"] = b.ggp_tags.get(g.arn) or None
    return out


@handles("ListGroups")
def list_groups(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    page, token = _paginate([_group_info(g) for g in b.groups.values()], p)
    return {"Groups": page, "NextToken": token}


@handles("DeleteGroup")
def delete_group(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    g = _group(b, p["GroupId"])
    del b.groups[g.group_id]
    b.group_versions.pop(g.group_id, None)
    b.ggp_tags.pop(g.arn, None)
    b.ggp_group_cas.pop(g.group_id, None)
    return {}


@handles("UpdateGroup")
def update_group(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    g = _group(b, p["GroupId"])
    if not p.get("Name"):
        raise v1_bad_request("Input does not contain any attributes to be updated")
    g.name = p["Name"]
    g.last_updated_datetime = utcnow()
    return {}


@handles("CreateGroupVersion")
def create_group_version(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    gv = _create_group_version(b, p["GroupId"], p)
    return _group_version_info(gv)


@handles("GetGroupVersion")
def get_group_version(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    g = _group(b, p["GroupId"])
    gv = b.group_versions.get(g.group_id, {}).get(p["GroupVersionId"])
    if gv is None:
        raise v1_not_found("VersionNotFoundException", f"Version {p['GroupVersionId']} of Group Definition {g.group_id} does not exist.")
    out = _group_version_info(gv)
    out["Definition"] = getattr(gv, "ggp_definition", None) or gv.to_dict(include_detail=True)["Definition"]
    return out


@handles("ListGroupVersions")
def list_group_versions(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    g = _group(b, p["GroupId"])
    page, token = _paginate([_group_version_info(v) for v in b.group_versions.get(g.group_id, {}).values()], p)
    return {"Versions": page, "NextToken": token}


# ------------------------------------------------------------------------------------------------
# Deployments: Building -> InProgress -> Success/Failure, driven by GetDeploymentStatus polls
# ------------------------------------------------------------------------------------------------


def _new_deployment(b: GreengrassBackend, group_id: str, group_version_arn: str, deployment_type: str) -> FakeDeployment:
    d = FakeDeployment(b.account_id, b.region_name, group_id, group_version_arn, deployment_type)
    d.ggp_polls = 0
    d.ggp_error = None
    d.deployment_status = "Building"
    b.deployments[d.id] = d
    return d


@handles("CreateDeployment")
def create_deployment(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    g = _group(b, p["GroupId"])
    dtype = p["DeploymentType"]
    if dtype == "Redeployment":
        prev_id = p.get("DeploymentId")
        if not prev_id:
            raise v1_bad_request("Your request is missing the following required parameter(s): {DeploymentId}.")
        prev = b.deployments.get(prev_id)
        if prev is None or prev.group_id != g.group_id:
            raise v1_bad_request(f"Deployment ID '{prev_id}' is invalid.")
    if dtype in ("ResetDeployment", "ForceResetDeployment"):
        return _reset(b, g, dtype == "ForceResetDeployment")
    version_id = p.get("GroupVersionId")
    if not version_id:
        raise v1_bad_request("Your request is missing the following required parameter(s): {GroupVersionId}.")
    gv = b.group_versions.get(g.group_id, {}).get(version_id)
    if gv is None:
        raise v1_not_found("VersionNotFoundException", f"Version {version_id} of Group Definition {g.group_id} does not exist.")
    if not gv.core_definition_version_arn:
        raise v1_bad_request(
            "The group is not valid for deployment.",
            [("GG-303", "You need a Greengrass Core in this Group before you can deploy.")],
        )
    d = _new_deployment(b, g.group_id, gv.arn, dtype)
    return {"DeploymentArn": d.arn, "DeploymentId": d.id}


def _reset(b: GreengrassBackend, g: FakeGroup, force: bool) -> dict[str, Any]:
    if not force:
        mine = [d for d in b.deployments.values() if d.group_id == g.group_id]
        if not mine or mine[-1].deployment_type not in ("NewDeployment", "Redeployment"):
            raise v1_bad_request(f"Group id: {g.group_id} has not been deployed or has already been reset.")
    d = _new_deployment(b, g.group_id, g.arn, "ForceResetDeployment" if force else "ResetDeployment")
    return {"DeploymentArn": d.arn, "DeploymentId": d.id}


@handles("ResetDeployments")
def reset_deployments(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    return _reset(b, _group(b, p["GroupId"]), bool(p.get("Force")))


@handles("ListDeployments")
def list_deployments(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    ds = [
        {
            "CreatedAt": _ts(d.created_at_datetime),
            "DeploymentArn": d.arn,
            "DeploymentId": d.id,
            "DeploymentType": d.deployment_type,
            "GroupArn": d.group_arn,
        }
        for d in b.deployments.values()
        if d.group_id == p["GroupId"]
    ]
    ds.reverse()  # newest first, as the service lists them
    page, token = _paginate(ds, p)
    return {"Deployments": page, "NextToken": token}


@handles("GetDeploymentStatus")
def get_deployment_status(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    d = b.deployments.get(p["DeploymentId"])
    if d is None or d.group_id != p["GroupId"]:
        raise v1_bad_request(f"Deployment '{p['DeploymentId']}' does not exist.")
    if not hasattr(d, "ggp_polls"):  # made by a moto code path we don't route; treat as new
        d.ggp_polls, d.ggp_error = 0, None
    ctl = control.control_for(b.account_id)
    if d.deployment_status in ("Building", "InProgress"):
        d.ggp_polls += 1
        n = ctl.deployment_polls
        if d.ggp_polls <= n:
            status = "Building" if (d.ggp_polls == 1 and n >= 2) else "InProgress"
        else:
            outcome = ctl.v1_outcome(d.group_id) or {"status": "Success"}
            status = outcome["status"]
            if status == "Failure":
                msg = outcome.get("errorMessage") or "Deployment failed."
                details = outcome.get("errorDetails") or [{"DetailedErrorMessage": msg}]
                d.ggp_error = (msg, details)
        if status != d.deployment_status:
            d.deployment_status = status
            d.update_at_datetime = utcnow()
    out = {"DeploymentStatus": d.deployment_status, "DeploymentType": d.deployment_type, "UpdatedAt": _ts(d.update_at_datetime)}
    if d.deployment_status == "Failure" and d.ggp_error:
        out["ErrorMessage"], out["ErrorDetails"] = d.ggp_error
    return out


# ------------------------------------------------------------------------------------------------
# Account service role
# ------------------------------------------------------------------------------------------------

_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$")


@handles("AssociateServiceRoleToAccount")
def associate_service_role(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    role_arn = p["RoleArn"]
    if not _ROLE_ARN.match(role_arn):
        raise v1_bad_request(f"RoleArn {role_arn} is not a valid IAM role ARN.")
    if not _iam_role_exists(b.account_id, role_arn):
        raise v1_bad_request(f"The role {role_arn} does not exist.")
    b.ggp_service_role = (role_arn, utcnow())
    return {"AssociatedAt": _ts(b.ggp_service_role[1])}


def _iam_role_exists(account_id: str, role_arn: str) -> bool:
    from moto.iam.models import iam_backends

    name = role_arn.rsplit("/", 1)[-1]
    iam = iam_backends[account_id]["aws"]
    return any(r.name == name for r in iam.roles.values())


@handles("GetServiceRoleForAccount")
def get_service_role(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    if b.ggp_service_role is None:
        return {}  # the model declares no client error for this call: no role means no members
    role_arn, at = b.ggp_service_role
    return {"AssociatedAt": _ts(at), "RoleArn": role_arn}


@handles("DisassociateServiceRoleFromAccount")
def disassociate_service_role(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    b.ggp_service_role = None
    return {"DisassociatedAt": _ts()}


# ------------------------------------------------------------------------------------------------
# Group role (moto accepted any group id and answered a missing role with error code "404")
# ------------------------------------------------------------------------------------------------


@handles("AssociateRoleToGroup")
def associate_role_to_group(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    g = _group(b, p["GroupId"])
    if not _ROLE_ARN.match(p["RoleArn"]) or not _iam_role_exists(b.account_id, p["RoleArn"]):
        raise v1_bad_request(f"The role {p['RoleArn']} does not exist.")
    b.group_role_associations[g.group_id] = FakeAssociatedRole(p["RoleArn"])
    return {"AssociatedAt": _ts(b.group_role_associations[g.group_id].associated_at)}


@handles("GetAssociatedRole")
def get_associated_role(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    g = _group(b, p["GroupId"])
    role = b.group_role_associations.get(g.group_id)
    if role is None:
        raise v1_bad_request("You need to attach an IAM role to this deployment group.")
    return {"AssociatedAt": _ts(role.associated_at), "RoleArn": role.role_arn}


@handles("DisassociateRoleFromGroup")
def disassociate_role_from_group(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    g = _group(b, p["GroupId"])
    b.group_role_associations.pop(g.group_id, None)
    return {"DisassociatedAt": _ts()}


# ------------------------------------------------------------------------------------------------
# Group certificate authorities: a real CA certificate per group, made on first use
# ------------------------------------------------------------------------------------------------


@dataclass
class GroupCA:
    id: str
    arn: str
    pem: str


def _make_ca(b: GreengrassBackend, group_id: str) -> GroupCA:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon.com Inc."),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Amazon Web Services"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Greengrass Core CA {group_id}"),
        ]
    )
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=5 * 365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    ca_id = hashlib.sha256(der).hexdigest()
    arn = f"arn:{b.partition}:greengrass:{b.region_name}:{b.account_id}:/greengrass/groups/{group_id}/certificateauthorities/{ca_id}"
    return GroupCA(ca_id, arn, cert.public_bytes(serialization.Encoding.PEM).decode("ascii"))


def _group_cas(b: GreengrassBackend, group_id: str) -> list[GroupCA]:
    _group(b, group_id)
    cas = b.ggp_group_cas.setdefault(group_id, [])
    if not cas:  # every group has a CA from the start; we make it when first asked for
        cas.append(_make_ca(b, group_id))
    return cas


@handles("CreateGroupCertificateAuthority")
def create_group_ca(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    cas = _group_cas(b, p["GroupId"])
    ca = _make_ca(b, p["GroupId"])
    cas.append(ca)
    return {"GroupCertificateAuthorityArn": ca.arn}


@handles("ListGroupCertificateAuthorities")
def list_group_cas(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    return {
        "GroupCertificateAuthorities": [
            {"GroupCertificateAuthorityArn": ca.arn, "GroupCertificateAuthorityId": ca.id} for ca in _group_cas(b, p["GroupId"])
        ]
    }


@handles("GetGroupCertificateAuthority")
def get_group_ca(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    for ca in _group_cas(b, p["GroupId"]):
        if ca.id == p["CertificateAuthorityId"]:
            return {"GroupCertificateAuthorityArn": ca.arn, "GroupCertificateAuthorityId": ca.id, "PemEncodedCertificate": ca.pem}
    raise v1_bad_request(f"Certificate authority {p['CertificateAuthorityId']} does not exist for group {p['GroupId']}.")


# ------------------------------------------------------------------------------------------------
# Connectivity info (per core thing)
# ------------------------------------------------------------------------------------------------


@handles("GetConnectivityInfo")
def get_connectivity_info(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    return {"ConnectivityInfo": list(b.ggp_connectivity.get(p["ThingName"], ([], None))[0])}


@handles("UpdateConnectivityInfo")
def update_connectivity_info(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    version = str(uuid.uuid4())
    b.ggp_connectivity[p["ThingName"]] = (list(p.get("ConnectivityInfo") or []), version)
    return {"Version": version}


# ------------------------------------------------------------------------------------------------
# Tags
# ------------------------------------------------------------------------------------------------


def _tagged_arn_exists(b: GreengrassBackend, arn: str) -> bool:
    if any(g.arn == arn for g in b.groups.values()):
        return True
    return any(d.arn == arn for k in KINDS for d in _defs(b, k).values())


def _check_taggable(b: GreengrassBackend, arn: str) -> None:
    if not _tagged_arn_exists(b, arn):
        raise v1_bad_request(f"The resource {arn} does not exist.")


@handles("TagResource")
def tag_resource(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    _check_taggable(b, p["ResourceArn"])
    b.ggp_tags.setdefault(p["ResourceArn"], {}).update(p.get("tags") or {})
    return {}


@handles("UntagResource")
def untag_resource(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    _check_taggable(b, p["ResourceArn"])
    tags = b.ggp_tags.get(p["ResourceArn"], {})
    for k in p["TagKeys"]:
        tags.pop(k, None)
    return {}


@handles("ListTagsForResource")
def list_tags(b: GreengrassBackend, p: dict[str, Any]) -> dict[str, Any]:
    _check_taggable(b, p["ResourceArn"])
    return {"tags": dict(b.ggp_tags.get(p["ResourceArn"], {}))}


# ------------------------------------------------------------------------------------------------
# Patching moto's backend
# ------------------------------------------------------------------------------------------------


def patch_backend() -> None:
    original_init = GreengrassBackend.__init__

    def __init__(self: GreengrassBackend, region_name: str, account_id: str) -> None:
        original_init(self, region_name, account_id)
        self.logger_definitions = {}
        self.logger_definition_versions = {}
        self.connector_definitions = {}
        self.connector_definition_versions = {}
        self.ggp_tags: dict[str, dict[str, str]] = {}
        self.ggp_service_role: tuple[str, dt.datetime] | None = None
        self.ggp_group_cas: dict[str, list[GroupCA]] = {}
        self.ggp_connectivity: dict[str, tuple[list[dict[str, Any]], str | None]] = {}
        from .greengrass_v2 import V2State

        self.ggp_v2 = V2State(self)

    GreengrassBackend.__init__ = __init__
    GreengrassBackend._is_valid_subscription_target_or_source = staticmethod(_is_valid_subscription_target_or_source)
