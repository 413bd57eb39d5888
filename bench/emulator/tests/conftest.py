"""Fixtures: one emulator process for the whole test session, reset before each test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

EMULATOR_DIR = Path(__file__).resolve().parents[1]
REPO = EMULATOR_DIR.parents[1]


def start_process(cmd: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """Start a server that prints `listening on URL` first; return it and the URL."""
    log = open(os.environ.get("GGP_BENCH_TEST_LOG", os.devnull), "a")  # set to keep server logs
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    line = proc.stdout.readline()
    if not line.startswith("listening on "):
        proc.kill()
        raise RuntimeError(f"{cmd} did not start: {line!r}")
    return proc, line.split()[-1]


class Emulator:
    def __init__(self, url: str):
        self.url = url

    def post(self, path: str, body: dict | None = None) -> dict:
        req = urllib.request.Request(
            self.url + path, data=json.dumps(body or {}).encode(), method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req) as r:
            data = r.read()
        return json.loads(data) if data.strip() else {}

    def client(self, service: str, validate: bool = True, region_name: str = "us-east-1"):
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=region_name,
            aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="bench-secret",
            config=Config(parameter_validation=validate, retries={"max_attempts": 1}),
        )


@pytest.fixture(scope="session")
def emulator_url():
    env = dict(os.environ, PYTHONPATH=str(EMULATOR_DIR))
    proc, url = start_process([sys.executable, "-m", "ggp_emulator", "--port", "0", "--quiet"], env)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def emu(emulator_url) -> Emulator:
    e = Emulator(emulator_url)
    e.post("/moto-api/reset")
    return e


@pytest.fixture
def gg(emu):
    return emu.client("greengrass")


@pytest.fixture
def gg2(emu):
    return emu.client("greengrassv2")


@pytest.fixture
def iot(emu):
    return emu.client("iot")


def error_of(excinfo) -> tuple[int, str, dict]:
    """(HTTP status, x-amzn-errortype, parsed error) of a botocore ClientError."""
    resp = excinfo.value.response
    return resp["ResponseMetadata"]["HTTPStatusCode"], resp["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-errortype"), resp["Error"]


def greengrass_get(url: str, path: str) -> tuple[int, dict, dict]:
    """GET `path` as a request signed for service greengrass (the signature itself is not checked);
    returns (status, headers, JSON body)."""
    req = urllib.request.Request(
        url + path,
        headers={
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250101/us-east-1/greengrass/aws4_request, SignedHeaders=host, Signature=0"
        },
    )
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, dict(r.headers), json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read() or b"{}")
