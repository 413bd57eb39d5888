"""Lambda refuses runtimes past their block dates (runtimes.py), with Lambda's own error."""

from __future__ import annotations

import datetime
import io
import os
import sys
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import EMULATOR_DIR, Emulator, error_of, start_process
from ggp_emulator import runtimes


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(e, c):\n    return 1\n")
    return buf.getvalue()


def _message(runtime: str) -> str:
    return (
        f"The runtime parameter of {runtime} is no longer supported for creating or updating AWS Lambda functions. "
        "We recommend you use a supported runtime while creating or updating functions."
    )


def _create(lam, iam, name: str, runtime: str):
    role = iam.create_role(RoleName=f"r-{name}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    return lam.create_function(FunctionName=name, Runtime=runtime, Role=role, Handler="app.handler", Code={"ZipFile": _zip()})


def _refused(excinfo, runtime: str) -> None:
    status, code, err = error_of(excinfo)
    assert (status, code, err["Message"]) == (400, "InvalidParameterValueException", _message(runtime))


@pytest.fixture(scope="module")
def emu_on():
    """An emulator per date, started with --today."""
    procs = {}

    def start(day: str) -> Emulator:
        if day not in procs:
            env = dict(os.environ, PYTHONPATH=str(EMULATOR_DIR))
            env.pop("GGP_BENCH_TODAY", None)
            procs[day] = start_process([sys.executable, "-m", "ggp_emulator", "--port", "0", "--quiet", "--today", day], env)
        return Emulator(procs[day][1])

    yield start
    for proc, _ in procs.values():
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("runtime", ["python3.7", "python3.8", "nodejs12.x", "java8", "python2.7"])
def test_create_on_a_blocked_runtime_is_refused_today(emu, runtime):
    if runtimes.today() < datetime.date(2026, 3, 31):
        pytest.skip("the system clock is before the table's last block date")
    lam, iam = emu.client("lambda"), emu.client("iam")
    with pytest.raises(ClientError) as e:
        _create(lam, iam, "f", runtime)
    _refused(e, runtime)
    assert lam.list_functions()["Functions"] == []


@pytest.mark.parametrize("runtime", ["python3.11", "python3.12", "nodejs22.x", "java8.al2", "java21"])
def test_create_on_a_supported_runtime_works(emu, runtime):
    lam, iam = emu.client("lambda"), emu.client("iam")
    assert _create(lam, iam, "f", runtime)["Runtime"] == runtime


def test_dates_decide(emu_on):
    # 2026-03-15: python3.8 creation is blocked (2026-02-28), its updates are not yet (2026-03-31);
    # nodejs14.x updates are blocked (2026-02-28).
    e = emu_on("2026-03-15")
    lam, iam = e.client("lambda"), e.client("iam")
    with pytest.raises(ClientError) as x:
        _create(lam, iam, "a", "python3.8")
    _refused(x, "python3.8")
    _create(lam, iam, "b", "python3.12")
    assert lam.update_function_configuration(FunctionName="b", Runtime="python3.8")["Runtime"] == "python3.8"
    lam.update_function_code(FunctionName="b", ZipFile=_zip())
    with pytest.raises(ClientError) as x:
        lam.update_function_configuration(FunctionName="b", Runtime="nodejs14.x")
    _refused(x, "nodejs14.x")
    # Before a block date the runtime is still creatable; from the day on it is not.
    e = emu_on("2023-03-01")
    lam, iam = e.client("lambda"), e.client("iam")
    for rt in ["python3.7", "python3.8", "nodejs12.x", "java8"]:
        assert _create(lam, iam, rt.replace(".", "-"), rt)["Runtime"] == rt
    e = emu_on("2023-03-31")
    with pytest.raises(ClientError) as x:
        _create(e.client("lambda"), e.client("iam"), "n", "nodejs12.x")
    _refused(x, "nodejs12.x")


def test_updates_are_refused_after_the_update_block_date():
    # In process, so the clock can move past the date while the function exists.
    from moto import mock_aws

    runtimes.patch()
    try:
        with mock_aws():
            lam = boto3.client("lambda", region_name="us-east-1")
            iam = boto3.client("iam", region_name="us-east-1")
            runtimes.set_today("2023-03-01")
            _create(lam, iam, "old", "python3.8")
            runtimes.set_today("2026-03-30")
            lam.update_function_configuration(FunctionName="old", Timeout=5)
            runtimes.set_today("2026-03-31")
            with pytest.raises(ClientError) as x:
                lam.update_function_configuration(FunctionName="old", Timeout=6)
            _refused(x, "python3.8")
            with pytest.raises(ClientError) as x:
                lam.update_function_code(FunctionName="old", ZipFile=_zip())
            _refused(x, "python3.8")
            # Moving it to a supported runtime is an update on the new runtime: allowed.
            assert lam.update_function_configuration(FunctionName="old", Runtime="python3.12")["Runtime"] == "python3.12"
    finally:
        runtimes.set_today(None)


def test_a_bad_today_is_refused_at_start():
    env = dict(os.environ, PYTHONPATH=str(EMULATOR_DIR))
    import subprocess

    p = subprocess.run([sys.executable, "-m", "ggp_emulator", "--today", "2026-02-30"], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "--today 2026-02-30" in p.stderr
