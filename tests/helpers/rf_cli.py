"""The real ``inference rf-cloud`` client (inference-cli) in a cached virtual environment of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI_VENV = ROOT / ".venv-inference-cli"
CLI_VERSION = "1.8.3"
# exact pins for the client's cloud-storage extra: unpinned, pip backtracks for minutes
CLI_PINS = ("fsspec==2026.9.0", "s3fs==2026.9.0", "aiobotocore==3.10.0", "botocore==1.43.117", "adlfs==2024.12.0")


def install_cli() -> Path:
    """The real client in its own cached venv (about 750 MB; reused between runs)."""
    binary = CLI_VENV / "bin" / "inference"
    marker = CLI_VENV / f".installed-{CLI_VERSION}-cloud-storage"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", str(CLI_VENV)], check=True)
        subprocess.run(
            [
                str(CLI_VENV / "bin" / "pip"),
                "install",
                "-q",
                "--disable-pip-version-check",
                f"inference-cli[cloud-storage]=={CLI_VERSION}",
                *CLI_PINS,
            ],
            check=True,
            timeout=1500,
        )
        marker.touch()
    return binary
