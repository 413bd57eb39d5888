"""The account's own authorization APIs, answered by evaluating the stored policies (policy.py).

- IoT `TestAuthorization` (iot model, POST /test-authorization): the IoT policies attached to the
  principal (a certificate ARN or a Cognito identity id), plus those of the thing groups of the
  connection's thing, evaluated per auth info; `authDecision` ALLOWED / EXPLICIT_DENY / IMPLICIT_DENY
  with the allowing / denying policies (name and ARN) and the missing context values.
- IoT `CreatePolicy` / `CreatePolicyVersion`: a document the evaluator cannot read is refused with
  `MalformedPolicyException`, as AWS IoT refuses malformed documents (moto stored anything).
- IAM `SimulatePrincipalPolicy` and `SimulateCustomPolicy` (iam model, Query protocol): the principal's
  inline and attached managed policies (and its groups' for a user, its permissions boundary), plus
  `PolicyInputList`, `PermissionsBoundaryPolicyInputList`, `PolicyExclusionList`, `ResourcePolicy`
  and `ContextEntries`; `EvaluationResults` paginated with `MaxItems` / `Marker` / `IsTruncated`.

`device_view()` and `role_policies()` are shared with the credentials provider (credentials_provider.py).
Not for: enforcing anything on other requests (credentials_provider.py does that for the sessions it
issued).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

from . import policy as P
from .model import operation, parse_request, validate

# ------------------------------------------------------------------------------------------------ IoT


@dataclass
class DeviceView:
    """What AWS IoT knows about a device's connection: its principal, the policies that apply to it and
    the context keys for policy variables."""

    principal: str
    certificate: Any | None
    thing: Any | None
    attached: bool
    policies: list[P.Policy]
    context: dict[str, list[str]]


def iot_policy(p: Any) -> P.Policy:
    """An IoT policy of moto's backend (its default version) as an evaluable policy."""
    doc = p.document if isinstance(p.document, str) else json.dumps(p.document)
    return P.parse(doc, P.IOT, name=p.name, kind="iot", arn=p.arn)


def _thing_group_policies(backend: Any, thing: Any) -> list[Any]:
    """Policies attached to the thing groups of `thing` and their parent groups (AWS IoT Developer Guide,
    "Static thing groups": a policy attached to a group applies to the things in it and in its child
    groups)."""
    arns: list[str] = []
    for group in backend.thing_groups.values():
        if thing.arn in group.things:
            for parent in group.metadata.get("rootToParentThingGroups", []):
                arns.append(parent["groupArn"])
            arns.append(group.arn)
    out, seen = [], set()
    for arn in arns:
        for p in backend.list_attached_policies(arn):
            if p.name not in seen:
                seen.add(p.name)
                out.append(p)
    return out


def device_view(backend: Any, principal: str, client_id: str | None, thing_name: str | None = None) -> DeviceView:
    """The connection's thing is the thing attached to the principal whose name is the client id
    ("Thing policy variables"), or `thing_name` when the caller says which (the credentials provider's
    `x-amzn-iot-thingname` header). Raises moto's ResourceNotFoundException for an unknown principal."""
    from moto.iot.exceptions import ResourceNotFoundException

    cert = None
    if ":cert/" in principal:
        cert = next((c for c in backend.certificates.values() if c.arn == principal), None)
        if cert is None:
            raise ResourceNotFoundException(f"The certificate {principal.rsplit('/', 1)[-1]} does not exist")
    else:
        backend._get_principal(principal)  # a Cognito identity known to moto, or ResourceNotFoundException
    attached_names = set(backend.list_principal_things(principal))
    name = thing_name if thing_name is not None else client_id
    thing = None
    if name is not None:
        thing = next((t for t in backend.things.values() if t.thing_name == name), None)
    attached = thing is not None and thing.thing_name in attached_names
    raw = list(backend.list_attached_policies(principal))
    if attached:
        names = {p.name for p in raw}
        raw += [p for p in _thing_group_policies(backend, thing) if p.name not in names]
    policies = [iot_policy(p) for p in raw]
    context = P.iot_context(client_id, thing, attached, cert.certificate_pem if cert is not None else None)
    return DeviceView(principal, cert, thing, attached, policies, context)


