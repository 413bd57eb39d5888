"""Stand-in for the AWS IoT Core credentials provider, and enforcement of the credentials it issues.

AWS IoT Core Developer Guide, "Authorizing direct calls to AWS services using AWS IoT Core credential
provider" (authorizing-direct-aws.html): a device calls
`GET https://<prefix>.credentials.iot.<region>.amazonaws.com/role-aliases/<alias>/credentials` over TLS
with its X.509 certificate as client certificate, optionally with the header `x-amzn-iot-thingname`.
AWS checks that the certificate is registered and ACTIVE, that the IoT policies of the certificate
allow `iot:AssumeRoleWithCertificate` on `arn:aws:iot:<region>:<account>:rolealias/<alias>`, that a
given thing is attached to the certificate, and that the alias's role trusts the service principal
`credentials.iot.amazonaws.com`; the answer is
`{"credentials": {"accessKeyId", "secretAccessKey", "sessionToken", "expiration"}}` of an STS session
of the role lasting the alias's `credentialDurationSeconds`.

Here:
- A TLS listener on 127.0.0.1 (port chosen at start, printed on the emulator's second stdout line and
  in `GET /ggp-bench/health`), and on request a unix socket `credentials.sock` in a folder that tests
  bind-mount into device containers, which run with `--network none` (README "Device access").
- The server certificate is issued by a bench CA made at start (its PEM is in the health answer and
  written as `ca.pem`), for `*.credentials.iot.<region>.amazonaws.com` of every IoT region, `localhost`
  and 127.0.0.1, so a device verifies it by name like the real endpoint.
- Client certificates are NOT trusted by chain: moto's certificates are signed by keys nobody has
  (create_keys_and_certificate signs each with its own key under a "Moto" issuer name), and
  RegisterCertificateWithoutCA takes any certificate. The TLS trust store of each connection is the set
  of certificates registered in the emulated IoT at that moment (OpenSSL's partial-chain flag makes a
  registered leaf its own trust anchor), so an unregistered certificate fails the handshake as on AWS;
  after the handshake the certificate is matched again by its DER bytes, with its account, region and
  status.
- Credentials come from moto's STS `assume_role`, so moto knows the keys; the session name is the
  certificate id. Requests signed with them (and only with them: ggp's own calls in tests use other
  keys) are authorized by evaluating the role's policies (policy.py) for S3, CloudWatch Logs, Secrets
  Manager and any other moto service (`enforce()`), answering the service's AccessDenied error.

Responses on failure (HTTP status, JSON `{"message": ...}`): 403 "Access Denied" for a certificate that
is not ACTIVE, a policy that does not allow iot:AssumeRoleWithCertificate, a thing that is not attached,
or a role that does not trust credentials.iot.amazonaws.com; 404 for an unknown role alias or path; 400
for a malformed thing name or a duration beyond the role's MaxSessionDuration. The guide gives the
success shape; the failure texts are modelled (README, "What is evaluated as AWS evaluates it").
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import http.server
import ipaddress
import json
import os
import re
import socketserver
import ssl
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from . import policy as P

# ------------------------------------------------------------------------------------------------ bench CA


@dataclass
class TLSMaterial:
    ca_pem: str
    cert_file: str
    key_file: str
    ca_file: str
    directory: str
    temporary: bool = False


_TLS: TLSMaterial | None = None
_TLS_LOCK = threading.Lock()


def _credential_host_names() -> list[str]:
    """`*.credentials.iot.<region>.<dns suffix>` for every region botocore knows IoT in."""
    import botocore.session

    s = botocore.session.get_session()
    names = []
    for partition in s.get_available_partitions():
        suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
        for region in s.get_available_regions("iot", partition_name=partition):
            names.append(f"*.credentials.iot.{region}.{suffix}")
    return sorted(set(names))


def tls_material(directory: str | None = None) -> TLSMaterial:
    """The bench CA and the endpoint's server certificate, made once per process. The CA certificate
    is `ca.pem` (0644); the server key stays in a 0700 folder, 0600."""
    global _TLS
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    with _TLS_LOCK:
        if _TLS is not None:
            return _TLS
        d = directory or tempfile.mkdtemp(prefix="ggp-emulator-tls-")
        os.makedirs(d, mode=0o700, exist_ok=True)
        now = dt.datetime.now(dt.timezone.utc)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "ggp bench CA (not AWS)")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in _credential_host_names()]
        sans += [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.IPAddress(ipaddress.ip_address("::1"))]
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "credentials.iot (ggp bench stand-in)")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=825))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        ca_pem = ca.public_bytes(serialization.Encoding.PEM).decode()
        paths = {n: os.path.join(d, n) for n in ("ca.pem", "server.pem", "server.key")}
        _write(paths["ca.pem"], ca_pem, 0o644)
        _write(paths["server.pem"], cert.public_bytes(serialization.Encoding.PEM).decode() + ca_pem, 0o644)
        _write(
            paths["server.key"],
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode(),
            0o600,
        )
        _TLS = TLSMaterial(ca_pem, paths["server.pem"], paths["server.key"], paths["ca.pem"], d, temporary=directory is None)
        return _TLS


def _write(path: str, text: str, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, mode)


# ------------------------------------------------------------------------------------------------ registered certificates


@functools.lru_cache(maxsize=4096)
def _der(pem: str) -> bytes | None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        return x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    except ValueError:
        return None


def _iot_backends() -> list[tuple[str, str, Any]]:
    """(account, region, backend) of every IoT backend moto has made (none is created here)."""
    from moto.iot.models import iot_backends

    out = []
    for account, per_region in list(dict.items(iot_backends)):
        for region, backend in list(dict.items(per_region)):
            out.append((account, region, backend))
    return out


def _registered() -> list[tuple[str, str, Any, Any]]:
    out = []
    for account, region, backend in _iot_backends():
        for cert in list(backend.certificates.values()):
            out.append((account, region, backend, cert))
    return out


_CTX_LOCK = threading.Lock()
_CTX: dict[frozenset[bytes], ssl.SSLContext] = {}


def _server_context() -> ssl.SSLContext:
    """A server context whose trust store is the registered certificates (cached per set)."""
    ders = frozenset(d for d in (_der(c.certificate_pem) for _, _, _, c in _registered()) if d)
    with _CTX_LOCK:
        ctx = _CTX.get(ders)
        if ctx is not None:
            return ctx
        tls = tls_material()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(tls.cert_file, tls.key_file)
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.verify_flags = ssl.VERIFY_X509_PARTIAL_CHAIN
        if ders:
            ctx.load_verify_locations(cadata=b"".join(ders))
        if len(_CTX) > 64:
            _CTX.clear()
        _CTX[ders] = ctx
        return ctx


# ------------------------------------------------------------------------------------------------ issued sessions


@dataclass
class Session:
    """An STS session the credentials provider issued."""

    access_key_id: str
    account: str
    region: str
    partition: str
    role_arn: str
    role_name: str
    session_name: str
    expiration: dt.datetime
    issued: dt.datetime
    context: dict[str, list[str]] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return f"arn:{self.partition}:sts::{self.account}:assumed-role/{self.role_name}/{self.session_name}"


# Process-wide on purpose: after POST /moto-api/reset moto's STS forgets the session, and a request
# signed with its keys must then fail (InvalidClientTokenId) instead of passing unchecked.
ISSUED: dict[str, Session] = {}
_ISSUED_LOCK = threading.Lock()


class Refusal(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


_HOST = re.compile(r"^([a-z0-9]+)\.credentials\.iot\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
_THING_NAME = re.compile(r"^[a-zA-Z0-9:_-]{1,128}$")  # iot model, shape ThingName
_PATH = re.compile(r"^/role-aliases/([\w=,@-]{1,128})/credentials/?$")  # iot model, shape RoleAlias


def _find_certificate(der: bytes, host: str) -> tuple[str, str, Any, Any]:
    """The registered certificate with these DER bytes, in the account and region the host names."""
    from .aws_fixes import _endpoint_identifier

    m = _HOST.match(host.split(":")[0].lower())
    matches = [(a, r, b, c) for a, r, b, c in _registered() if _der(c.certificate_pem) == der]
    if m:
        prefix, region = m.group(1), m.group(2)
        matches = [t for t in matches if t[1] == region and _endpoint_identifier(t[0], region, "iot:CredentialProvider") == prefix]
    if not matches:
        raise Refusal(403, "Access Denied")
    return matches[0]


def issue(der: bytes, host: str, path: str, thing_name: str | None) -> dict[str, Any]:
    """Authorize one credentials request and issue the session; raises Refusal."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends
    from moto.utilities.utils import get_partition

    from .authz import _document, device_view

    m = _PATH.match(path.split("?", 1)[0])
    if not m:
        raise Refusal(404, "Not Found")
    alias_name = m.group(1)
    account, region, backend, cert = _find_certificate(der, host)
    if cert.status != "ACTIVE":
        raise Refusal(403, "Access Denied")
    alias = backend.role_aliases.get(alias_name)
    if alias is None:
        raise Refusal(404, "Role alias does not exist")
    if thing_name is not None:
        if not _THING_NAME.match(thing_name):
            raise Refusal(400, "Invalid thing name")
        if thing_name not in backend.list_principal_things(cert.arn):
            raise Refusal(403, "Access Denied")
    view = device_view(backend, cert.arn, None, thing_name)
    request = P.Request("iot:AssumeRoleWithCertificate", alias.arn, view.context)
    if P.decide(view.policies, request).decision != P.ALLOWED:
        raise Refusal(403, "Access Denied")
    partition = get_partition(region)
    iam = iam_backends[account][partition]
    try:
        role = iam.get_role_by_arn(alias.role_arn)
    except Exception:
        raise Refusal(403, "Access Denied")
    # Trust policy: the service principal, with the confused-deputy keys the Greengrass V2 guide
    # ("Authorize core devices to interact with AWS services") puts in its example.
    trust = P.parse(_document(role.assume_role_policy_document), P.IAM, name="trust")
    who = P.Principal(service="credentials.iot.amazonaws.com")
    trust_request = P.Request("sts:AssumeRole", role.arn, {"aws:SourceAccount": account, "aws:SourceArn": alias.arn}, who)
    if P.decide([trust], trust_request).decision != P.ALLOWED:
        raise Refusal(403, "Access Denied")
    duration = int(alias.credential_duration_seconds or 3600)
    if duration > int(getattr(role, "max_session_duration", 3600) or 3600):
        raise Refusal(400, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    sts = sts_backends[account][partition]
    assumed = sts.assume_role(
        region_name=region, role_session_name=cert.certificate_id, role_arn=role.arn, policy=None, duration=duration, external_id=None
    )
    ctx = {"credentials-iot:AwsCertificateId": [cert.certificate_id]}
    if view.thing is not None and view.attached:
        ctx["credentials-iot:ThingName"] = [view.thing.thing_name]
        if view.thing.thing_type is not None:
            ctx["credentials-iot:ThingTypeName"] = [view.thing.thing_type.thing_type_name]
    expiration = assumed.expiration if assumed.expiration.tzinfo else assumed.expiration.replace(tzinfo=dt.timezone.utc)
    session = Session(
        assumed.access_key_id,
        account,
        region,
        partition,
        role.arn,
        role.name,
        cert.certificate_id,
        expiration,
        dt.datetime.now(dt.timezone.utc),
        ctx,
    )
    with _ISSUED_LOCK:
        ISSUED[session.access_key_id] = session
    return {
        "credentials": {
            "accessKeyId": assumed.access_key_id,
            "secretAccessKey": assumed.secret_access_key,
            "sessionToken": assumed.session_token,
            "expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    }


# ------------------------------------------------------------------------------------------------ HTTPS servers


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ggp-bench-credentials"
    timeout = 30

    def version_string(self) -> str:
        return self.server_version

    def handle(self) -> None:
        try:
            self.connection.do_handshake()
        except (ssl.SSLError, OSError) as e:
            if not self.server.quiet:  # type: ignore[attr-defined]
                sys.stderr.write(f"credentials provider: TLS handshake refused: {e}\n")
            return
        super().handle()

    def address_string(self) -> str:
        return self.client_address[0] if isinstance(self.client_address, tuple) else "unix"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if not self.server.quiet:  # type: ignore[attr-defined]
            sys.stderr.write(f"credentials provider: {self.address_string()} {format % args}\n")

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        der = self.connection.getpeercert(binary_form=True)
        try:
            if der is None:
                raise Refusal(403, "Access Denied")
            out = issue(der, self.headers.get("Host", ""), self.path, self.headers.get("x-amzn-iot-thingname"))
        except Refusal as e:
            self._answer(e.status, {"message": e.message})
            return
        except Exception as e:  # noqa: BLE001 - answer, don't drop the connection
            self._answer(500, {"message": f"internal error: {type(e).__name__}"})
            return
        self._answer(200, out)

    def _not_allowed(self) -> None:
        self._answer(405, {"message": "Method Not Allowed"})

    do_POST = do_PUT = do_DELETE = do_PATCH = _not_allowed  # noqa: N815


class _TLSMixin:
    quiet = False
    daemon_threads = True

    def get_request(self):  # type: ignore[no-untyped-def]
        sock, addr = self.socket.accept()  # type: ignore[attr-defined]
        sock.settimeout(30)
        return _server_context().wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr


class TLSServer(_TLSMixin, socketserver.ThreadingTCPServer):
    allow_reuse_address = True


class UnixTLSServer(_TLSMixin, socketserver.ThreadingUnixStreamServer):
    pass


@dataclass
class Listening:
    url: str
    ca_file: str
    ca_pem: str
    socket_dirs: dict[str, dict[str, str]] = field(default_factory=dict)


STATE: Listening | None = None
_SERVERS: list[Any] = []
_SOCKET_LOCK = threading.Lock()


def start(host: str, port: int, quiet: bool = False, directory: str | None = None) -> Listening:
    """Start the TCP listener (once per process)."""
    global STATE
    tls = tls_material(directory)
    srv = TLSServer((host, port), _Handler)
    srv.quiet = quiet
    threading.Thread(target=srv.serve_forever, name="credentials-provider", daemon=True).start()
    _SERVERS.append(srv)
    shown = host if ":" not in host else f"[{host}]"
    STATE = Listening(f"https://{shown}:{srv.server_address[1]}", tls.ca_file, tls.ca_pem)
    return STATE


def open_socket_dir(directory: str, app: Any, quiet: bool = True) -> dict[str, str]:
    """Unix sockets in `directory` for devices without a network: `credentials.sock` (this endpoint,
    TLS as on TCP) and `aws.sock` (the emulator's AWS API, plain HTTP), plus `ca.pem` and
    `endpoints.json` describing them. Idempotent per folder."""
    from werkzeug.serving import make_server

    from moto.moto_server.werkzeug_app import MotoRequestHandler

    directory = os.path.abspath(directory)
    with _SOCKET_LOCK:
        if STATE is None:
            raise RuntimeError("the credentials provider is not started")
        if directory in STATE.socket_dirs:
            return STATE.socket_dirs[directory]
        os.makedirs(directory, exist_ok=True)
        creds = os.path.join(directory, "credentials.sock")
        aws = os.path.join(directory, "aws.sock")
        for p in (creds, aws):
            if os.path.exists(p):
                os.unlink(p)
        if len(creds.encode()) > 100:
            raise ValueError(f"{directory} is too long for a unix socket path (at most about 100 bytes)")
        usrv = UnixTLSServer(creds, _Handler)
        usrv.quiet = quiet

        class Quiet(MotoRequestHandler):
            def log_request(self, *a: Any, **k: Any) -> None:
                pass

            def address_string(self) -> str:
                return "unix"

        asrv = make_server(f"unix://{aws}", 0, app, threaded=True, request_handler=Quiet if quiet else MotoRequestHandler)
        for s in (usrv, asrv):
            threading.Thread(target=s.serve_forever, name=f"unix-{os.path.basename(directory)}", daemon=True).start()
            _SERVERS.append(s)
        for p in (creds, aws):
            os.chmod(p, 0o666)  # device containers may run as any user; the socket holds no secret
        tls = tls_material()
        _write(os.path.join(directory, "ca.pem"), tls.ca_pem, 0o644)
        info = {"dir": directory, "credentialsSocket": creds, "awsSocket": aws, "caFile": os.path.join(directory, "ca.pem")}
        _write(os.path.join(directory, "endpoints.json"), json.dumps(info, indent=2, sort_keys=True) + "\n", 0o644)
        STATE.socket_dirs[directory] = info
        return info


def stop() -> None:
    for s in _SERVERS:
        try:
            s.shutdown()
            s.server_close()
        except Exception:  # noqa: BLE001
            pass
    if STATE is not None:
        for info in STATE.socket_dirs.values():
            for k in ("credentialsSocket", "awsSocket"):
                try:
                    os.unlink(info[k])
                except OSError:
                    pass
    if _TLS is not None and _TLS.temporary:
        import shutil

        shutil.rmtree(_TLS.directory, ignore_errors=True)


def health() -> dict[str, Any]:
    if STATE is None:
        return {}
    return {
        "credentialsProvider": {"url": STATE.url, "caFile": STATE.ca_file, "caPem": STATE.ca_pem},
        "unixSocketDirs": sorted(STATE.socket_dirs.values(), key=lambda i: i["dir"]),
    }


# ------------------------------------------------------------------------------------------------ enforcement

# Signing name -> IAM service prefix where they differ (Service Authorization Reference).
_IAM_PREFIX = {"monitoring": "cloudwatch", "email": "ses", "states": "states", "execute-api": "execute-api"}
# S3 operations moto names differently from the IAM action that authorizes them.
_S3_IAM_ACTION = {"HeadBucket": "ListBucket", "ListObjects": "ListBucket", "ListObjectsV2": "ListBucket"}


def _access_key(headers: Any, query: Any) -> str | None:
    """The access key id of a request: SigV4 `Authorization: AWS4-HMAC-SHA256 Credential=KEY/...`, SigV2
    `Authorization: AWS KEY:...`, or a presigned URL's `X-Amz-Credential` / `AWSAccessKeyId`."""
    auth = headers.get("Authorization") or ""
    m = re.search(r"Credential=([A-Z0-9]+)/", auth) or re.match(r"AWS ([A-Z0-9]+):", auth)
    if m:
        return m.group(1)

    def first(name: str) -> str | None:
        v = query.get(name) if hasattr(query, "get") else None
        if isinstance(v, list):
            v = v[0] if v else None
        return v

    cred = first("X-Amz-Credential")
    if cred:
        return cred.split("/", 1)[0]
    return first("AWSAccessKeyId")


def _scope(headers: Any) -> tuple[str | None, str | None]:
    m = re.search(r"Credential=[A-Z0-9]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request", headers.get("Authorization") or "")
    return (m.group(1), m.group(2)) if m else (None, None)


def _json_body(resp: Any) -> dict[str, Any]:
    try:
        body = json.loads(resp.body or "{}")
        return body if isinstance(body, dict) else {}
    except (TypeError, ValueError):
        return {}


def _resource(resp: Any, prefix: str, action: str, given: str, s: Session, region: str) -> str:
    """The ARN a request is authorized on (Service Authorization Reference, resource types per action).
    CloudWatch Logs: a group-level action is authorized on `log-group:NAME:log-stream:` and a stream
    action on `log-group:NAME:log-stream:STREAM`, the form AWS's AccessDenied messages show; both are
    matched by the documented policy resource `log-group:NAME:*`. Actions with no resource type
    (cloudwatch:PutMetricData, ...) and unmapped ones are authorized on `*`."""
    if prefix == "s3":
        return given
    body = _json_body(resp)
    base = f"arn:{s.partition}:{prefix}:{region}:{s.account}"
    if prefix == "logs":
        group = body.get("logGroupName")
        if group is None and body.get("logGroupIdentifier"):
            group = str(body["logGroupIdentifier"]).split(":log-group:")[-1].removesuffix(":*")
        if group is not None:
            stream = body.get("logStreamName")
            if action in ("CreateLogStream", "PutLogEvents", "GetLogEvents", "DeleteLogStream") and stream is not None:
                return f"{base}:log-group:{group}:log-stream:{stream}"
            return f"{base}:log-group:{group}:log-stream:"
        return "*"
    if prefix == "secretsmanager":
        secret_id = body.get("SecretId")
        if not secret_id:
            return "*"
        try:
            from moto.secretsmanager.models import secretsmanager_backends

            return secretsmanager_backends[s.account][region].describe_secret(secret_id).arn
        except Exception:  # noqa: BLE001 - not found: authorized on the ARN the id spells
            return secret_id if str(secret_id).startswith("arn:") else f"{base}:secret:{secret_id}"
    return given if given and given != "*" else "*"


def _request_context(resp: Any, s: Session, region: str) -> dict[str, list[str]]:
    """Global condition keys of a role session's request (IAM "AWS global condition context keys")."""
    from moto.iam.models import iam_backends

    try:
        role_id = iam_backends[s.account][s.partition].get_role_by_arn(s.role_arn).id
    except Exception:  # noqa: BLE001
        role_id = "AROA"
    now = dt.datetime.now(dt.timezone.utc)
    ctx: dict[str, list[str]] = {
        "aws:PrincipalArn": [s.role_arn],
        "aws:PrincipalAccount": [s.account],
        "aws:PrincipalType": ["AssumedRole"],
        "aws:userid": [f"{role_id}:{s.session_name}"],
        "aws:RequestedRegion": [region],
        "aws:SecureTransport": ["false"],  # the emulator serves plain HTTP
        "aws:CurrentTime": [now.strftime("%Y-%m-%dT%H:%M:%SZ")],
        "aws:EpochTime": [str(int(now.timestamp()))],
        "aws:TokenIssueTime": [s.issued.strftime("%Y-%m-%dT%H:%M:%SZ")],
    }
    remote = getattr(getattr(resp, "normalized_request", None), "remote_addr", None)
    if remote:
        try:
            ipaddress.ip_address(remote)
            ctx["aws:SourceIp"] = [remote]
        except ValueError:
            pass
    ctx.update(s.context)
    return ctx


def _bucket_policy(s: Session, resource: str) -> list[P.Policy] | None:
    if not resource.startswith("arn:") or ":s3:::" not in resource:
        return None
    from moto.s3.models import s3_backends

    name = resource.split(":::", 1)[1].split("/", 1)[0]
    bucket = s3_backends[s.account][s.partition].buckets.get(name)
    raw = getattr(bucket, "policy", None)
    if not raw:
        return None
    try:
        return [P.parse(raw.decode() if isinstance(raw, bytes) else raw, P.IAM, name="bucket policy", kind="resource")]
    except P.PolicyError:
        return None


def _denied_message(s: Session, action: str, resource: str, decision: P.Decision, s3: bool) -> str:
    """IAM User Guide, "Troubleshoot access denied error messages": "User: <arn> is not authorized to
    perform: <action> on resource: <arn> because no identity-based policy allows the <action> action",
    or "... with an explicit deny in an identity-based policy" (a resource-based one for a bucket
    policy). S3 quotes the resource ("Troubleshoot access denied (403 Forbidden) errors in Amazon S3")."""
    shown = f'"{resource}"' if s3 else resource
    head = f"User: {s.arn} is not authorized to perform: {action} on resource: {shown}"
    if decision.decision == P.EXPLICIT_DENY:
        kind = "a resource-based" if all(m.policy.kind == "resource" for m in decision.matched) else "an identity-based"
        return f"{head} with an explicit deny in {kind} policy"
    return f"{head} because no identity-based policy allows the {action} action"


def _raise(s3: bool, code: str, message: str, status: int) -> None:
    if s3:
        raise _S3Refusal(code, message, status)
    from moto.core.exceptions import JsonRESTError

    e = JsonRESTError(code, message)
    e.code = status
    raise e


class _S3Refusal(Exception):
    def __init__(self, code: str, message: str, status: int):
        super().__init__(message)
        self.error_code = code
        self.message = message
        self.status = status


def enforce(resp: Any, iam_request_cls: type, resource: str) -> bool:
    """Authorize a request signed with keys this provider issued. Returns False when the request is
    not one of those (the caller then does what moto does)."""
    key = _access_key(resp.headers, getattr(resp, "querystring", {}))
    s = ISSUED.get(key or "")
    if s is None:
        return False
    from moto.iam.access_control import S3IAMRequest

    is_s3 = issubclass(iam_request_cls, S3IAMRequest)
    region, service = _scope(resp.headers)
    if (resp.headers.get("Authorization") or "").startswith("AWS4-HMAC-SHA256 "):
        from urllib.parse import urlparse

        parsed = urlparse(resp.uri)
        path = resp.raw_path + (f"?{parsed.query}" if parsed.query else "")
        # moto's own request classes check that the session still exists, the token and the signature.
        from moto.core.exceptions import InvalidClientTokenIdError, SignatureDoesNotMatchError

        try:
            req = iam_request_cls(
                account_id=resp.current_account, method=resp.method, path=path, data=resp.data, body=resp.raw_body, headers=resp.headers, action=resp._get_action()
            )
            req.check_signature()
        except (InvalidClientTokenIdError, SignatureDoesNotMatchError) as e:
            # JSON-protocol services (CloudWatch Logs, Secrets Manager...) answer these in JSON with
            # their own codes; moto's error classes write the Query protocol's XML.
            form = "x-www-form-urlencoded" in (resp.headers.get("Content-Type") or "")
            if is_s3 or form:
                raise
            if isinstance(e, InvalidClientTokenIdError):
                _raise(False, "UnrecognizedClientException", "The security token included in the request is invalid.", 400)
            _raise(False, "InvalidSignatureException", e.message, 400)
    else:
        # Presigned URL or SigV2: the signature is not recomputed, but the session must still exist in
        # moto's STS and the security token must be its own.
        from moto.sts.models import sts_backends

        assumed = sts_backends[s.account][s.partition].get_assumed_role_from_access_key(s.access_key_id)
        q = getattr(resp, "querystring", {}) or {}
        token = resp.headers.get("X-Amz-Security-Token") or next(
            (v[0] if isinstance(v, list) else v for k, v in q.items() if k.lower() == "x-amz-security-token"), None
        )
        if assumed is None:
            if is_s3:
                _raise(True, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", 403)
            _raise(False, "UnrecognizedClientException", "The security token included in the request is invalid.", 400)
        if token != assumed.session_token:
            if is_s3:
                _raise(True, "InvalidToken", "The provided token is malformed or otherwise invalid.", 400)
            _raise(False, "UnrecognizedClientException", "The security token included in the request is invalid.", 400)
    if dt.datetime.now(dt.timezone.utc) >= s.expiration:
        if is_s3:
            _raise(True, "ExpiredToken", "The provided token has expired.", 400)
        _raise(False, "ExpiredTokenException", "The security token included in the request is expired", 400)
    region = region or s.region
    service = service or ("s3" if is_s3 else resp.service_name)
    prefix = _IAM_PREFIX.get(service, service)
    op = resp._get_action()
    if isinstance(op, list):
        op = op[0]
    if is_s3:
        op = _S3_IAM_ACTION.get(op, op)
    action = f"{prefix}:{op}"
    if action.lower() == "sts:getcalleridentity":
        return True  # needs no permission (STS API reference, GetCallerIdentity)
    target = _resource(resp, prefix, op, resource, s, region)
    from moto.iam.models import iam_backends

    from .authz import role_policies

    iam = iam_backends[s.account][s.partition]
    try:
        identity, boundary = role_policies(iam, iam.get_role_by_arn(s.role_arn))
    except Exception:  # noqa: BLE001 - the role is gone: nothing allows anything
        identity, boundary = [], None
    who = P.Principal(arns=[s.arn, s.role_arn], account=s.account)
    request = P.Request(action, target, _request_context(resp, s, region), who)
    decision = P.decide(identity, request, boundary=boundary, resource=_bucket_policy(s, target) if is_s3 else None)
    if decision.decision != P.ALLOWED:
        _raise(is_s3, "AccessDenied" if is_s3 else "AccessDeniedException", _denied_message(s, action, target, decision, is_s3), 403 if is_s3 else 400)
    return True


def patch_enforcement() -> None:
    from moto.core.authorization import ActionAuthenticatorMixin

    original = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        if enforce(self, iam_request_cls, resource):
            return
        original(self, iam_request_cls, resource)

    ActionAuthenticatorMixin._authenticate_and_authorize_action = authorize
    _patch_s3_errors()


_S3_REQUEST = threading.local()


def _patch_s3_errors() -> None:
    """S3's AccessDenied / ExpiredToken as S3 answers them: 403 / 400 with the XML error document
    (S3 API reference, "Error responses": Code, Message, RequestId, HostId). For requests signed with
    issued keys, moto's own bucket-policy check (moto's IAMPolicy, which answers an empty 403 to any
    caller a Deny statement names, principal or not) is left to `enforce()`, which evaluates the
    bucket policy with its principals."""
    from moto.s3.models import FakeBucket
    from moto.s3.responses import S3Response

    def wrap(name: str) -> None:
        original = getattr(S3Response, name)

        def method(self: Any, request: Any, *a: Any, **k: Any) -> Any:
            _S3_REQUEST.issued = _access_key(request.headers, getattr(request, "args", {})) in ISSUED
            try:
                return original(self, request, *a, **k)
            except _S3Refusal as e:
                from xml.sax.saxutils import escape

                rid = hashlib.sha256(f"{time.time_ns()}".encode()).hexdigest()[:16].upper()
                body = (
                    '<?xml version="1.0" encoding="UTF-8"?>\n'
                    f"<Error><Code>{e.error_code}</Code><Message>{escape(e.message)}</Message>"
                    f"<RequestId>{rid}</RequestId><HostId>{rid}</HostId></Error>"
                )
                return e.status, {"Content-Type": "application/xml", "x-amz-request-id": rid}, body
            finally:
                _S3_REQUEST.issued = False

        setattr(S3Response, name, method)

    for name in ("bucket_response", "key_response"):
        wrap(name)

    original_permission = FakeBucket.get_permission

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if getattr(_S3_REQUEST, "issued", False):
            from moto.iam.access_control import PermissionResult

            return PermissionResult.NEUTRAL
        return original_permission(self, action, resource)

    FakeBucket.get_permission = get_permission
