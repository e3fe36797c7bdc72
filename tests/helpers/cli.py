"""Running the real ``anomalens`` CLI as a subprocess against a test server."""

from __future__ import annotations

import os
import subprocess
import sys

from helpers.server import ServerProcess


def cli(server: ServerProcess, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``anomalens ARGS`` pointed at ``server``; assert it succeeded (or failed when ``ok=False``)."""
    env = dict(os.environ, ANOMALENS_URL=server.url, COLUMNS="200")
    done = subprocess.run(
        [sys.executable, "-m", "anomalens", *args], capture_output=True, text=True, env=env, timeout=900
    )
    assert (done.returncode == 0) == ok, done.stdout + done.stderr
    return done
