"""kill -9 during an import and during training: after a restart every job finishes once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from anomalens import samples
from anomalens.sdk import Client
from helpers.batch import detect_workflow
from helpers.server import ServerProcess, alive, children, free_port


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


def test_kill9_mid_batch_job_resumes_without_redoing_tasks(tmp_path: Path, sample_folder: Path) -> None:
    import json
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    import httpx

    www = tmp_path / "www"
    www.mkdir()
    for i in range(240):
        (www / f"p{i:03d}.png").write_bytes(samples.make_image(20_000 + i))
    files = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(www)))
    threading.Thread(target=files.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{files.server_address[1]}"
    srv = ServerProcess(tmp_path / "home", free_port(), env={"ANOMALENS_ALLOW_PRIVATE_URLS": "true"}).start()
    try:
        api = httpx.Client(base_url=srv.url, timeout=60)
        with Client(srv.url) as c:
            c.create_project("resume")
            c.wait_job(c.create_dataset("resume", "train", layout="labeled-folders", location=sample_folder)["JobId"])
            c.wait_job(c.create_model("resume")["JobId"], timeout=600)
            for part in range(3):  # three ingests: three shards, so three tasks
                refs = [
                    {"name": f"p{i:03d}.png", "url": f"{base}/p{i:03d}.png"} for i in range(part * 80, part * 80 + 80)
                ]
                c.ingest_references("resume-in", refs)
            for _ in range(600):
                if all(s["Status"] == "COMPLETED" for s in c.describe_batch("resume-in")["Shards"]):
                    break
                time.sleep(0.1)
            workflow = detect_workflow("resume", "is_anomalous")
            c.save_workflow("resume-wf", workflow)
            definition = {
                "type": "simple-image-processing-v1",
                "jobInput": {"batchId": "resume-in"},
                "processingSpecification": {"workflowId": "resume-wf"},
            }
            c.start_batch_job(definition, "resume-job")
            for _ in range(2000):
                job = c.get_batch_job("resume-job")
                if job["Tasks"] or job["Status"] != "RUNNING":
                    break
                time.sleep(0.02)
            assert job["Status"] == "RUNNING" and len(job["Tasks"]) == 1, job
            assert srv.proc is not None
            workers = children(srv.proc.pid)
            assert len(workers) >= 2  # the model-worker pool (and its resource tracker)
            srv.kill9()
            deadline = time.monotonic() + 30
            while any(alive(w) for w in workers) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert not [w for w in workers if alive(w)], "model workers outlived the killed server"
            srv.start()
            job = c.wait_batch_job("resume-job", timeout=600)
            assert job["Status"] == "SUCCEEDED" and len(job["Tasks"]) == 3
            names = []
            for f in c.list_batch_files("resume-job-output"):
                names += [json.loads(x)["file_name"] for x in api.get(f["DownloadUrl"]).text.splitlines()]
            assert sorted(names) == [f"p{i:03d}.png" for i in range(240)]  # every image once, none twice
    finally:
        srv.stop()
        files.shutdown()
