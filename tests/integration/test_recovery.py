"""kill -9 during an import and during training: after a restart every job finishes once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from anomalens import samples
from anomalens.sdk import Client
from helpers.server import ServerProcess, free_port


def _wait_running(c: Client, job_id: int, timeout: float = 120) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = c.get_job(job_id)
        if job["Status"] == "RUNNING":
            return job
        assert job["Status"] == "QUEUED", job
        time.sleep(0.02)
    raise AssertionError("job never started")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return samples.write_labeled_folder(tmp_path / "big", n_normal=60, n_anomaly=20, seed=3, size=256)


def test_kill9_mid_import_and_mid_training_then_restart(tmp_path: Path, data: Path) -> None:
    home = tmp_path / "home"
    srv = ServerProcess(home, free_port()).start()
    try:
        with Client(srv.url) as c:
            c.create_project("crash")
            job_id = c.create_dataset("crash", "train", layout="labeled-folders", location=data)["JobId"]
            _wait_running(c, job_id)
            srv.kill9()
            srv.start()
            job = c.wait_job(job_id, timeout=120)
            assert job["Status"] == "SUCCEEDED" and job["Attempts"] >= 2
            assert c.describe_dataset("crash", "train")["ImageStats"]["Total"] == 80

            answer = c.create_model("crash")
            job_id = answer["JobId"]
            running = _wait_running(c, job_id)
            time.sleep(0.5)
            assert c.get_job(job_id)["Status"] == "RUNNING", running
            srv.kill9()
            srv.start()
            job = c.wait_job(job_id, timeout=600)
            assert job["Status"] == "SUCCEEDED" and job["Attempts"] == 2, job
            models = list(c.list_models("crash"))
            assert [(m["ModelVersion"], m["Status"]) for m in models] == [("1", "TRAINED")]
            artifacts = list((home / "blobs" / "projects" / "crash" / "models" / "1").glob("artifact-*"))
            assert [a.name for a in artifacts] == ["artifact-2"]  # the dead attempt's files were removed
    finally:
        srv.stop()
