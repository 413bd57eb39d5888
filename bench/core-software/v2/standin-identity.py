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

With `--run` (the running nucleus, not the installer), then, as the nucleus and LogManager would:
3. connects: registers as a core device (bench control `core-device`, the stand-in for the nucleus's
   first connection), takes its deployment (bench control `device-job`, the stand-in for the IoT job
   that carries it), waiting up to `--wait` seconds for one;
4. "runs" each component (the stand-in runs no code): writes its log lines to CloudWatch Logs as
   LogManager uploads them (`/aws/greengrass/UserComponent/<region>/<component>`, stream
   `/yyyy/MM/dd/thing/<thing>`; CreateLogGroup, CreateLogStream, PutLogEvents signed with the role
   alias's credentials, so the token exchange role's policy decides); `--fail NAME` makes that
   component exit with code 1 and end BROKEN;
5. reports the outcome and its installed components (bench control `device-report`, the stand-in for
   the nucleus's status update).

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


def signed(a: argparse.Namespace, c: dict[str, str], service: str, method: str, path: str, body: bytes, extra: dict[str, str]) -> tuple[int, bytes]:
    """A request to `service` over aws.sock, SigV4-signed with the session credentials ("Signature
    Version 4 signing process": canonical request, string to sign, derived key)."""
    host = f"{service}.{a.region}.amazonaws.com"
    now = dt.datetime.now(dt.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    digest = hashlib.sha256(body).hexdigest()
    headers = {"host": host, "x-amz-content-sha256": digest, "x-amz-date": amz_date, "x-amz-security-token": c["sessionToken"]}
    headers.update({k.lower(): v for k, v in extra.items()})
    names = sorted(headers)
    canonical = "\n".join([method, path, "", *(f"{n}:{headers[n]}" for n in names), "", ";".join(names), digest])
    scope = f"{day}/{a.region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = sign(sign(sign(sign(("AWS4" + c["secretAccessKey"]).encode(), day), a.region), service), "aws4_request")
    headers["Authorization"] = f"AWS4-HMAC-SHA256 Credential={c['accessKeyId']}/{scope}, SignedHeaders={';'.join(names)}, Signature={hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()}"
    conn = UnixHTTPConnection(os.path.join(a.sockets, "aws.sock"), host)
    conn.request(method, path, body=body, headers={("Host" if n == "host" else n): v for n, v in headers.items()})
    r = conn.getresponse()
    return r.status, r.read()


def get_object(a: argparse.Namespace, c: dict[str, str]) -> bytes:
    """S3 GetObject, path-style, SigV4-signed (S3 API reference)."""
    bucket, _, key = a.artifact[len("s3://") :].partition("/")
    path = "/" + urllib.parse.quote(f"{bucket}/{key}", safe="/-_.~")
    status, body = signed(a, c, "s3", "GET", path, b"", {})
    if status != 200:
        raise SystemExit(f"downloading {a.artifact} with those credentials refused: HTTP {status} {body.decode('utf-8', 'replace').strip()}")
    return body


def logs(a: argparse.Namespace, c: dict[str, str], target: str, payload: dict) -> None:
    """A CloudWatch Logs call (JSON 1.1 protocol); an existing group or stream is fine."""
    status, body = signed(a, c, "logs", "POST", "/", json.dumps(payload).encode(), {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"Logs_20140328.{target}"})
    if status != 200 and b"ResourceAlreadyExistsException" not in body:
        raise SystemExit(f"CloudWatch Logs {target} refused: HTTP {status} {body.decode('utf-8', 'replace').strip()}")


def control(a: argparse.Namespace, path: str, payload: dict) -> dict:
    """A bench control call over aws.sock (what the nucleus does over MQTT on AWS)."""
    conn = UnixHTTPConnection(os.path.join(a.sockets, "aws.sock"), "localhost")
    conn.request("POST", f"/ggp-bench/greengrassv2/{path}", body=json.dumps({**payload, "region": a.region}).encode(), headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise SystemExit(f"bench control {path}: HTTP {r.status} {body.decode('utf-8', 'replace')}")
    return json.loads(body)


def run(a: argparse.Namespace, c: dict[str, str]) -> None:
    import platform
    import time

    arch = {"x86_64": "amd64", "aarch64": "aarch64"}.get(platform.machine(), "arm")
    control(a, "core-device", {"thingName": a.thing, "status": "HEALTHY", "coreVersion": "2.14.1", "architecture": arch, "platform": "linux", "autoApply": False})
    print(f"connected as the core device {a.thing}")
    job: dict = {}
    deadline = time.time() + a.wait
    while not job and time.time() < deadline:
        job = control(a, "device-job", {"thingName": a.thing})
        if not job:
            time.sleep(1)
    if not job:
        print(f"no deployment for {a.thing} after {a.wait} s")
        return
    now = dt.datetime.now(dt.timezone.utc)
    stream = now.strftime("/%Y/%m/%d/thing/") + a.thing
    installed, broken = [], None
    for name in sorted(job["components"]):
        version = job["components"][name].get("componentVersion")
        fails = name == a.fail or name.endswith("-" + (a.fail or "\0"))
        lines = [f"[INFO] (pool-1) {name}: STAND-IN component {version} started on {a.thing}"]
        if fails:
            lines += [f"[ERROR] (pool-1) {name}: Traceback (most recent call last):", f"[ERROR] (pool-1) {name}: exited with code 1"]
            broken = name
        if not name.startswith("aws.greengrass."):
            group = f"/aws/greengrass/UserComponent/{a.region}/{name}"
            logs(a, c, "CreateLogGroup", {"logGroupName": group})
            logs(a, c, "CreateLogStream", {"logGroupName": group, "logStreamName": stream})
            ms = int(time.time() * 1000)
            logs(a, c, "PutLogEvents", {"logGroupName": group, "logStreamName": stream, "logEvents": [{"timestamp": ms + i, "message": m} for i, m in enumerate(lines)]})
            print(f"uploaded {len(lines)} log line(s) of {name} to {group}")
        entry = {"componentName": name, "componentVersion": version, "lifecycleState": "BROKEN" if fails else "RUNNING", "isRoot": True}
        if fails:
            entry.update({"lifecycleStateDetails": "Script exited with code 1", "lifecycleStatusCodes": ["RUN_ERRORED"]})
        installed.append(entry)
    if broken:
        control(a, "core-device", {"thingName": a.thing, "status": "UNHEALTHY"})
        report = {"status": "FAILED", "reason": f"Error occurred while processing deployment. {{serviceName={broken}, currentState=BROKEN}}", "errorStack": ["DEPLOYMENT_FAILURE", "COMPONENT_UPDATE_ERROR", "COMPONENT_BROKEN"], "errorTypes": ["USER_COMPONENT_ERROR"]}
    else:
        report = {"status": "SUCCEEDED"}
    control(a, "device-report", {"thingName": a.thing, "deploymentId": job["deploymentId"], "installedComponents": installed, **report})
    print(f"reported deployment {job['deploymentId']}: {report['status']}, {len(installed)} component(s)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("sockets", "cred-endpoint", "alias", "thing", "cert", "key", "region", "root"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--artifact", help="s3://bucket/key to download with the credentials")
    p.add_argument("--run", action="store_true", help="connect, take the deployment, run and report it")
    p.add_argument("--fail", help="the component (name, or its suffix after '-') that ends BROKEN")
    p.add_argument("--wait", type=float, default=60.0, help="seconds to wait for a deployment")
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
    if a.run:
        run(a, c)
    return 0


if __name__ == "__main__":
    sys.exit(main())
