"""Request parsing, input validation and output shaping from botocore's service models.

Everything the emulator adds or patches goes through here, so that what it accepts and what it
answers is decided by the AWS API model (the same service-2.json the SDKs are generated from),
not by hand-written field lists. Not for: business rules (those live with each backend).
"""

from __future__ import annotations

import base64
import datetime as _dt
import functools
import json
import re
from typing import Any
from urllib.parse import unquote

import botocore.session
from botocore.model import OperationModel, Shape


@functools.lru_cache(maxsize=None)
def service_model(name: str):
    return botocore.session.get_session().get_service_model(name)


def operation(service: str, name: str) -> OperationModel:
    return service_model(service).operation_model(name)


@functools.lru_cache(maxsize=None)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        # A Java-only construct (e.g. \p{..} classes): checked by the real service, not here.
        return None


class FieldError:
    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message

    def __repr__(self) -> str:
        return f"{self.path}: {self.message}"


# --------------------------------------------------------------------------------------------
# Parsing: HTTP request -> input dict keyed by member name (not by wire name)
# --------------------------------------------------------------------------------------------


class ParseError(Exception):
    pass


def _coerce_scalar(shape: Shape, raw: str, where: str) -> Any:
    t = shape.type_name
    if t in ("integer", "long"):
        try:
            return int(raw)
        except ValueError:
            raise ParseError(f"{where}: '{raw}' is not an integer")
    if t in ("float", "double"):
        try:
            return float(raw)
        except ValueError:
            raise ParseError(f"{where}: '{raw}' is not a number")
    if t == "boolean":
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise ParseError(f"{where}: '{raw}' is not a boolean")
    return raw


def parse_request(op: OperationModel, request: Any, uri_params: dict[str, str], body: bytes) -> dict[str, Any]:
    """Collect the operation's input members from URI labels, query string, headers and the JSON body."""
    shape = op.input_shape
    params: dict[str, Any] = {}
    if shape is None:
        return params
    payload_member = shape.serialization.get("payload")
    body_doc: Any = None
    if body:
        if payload_member and shape.members[payload_member].type_name in ("blob", "string"):
            body_doc = None
            params[payload_member] = body
        else:
            try:
                body_doc = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                raise ParseError(f"request body is not valid JSON: {e}")
            if not isinstance(body_doc, dict):
                raise ParseError("request body must be a JSON object")
    for name, member in shape.members.items():
        loc = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if loc == "uri":
            if wire in uri_params:
                params[name] = _coerce_scalar(member, unquote(uri_params[wire]), wire)
        elif loc == "querystring":
            if member.type_name == "list":
                values = request.args.getlist(wire)
                if values:
                    params[name] = [_coerce_scalar(member.member, v, wire) for v in values]
            elif member.type_name == "map":
                pass  # no operation handled here uses query maps
            elif wire in request.args:
                params[name] = _coerce_scalar(member, request.args[wire], wire)
        elif loc == "header":
            if wire in request.headers:
                params[name] = _coerce_scalar(member, request.headers[wire], wire)
        elif name == payload_member and body_doc is not None:
            params[name] = _from_wire(member, body_doc)
        elif body_doc is not None and wire in body_doc:
            params[name] = _from_wire(member, body_doc[wire])
    return params


def _from_wire(shape: Shape, value: Any) -> Any:
    """Body value (JSON) -> member-name keyed python value; blobs are base64-decoded."""
    if value is None:
        return None
    t = shape.type_name
    if t == "structure" and isinstance(value, dict):
        out = {}
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            if wire in value:
                out[name] = _from_wire(member, value[wire])
        return out
    if t == "list" and isinstance(value, list):
        return [_from_wire(shape.member, v) for v in value]
    if t == "map" and isinstance(value, dict):
        return {k: _from_wire(shape.value, v) for k, v in value.items()}
    if t == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (ValueError, base64.binascii.Error):
            return _Invalid(value, "is not valid base64")
    return value


class _Invalid:
    def __init__(self, raw: Any, why: str):
        self.raw = raw
        self.why = why


# --------------------------------------------------------------------------------------------
# Validation against the input shape
# --------------------------------------------------------------------------------------------