_ACTION_TYPES = {"PUBLISH": "iot:Publish", "SUBSCRIBE": "iot:Subscribe", "RECEIVE": "iot:Receive", "CONNECT": "iot:Connect"}


def test_authorization(backend: Any, params: dict[str, Any]) -> dict[str, Any]:
    """TestAuthorization (iot model TestAuthorizationRequest / TestAuthorizationResponse)."""
    from moto.iot.exceptions import InvalidRequestException, ResourceNotFoundException

    principal = params.get("principal")
    if not principal:
        # The model leaves it optional (custom authorizers), but a policy test needs a principal:
        # "Valid principals are CertificateArn ... and CognitoId".
        raise InvalidRequestException("principal is required: a certificate ARN or a Cognito identity id")
    view = device_view(backend, principal, params.get("clientId"))
    policies = list(view.policies)
    skip = set(params.get("policyNamesToSkip") or [])
    policies = [p for p in policies if p.name not in skip]
    for name in params.get("policyNamesToAdd") or []:
        if name in skip or any(p.name == name for p in policies):
            continue
        if name not in backend.policies:
            raise ResourceNotFoundException(f"Policy {name} does not exist")
        policies.append(iot_policy(backend.policies[name]))
    results = []
    for info in params["authInfos"]:
        action_type = info.get("actionType")
        if action_type is None:
            raise InvalidRequestException("authInfos[].actionType is required")
        action = _ACTION_TYPES[action_type]
        allowing: dict[str, P.Policy] = {}
        denying: dict[str, P.Policy] = {}
        missing: set[str] = set()
        every_resource_allowed = True
        for resource in info["resources"]:
            request = P.Request(action, resource, view.context)
            per = {p.name: P.evaluate([p], request) for p in policies}
            for p in policies:
                r = per[p.name]
                missing |= r.missing
                if r.denies:
                    denying[p.name] = p
                if r.allows:
                    allowing[p.name] = p
            if not any(r.allows for r in per.values()):
                every_resource_allowed = False
        if denying:
            decision = "EXPLICIT_DENY"
        elif every_resource_allowed and info["resources"]:
            decision = "ALLOWED"
        else:
            decision = "IMPLICIT_DENY"
        ref = lambda p: {"policyName": p.name, "policyArn": p.arn}  # noqa: E731
        implicit = [ref(p) for p in policies if p.name not in denying and p.name not in allowing] if decision == "IMPLICIT_DENY" else []
        results.append(
            {
                "authInfo": {"actionType": action_type, "resources": list(info["resources"])},
                "allowed": {"policies": [ref(p) for p in allowing.values()] if decision != "EXPLICIT_DENY" else []},
                "denied": {
                    "implicitDeny": {"policies": implicit},
                    "explicitDeny": {"policies": [ref(p) for p in denying.values()]},
                },
                "authDecision": decision,
                "missingContextValues": sorted(missing),
            }
        )
    return {"authResults": results}


