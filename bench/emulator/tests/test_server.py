"""The emulator process itself: start-up line, stopping with its stdin, control API errors."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import EMULATOR_DIR


def test_exit_on_stdin_eof():
    env = dict(os.environ, PYTHONPATH=str(EMULATOR_DIR))
    proc = subprocess.Popen(
        [sys.executable, "-m", "ggp_emulator", "--port", "0", "--quiet", "--exit-on-stdin-eof"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout.readline().startswith("listening on http://127.0.0.1:")
        assert proc.poll() is None
        proc.stdin.close()
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
