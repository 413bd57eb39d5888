"""Evaluation of IAM and AWS IoT Core policy documents, following AWS's published evaluation rules.

One evaluator serves three callers: IoT `TestAuthorization` and the credentials provider (IoT policies
attached to a certificate), IAM `SimulatePrincipalPolicy`, and the enforcement of requests signed with
credentials the credentials provider issued (IAM policies of the role). Not for: validating policy
grammar at create time beyond what evaluation needs (moto's `iam/policy_validation.py` does IAM;
`aws_fixes` uses `parse()` for IoT), or reading policies out of moto's backends (the callers do).

Rules implemented, with the AWS pages they come from:

- IAM User Guide, "Policy evaluation logic" (reference_policies_evaluation-logic.html): every request
  starts implicitly denied; an explicit `Deny` in any applicable policy wins; otherwise an `Allow` in an
  identity-based (or same-account resource-based) policy allows it; a permissions boundary, when there
  is one, must also allow it. `decide()` combines the policy sets that way.
- IAM User Guide, "IAM JSON policy elements": `Action`/`NotAction` ("..._action.html",
  "..._notaction.html"; action names are case-insensitive, `*` and `?` wildcards), `Resource`/
  `NotResource` ("..._resource.html": case-sensitive; `*` and `?` within an ARN segment, and a `*`
  that ends a segment may expand beyond the colon), `Principal`/`NotPrincipal` (resource-based and
  trust policies; "..._principal.html": `*`, account ids, `arn:aws:iam::ACCOUNT:root`, role ARNs,
  service principals), `Condition` ("..._condition_operators.html": String*, Numeric*, Date*, Bool,
  BinaryEquals, IpAddress/NotIpAddress, Arn*, Null, the `...IfExists` suffix, and
  "reference_policies_condition-single-vs-multi-valued-context-keys.html" for `ForAnyValue:` /
  `ForAllValues:`). A key missing from the request makes a positive operator false, a negated one
  (`StringNotEquals`, `ArnNotLike`, ...) true, `...IfExists` true, `ForAllValues:` true and
  `ForAnyValue:` false, as those pages say.
- IAM User Guide, "IAM policy elements: Variables and tags" (reference_policies_variables.html):
  `${key}` in `Resource`/`NotResource` and in String/Arn condition values, only with `"Version":
  "2012-10-17"` (otherwise the text is literal), `${*}`, `${?}`, `${$}` for the literal characters,
  and `${key, 'default'}`. A variable whose key the request does not have makes that value match
  nothing, and the key is reported missing.
- AWS IoT Core Developer Guide, "AWS IoT Core policies" / "AWS IoT Core policy actions" /
  "AWS IoT Core action resources" (iot-policies.html, iot-policy-actions.html,
  iot-action-resources.html): the same statement grammar; resources are ARNs such as
  `client/<clientId>`, `topic/<topic>`, `topicfilter/<filter>`, `thing/<name>`, `rolealias/<alias>`,
  `thinggroup/<name>`; `*` matches any characters (slashes included) and `?` one. The MQTT wildcards
  `+` and `#` are NOT wildcards in a policy: "Publish/Subscribe policy examples"
  (pub-sub-policy.html) shows that `topicfilter/some/+/filter` allows subscribing to exactly that
  filter text, and that `topicfilter/some/*` allows `some/#` (and any other filter below `some/`),
  because `*` matches the `#` character like any other. `iot_topic_resource()` spells the resources.
- AWS IoT Core Developer Guide, "Thing policy variables" (thing-policy-variables.html) and
  "X.509 Certificate AWS IoT Core policy variables" (cert-policy-variables.html): the context keys
  `iot:ClientId`, `iot:Connection.Thing.ThingName|ThingTypeName|IsAttached|Attributes[name]` and
  `iot:Certificate.*` that `iot_context()` builds.

Why hand-written: there is no maintained Python library that evaluates IAM policies (moto's own
`moto/iam/access_control.py` has no `?`, no Condition semantics beyond trust policies, treats a failed
condition as a Deny, and matches actions case-sensitively), so this module does it and is tested
against the examples on the pages above (`tests/test_policy.py`).
"""