def _iot_response(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.iot.exceptions import InvalidRequestException

    op = operation("iot", "TestAuthorization")
    raw = self.raw_body if isinstance(self.raw_body, (bytes, bytearray)) else (self.raw_body or "").encode()
    try:
        params = parse_request(op, self.normalized_request, {}, raw)
    except Exception as e:  # ParseError: not JSON
        raise InvalidRequestException(str(e))
    errors = validate(op.input_shape, params)
    if errors:
        raise InvalidRequestException("; ".join(f"{e.path} {e.message}" for e in errors))
    return ActionResult(test_authorization(self.iot_backend, params))


def _patch_iot() -> None:
    from moto.iot import models as iot_models
    from moto.iot.exceptions import IoTClientError
    from moto.iot.responses import IoTResponse

    IoTResponse.test_authorization = _iot_response

    class MalformedPolicyException(IoTClientError):
        def __init__(self, msg: str):
            self.code = 400
            super().__init__("MalformedPolicyException", msg)

    def checked(document: Any) -> None:
        try:
            P.parse(document if isinstance(document, str) else json.dumps(document), P.IOT)
        except P.PolicyError as e:
            raise MalformedPolicyException(f"The policy document is malformed: {e}")

    original_create = iot_models.IoTBackend.create_policy
    original_version = iot_models.IoTBackend.create_policy_version

    def create_policy(self: Any, policy_name: str, policy_document: Any) -> Any:
        checked(policy_document)
        return original_create(self, policy_name, policy_document)

    def create_policy_version(self: Any, policy_name: str, policy_document: Any, set_as_default: bool) -> Any:
        checked(policy_document)
        return original_version(self, policy_name, policy_document, set_as_default)

    iot_models.IoTBackend.create_policy = create_policy
    iot_models.IoTBackend.create_policy_version = create_policy_version


# ------------------------------------------------------------------------------------------------ IAM


def _document(raw: Any) -> str:
    if isinstance(raw, dict):
        return json.dumps(raw)
    text = str(raw)
    if not text.lstrip().startswith("{"):
        from urllib.parse import unquote

        text = unquote(text)
    return text


def _managed(p: Any) -> P.Policy:
    version = next((v for v in p.versions if v.is_default), p.versions[0])
    kind = "aws-managed" if ":iam::aws:policy/" in p.arn else "user-managed"
    return P.parse(_document(version.document), P.IAM, name=p.name, kind=kind, arn=p.arn)


def _inline(name: str, document: Any, kind: str, owner: str) -> P.Policy:
    p = P.parse(_document(document), P.IAM, name=name, kind=kind)
    p.owner = owner
    return p


@dataclass
class Principal:
    kind: str  # "user" | "group" | "role"
    entity: Any
    identity: list[P.Policy]
    boundary: list[P.Policy] | None


def role_policies(backend: Any, role: Any) -> tuple[list[P.Policy], list[P.Policy] | None]:
    """The role's identity-based policies (inline, then attached managed) and its permissions boundary."""
    identity = [_inline(n, d, "role", role.name) for n, d in role.policies.items()]
    identity += [_managed(p) for p in role.managed_policies.values()]
    return identity, _boundary(backend, getattr(role, "permissions_boundary_arn", None))


def _boundary(backend: Any, arn: str | None) -> list[P.Policy] | None:
    if not arn:
        return None
    p = backend.managed_policies.get(arn)
    return [_managed(p)] if p is not None else None


_ENTITY_ARN = re.compile(r"^arn:[\w-]+:iam::(\d{12}):(user|group|role)(/.*)?/([\w+=,.@-]+)$")


def _principal(backend: Any, arn: str) -> Principal:
    from moto.iam.exceptions import InvalidInput, NotFoundException

    m = _ENTITY_ARN.match(arn)
    if not m:
        raise InvalidInput(f"Invalid ARN {arn}: PolicySourceArn must be the ARN of an IAM user, group or role.")
    kind = m.group(2)
    if kind == "role":
        try:
            role = backend.get_role_by_arn(arn)
        except NotFoundException:
            raise NotFoundException(f"The role with name {m.group(4)} cannot be found.")
        identity, boundary = role_policies(backend, role)
        return Principal("role", role, identity, boundary)
    if kind == "user":
        user = next((u for u in backend.users.values() if u.arn == arn), None)
        if user is None:
            raise NotFoundException(f"The user with name {m.group(4)} cannot be found.")
        identity = [_inline(n, d, "user", user.name) for n, d in user.policies.items()]
        identity += [_managed(p) for p in user.managed_policies.values()]
        for group in backend.get_groups_for_user(user.name):
            identity += [_inline(n, d, "group", group.name) for n, d in group.policies.items()]
            identity += [_managed(p) for p in group.managed_policies.values()]
        return Principal("user", user, identity, _boundary(backend, getattr(user, "permissions_boundary_arn", None)))
    group = next((g for g in backend.groups.values() if g.arn == arn), None)
    if group is None:
        raise NotFoundException(f"The group with name {m.group(4)} cannot be found.")
    identity = [_inline(n, d, "group", group.name) for n, d in group.policies.items()]
    identity += [_managed(p) for p in group.managed_policies.values()]
    return Principal("group", group, identity, None)


def _input_policies(docs: list[str] | None, label: str, kind: str) -> list[P.Policy]:
    """PolicyInputList.N documents: validated as IAM validates a policy (moto's validator), then parsed."""
    from moto.iam.exceptions import InvalidInput, MalformedPolicyDocument
    from moto.iam.policy_validation import IAMPolicyDocumentValidator

    out = []
    for i, doc in enumerate(docs or [], 1):
        try:
            IAMPolicyDocumentValidator(doc).validate()
            out.append(P.parse(doc, P.IAM, name=f"{label}.{i}", kind=kind))
        except (MalformedPolicyDocument, P.PolicyError) as e:
            raise InvalidInput(f"{label}.{i} is not a valid policy document: {getattr(e, 'message', None) or e}")
    return out


def _resource_policy(doc: str) -> P.Policy:
    from moto.iam.exceptions import InvalidInput

    try:
        return P.parse(doc, P.IAM, name="ResourcePolicy", kind="resource")
    except P.PolicyError as e:
        raise InvalidInput(f"ResourcePolicy is not a valid policy document: {e}")


def _excluded(policy: P.Policy, exclusions: list[dict[str, Any]]) -> bool:
    """PolicyExclusionList: by PolicyArn, by PolicyType (inline / aws-managed / user-managed), or by
    InlinePolicyIdentifier (PolicyName, AttachmentType, AttachmentName); others match nothing."""
    for ex in exclusions:
        if "PolicyArn" in ex and policy.arn == ex["PolicyArn"]:
            return True
        t = ex.get("PolicyType")
        if t == "inline" and policy.kind in ("user", "group", "role"):
            return True
        if t in ("aws-managed", "user-managed") and t == policy.kind:
            return True
        inline = ex.get("InlinePolicyIdentifier")
        if inline and (policy.kind, policy.name, policy.owner) == (inline.get("AttachmentType"), inline.get("PolicyName"), inline.get("AttachmentName")):
            return True
    return False




def _context(entries: list[dict[str, Any]] | None) -> dict[str, list[str]]:
    from moto.iam.exceptions import InvalidInput

    out: dict[str, list[str]] = {}
    for i, e in enumerate(entries or [], 1):
        name, values, typ = e.get("ContextKeyName"), e.get("ContextKeyValues"), e.get("ContextKeyType")
        if not name or values is None or not typ:
            raise InvalidInput(f"ContextEntries.member.{i} needs ContextKeyName, ContextKeyValues and ContextKeyType.")
        if not typ.endswith("List") and len(values) != 1:
            raise InvalidInput(f"ContextEntries.member.{i}: a {typ} context key takes exactly one value.")
        out[name] = [str(v) for v in values]
    return out


def _statement_ref(m: P.Match) -> dict[str, Any]:
    out: dict[str, Any] = {"SourcePolicyId": m.policy.name, "SourcePolicyType": m.policy.kind}
    if m.statement.start is not None:
        out["StartPosition"] = {"Line": m.statement.start.line, "Column": m.statement.start.column}
        out["EndPosition"] = {"Line": m.statement.end.line, "Column": m.statement.end.column}
    return out


def simulate(
    identity: list[P.Policy],
    boundary: list[P.Policy] | None,
    resource_policy: P.Policy | None,
    caller: P.Principal | None,
    actions: list[str],
    resources: list[str],
    context: dict[str, list[str]],
) -> list[dict[str, Any]]:
    """One EvaluationResult per (action, resource), in request order."""
    results = []
    for action in actions:
        for resource in resources:
            request = P.Request(action, resource, dict(context), caller)
            d = P.decide(identity, request, boundary=boundary, resource=[resource_policy] if resource_policy else None)
            r: dict[str, Any] = {
                "EvalActionName": action,
                "EvalResourceName": resource,
                "EvalDecision": d.decision,
                "MatchedStatements": [_statement_ref(m) for m in d.matched],
                "MissingContextValues": sorted(d.missing),
            }
            if boundary is not None:
                r["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": d.allowed_by_boundary}
            results.append(r)
    return results


def _page(results: list[dict[str, Any]], max_items: int | None, marker: str | None) -> dict[str, Any]:
    from moto.iam.exceptions import InvalidInput

    start = 0
    if marker:
        try:
            start = int(base64.b64decode(marker.encode()).decode().removeprefix("ggp-sim:"))
        except ValueError:
            raise InvalidInput("Invalid Marker.")
        if start < 0 or start > len(results):
            raise InvalidInput("Invalid Marker.")
    n = max_items or 100
    page = results[start : start + n]
    out: dict[str, Any] = {"EvaluationResults": page, "IsTruncated": start + n < len(results)}
    if out["IsTruncated"]:
        out["Marker"] = base64.b64encode(f"ggp-sim:{start + n}".encode()).decode()
    return out


def _params(self: Any, op_name: str) -> dict[str, Any]:
    from moto.iam.exceptions import InvalidInput

    op = operation("iam", op_name)
    params = {name: self._get_param(name) for name in op.input_shape.members}
    params = {k: v for k, v in params.items() if v is not None}
    if "MaxItems" in params:
        try:
            params["MaxItems"] = int(params["MaxItems"])
        except (TypeError, ValueError):
            raise InvalidInput("MaxItems must be an integer.")
    errors = validate(op.input_shape, params)
    if errors:
        e = errors[0]
        raise InvalidInput(f"{len(errors)} validation error{'s' if len(errors) != 1 else ''} detected: Value at '{e.path}' {e.message}")
    for a in params.get("ActionNames", []):
        if ":" not in a:
            raise InvalidInput(f"Action name {a} must include the service identifier, such as iam:CreateUser.")
    if len(params.get("PermissionsBoundaryPolicyInputList") or []) > 1:
        raise InvalidInput("Only one permissions boundary policy can be simulated at a time.")
    return params


def _caller(backend: Any, arn: str | None, fallback: Principal | None) -> P.Principal | None:
    from moto.iam.exceptions import InvalidInput

    if arn is None:
        if fallback is None:
            return None
        entity_arn = fallback.entity.arn
        return P.Principal(arns=[entity_arn], account=backend.account_id)
    if not _ENTITY_ARN.match(arn):
        raise InvalidInput(f"CallerArn {arn} must be the ARN of an IAM user, group or role.")
    return P.Principal(arns=[arn], account=arn.split(":")[4])


def simulate_principal_policy(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.iam.exceptions import InvalidInput

    params = _params(self, "SimulatePrincipalPolicy")
    backend = self.backend
    principal = _principal(backend, params["PolicySourceArn"])
    exclusions = params.get("PolicyExclusionList") or []
    identity = [p for p in principal.identity if not _excluded(p, exclusions)]
    identity += _input_policies(params.get("PolicyInputList"), "PolicyInputList", "none")
    boundary = principal.boundary
    if params.get("PermissionsBoundaryPolicyInputList"):
        boundary = _input_policies(params["PermissionsBoundaryPolicyInputList"], "PermissionsBoundaryPolicyInputList", "none")
    elif boundary is not None and any(ex.get("PolicyType") == "permission-boundary" for ex in exclusions):
        boundary = None
    resource_policy = None
    if params.get("ResourcePolicy"):
        if principal.kind != "user" and not params.get("CallerArn"):
            raise InvalidInput("CallerArn is required when ResourcePolicy is given and PolicySourceArn is not an IAM user.")
        resource_policy = _resource_policy(params["ResourcePolicy"])
    caller = _caller(backend, params.get("CallerArn"), principal)
    results = simulate(
        identity, boundary, resource_policy, caller, params["ActionNames"], params.get("ResourceArns") or ["*"], _context(params.get("ContextEntries"))
    )
    return ActionResult(_page(results, params.get("MaxItems"), params.get("Marker")))


def simulate_custom_policy(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.iam.exceptions import InvalidInput

    params = _params(self, "SimulateCustomPolicy")
    identity = _input_policies(params["PolicyInputList"], "PolicyInputList", "none")
    boundary = None
    if params.get("PermissionsBoundaryPolicyInputList"):
        boundary = _input_policies(params["PermissionsBoundaryPolicyInputList"], "PermissionsBoundaryPolicyInputList", "none")
    resource_policy = None
    if params.get("ResourcePolicy"):
        if not params.get("CallerArn"):
            raise InvalidInput("CallerArn is required when ResourcePolicy is given.")
        resource_policy = _resource_policy(params["ResourcePolicy"])
    caller = _caller(self.backend, params.get("CallerArn"), None)
    results = simulate(
        identity, boundary, resource_policy, caller, params["ActionNames"], params.get("ResourceArns") or ["*"], _context(params.get("ContextEntries"))
    )
    return ActionResult(_page(results, params.get("MaxItems"), params.get("Marker")))


def _patch_iam() -> None:
    from moto.iam.responses import IamResponse

    IamResponse.simulate_principal_policy = simulate_principal_policy
    IamResponse.simulate_custom_policy = simulate_custom_policy


def patch_all() -> None:
    _patch_iot()
    _patch_iam()