def validate(shape: Shape | None, value: Any) -> list[FieldError]:
    errors: list[FieldError] = []
    if shape is not None:
        _validate(shape, value if value is not None else {}, "", errors, top=True)
    return errors


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _validate(shape: Shape, value: Any, path: str, errors: list[FieldError], top: bool = False) -> None:
    if isinstance(value, _Invalid):
        errors.append(FieldError(path, value.why))
        return
    t = shape.type_name
    meta = shape.metadata
    if t == "structure":
        if not isinstance(value, dict):
            errors.append(FieldError(path, "must be an object"))
            return
        for req in shape.required_members:
            if value.get(req) is None:
                errors.append(FieldError(_join(path, req), "is required but was not provided"))
        for name, v in value.items():
            if v is None or name not in shape.members:
                continue
            _validate(shape.members[name], v, _join(path, name), errors)
        return
    if t == "list":
        if not isinstance(value, list):
            errors.append(FieldError(path, "must be a list"))
            return
        _check_len(meta, len(value), path, errors, "list length")
        for i, item in enumerate(value):
            if item is None:
                errors.append(FieldError(f"{path}[{i}]", "must not be null"))
                continue
            _validate(shape.member, item, f"{path}[{i}]", errors)
        return
    if t == "map":
        if not isinstance(value, dict):
            errors.append(FieldError(path, "must be a map"))
            return
        _check_len(meta, len(value), path, errors, "map size")
        for k, v in value.items():
            _validate(shape.key, k, f"{path}.key({k})", errors)
            if v is None:
                errors.append(FieldError(f"{path}[{k}]", "must not be null"))
                continue
            _validate(shape.value, v, f"{path}[{k}]", errors)
        return
    if t == "string":
        if not isinstance(value, str):
            errors.append(FieldError(path, "must be a string"))
            return
        _check_len(meta, len(value), path, errors, "length")
        if "enum" in meta and value not in meta["enum"]:
            errors.append(FieldError(path, f"must be one of [{', '.join(meta['enum'])}]"))
        if "pattern" in meta:
            rx = _compiled(meta["pattern"])
            if rx is not None and rx.search(value) is None:
                errors.append(FieldError(path, f"must match pattern {meta['pattern']}"))
        return
    if t in ("integer", "long", "float", "double"):
        integral = t in ("integer", "long")
        if isinstance(value, bool) or not isinstance(value, int if integral else (int, float)):
            errors.append(FieldError(path, "must be an integer" if integral else "must be a number"))
            return
        _check_range(meta, value, path, errors)
        return
    if t == "boolean":
        if not isinstance(value, bool):
            errors.append(FieldError(path, "must be a boolean"))
        return
    if t == "blob":
        if not isinstance(value, (bytes, bytearray)):
            errors.append(FieldError(path, "must be binary data"))
            return
        _check_len(meta, len(value), path, errors, "length")
        return
    if t == "timestamp":
        if not isinstance(value, (int, float, str)):
            errors.append(FieldError(path, "must be a timestamp"))


def _check_len(meta: dict, n: int, path: str, errors: list[FieldError], what: str) -> None:
    if "min" in meta and n < meta["min"]:
        errors.append(FieldError(path, f"{what} must be at least {meta['min']}"))
    if "max" in meta and n > meta["max"]:
        errors.append(FieldError(path, f"{what} must be at most {meta['max']}"))


def _check_range(meta: dict, v: float, path: str, errors: list[FieldError]) -> None:
    if "min" in meta and v < meta["min"]:
        errors.append(FieldError(path, f"must be greater than or equal to {meta['min']}"))
    if "max" in meta and v > meta["max"]:
        errors.append(FieldError(path, f"must be less than or equal to {meta['max']}"))


# --------------------------------------------------------------------------------------------
# Output shaping: member-name keyed python values -> wire JSON following the output shape
# --------------------------------------------------------------------------------------------


def _ts_to_wire(shape: Shape, value: Any, default_format: str) -> Any:
    fmt = shape.serialization.get("timestampFormat") or shape.metadata.get("timestampFormat") or default_format
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        if fmt == "unixTimestamp":
            return round(value.timestamp(), 3)
        if fmt == "iso8601":
            return value.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        return value.strftime("%a, %d %b %Y %H:%M:%S GMT")
    return value


def to_wire(shape: Shape, value: Any) -> Any:
    """Drop None and members the shape doesn't have; rename to wire names; encode blobs/timestamps."""
    if value is None:
        return None
    t = shape.type_name
    if t == "structure":
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            if member.serialization.get("location") in ("header", "uri", "querystring", "statusCode"):
                continue
            if name in value and value[name] is not None:
                out[member.serialization.get("name", name)] = to_wire(member, value[name])
        return out
    if t == "list":
        return [to_wire(shape.member, v) for v in value]
    if t == "map":
        return {k: to_wire(shape.value, v) for k, v in value.items()}
    if t == "blob":
        raw = value if isinstance(value, (bytes, bytearray)) else str(value).encode()
        return base64.b64encode(raw).decode("ascii")
    if t == "timestamp":
        return _ts_to_wire(shape, value, "unixTimestamp")
    return value


def output_response(op: OperationModel, data: dict[str, Any] | None) -> tuple[int, dict[str, str], str]:
    status = op.http.get("responseCode", 200)
    headers = {"Content-Type": "application/json"}
    shape = op.output_shape
    if shape is None:
        return status, headers, "{}" if status != 204 else ""
    body = to_wire(shape, data or {})
    for name, member in shape.members.items():
        if member.serialization.get("location") == "header" and data and data.get(name) is not None:
            headers[member.serialization.get("name", name)] = str(data[name])
    if status == 204:
        return status, headers, ""
    return status, headers, json.dumps(body)