from __future__ import annotations

import base64
import datetime as _dt
import functools
import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

IAM = "iam"
IOT = "iot"

ALLOWED = "allowed"
EXPLICIT_DENY = "explicitDeny"
IMPLICIT_DENY = "implicitDeny"

_VARIABLES_VERSION = "2012-10-17"


class PolicyError(ValueError):
    """The document cannot be evaluated (not JSON, no Statement, an unknown condition operator...)."""


# ------------------------------------------------------------------------------------------------ model


@dataclass
class Position:
    line: int
    column: int


@dataclass
class Statement:
    index: int
    effect: str  # "Allow" | "Deny"
    sid: str | None
    action: list[str] | None
    not_action: list[str] | None
    resource: list[str] | None
    not_resource: list[str] | None
    principal: Any
    not_principal: Any
    condition: dict[str, dict[str, list[str]]]
    start: Position | None = None
    end: Position | None = None


@dataclass
class Policy:
    """One policy document and where it comes from (the labels are the caller's: SimulatePrincipalPolicy's
    SourcePolicyId / SourcePolicyType, TestAuthorization's policyName / policyArn)."""

    statements: list[Statement]
    version: str | None
    dialect: str = IAM
    name: str = ""
    kind: str = "none"
    arn: str | None = None
    owner: str | None = None  # the user, group or role an inline policy is embedded in

    @property
    def variables(self) -> bool:
        return self.version == _VARIABLES_VERSION


@dataclass
class Principal:
    """Who makes the request, for `Principal` elements: ARNs it is known by (a role session is known by
    its session ARN and its role's ARN), its account, and a service name for service principals."""

    arns: list[str] = field(default_factory=list)
    account: str | None = None
    service: str | None = None


@dataclass
class Request:
    action: str
    resource: str
    context: dict[str, list[str]] = field(default_factory=dict)
    principal: Principal | None = None

    def __post_init__(self) -> None:
        self.context = {_key(k): (v if isinstance(v, list) else [v]) for k, v in self.context.items()}

    def values(self, key: str) -> list[str] | None:
        return self.context.get(_key(key))


@dataclass
class Match:
    policy: Policy
    statement: Statement


@dataclass
class Result:
    """The outcome of evaluating some policies for one request."""

    allows: list[Match] = field(default_factory=list)
    denies: list[Match] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)

    @property
    def decision(self) -> str:
        if self.denies:
            return EXPLICIT_DENY
        return ALLOWED if self.allows else IMPLICIT_DENY

    def merge(self, other: "Result") -> None:
        self.allows += other.allows
        self.denies += other.denies
        self.missing |= other.missing


def _key(name: str) -> str:
    """Context keys are case-insensitive (IAM User Guide, "Condition element"); the part in brackets of
    `iot:Connection.Thing.Attributes[name]` is an attribute name, which is not."""
    out, depth = [], 0
    for ch in name:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(0, depth - 1)
        out.append(ch if depth else ch.lower())
    return "".join(out)


# ------------------------------------------------------------------------------------------------ parsing


