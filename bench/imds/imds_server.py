#!/usr/bin/env python3
"""A small EC2 instance metadata service (IMDSv2) for credential and region resolution tests.

Standard library only; runs with the system python3:

    python3 bench/imds/imds_server.py --port 0 [--role NAME | --no-role] [--refuse-token]
        [--region eu-west-1] [--access-key-id ID --secret-access-key KEY --token TOKEN]
        [--expiration-seconds N]

The first line on stdout is `listening on http://127.0.0.1:PORT` (flushed). Behaviour follows IMDSv2:
`PUT /latest/api/token` needs `x-aws-ec2-metadata-token-ttl-seconds` (1-21600) and answers with the
token and that header; every GET needs a valid, unexpired `x-aws-ec2-metadata-token` (401 otherwise).
`--refuse-token` answers the token PUT with 403 (IMDSv2 disabled / hop limit). Requests are logged to
stderr as method, path and status only: no header values, so no token or secret ever reaches a log.
Not for: IMDSv1 (tokenless) access, which this stub refuses like an instance set to "IMDSv2 required".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN_TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "x-aws-ec2-metadata-token"
MAX_TTL = 21600


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Imds:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.tokens: dict[str, float] = {}
        self.lock = threading.Lock()
        self.started = time.time()

    def issue(self, ttl: int) -> str:
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = time.monotonic() + ttl
        return token

    def valid(self, token: str | None) -> bool:
        if not token:
            return False
        with self.lock:
            expiry = self.tokens.get(token)
        return expiry is not None and time.monotonic() < expiry

    def credentials(self) -> dict[str, str]:
        a = self.args
        return {
            "Code": "Success",
            "LastUpdated": _iso(self.started),
            "Type": "AWS-HMAC",
            "AccessKeyId": a.access_key_id,
            "SecretAccessKey": a.secret_access_key,
            "Token": a.token,
            "Expiration": _iso(time.time() + a.expiration_seconds),
        }

    def document(self) -> dict[str, object]:
        a = self.args
        return {
            "accountId": a.account_id,
            "architecture": "x86_64",
            "availabilityZone": a.availability_zone,
            "billingProducts": None,
            "devpayProductCodes": None,
            "marketplaceProductCodes": None,
            "imageId": "ami-0123456789abcdef0",
            "instanceId": a.instance_id,
            "instanceType": "t3.micro",
            "kernelId": None,
            "pendingTime": _iso(self.started),
            "privateIp": "10.0.0.10",
            "ramdiskId": None,
            "region": a.region,
            "version": "2017-09-30",
        }

    def get(self, path: str) -> tuple[int, str, str]:
        """(status, content type, body) for a GET of `path`."""
        a = self.args
        text = "text/plain"
        creds_dir = "/latest/meta-data/iam/security-credentials/"
        if path in ("/latest/meta-data", "/latest/meta-data/"):
            entries = ["ami-id", "instance-id", "instance-type", "placement/"] + (["iam/"] if a.role else [])
            return 200, text, "\n".join(entries)
        if path == "/latest/meta-data/instance-id":
            return 200, text, a.instance_id
        if path == "/latest/meta-data/instance-type":
            return 200, text, "t3.micro"
        if path == "/latest/meta-data/ami-id":
            return 200, text, "ami-0123456789abcdef0"
        if path in ("/latest/meta-data/placement", "/latest/meta-data/placement/"):
            return 200, text, "availability-zone\nregion"
        if path == "/latest/meta-data/placement/region":
            return 200, text, a.region
        if path == "/latest/meta-data/placement/availability-zone":
            return 200, text, a.availability_zone
        if path == "/latest/dynamic/instance-identity/document":
            return 200, "application/json", json.dumps(self.document(), indent=2)
        if a.role and path in ("/latest/meta-data/iam", "/latest/meta-data/iam/"):
            return 200, text, "info\nsecurity-credentials/"
        if a.role and path == creds_dir:
            return 200, text, a.role
        if a.role and path == creds_dir + a.role:
            return 200, text, json.dumps(self.credentials(), indent=2)
        return 404, "text/html", "<html><body><h1>404 - Not Found</h1></body></html>"


def make_handler(imds: Imds):
    class Handler(BaseHTTPRequestHandler):
        server_version = "EC2ws"
        sys_version = ""
        protocol_version = "HTTP/1.1"

        def _send(self, status: int, body: str, content_type: str = "text/plain", extra: dict[str, str] | None = None) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def log_request(self, code: object = "-", size: object = "-") -> None:
            # method, path and status only: never header values (tokens) or bodies (secrets)
            sys.stderr.write(f"imds: {self.command} {self.path.split('?')[0]} {code}\n")
            sys.stderr.flush()

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _drain(self) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                self.rfile.read(n)

        def do_PUT(self) -> None:
            self._drain()
            if self.path != "/latest/api/token":
                self._send(405 if self.path.startswith("/latest/") else 404, "")
                return
            if imds.args.refuse_token or self.headers.get("X-Forwarded-For"):
                self._send(403, "Forbidden")
                return
            raw = self.headers.get(TOKEN_TTL_HEADER)
            try:
                ttl = int(raw) if raw is not None else None
            except ValueError:
                ttl = None
            if ttl is None or not 1 <= ttl <= MAX_TTL:
                self._send(400, "Bad Request")
                return
            self._send(200, imds.issue(ttl), extra={TOKEN_TTL_HEADER: str(ttl)})

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path == "/latest/api/token":
                self._send(405, "Method Not Allowed")
                return
            if not imds.valid(self.headers.get(TOKEN_HEADER)):
                self._send(401, "Unauthorized")
                return
            status, ctype, body = imds.get(path)
            self._send(status, body, ctype)

        def do_POST(self) -> None:
            self._drain()
            self._send(405, "Method Not Allowed")

        do_DELETE = do_POST

    return Handler


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="IMDSv2 stand-in for credential/region resolution tests")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    role = p.add_mutually_exclusive_group()
    role.add_argument("--role", default="ggp-bench-instance-role", help="instance profile role name")
    role.add_argument("--no-role", dest="role", action="store_const", const=None, help="no instance profile")
    p.add_argument("--refuse-token", action="store_true", help="answer PUT /latest/api/token with 403")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--availability-zone", default=None, help="default: <region>a")
    p.add_argument("--instance-id", default="i-0123456789abcdef0")
    p.add_argument("--account-id", default="123456789012")
    p.add_argument("--access-key-id", default="ASIAIMDSBENCHEXAMPLE")
    p.add_argument("--secret-access-key", default="imds-bench-secret-access-key")
    p.add_argument("--token", default="imds-bench-session-token")
    p.add_argument("--expiration-seconds", type=int, default=6 * 3600, help="credential lifetime from each request")
    args = p.parse_args(argv)
    if args.availability_zone is None:
        args.availability_zone = f"{args.region}a"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(Imds(args)))
    server.daemon_threads = True
    print(f"listening on http://{args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
