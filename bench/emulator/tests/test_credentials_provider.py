"""The AWS IoT credentials provider stand-in and the enforcement of the credentials it issues.

Follows AWS IoT Core Developer Guide, "Authorizing direct calls to AWS services using AWS IoT Core
credential provider": GET /role-aliases/<alias>/credentials over TLS with the device certificate,
`x-amzn-iot-thingname`, the role alias's role trusted by credentials.iot.amazonaws.com, and the IoT
policy allowing iot:AssumeRoleWithCertificate. Every allowed case has a denied one beside it.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import error_of

ACCT = "123456789012"
R = "us-east-1"
ALIAS_ARN = f"arn:aws:iot:{R}:{ACCT}:rolealias/tes-alias"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "credentials.iot.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def health(url: str) -> dict:
    with urllib.request.urlopen(url + "/ggp-bench/health") as r:
        return json.loads(r.read())


class Device:
    """A registered device: certificate and key files, thing, and the endpoint it talks to."""

    def __init__(self, emu, iot, tmp: Path):
        self.emu, self.iot = emu, iot
        c = iot.create_keys_and_certificate(setAsActive=True)
        self.arn, self.cert_id = c["certificateArn"], c["certificateId"]
        self.cert, self.key = tmp / "device.pem.crt", tmp / "private.pem.key"
        self.cert.write_text(c["certificatePem"])
        self.key.write_text(c["keyPair"]["PrivateKey"])
        os.chmod(self.key, 0o600)
        iot.create_thing(thingName="core1")
        iot.attach_thing_principal(thingName="core1", principal=self.arn)
        h = health(emu.url)["credentialsProvider"]
        self.ca = h["caFile"]
        self.port = int(h["url"].rsplit(":", 1)[1])
        self.host = iot.describe_endpoint(endpointType="iot:CredentialProvider")["endpointAddress"]

    def context(self, with_cert: bool = True) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca)  # verifies the server by the endpoint's name
        if with_cert:
            ctx.load_cert_chain(str(self.cert), str(self.key))
        return ctx

    def raw(self, request: bytes, connect=None, with_cert: bool = True) -> tuple[int, dict]:
        sock = connect() if connect else socket.create_connection(("127.0.0.1", self.port), timeout=30)
        with self.context(with_cert).wrap_socket(sock, server_hostname=self.host) as s:
            s.sendall(request)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split()[1]), json.loads(body or b"{}")

    def fetch(self, alias: str = "tes-alias", thing: str | None = None, host: str | None = None, method: str = "GET", connect=None, with_cert=True):
        extra = f"x-amzn-iot-thingname: {thing}\r\n" if thing is not None else ""
        req = f"{method} /role-aliases/{alias}/credentials HTTP/1.1\r\nHost: {host or self.host}\r\n{extra}Connection: close\r\n\r\n"
        return self.raw(req.encode(), connect, with_cert)


@pytest.fixture
def iam(emu):
    return emu.client("iam")


@pytest.fixture
def setup(emu, iot, iam, tmp_path):
    """The Greengrass V2 arrangement: token exchange role, role alias, a policy allowing
    iot:AssumeRoleWithCertificate on it attached to the device certificate."""
    dev = Device(emu, iot, tmp_path)
    iam.create_role(RoleName="tes", AssumeRolePolicyDocument=json.dumps(TRUST))
    iot.create_role_alias(roleAlias="tes-alias", roleArn=f"arn:aws:iam::{ACCT}:role/tes", credentialDurationSeconds=900)
    iot.create_policy(policyName="assume", policyDocument=doc({"Effect": "Allow", "Action": "iot:AssumeRoleWithCertificate", "Resource": ALIAS_ARN}))
    iot.attach_policy(policyName="assume", target=dev.arn)
    return dev


def session(emu, service: str, creds: dict, secret: str | None = None):
    return boto3.client(
        service,
        endpoint_url=emu.url,
        region_name=R,
        aws_access_key_id=creds["accessKeyId"],
        aws_secret_access_key=secret or creds["secretAccessKey"],
        aws_session_token=creds["sessionToken"],
    )


def credentials(dev, **kw) -> dict:
    status, body = dev.fetch(**kw)
    assert status == 200, body
    return body["credentials"]


# ------------------------------------------------------------------------------------------------ the endpoint


def test_issues_credentials_of_the_role(emu, setup):
    before = dt.datetime.now(dt.timezone.utc)
    creds = credentials(setup, thing="core1")
    assert set(creds) == {"accessKeyId", "secretAccessKey", "sessionToken", "expiration"}
    assert creds["accessKeyId"].startswith("ASIA")
    exp = dt.datetime.strptime(creds["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    assert dt.timedelta(seconds=890) <= exp - before <= dt.timedelta(seconds=910)  # credentialDurationSeconds=900
    who = session(emu, "sts", creds).get_caller_identity()
    assert who["Arn"] == f"arn:aws:sts::{ACCT}:assumed-role/tes/{setup.cert_id}"
    # and without the thing name header
    assert credentials(setup)["accessKeyId"] != creds["accessKeyId"]


def test_policy_must_allow_assume_role_with_certificate(iot, setup):
    iot.detach_policy(policyName="assume", target=setup.arn)
    assert setup.fetch() == (403, {"message": "Access Denied"})
    iot.create_policy(policyName="other-alias", policyDocument=doc({"Effect": "Allow", "Action": "iot:AssumeRoleWithCertificate", "Resource": ALIAS_ARN + "-2"}))
    iot.attach_policy(policyName="other-alias", target=setup.arn)
    assert setup.fetch()[0] == 403
    iot.attach_policy(policyName="assume", target=setup.arn)
    assert setup.fetch()[0] == 200
    iot.create_policy(policyName="deny", policyDocument=doc({"Effect": "Deny", "Action": "iot:*", "Resource": "*"}))
    iot.attach_policy(policyName="deny", target=setup.arn)
    assert setup.fetch() == (403, {"message": "Access Denied"})


def test_thing_name_header(iot, setup):
    # the policy may use the thing of the header, which must be attached to the certificate
    iot.detach_policy(policyName="assume", target=setup.arn)
    iot.create_policy(
        policyName="by-thing",
        policyDocument=doc(
            {
                "Effect": "Allow",
                "Action": "iot:AssumeRoleWithCertificate",
                "Resource": ALIAS_ARN,
                "Condition": {"StringEquals": {"iot:Connection.Thing.ThingName": "core1"}},
            }
        ),
    )
    iot.attach_policy(policyName="by-thing", target=setup.arn)
    assert setup.fetch(thing="core1")[0] == 200
    assert setup.fetch()[0] == 403  # no header: no thing context
    iot.create_thing(thingName="core2")
    assert setup.fetch(thing="core2") == (403, {"message": "Access Denied"})  # exists, not attached
    assert setup.fetch(thing="nope")[0] == 403
    assert setup.fetch(thing="bad name!")[0] == 400


def test_certificate_must_be_active_and_registered(iot, setup):
    iot.update_certificate(certificateId=setup.cert_id, newStatus="INACTIVE")
    assert setup.fetch() == (403, {"message": "Access Denied"})
    iot.update_certificate(certificateId=setup.cert_id, newStatus="ACTIVE")
    assert setup.fetch()[0] == 200
    # no client certificate at all: the TLS handshake fails
    with pytest.raises((ssl.SSLError, ConnectionError)):
        setup.fetch(with_cert=False)
    # a certificate that is not registered (moto made it in another account, then it was deleted)
    iot.update_certificate(certificateId=setup.cert_id, newStatus="INACTIVE")
    iot.detach_policy(policyName="assume", target=setup.arn)
    iot.detach_thing_principal(thingName="core1", principal=setup.arn)
    iot.delete_certificate(certificateId=setup.cert_id)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        setup.fetch()


def test_role_alias_and_role(iot, iam, setup):
    assert setup.fetch(alias="missing") == (404, {"message": "Role alias does not exist"})
    # a role that does not trust credentials.iot.amazonaws.com
    iam.update_assume_role_policy(
        RoleName="tes",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
    )
    assert setup.fetch() == (403, {"message": "Access Denied"})
    # the confused-deputy conditions of the Greengrass V2 guide hold for this alias and account
    guarded = dict(TRUST["Statement"][0], Condition={"StringEquals": {"aws:SourceAccount": ACCT}, "ArnLike": {"aws:SourceArn": ALIAS_ARN}})
    iam.update_assume_role_policy(RoleName="tes", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [guarded]}))
    assert setup.fetch()[0] == 200
    wrong = dict(guarded, Condition={"StringEquals": {"aws:SourceAccount": "111122223333"}})
    iam.update_assume_role_policy(RoleName="tes", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [wrong]}))
    assert setup.fetch()[0] == 403
    iam.update_assume_role_policy(RoleName="tes", PolicyDocument=json.dumps(TRUST))
    # longer than the role's MaxSessionDuration (3600 by default)
    iot.update_role_alias(roleAlias="tes-alias", credentialDurationSeconds=7200)
    assert setup.fetch()[0] == 400


def test_host_names_the_account(setup):
    other = "abcdefghijklmn.credentials.iot.us-east-1.amazonaws.com"
    assert setup.fetch(host=other) == (403, {"message": "Access Denied"})
    assert setup.fetch(host=setup.host.replace("us-east-1", "eu-west-1"))[0] == 403


def test_other_methods_and_paths(setup):
    assert setup.fetch(method="POST")[0] == 405
    status, _ = setup.raw(f"GET /other HTTP/1.1\r\nHost: {setup.host}\r\nConnection: close\r\n\r\n".encode())
    assert status == 404


# ------------------------------------------------------------------------------------------------ enforcement


@pytest.fixture
def world(emu, iam, setup):
    """An artifact bucket with an allowed and a forbidden object, a secret, and the Greengrass TES
    policy (LogManager actions and s3:GetBucketLocation on *, as the installer writes it) plus
    s3:GetObject on the artifacts prefix and GetSecretValue on one secret."""
    s3 = emu.client("s3")
    s3.create_bucket(Bucket="artifacts")
    s3.put_object(Bucket="artifacts", Key="ggp/core1/a.zip", Body=b"zip")
    s3.put_object(Bucket="artifacts", Key="private/b.zip", Body=b"no")
    sm = emu.client("secretsmanager")
    allowed = sm.create_secret(Name="db", SecretString="s3cr3t")["ARN"]
    sm.create_secret(Name="other", SecretString="x")
    iam.put_role_policy(
        RoleName="tes",
        PolicyName="access",
        PolicyDocument=doc(
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "s3:GetBucketLocation"],
                "Resource": "*",
            },
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::artifacts/ggp/${credentials-iot:ThingName}/*"},
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": allowed},
        ),
    )
    return {"secret": allowed}


def test_s3_get_object(emu, setup, world):
    s3 = session(emu, "s3", credentials(setup, thing="core1"))
    assert s3.get_object(Bucket="artifacts", Key="ggp/core1/a.zip")["Body"].read() == b"zip"
    assert s3.get_bucket_location(Bucket="artifacts")["LocationConstraint"] is None
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="artifacts", Key="private/b.zip")
    status, _, err = error_of(e)
    assert (status, err["Code"]) == (403, "AccessDenied")
    assert err["Message"] == (
        f"User: arn:aws:sts::{ACCT}:assumed-role/tes/{setup.cert_id} is not authorized to perform: s3:GetObject "
        'on resource: "arn:aws:s3:::artifacts/private/b.zip" because no identity-based policy allows the s3:GetObject action'
    )
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket="artifacts", Key="ggp/core1/x", Body=b"x")
    assert error_of(e)[2]["Code"] == "AccessDenied"
    # ${credentials-iot:ThingName} comes from the x-amzn-iot-thingname header: none, no access
    plain = session(emu, "s3", credentials(setup))
    with pytest.raises(ClientError) as e:
        plain.get_object(Bucket="artifacts", Key="ggp/core1/a.zip")
    assert error_of(e)[2]["Code"] == "AccessDenied"
    # a presigned URL made with the session's keys is evaluated too
    with urllib.request.urlopen(s3.generate_presigned_url("get_object", Params={"Bucket": "artifacts", "Key": "ggp/core1/a.zip"})) as r:
        assert r.read() == b"zip"
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(s3.generate_presigned_url("get_object", Params={"Bucket": "artifacts", "Key": "private/b.zip"}))
    assert e.value.code == 403 and b"<Code>AccessDenied</Code>" in e.value.read()
    # ... and must carry the session's own token
    forged = s3.generate_presigned_url("get_object", Params={"Bucket": "artifacts", "Key": "ggp/core1/a.zip"}).replace("x-amz-security-token=", "x-amz-security-token=X")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(forged)
    assert e.value.code == 400 and b"<Code>InvalidToken</Code>" in e.value.read()
    # the bench's own (admin) keys are not evaluated
    assert emu.client("s3").get_object(Bucket="artifacts", Key="private/b.zip")["Body"].read() == b"no"


def test_s3_bucket_policy_deny(emu, setup, world):
    emu.client("s3").put_bucket_policy(
        Bucket="artifacts",
        Policy=doc({"Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:role/tes"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::artifacts/*"}),
    )
    s3 = session(emu, "s3", credentials(setup, thing="core1"))
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="artifacts", Key="ggp/core1/a.zip")
    assert error_of(e)[2]["Message"].endswith("with an explicit deny in a resource-based policy")


def test_logs(emu, iam, setup, world):
    logs = session(emu, "logs", credentials(setup, thing="core1"))
    logs.create_log_group(logGroupName="/aws/greengrass/GreengrassSystemComponent/us-east-1/System")
    logs.create_log_stream(logGroupName="/aws/greengrass/GreengrassSystemComponent/us-east-1/System", logStreamName="2026/01/01/thing/core1")
    logs.put_log_events(
        logGroupName="/aws/greengrass/GreengrassSystemComponent/us-east-1/System",
        logStreamName="2026/01/01/thing/core1",
        logEvents=[{"timestamp": 1767225600000, "message": "hello"}],
    )
    assert logs.describe_log_streams(logGroupName="/aws/greengrass/GreengrassSystemComponent/us-east-1/System")["logStreams"]
    with pytest.raises(ClientError) as e:
        logs.delete_log_group(logGroupName="/aws/greengrass/GreengrassSystemComponent/us-east-1/System")
    status, _, err = error_of(e)
    assert (status, err["Code"]) == (400, "AccessDeniedException")
    assert err["Message"] == (
        f"User: arn:aws:sts::{ACCT}:assumed-role/tes/{setup.cert_id} is not authorized to perform: logs:DeleteLogGroup on resource: "
        f"arn:aws:logs:{R}:{ACCT}:log-group:/aws/greengrass/GreengrassSystemComponent/us-east-1/System:log-stream: "
        "because no identity-based policy allows the logs:DeleteLogGroup action"
    )
    # an explicit deny on one group, in a second policy
    iam.put_role_policy(RoleName="tes", PolicyName="no-lambda-logs", PolicyDocument=doc({"Effect": "Deny", "Action": "logs:*", "Resource": "arn:aws:logs:*:*:log-group:/aws/greengrass/Lambda/*"}))
    with pytest.raises(ClientError) as e:
        logs.create_log_group(logGroupName="/aws/greengrass/Lambda/us-east-1/fn")
    assert error_of(e)[2]["Message"].endswith("with an explicit deny in an identity-based policy")


def test_secrets_manager(emu, setup, world):
    sm = session(emu, "secretsmanager", credentials(setup, thing="core1"))
    assert sm.get_secret_value(SecretId="db")["SecretString"] == "s3cr3t"  # by name: the ARN is resolved
    assert sm.get_secret_value(SecretId=world["secret"])["SecretString"] == "s3cr3t"
    with pytest.raises(ClientError) as e:
        sm.get_secret_value(SecretId="other")
    status, _, err = error_of(e)
    assert (status, err["Code"]) == (400, "AccessDeniedException")
    assert f"perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:{R}:{ACCT}:secret:other-" in err["Message"]


def test_signature_and_reset(emu, setup, world):
    creds = credentials(setup, thing="core1")
    with pytest.raises(ClientError) as e:
        session(emu, "s3", creds, secret="wrong" * 8).get_object(Bucket="artifacts", Key="ggp/core1/a.zip")
    assert error_of(e)[2]["Code"] == "SignatureDoesNotMatch"
    emu.post("/moto-api/reset")
    with pytest.raises(ClientError) as e:
        session(emu, "secretsmanager", creds).get_secret_value(SecretId="db")
    assert (error_of(e)[0], error_of(e)[2]["Code"]) == (400, "UnrecognizedClientException")
    with pytest.raises(ClientError) as e:
        session(emu, "s3", creds).get_object(Bucket="artifacts", Key="ggp/core1/a.zip")
    assert error_of(e)[2]["Code"] in ("InvalidAccessKeyId", "NoSuchBucket")


# ------------------------------------------------------------------------------------------------ unix sockets


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, host: str):
        super().__init__(host)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(self.unix_path)


def unix_connect(path: str):
    def connect():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(path)
        return s

    return connect


@pytest.fixture
def socket_dir():
    d = tempfile.mkdtemp(prefix="ggp-sock-", dir="/tmp")  # short: unix socket paths are limited
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_unix_sockets_for_devices_without_network(emu, setup, world, socket_dir):
    info = emu.post("/ggp-bench/unix-sockets", {"dir": socket_dir})
    assert info == {
        "dir": socket_dir,
        "credentialsSocket": f"{socket_dir}/credentials.sock",
        "awsSocket": f"{socket_dir}/aws.sock",
        "caFile": f"{socket_dir}/ca.pem",
    }
    assert emu.post("/ggp-bench/unix-sockets", {"dir": socket_dir}) == info  # idempotent
    assert json.loads(Path(socket_dir, "endpoints.json").read_text()) == info
    assert info in health(emu.url)["unixSocketDirs"]
    status, body = setup.fetch(thing="core1", connect=unix_connect(info["credentialsSocket"]))
    assert status == 200
    creds = body["credentials"]
    # then the artifact, SigV4-signed with those credentials, over aws.sock
    host = "s3.us-east-1.amazonaws.com"

    def get(key: str) -> tuple[int, bytes]:
        req = AWSRequest(method="GET", url=f"http://{host}/artifacts/{key}", headers={"Host": host})
        req.headers["x-amz-content-sha256"] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        SigV4Auth(Credentials(creds["accessKeyId"], creds["secretAccessKey"], creds["sessionToken"]), "s3", R).add_auth(req)
        conn = UnixHTTPConnection(info["awsSocket"], host)
        conn.request("GET", f"/artifacts/{key}", headers=dict(req.headers.items()))
        r = conn.getresponse()
        return r.status, r.read()

    assert get("ggp/core1/a.zip") == (200, b"zip")
    status, body = get("private/b.zip")
    assert status == 403 and b"<Code>AccessDenied</Code>" in body
    # a device without this CA cannot be fooled by another server, and the bench CA verifies the name
    bad = ssl.create_default_context()
    with pytest.raises(ssl.SSLError):
        with bad.wrap_socket(unix_connect(info["credentialsSocket"])(), server_hostname=setup.host) as s:
            s.sendall(b"GET / HTTP/1.1\r\n\r\n")


def test_unix_socket_dir_must_be_absolute(emu):
    req = urllib.request.Request(emu.url + "/ggp-bench/unix-sockets", data=b'{"dir": "relative"}', method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    assert e.value.code == 400


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_s_client_over_the_unix_socket(emu, setup, socket_dir):
    # What a device image with only openssl does (bench/emulator/README.md, "Device access").
    info = emu.post("/ggp-bench/unix-sockets", {"dir": socket_dir})
    request = f"GET /role-aliases/tes-alias/credentials HTTP/1.1\r\nHost: {setup.host}\r\nx-amzn-iot-thingname: core1\r\nConnection: close\r\n\r\n"
    out = subprocess.run(
        [
            "openssl", "s_client", "-quiet", "-unix", info["credentialsSocket"], "-servername", setup.host,
            "-verify_hostname", setup.host, "-verify_return_error", "-CAfile", info["caFile"],
            "-cert", str(setup.cert), "-key", str(setup.key),
        ],
        input=request.encode(), capture_output=True, timeout=60,
    )  # fmt: skip
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), out.stderr.decode()
    assert json.loads(body)["credentials"]["accessKeyId"].startswith("ASIA")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_over_the_unix_socket(emu, setup, socket_dir):
    info = emu.post("/ggp-bench/unix-sockets", {"dir": socket_dir})
    base = ["curl", "-sS", "--unix-socket", info["credentialsSocket"], "--cacert", info["caFile"], "-H", "x-amzn-iot-thingname: core1"]
    url = f"https://{setup.host}/role-aliases/tes-alias/credentials"
    out = subprocess.run(base + ["--cert", str(setup.cert), "--key", str(setup.key), url], capture_output=True, timeout=60)
    assert json.loads(out.stdout)["credentials"]["sessionToken"], out.stderr.decode()
    # without the client certificate the handshake fails (curl exits non-zero, no body)
    out = subprocess.run(base + [url], capture_output=True, timeout=60)
    assert out.returncode != 0 and out.stdout == b""


def test_expired_session_is_refused_in_process():
    # Sessions last at least 900 s (CreateRoleAlias credentialDurationSeconds min), so expiry is
    # checked on enforce() itself, in this process, with a session of moto's STS that has run out.
    from types import SimpleNamespace

    from moto.iam.access_control import IAMRequest, S3IAMRequest
    from moto.sts.models import sts_backends

    from ggp_emulator import credentials_provider as cp

    assumed = sts_backends[ACCT]["aws"].assume_role(
        region_name=R, role_session_name="c" * 64, role_arn=f"arn:aws:iam::{ACCT}:role/tes", policy=None, duration=900, external_id=None
    )
    key = assumed.access_key_id
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    cp.ISSUED[key] = cp.Session(key, ACCT, R, "aws", f"arn:aws:iam::{ACCT}:role/tes", "tes", "c" * 64, past, past - dt.timedelta(hours=1))
    headers = {"Authorization": f"AWS {key}:sig", "X-Amz-Security-Token": assumed.session_token}
    try:
        with pytest.raises(cp._S3Refusal) as e:
            cp.enforce(SimpleNamespace(headers=headers, querystring={}, service_name="s3"), S3IAMRequest, "arn:aws:s3:::b/k")
        assert (e.value.error_code, e.value.status) == ("ExpiredToken", 400)
        with pytest.raises(Exception) as e:
            cp.enforce(SimpleNamespace(headers=headers, querystring={}, service_name="logs"), IAMRequest, "*")
        assert (e.value.error_type, e.value.code) == ("ExpiredTokenException", 400)
        # a wrong token is refused before that
        bad = dict(headers, **{"X-Amz-Security-Token": "forged"})
        with pytest.raises(cp._S3Refusal) as e:
            cp.enforce(SimpleNamespace(headers=bad, querystring={}, service_name="s3"), S3IAMRequest, "arn:aws:s3:::b/k")
        assert e.value.error_code == "InvalidToken"
        # a key the provider did not issue is left to moto
        assert cp.enforce(SimpleNamespace(headers={"Authorization": "AWS AKIAOTHER:sig"}, querystring={}), IAMRequest, "*") is False
    finally:
        cp.ISSUED.pop(key, None)
