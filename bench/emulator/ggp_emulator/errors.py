"""Errors in the wire shapes the Greengrass V1 and V2 models declare.

V1 (`greengrass`) declares `BadRequestException` / `InternalServerErrorException` with `Message` and
`ErrorDetails`; V2 (`greengrassv2`) declares `ValidationException` (`message`, `reason`, `fields`),
`ResourceNotFoundException` and `ConflictException` (`message`, `resourceId`, `resourceType`), ...
The error code travels in the `x-amzn-ErrorType` header, which is where the SDKs look first.
"""

from __future__ import annotations

import json
from typing import Any

from .model import FieldError


class ApiError(Exception):
    status = 400
    code = "BadRequestException"

    def __init__(self, body: dict[str, Any], status: int | None = None, code: str | None = None):
        super().__init__(body.get("Message") or body.get("message"))
        self.body = body
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code

    def response(self) -> tuple[int, dict[str, str], str]:
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": self.code}
        return self.status, headers, json.dumps(self.body)


# ---------------------------------------------------------------- Greengrass V1


def v1_bad_request(message: str, details: list[tuple[str, str]] | None = None) -> ApiError:
    body: dict[str, Any] = {"Message": message}
    if details:
        body["ErrorDetails"] = [{"DetailedErrorCode": c, "DetailedErrorMessage": m} for c, m in details]
    return ApiError(body, 400, "BadRequestException")


def v1_validation(errors: list[FieldError]) -> ApiError:
    first = errors[0]
    msg = f"Invalid input: {first.path} {first.message}" if first.path else f"Invalid input: {first.message}"
    return v1_bad_request(msg, [("GG-400", f"{e.path} {e.message}".strip()) for e in errors])


def v1_not_found(code: str, message: str) -> ApiError:
    # Codes as moto (and the service) report them for unknown ids: IdNotFoundException / VersionNotFoundException.
    return ApiError({"Message": message}, 404, code)


# ---------------------------------------------------------------- Greengrass V2


def v2_validation(errors: list[FieldError] | None = None, message: str | None = None, reason: str = "FIELD_VALIDATION_FAILED") -> ApiError:
    errors = errors or []
    if message is None:
        n = len(errors)
        parts = "; ".join(f"Value at '{e.path}' {e.message}" for e in errors)
        message = f"{n} validation error{'s' if n != 1 else ''} detected: {parts}"
    body: dict[str, Any] = {"message": message, "reason": reason}
    if errors:
        body["fields"] = [{"name": e.path, "message": e.message} for e in errors]
    return ApiError(body, 400, "ValidationException")


def v2_not_found(resource_type: str, resource_id: str, message: str | None = None) -> ApiError:
    return ApiError(
        {"message": message or f"{resource_type} {resource_id} not found", "resourceId": resource_id, "resourceType": resource_type},
        404,
        "ResourceNotFoundException",
    )


def v2_conflict(resource_type: str, resource_id: str, message: str) -> ApiError:
    return ApiError({"message": message, "resourceId": resource_id, "resourceType": resource_type}, 409, "ConflictException")