def _strings(value: Any, element: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise PolicyError(f"{element} must be a string or a non-empty list of strings")


_OPERATORS = {
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
}
_NEGATED = {
    "StringNotEquals",
    "StringNotEqualsIgnoreCase",
    "StringNotLike",
    "NumericNotEquals",
    "DateNotEquals",
    "NotIpAddress",
    "ArnNotEquals",
    "ArnNotLike",
}


def _split_operator(op: str) -> tuple[str | None, str, bool]:
    """`ForAllValues:StringLikeIfExists` -> ("ForAllValues", "StringLike", True)."""
    qualifier = None
    if ":" in op:
        qualifier, _, op = op.partition(":")
        if qualifier not in ("ForAnyValue", "ForAllValues"):
            raise PolicyError(f"unknown condition set operator {qualifier}")
    if_exists = op.endswith("IfExists") and op != "IfExists"
    base = op[: -len("IfExists")] if if_exists else op
    if base not in _OPERATORS or (if_exists and base == "Null"):
        raise PolicyError(f"unknown condition operator {op}")
    return qualifier, base, if_exists


def _condition(value: Any, where: str) -> dict[str, dict[str, list[str]]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PolicyError(f"{where}.Condition must be an object")
    out: dict[str, dict[str, list[str]]] = {}
    for op, block in value.items():
        _split_operator(op)
        if not isinstance(block, dict):
            raise PolicyError(f"{where}.Condition.{op} must be an object of keys to values")
        keys: dict[str, list[str]] = {}
        for k, v in block.items():
            vals = v if isinstance(v, list) else [v]
            if not all(isinstance(x, (str, int, float, bool)) for x in vals):
                raise PolicyError(f"{where}.Condition.{op}.{k} values must be strings, numbers or booleans")
            keys[k] = [("true" if x else "false") if isinstance(x, bool) else str(x) for x in vals]
        out[op] = keys
    return out


def parse(document: str | dict[str, Any], dialect: str = IAM, name: str = "", kind: str = "none", arn: str | None = None) -> Policy:
    """A policy document (JSON text or an already-decoded object) -> Policy. Positions of the statements
    in the text are kept for SimulatePrincipalPolicy's MatchedStatements."""
    text = document if isinstance(document, str) else None
    if text is not None:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise PolicyError(f"the policy document is not valid JSON: {e}")
    else:
        doc = document
    if not isinstance(doc, dict):
        raise PolicyError("the policy document must be a JSON object")
    if "Statement" not in doc:
        raise PolicyError("the policy document has no Statement")
    raw = doc["Statement"]
    raw_list = raw if isinstance(raw, list) else [raw]
    positions = _statement_positions(text) if text is not None else []
    statements = []
    for i, s in enumerate(raw_list):
        where = f"Statement[{i}]"
        if not isinstance(s, dict):
            raise PolicyError(f"{where} must be an object")
        effect = s.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise PolicyError(f"{where}.Effect must be Allow or Deny")
        if ("Action" in s) == ("NotAction" in s):
            raise PolicyError(f"{where} must have exactly one of Action and NotAction")
        if "Resource" in s and "NotResource" in s:
            raise PolicyError(f"{where} cannot have both Resource and NotResource")
        if "Principal" in s and "NotPrincipal" in s:
            raise PolicyError(f"{where} cannot have both Principal and NotPrincipal")
        st = Statement(
            index=i,
            effect=effect,
            sid=s.get("Sid"),
            action=_strings(s["Action"], f"{where}.Action") if "Action" in s else None,
            not_action=_strings(s["NotAction"], f"{where}.NotAction") if "NotAction" in s else None,
            resource=_strings(s["Resource"], f"{where}.Resource") if "Resource" in s else None,
            not_resource=_strings(s["NotResource"], f"{where}.NotResource") if "NotResource" in s else None,
            principal=s.get("Principal"),
            not_principal=s.get("NotPrincipal"),
            condition=_condition(s.get("Condition"), where),
        )
        if i < len(positions):
            st.start, st.end = positions[i]
        statements.append(st)
    version = doc.get("Version")
    return Policy(statements, version if isinstance(version, str) else None, dialect, name, kind, arn)


def _statement_positions(text: str) -> list[tuple[Position, Position]]:
    """(start, end) line/column (1-based) of each statement object in the document text: the position
    of its `{` and of its `}`. Walks the top-level object with the standard JSON decoder's raw_decode."""
    dec = json.JSONDecoder()
    ws = re.compile(r"\s*")

    def skip(i: int) -> int:
        return ws.match(text, i).end()

    def pos(i: int) -> Position:
        line = text.count("\n", 0, i) + 1
        return Position(line, i - (text.rfind("\n", 0, i) + 1) + 1)

    try:
        i = skip(0)
        if text[i] != "{":
            return []
        i = skip(i + 1)
        while i < len(text) and text[i] != "}":
            key, i = dec.raw_decode(text, i)
            i = skip(i)
            i = skip(i + 1)  # ':'
            start = i
            _, end = dec.raw_decode(text, i)
            if key == "Statement":
                if text[start] == "{":
                    return [(pos(start), pos(end - 1))]
                out = []
                j = skip(start + 1)
                while text[j] != "]":
                    _, e = dec.raw_decode(text, j)
                    out.append((pos(j), pos(e - 1)))
                    j = skip(e)
                    if text[j] == ",":
                        j = skip(j + 1)
                return out
            i = skip(end)
            if text[i] == ",":
                i = skip(i + 1)
    except (ValueError, IndexError):
        pass
    return []


# ------------------------------------------------------------------------------------------------ matching


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str, segmented: bool, ignore_case: bool) -> re.Pattern[str]:
    """`*` / `?` wildcards -> regex. `segmented` (IAM ARNs): a `*` stays within its colon-separated
    segment unless it is the segment's last character, and `?` is one character of the segment
    (IAM User Guide, "IAM JSON policy elements: Resource", wildcards in resource ARNs)."""
    out = []
    for i, ch in enumerate(pattern):
        if ch == "*":
            last_of_segment = i + 1 == len(pattern) or pattern[i + 1] == ":"
            out.append(".*" if not segmented or last_of_segment else "[^:]*")
        elif ch == "?":
            out.append("[^:]" if segmented else ".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _like(pattern: str, value: str, segmented: bool = False, ignore_case: bool = False) -> bool:
    return _glob(pattern, segmented, ignore_case).fullmatch(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    """Action names are not case-sensitive; `*` alone is every action (IAM "Action" element)."""
    return _like(pattern, action, ignore_case=True)


_VAR = re.compile(r"\$\{([^}]*)\}")
_LITERAL_VARS = {"*": "*", "?": "?", "$": "$"}


class _Unresolved(Exception):
    pass


def substitute(value: str, request: Request, missing: set[str], as_pattern: bool) -> str | None:
    """Replace `${key}` / `${key, 'default'}` with the request's value. Returns None when a key is not
    in the request (and adds it to `missing`). In a pattern, the substituted text is literal: a `*`
    that comes from a request value must not act as a wildcard, so it is escaped as the `${*}` form."""

    def one(m: re.Match[str]) -> str:
        inner = m.group(1).strip()
        if inner in _LITERAL_VARS:
            return "\x00" + inner if as_pattern else inner
        default = None
        if "," in inner:
            inner, _, rest = inner.partition(",")
            inner, rest = inner.strip(), rest.strip()
            if len(rest) >= 2 and rest[0] == rest[-1] == "'":
                default = rest[1:-1]
        vals = request.values(inner)
        if not vals or len(vals) != 1:
            if default is not None:
                return default
            missing.add(inner)
            raise _Unresolved()
        v = vals[0]
        return "".join("\x00" + c if c in "*?" else c for c in v) if as_pattern else v

    try:
        return _VAR.sub(one, value)
    except _Unresolved:
        return None


def _pattern_match(pattern: str, value: str, segmented: bool, ignore_case: bool = False) -> bool:
    """Match a substituted pattern in which `\\x00` marks a literal `*`/`?` (from `${*}` or a variable)."""
    if "\x00" not in pattern:
        return _like(pattern, value, segmented, ignore_case)
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\x00":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if ch == "*":
            last = i + 1 == len(pattern) or pattern[i + 1] == ":"
            out.append(".*" if not segmented or last else "[^:]*")
        elif ch == "?":
            out.append("[^:]" if segmented else ".")
        else:
            out.append(re.escape(ch))
        i += 1
    return re.fullmatch("".join(out), value, re.DOTALL | (re.IGNORECASE if ignore_case else 0)) is not None


def _resource_matches(policy: Policy, patterns: list[str], request: Request, missing: set[str]) -> bool:
    segmented = policy.dialect == IAM
    for p in patterns:
        if policy.variables and "${" in p:
            s = substitute(p, request, missing, as_pattern=True)
            if s is None:
                continue
            p = s
        if p == "*" or _pattern_match(p, request.resource, segmented):
            return True
    return False


def _principal_matches(spec: Any, who: Principal | None) -> bool:
    """IAM "Principal" element: `"*"` / `{"AWS": "*"}` is everyone; an account id or
    `arn:aws:iam::ACCOUNT:root` is any principal of that account; a role ARN matches its sessions (the
    caller lists it in `who.arns`); `{"Service": ...}` names a service principal. Wildcards are not
    allowed in principals other than `*`, so comparisons are exact."""
    if who is None:
        return False
    if spec == "*":
        return True
    if not isinstance(spec, dict):
        return False
    for kind, raw in spec.items():
        values = raw if isinstance(raw, list) else [raw]
        for v in values:
            if not isinstance(v, str):
                continue
            if kind == "AWS":
                if v == "*" or v in who.arns:
                    return True
                account = v if re.fullmatch(r"\d{12}", v) else None
                m = re.fullmatch(r"arn:[\w-]+:iam::(\d{12}):root", v)
                if m:
                    account = m.group(1)
                if account is not None and account == who.account:
                    return True
            elif kind == "Service" and who.service is not None and v.lower() == who.service.lower():
                return True
    return False


# ------------------------------------------------------------------------------------------------ conditions


def _number(s: str) -> float | None:
    try:
        return float(s)
    except ValueError:
        return None


def _date(s: str) -> _dt.datetime | None:
    try:
        return _dt.datetime.fromtimestamp(float(s), _dt.timezone.utc)
    except ValueError:
        pass
    try:
        d = _dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None
    return d if d.tzinfo else d.replace(tzinfo=_dt.timezone.utc)


def _arn_like(pattern: str, value: str) -> bool:
    """ArnEquals / ArnLike: each of the six colon-separated parts is matched on its own, with `*`/`?`
    (IAM "Condition operators", ARN condition operators)."""
    p = pattern.split(":", 5)
    v = value.split(":", 5)
    if len(p) != 6 or len(v) != 6:
        return False
    return all(_pattern_match(a, b, segmented=False) for a, b in zip(p, v))


def _compare(base: str, policy_value: str, request_value: str) -> bool:
    """One policy value against one request value for the positive form of the operator."""
    if base in ("StringEquals", "StringNotEquals"):
        return policy_value.replace("\x00", "") == request_value
    if base in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return policy_value.replace("\x00", "").lower() == request_value.lower()
    if base in ("StringLike", "StringNotLike"):
        return _pattern_match(policy_value, request_value, segmented=False)
    if base.startswith("Numeric"):
        a, b = _number(request_value), _number(policy_value)
        if a is None or b is None:
            return False
        op = base[len("Numeric") :].replace("Not", "")
        return {"Equals": a == b, "LessThan": a < b, "LessThanEquals": a <= b, "GreaterThan": a > b, "GreaterThanEquals": a >= b}[op]
    if base.startswith("Date"):
        a, b = _date(request_value), _date(policy_value)
        if a is None or b is None:
            return False
        op = base[len("Date") :].replace("Not", "")
        return {"Equals": a == b, "LessThan": a < b, "LessThanEquals": a <= b, "GreaterThan": a > b, "GreaterThanEquals": a >= b}[op]
    if base == "Bool":
        return policy_value.lower() == request_value.lower()
    if base == "BinaryEquals":
        try:
            return base64.b64decode(policy_value) == base64.b64decode(request_value)
        except ValueError:
            return False
    if base in ("IpAddress", "NotIpAddress"):
        try:
            return ipaddress.ip_address(request_value) in ipaddress.ip_network(policy_value, strict=False)
        except ValueError:
            return False
    if base in ("ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"):
        return _arn_like(policy_value, request_value)
    raise PolicyError(f"unknown condition operator {base}")


def _condition_holds(policy: Policy, op: str, key: str, policy_values: list[str], request: Request, missing: set[str]) -> bool:
    qualifier, base, if_exists = _split_operator(op)
    values = request.values(key)
    present = values is not None and len(values) > 0
    if base == "Null":
        # "true": the key must be absent; "false": it must be there (IAM "Condition operators", Null).
        want_absent = [v.lower() == "true" for v in policy_values]
        return any(w == (not present) for w in want_absent)
    if not present:
        missing.add(key)
        if if_exists:
            return True
        if qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        return base in _NEGATED
    # Policy variables in String / Arn condition values.
    resolved: list[str] = []
    for pv in policy_values:
        if policy.variables and "${" in pv and (base.startswith("String") or base.startswith("Arn")):
            s = substitute(pv, request, missing, as_pattern=base in ("StringLike", "StringNotLike") or base.startswith("Arn"))
            if s is None:
                continue
            pv = s
        resolved.append(pv)

    def matches(rv: str) -> bool:
        return any(_compare(base, pv, rv) for pv in resolved)

    negated = base in _NEGATED
    if qualifier == "ForAllValues":
        return all((not matches(v)) if negated else matches(v) for v in values)
    if qualifier == "ForAnyValue":
        return any((not matches(v)) if negated else matches(v) for v in values)
    hit = any(matches(v) for v in values)
    return not hit if negated else hit


# ------------------------------------------------------------------------------------------------ evaluation


def statement_applies(policy: Policy, st: Statement, request: Request, missing: set[str]) -> bool:
    if st.action is not None:
        if not any(action_matches(a, request.action) for a in st.action):
            return False
    elif any(action_matches(a, request.action) for a in st.not_action or []):
        return False
    if st.resource is not None:
        if not _resource_matches(policy, st.resource, request, missing):
            return False
    elif st.not_resource is not None:
        if _resource_matches(policy, st.not_resource, request, missing):
            return False
    if st.principal is not None and not _principal_matches(st.principal, request.principal):
        return False
    if st.not_principal is not None and _principal_matches(st.not_principal, request.principal):
        return False
    for op, keys in st.condition.items():
        for key, vals in keys.items():
            if not _condition_holds(policy, op, key, vals, request, missing):
                return False
    return True


def evaluate(policies: Iterable[Policy], request: Request) -> Result:
    """Every statement of every policy that applies to the request, by effect."""
    result = Result()
    for policy in policies:
        for st in policy.statements:
            if statement_applies(policy, st, request, result.missing):
                (result.allows if st.effect == "Allow" else result.denies).append(Match(policy, st))
    return result


@dataclass
class Decision:
    decision: str
    matched: list[Match]
    missing: set[str]
    identity: Result
    boundary: Result | None = None
    resource: Result | None = None

    @property
    def allowed_by_boundary(self) -> bool | None:
        if self.boundary is None:
            return None
        return self.boundary.decision == ALLOWED


def decide(
    identity: list[Policy], request: Request, boundary: list[Policy] | None = None, resource: list[Policy] | None = None
) -> Decision:
    """IAM "Policy evaluation logic" for a request within one account: explicit deny in any policy ->
    explicitDeny; an allow in a resource-based policy -> allowed; otherwise the identity-based policies
    must allow it, and the permissions boundary too when the principal has one."""
    ident = evaluate(identity, request)
    bound = evaluate(boundary, request) if boundary is not None else None
    res = evaluate(resource, request) if resource is not None else None
    missing = set(ident.missing)
    for r in (bound, res):
        if r is not None:
            missing |= r.missing
    denies = ident.denies + (bound.denies if bound else []) + (res.denies if res else [])
    if denies:
        return Decision(EXPLICIT_DENY, denies, missing, ident, bound, res)
    if res is not None and res.allows:
        return Decision(ALLOWED, res.allows + ident.allows, missing, ident, bound, res)
    if not ident.allows:
        return Decision(IMPLICIT_DENY, [], missing, ident, bound, res)
    if bound is not None and not bound.allows:
        return Decision(IMPLICIT_DENY, [], missing, ident, bound, res)
    return Decision(ALLOWED, ident.allows + (bound.allows if bound else []), missing, ident, bound, res)


# ------------------------------------------------------------------------------------------------ AWS IoT


def iot_arn(region: str, account: str, kind: str, name: str, partition: str = "aws") -> str:
    """`arn:aws:iot:REGION:ACCOUNT:<kind>/<name>` (AWS IoT Core action resources)."""
    return f"arn:{partition}:iot:{region}:{account}:{kind}/{name}"


def iot_topic_resource(region: str, account: str, action: str, topic_or_filter: str, partition: str = "aws") -> str:
    """The resource an MQTT action is authorized on: `topicfilter/<filter>` for iot:Subscribe,
    `topic/<topic>` for iot:Publish, iot:Receive and iot:RetainPublish ("AWS IoT Core policy actions").
    The filter text goes in as it is, `+` and `#` included: they are literal characters to the policy."""
    kind = "topicfilter" if action.lower() == "iot:subscribe" else "topic"
    return iot_arn(region, account, kind, topic_or_filter, partition)


_NAME_OIDS = {
    # X.509 certificate policy variables: the attribute names AWS IoT uses for subject and issuer fields
    # (cert-policy-variables.html), by the OID's dotted string.
    "2.5.4.6": "Country",
    "2.5.4.10": "Organization",
    "2.5.4.11": "OrganizationalUnit",
    "2.5.4.46": "DistinguishedNameQualifier",
    "2.5.4.8": "State",
    "2.5.4.3": "CommonName",
    "2.5.4.5": "SerialNumber",
    "2.5.4.12": "Title",
    "2.5.4.4": "Surname",
    "2.5.4.42": "GivenName",
    "2.5.4.43": "Initials",
    "2.5.4.65": "Pseudonym",
    "2.5.4.44": "GenerationQualifier",
}


def certificate_context(pem: str) -> dict[str, list[str]]:
    """`iot:Certificate.*` keys of a certificate (cert-policy-variables.html): Subject.* and Issuer.*
    attributes (a repeated attribute is a list: "Subject.OrganizationalUnit.List"-style arrays are given
    as multi-valued keys), Subject.AlternativeName.*, SerialNumber, Validity.NotBefore/NotAfter (ISO 8601),
    and AvailableKeys (the names of the keys present)."""
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        return {}
    ctx: dict[str, list[str]] = {}
    for part, name in (("Subject", cert.subject), ("Issuer", cert.issuer)):
        for attr in name:
            label = _NAME_OIDS.get(attr.oid.dotted_string)
            if label:
                ctx.setdefault(f"iot:Certificate.{part}.{label}", []).append(str(attr.value))
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    if san is not None:
        for cls, label in (
            (x509.RFC822Name, "RFC822Name"),
            (x509.DNSName, "DNSName"),
            (x509.UniformResourceIdentifier, "UniformResourceIdentifier"),
            (x509.IPAddress, "IPAddress"),
        ):
            vals = [str(v) for v in san.get_values_for_type(cls)]
            if vals:
                ctx[f"iot:Certificate.Subject.AlternativeName.{label}"] = vals
        dirs = [d.rfc4514_string() for d in san.get_values_for_type(x509.DirectoryName)]
        if dirs:
            ctx["iot:Certificate.Subject.AlternativeName.DirectoryName"] = dirs
    ctx["iot:Certificate.SerialNumber"] = [str(cert.serial_number)]
    ctx["iot:Certificate.Validity.NotBefore"] = [cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ")]
    ctx["iot:Certificate.Validity.NotAfter"] = [cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")]
    ctx["iot:Certificate.AvailableKeys"] = sorted(k[len("iot:Certificate.") :] for k in ctx)
    return ctx


def iot_context(client_id: str | None, thing: Any | None, attached: bool, certificate_pem: str | None) -> dict[str, list[str]]:
    """Context keys of a device request: `iot:ClientId`, and when the connection's thing is known
    (thing-policy-variables.html: the thing attached to the certificate whose name is the client id)
    `iot:Connection.Thing.ThingName`, `.ThingTypeName` (if it has a type), `.Attributes[name]` and
    `.IsAttached` "true"; a thing of that name that is not attached to the certificate gives only
    `.IsAttached` "false"; plus the certificate's `iot:Certificate.*` keys."""
    ctx: dict[str, list[str]] = {}
    if client_id is not None:
        ctx["iot:ClientId"] = [client_id]
    if thing is not None:
        ctx["iot:Connection.Thing.IsAttached"] = ["true" if attached else "false"]
    if thing is not None and attached:
        ctx["iot:Connection.Thing.ThingName"] = [thing.thing_name]
        if getattr(thing, "thing_type", None) is not None:
            ctx["iot:Connection.Thing.ThingTypeName"] = [thing.thing_type.thing_type_name]
        for k, v in (getattr(thing, "attributes", None) or {}).items():
            ctx[f"iot:Connection.Thing.Attributes[{k}]"] = [str(v)]
    if certificate_pem:
        ctx.update(certificate_context(certificate_pem))
    return ctx
