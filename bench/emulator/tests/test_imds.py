"""bench/imds/imds_server.py, run with the system python3 (it must need nothing but the standard library)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import urllib.error
import urllib.request

import pytest

from conftest import REPO

SERVER = REPO / "bench" / "imds" / "imds_server.py"
SECRET = "s3cr3t-never-logged"
SESSION = "sess-token-never-logged"


@pytest.fixture
def imds_factory(tmp_path):
    started = []

    def start(*args: str) -> tuple[str, object]:
        python = shutil.which("python3") or "/usr/bin/python3"
        log = open(tmp_path / f"imds{len(started)}.log", "w")
        proc = subprocess.Popen([python, "-I", str(SERVER), "--port", "0", *args], stdout=subprocess.PIPE, stderr=log, text=True)
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), line
        started.append((proc, log))
        return line.split()[-1], tmp_path / f"imds{len(started) - 1}.log"

    yield start
    for proc, log in started:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def call(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=b"" if method == "PUT" else None)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def token(url: str, ttl: int = 60) -> str:
    status, headers, body = call(url + "/latest/api/token", "PUT", {"x-aws-ec2-metadata-token-ttl-seconds": str(ttl)})
    assert status == 200
    assert headers["x-aws-ec2-metadata-token-ttl-seconds"] == str(ttl)
    return body


def get(url: str, path: str, tok: str | None) -> tuple[int, str]:
    status, _, body = call(url + path, headers={"x-aws-ec2-metadata-token": tok} if tok else {})
    return status, body


def test_token_is_required(imds_factory):
    url, _ = imds_factory()
    assert call(url + "/latest/api/token", "PUT")[0] == 400  # no TTL header
    assert call(url + "/latest/api/token", "PUT", {"x-aws-ec2-metadata-token-ttl-seconds": "0"})[0] == 400
    assert call(url + "/latest/api/token", "PUT", {"x-aws-ec2-metadata-token-ttl-seconds": "21601"})[0] == 400
    assert get(url, "/latest/meta-data/instance-id", None)[0] == 401
    assert get(url, "/latest/meta-data/instance-id", "made-up")[0] == 401
    assert get(url, "/latest/meta-data/instance-id", token(url)) == (200, "i-0123456789abcdef0")


def test_role_credentials_and_placement(imds_factory):
    url, log = imds_factory(
        "--role", "gg-role", "--region", "eu-west-1", "--access-key-id", "ASIAEXAMPLEKEY", "--secret-access-key", SECRET, "--token", SESSION, "--expiration-seconds", "900"
    )
    tok = token(url)
    assert get(url, "/latest/meta-data/iam/security-credentials/", tok) == (200, "gg-role")
    status, body = get(url, "/latest/meta-data/iam/security-credentials/gg-role", tok)
    creds = json.loads(body)
    assert status == 200
    assert set(creds) == {"Code", "LastUpdated", "Type", "AccessKeyId", "SecretAccessKey", "Token", "Expiration"}
    assert (creds["Code"], creds["AccessKeyId"], creds["SecretAccessKey"], creds["Token"]) == ("Success", "ASIAEXAMPLEKEY", SECRET, SESSION)
    expires = dt.datetime.strptime(creds["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    left = (expires - dt.datetime.now(dt.timezone.utc)).total_seconds()
    assert 800 < left <= 900
    assert get(url, "/latest/meta-data/iam/security-credentials/other-role", tok)[0] == 404
    assert get(url, "/latest/meta-data/placement/region", tok) == (200, "eu-west-1")
    assert get(url, "/latest/meta-data/placement/availability-zone", tok) == (200, "eu-west-1a")
    doc = json.loads(get(url, "/latest/dynamic/instance-identity/document", tok)[1])
    assert (doc["region"], doc["instanceId"], doc["accountId"]) == ("eu-west-1", "i-0123456789abcdef0", "123456789012")
    assert get(url, "/latest/meta-data/no/such/path", tok)[0] == 404
    text = log.read_text()
    assert "GET /latest/meta-data/iam/security-credentials/gg-role 200" in text
    assert SECRET not in text and SESSION not in text and tok not in text


def test_no_role(imds_factory):
    url, _ = imds_factory("--no-role")
    tok = token(url)
    assert get(url, "/latest/meta-data/iam/security-credentials/", tok)[0] == 404
    assert get(url, "/latest/meta-data/placement/region", tok) == (200, "us-east-1")


def test_refused_token(imds_factory):
    url, _ = imds_factory("--refuse-token")
    assert call(url + "/latest/api/token", "PUT", {"x-aws-ec2-metadata-token-ttl-seconds": "60"})[0] == 403
    assert get(url, "/latest/meta-data/placement/region", None)[0] == 401


def test_token_expires(imds_factory):
    import time

    url, _ = imds_factory()
    tok = token(url, ttl=1)
    assert get(url, "/latest/meta-data/instance-id", tok)[0] == 200
    time.sleep(1.2)
    assert get(url, "/latest/meta-data/instance-id", tok)[0] == 401
