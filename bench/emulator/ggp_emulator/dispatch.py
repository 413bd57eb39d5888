"""Request dispatch patched into moto's response classes.

Greengrass: every request reaching moto's greengrass app is matched against the botocore model
(`greengrass` for V1 paths, `greengrassv2` for `/greengrass/v2/...` and for `/tags/<V2 ARN>`),
parsed, validated against the input shape, and handed to our handler; the few operations without one
fall through to moto's own method. IoT and Lambda: the operations we patch are validated the same way
before moto runs them. Errors use the error shape of the service's model.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable
from urllib.parse import unquote

from moto.core.exceptions import JsonRESTError
from moto.core.routing import get_service_router
from werkzeug.exceptions import NotFound

from . import greengrass_v1, greengrass_v2
from .errors import ApiError, v1_bad_request, v1_validation, v2_validation
from .model import ParseError, operation, output_response, parse_request, validate

Response = tuple[int, dict[str, str], str]


def _unknown_operation(service: str, method: str, path: str) -> Response:
    msg = f"No operation matches {method} {path}"
    body = {"Message": msg} if service == "greengrass" else {"message": msg}
    return 404, {"Content-Type": "application/json", "x-amzn-ErrorType": "UnknownOperationException"}, json.dumps(body)


def _moto_error(service: str, e: JsonRESTError) -> Response:
    """moto raises its own exception classes from backend code we reuse; bring them to the model's shape."""
    if service == "greengrass":
        if e.error_type in ("400", "InvalidInputException", "InvalidContainerDefinitionException", "MissingCoreException"):
            return v1_bad_request(e.message).response()
        return ApiError({"Message": e.message}, e.code, e.error_type).response()
    return ApiError({"message": e.message}, e.code, e.error_type).response()


_SHARED = re.compile(r"^/greengrass/(servicerole|things/[^/]+/connectivityInfo)/?$")


def _greengrass_service_for(path: str, headers: Any) -> str:
    """Which model a request on moto's greengrass app belongs to."""
    if path.startswith("/greengrass/v2/"):
        return "greengrassv2"
    if path.startswith("/tags/") and greengrass_v2.is_v2_arn(unquote(path[len("/tags/") :])):
        return "greengrassv2"
    if _SHARED.match(path):
        # Same path and wire format in both models; the SDKs name their API in the user agent.
        agent = f"{headers.get('x-amz-user-agent', '')} {headers.get('User-Agent', '')}"
        if "api/greengrassv2" in agent:
            return "greengrassv2"
    return "greengrass"


def patch_greengrass() -> None:
    from moto.greengrass.models import greengrass_backends
    from moto.greengrass.responses import GreengrassResponse

    moto_call_action = GreengrassResponse.call_action

    def call_action(self: GreengrassResponse) -> Response:
        request = self.normalized_request
        service = _greengrass_service_for(self.path, self.headers)
        handlers = greengrass_v2.HANDLERS if service == "greengrassv2" else greengrass_v1.HANDLERS
        try:
            try:
                op_model, uri_params = get_service_router(service).match(request)
            except NotFound:
                return _unknown_operation(service, self.method, self.path)
            op = operation(service, op_model.name)
            raw = self.raw_body if isinstance(self.raw_body, (bytes, bytearray)) else (self.raw_body or "").encode()
            try:
                params = parse_request(op, request, uri_params, raw)
            except ParseError as e:
                if service == "greengrassv2":
                    raise v2_validation(message=str(e), reason="CANNOT_PARSE")
                raise v1_bad_request(str(e))
            errors = validate(op.input_shape, params)
            if errors:
                raise v2_validation(errors) if service == "greengrassv2" else v1_validation(errors)
            handler = handlers.get(op.name)
            if handler is None:
                if service == "greengrass":
                    try:
                        return moto_call_action(self)
                    except NotImplementedError:
                        pass
                key = "Message" if service == "greengrass" else "message"
                return 501, {"Content-Type": "application/json", "x-amzn-ErrorType": "NotImplemented"}, json.dumps(
                    {key: f"{op.name} is not emulated by ggp_emulator"}
                )
            backend = greengrass_backends[self.current_account][self.region]
            # V2: a repeated clientToken gets the cached successful response (the model documents 8 h).
            token = (op.name, params["clientToken"]) if service == "greengrassv2" and params.get("clientToken") else None
            if token and token in backend.ggp_v2.idempotent:
                return output_response(op, backend.ggp_v2.idempotent[token])
            out = handler(backend, params)
            if token:
                backend.ggp_v2.idempotent[token] = out
            return output_response(op, out)
        except ApiError as e:
            return e.response()
        except JsonRESTError as e:
            return _moto_error(service, e)

    GreengrassResponse.call_action = call_action


def _validated(service: str, ops: set[str], error: Callable[[str], Response]) -> Callable[[Any], Any]:
    """Wrap a moto response class's call_action: validate the listed operations first."""

    def wrap(original: Callable[[Any], Response]) -> Callable[[Any], Response]:
        def call_action(self: Any) -> Response:
            try:
                op_model, uri_params = get_service_router(service).match(self.normalized_request)
            except NotFound:
                return original(self)
            if op_model.name in ops:
                op = operation(service, op_model.name)
                raw = self.raw_body if isinstance(self.raw_body, (bytes, bytearray)) else (self.raw_body or "").encode()
                try:
                    params = parse_request(op, self.normalized_request, uri_params, raw)
                except ParseError as e:
                    return error(str(e))
                errors = validate(op.input_shape, params)
                if errors:
                    return error("; ".join(f"{e.path} {e.message}" for e in errors))
            return original(self)

        return call_action

    return wrap


IOT_CHECKED = {
    "DescribeEndpoint",
    "UpdateRoleAlias",
    "CreatePolicyVersion",
    "ListPolicyVersions",
    "DeletePolicyVersion",
    "SetDefaultPolicyVersion",
    "DetachThingPrincipal",
    "UpdateCertificate",
    "DeleteCertificate",
    "CreateCertificateFromCsr",
    "CreateThingGroup",
    "AddThingToThingGroup",
    "ListThingsInThingGroup",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "CreatePolicy",
    "CreateRoleAlias",
}
LAMBDA_CHECKED = {"PublishVersion"}


def _error(code: str, status: int, key: str) -> Callable[[str], Response]:
    def make(message: str) -> Response:
        return status, {"Content-Type": "application/json", "x-amzn-ErrorType": code}, json.dumps({key: message})

    return make


def patch_iot_lambda() -> None:
    from moto.awslambda.responses import LambdaResponse
    from moto.iot.responses import IoTResponse

    IoTResponse.call_action = _validated("iot", IOT_CHECKED, _error("InvalidRequestException", 400, "message"))(IoTResponse.call_action)
    LambdaResponse.call_action = _validated("lambda", LAMBDA_CHECKED, _error("InvalidParameterValueException", 400, "message"))(
        LambdaResponse.call_action
    )
