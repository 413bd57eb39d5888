#!/usr/bin/env python3
"""STAND-IN (ggp test bench; not AWS software): what the nucleus does with its identity before it runs
anything, over the bench's unix sockets (bench/emulator/README.md, "Device access"), for a device
container with no network.

1. Fetches AWS credentials from the AWS IoT credentials provider through the role alias, as the nucleus's
   token exchange service does ("Authorizing direct calls to AWS services using AWS IoT Core credential
   provider"): HTTPS GET /role-aliases/<alias>/credentials over <sockets>/credentials.sock, TLS with SNI
   and Host = the config's iotCredEndpoint, the server verified with <sockets>/ca.pem by that name, the
   core's certificate and key as client certificate, header x-amzn-iot-thingname.
2. With them, downloads one artifact (`--artifact s3://bucket/key`), as the nucleus downloads component
   artifacts: S3 GetObject, path-style, SigV4-signed for s3.<region>.amazonaws.com with the session token,
   over <sockets>/aws.sock; writes it under <root>/packages/artifacts-standin/.

Python standard library only (the device stand-in image has Python). Prints one line per step; exits 1
with the service's answer when a step is refused (a policy without iot:AssumeRoleWithCertificate, a role
that may not read the object), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import http.client
import json
import os
import socket
import ssl
import sys
import urllib.parse

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, host: str, tls: ssl.SSLContext | None = None):
        super().__init__(host, timeout=60)
        self.unix_path, self.tls, self.server = path, tls, host

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(60)
        s.connect(self.unix_path)
        self.sock = self.tls.wrap_socket(s, server_hostname=self.server) if self.tls else s


def credentials(a: argparse.Namespace) -> dict[str, str]:
    tls = ssl.create_default_context(cafile=os.path.join(a.sockets, "ca.pem"))
    tls.load_cert_chain(a.cert, a.key)
    conn = UnixHTTPConnection(os.path.join(a.sockets, "credentials.sock"), a.cred_endpoint, tls)
    conn.request("GET", f"/role-aliases/{a.alias}/credentials", headers={"Host": a.cred_endpoint, "x-amzn-iot-thingname": a.thing})
    r = conn.getresponse()
    body = r.read().decode("utf-8", "replace")
    if r.status != 200:
        raise SystemExit(f"credentials through role alias {a.alias} refused: HTTP {r.status} {body.strip()}")
    c = json.loads(body)["credentials"]
    print(f"credentials through role alias {a.alias}: access key ...{c['accessKeyId'][-4:]}, expires {c['expiration']}")
    return c


def sign(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def get_object(a: argparse.Namespace, c: dict[str, str]) -> bytes:
    """S3 GetObject, SigV4 ("Signature Version 4 signing process", S3 API reference: path-style)."""
    bucket, _, key = a.artifact[len("s3://") :].partition("/")
    host = f"s3.{a.region}.amazonaws.com"
    path = "/" + urllib.parse.quote(f"{bucket}/{key}", safe="/-_.~")
    now = dt.datetime.now(dt.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = {"host": host, "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": amz_date, "x-amz-security-token": c["sessionToken"]}
    names = sorted(headers)
    canonical = "\n".join(["GET", path, "", *(f"{n}:{headers[n]}" for n in names), "", ";".join(names), EMPTY_SHA256])
    scope = f"{day}/{a.region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = sign(sign(sign(sign(("AWS4" + c["secretAccessKey"]).encode(), day), a.region), "s3"), "aws4_request")
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = f"AWS4-HMAC-SHA256 Credential={c['accessKeyId']}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"
    conn = UnixHTTPConnection(os.path.join(a.sockets, "aws.sock"), host)
    conn.request("GET", path, headers={("Host" if n == "host" else n): v for n, v in headers.items()})
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise SystemExit(f"downloading {a.artifact} with those credentials refused: HTTP {r.status} {body.decode('utf-8', 'replace').strip()}")
    return body


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("sockets", "cred-endpoint", "alias", "thing", "cert", "key", "region", "root"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--artifact", help="s3://bucket/key to download with the credentials")
    a = p.parse_args()
    c = credentials(a)
    if a.artifact:
        if not a.artifact.startswith("s3://"):
            print(f"--artifact {a.artifact} is not s3://bucket/key", file=sys.stderr)
            return 2
        data = get_object(a, c)
        out = os.path.join(a.root, "packages", "artifacts-standin")
        os.makedirs(out, exist_ok=True)
        path = os.path.join(out, a.artifact.rsplit("/", 1)[-1])
        with open(path, "wb") as f:
            f.write(data)
        print(f"downloaded {a.artifact} ({len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:12]}) with those credentials to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
