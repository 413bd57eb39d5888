"""The WSGI application: moto's server app with our patches, plus the `/ggp-bench/` control API.

`build_app()` applies every patch (backends, response dispatch, URL rules) before moto creates its
per-service Flask apps, which is when moto reads the URL rules; that's why patching happens here and
not lazily. Not for: command-line handling (`__main__.py`).
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Iterable

_PATCHED = False


def apply_patches() -> None:
    global _PATCHED
    if _PATCHED:
        return
    from moto.greengrass import urls as gg_urls
    from moto.greengrass.responses import GreengrassResponse

    from . import authz, aws_fixes, credentials_provider, dispatch, greengrass_v1, runtimes

    greengrass_v1.patch_backend()
    dispatch.patch_greengrass()
    dispatch.patch_iot_lambda()
    aws_fixes.patch_all()
    runtimes.patch()
    authz.patch_all()
    credentials_provider.patch_enforcement()
    # Every path under /greengrass/ (V1 and V2) and /tags/ reaches GreengrassResponse.dispatch, which
    # matches the operation with the botocore model itself. These catch-alls also fix moto's
    # `deployments/$reset` rule, which never matches in server mode, and turn unknown paths into a
    # JSON error instead of Flask's HTML 404 page.
    gg_urls.url_paths["{0}/greengrass/(?P<ggp_path>.*)$"] = GreengrassResponse.dispatch
    gg_urls.url_paths["{0}/tags/(?P<ggp_resource_arn>.+)$"] = GreengrassResponse.dispatch
    _PATCHED = True


def _json(start_response: Callable, status: int, body: Any) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}.get(status, "OK")
    start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


class ControlError(Exception):
    pass


def _control(method: str, path: str, body: dict[str, Any], app: Any = None) -> Any:
    from moto.greengrass.models import greengrass_backends

    from . import control, credentials_provider, greengrass_v2

    account = str(body.get("accountId") or control.default_account())
    ctl = control.control_for(account)
    if path == "/ggp-bench/health":
        return {"ok": True, **credentials_provider.health()}
    if path == "/ggp-bench/unix-sockets":
        if method != "POST":
            return credentials_provider.health().get("unixSocketDirs", [])
        d = body.get("dir")
        if not isinstance(d, str) or not os.path.isabs(d):
            raise ControlError("dir must be an absolute path")
        try:
            return credentials_provider.open_socket_dir(d, app)
        except (OSError, ValueError, RuntimeError) as e:
            raise ControlError(f"cannot open unix sockets in {d}: {e}")
    if path == "/ggp-bench/config":
        if method == "POST":
            for key, attr in (("deploymentPolls", "deployment_polls"), ("v2DeploymentPolls", "v2_deployment_polls"), ("componentPolls", "component_polls")):
                if key in body:
                    v = body[key]
                    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                        raise ControlError(f"{key} must be a non-negative integer")
                    setattr(ctl, attr, v)
        return {"deploymentPolls": ctl.deployment_polls, "v2DeploymentPolls": ctl.v2_deployment_polls, "componentPolls": ctl.component_polls}
    if method != "POST":
        raise ControlError(f"{method} is not supported on {path}")
    if path == "/ggp-bench/greengrass/deployment-outcome":
        status = body.get("status")
        if status not in ("Success", "Failure"):
            raise ControlError("status must be Success or Failure")
        outcome = {"status": status}
        if status == "Failure":
            outcome["errorMessage"] = str(body.get("errorMessage") or "Deployment failed.")
            details = body.get("errorDetails")
            if details is not None:
                if not isinstance(details, list) or not all(isinstance(d, dict) for d in details):
                    raise ControlError("errorDetails must be a list of {DetailedErrorCode, DetailedErrorMessage}")
                outcome["errorDetails"] = details
        ctl.v1_outcomes[str(body.get("groupId") or "*")] = outcome
        return {"groupId": body.get("groupId") or "*", **outcome}
    if path == "/ggp-bench/greengrassv2/deployment-outcome":
        status = body.get("status")
        if status not in ("COMPLETED", "FAILED"):
            raise ControlError("status must be COMPLETED or FAILED")
        outcome = {"status": status}
        if status == "FAILED":
            outcome["reason"] = str(body.get("reason") or body.get("errorMessage") or "Deployment failed.")
            for key in ("errorStack", "errorTypes"):
                if body.get(key) is not None:
                    if not isinstance(body[key], list) or not all(isinstance(x, str) for x in body[key]):
                        raise ControlError(f"{key} must be a list of strings")
                    outcome[key] = body[key]
        key = body.get("deploymentId") or body.get("targetArn") or "*"
        ctl.v2_outcomes[str(key)] = outcome
        return {"key": key, **outcome}
    if path == "/ggp-bench/greengrassv2/core-device":
        region = str(body.get("region") or "us-east-1")
        backend = greengrass_backends[account][region]
        try:
            cd = greengrass_v2.report_core_device(backend, body)
        except ValueError as e:
            raise ControlError(str(e))
        return {"thingName": cd.thing_name, "status": cd.status, "region": region}
    if path in ("/ggp-bench/greengrassv2/device-job", "/ggp-bench/greengrassv2/device-report"):
        region = str(body.get("region") or "us-east-1")
        fn = greengrass_v2.device_job if path.endswith("device-job") else greengrass_v2.device_report
        try:
            return fn(greengrass_backends[account][region], body)
        except ValueError as e:
            raise ControlError(str(e))
    if path == "/ggp-bench/greengrassv2/component-state":
        region = str(body.get("region") or "us-east-1")
        try:
            return greengrass_v2.set_component_state(greengrass_backends[account][region], body)
        except ValueError as e:
            raise ControlError(str(e))
    if path == "/ggp-bench/greengrassv2/public-component":
        region = str(body.get("region") or "us-east-1")  # only for the backend; the version is public in every region
        try:
            return greengrass_v2.publish_public_version(greengrass_backends[account][region], body)
        except ValueError as e:
            raise ControlError(str(e))
    raise LookupError(path)


class BenchApp:
    """Serves /ggp-bench/* itself and hands everything else to moto."""

    def __init__(self, moto_app: Callable):
        self.moto_app = moto_app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/ggp-bench/"):
            return self.moto_app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET")
        body: dict[str, Any] = {}
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length:
            try:
                body = json.loads(environ["wsgi.input"].read(length) or b"{}")
            except json.JSONDecodeError as e:
                return _json(start_response, 400, {"error": f"body is not JSON: {e}"})
            if not isinstance(body, dict):
                return _json(start_response, 400, {"error": "body must be a JSON object"})
        try:
            return _json(start_response, 200, _control(method, path, body, self))
        except ControlError as e:
            return _json(start_response, 400, {"error": str(e)})
        except LookupError:
            return _json(start_response, 404, {"error": f"unknown control endpoint {path}"})


def build_app() -> BenchApp:
    apply_patches()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    moto_app = DomainDispatcherApplication(create_backend_app)
    return BenchApp(moto_app)
