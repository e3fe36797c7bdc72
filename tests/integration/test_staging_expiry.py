"""Expiry and deletion of staged data: files, rows and stored bytes go; the id becomes free."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from anomalens import samples
from helpers.server import ServerProcess, free_port

TTL_S = 3.0


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Batches live three seconds; the sweep runs twice a second."""
    env = {"ANOMALENS_STAGING_TTL_DAYS": str(TTL_S / 86400), "ANOMALENS_STAGING_SWEEP_SECONDS": "0.5"}
    srv = ServerProcess(tmp_path_factory.mktemp("expiry"), free_port(), env=env).start()
    yield srv
    srv.stop()


def _blobs(home: Path, batch_id: str) -> list[Path]:
    return [p for p in home.rglob("*") if p.is_file() and f"staging/{batch_id}/" in p.as_posix()]


def test_expired_batches_are_swept_and_the_id_is_free_again(short_lived: ServerProcess) -> None:
    api = httpx.Client(base_url=short_lived.url, timeout=30)
    files = [("files", (f"e{i}.png", samples.make_image(7100 + i), "image/png")) for i in range(2)]
    assert len(api.post("/v1/batches/short-lived/images", files=files).json()["Accepted"]) == 2
    assert len(_blobs(short_lived.home, "short-lived")) == 2
    deadline = time.monotonic() + 60
    while api.get("/v1/batches/short-lived").status_code != 404 or _blobs(short_lived.home, "short-lived"):
        assert time.monotonic() < deadline, "the expired batch was not swept"
        time.sleep(0.2)
    assert "short-lived" not in [b["BatchId"] for b in api.get("/v1/batches").json()["Batches"]]
    # the id can be used again, for a new batch holding only the new file
    for _ in range(50):
        answer = api.post("/v1/batches/short-lived/images", files=files[:1])
        if answer.status_code == 200:
            break
        assert answer.status_code == 409, answer.text  # still being deleted: retry
        time.sleep(0.1)
    assert api.get("/v1/batches/short-lived").json()["Batch"]["FilesCount"] == 1


def test_delete_batch_removes_files_and_bytes(server: ServerProcess) -> None:
    api = httpx.Client(base_url=server.url, timeout=30)
    files = [("files", (f"x{i}.png", samples.make_image(7200 + i), "image/png")) for i in range(3)]
    api.post("/v1/batches/to-delete/images", files=files)
    assert len(_blobs(server.home, "to-delete")) == 3
    assert api.delete("/v1/batches/to-delete").status_code == 200
    assert api.get("/v1/batches/to-delete").status_code == 404
    assert _blobs(server.home, "to-delete") == []
    missing = api.delete("/v1/batches/to-delete")
    assert missing.status_code == 404 and missing.json()["field"] == "batchId"
