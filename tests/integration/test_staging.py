"""Data staging against the real server: native API, per-file rejections, references, SSRF rule,
and the real ``inference rf-cloud`` client (inference-cli 1.8.3) unmodified."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from anomalens import samples
from helpers.batch import WORKFLOW, wait_job, wait_shards
from helpers.cli import cli
from helpers.images import TEN_BYTES
from helpers.rf_cli import install_cli
from helpers.server import ServerProcess, free_port
from helpers.webhooks import Receiver


def test_batch_id_rule_and_per_file_rejections(staging_server: ServerProcess) -> None:
    api = httpx.Client(base_url=staging_server.url, timeout=30)
    files = [("files", ("ok.png", samples.make_image(1), "image/png"))]
    bad = api.post("/v1/batches/Not_Lower/images", files=files)
    assert bad.status_code == 400 and bad.json()["field"] == "batchId" and "lowercase" in bad.json()["message"]
    files += [
        ("files", ("tiny.png", TEN_BYTES, "image/png")),
        ("files", ("ok2.png", samples.make_image(2), "image/png")),
    ]
    answer = api.post("/v1/batches/mixed-1/images", files=files).json()
    assert answer["Accepted"] == ["ok.png", "ok2.png"]
    assert [r["File"] for r in answer["Rejected"]] == ["tiny.png"]
    assert "unsupported-file-type" in answer["Rejected"][0]["Message"]
    batch = api.get("/v1/batches/mixed-1").json()["Batch"]
    assert batch["FilesCount"] == 2 and batch["ContentType"] == "images"
    listed = api.get("/v1/batches/mixed-1/files").json()["Files"]
    assert api.get(listed[0]["DownloadUrl"]).content == samples.make_image(1)


def test_references_ingest_reports_bad_files_and_refuses_private_urls(
    staging_server: ServerProcess, files_server: tuple[str, Path], tmp_path: Path
) -> None:
    base, _ = files_server
    api = httpx.Client(base_url=staging_server.url, timeout=30)
    refs = [{"name": f"img_{i}.png", "url": f"{base}/img_{i}.png"} for i in range(5)]
    refs += [{"name": "broken.png", "url": f"{base}/broken.png"}, {"name": "gone.png", "url": f"{base}/gone.png"}]
    answer = api.post("/v1/batches/refs-1/references", json={"References": refs})
    assert answer.status_code == 202, answer.text
    batch = wait_shards(api, "refs-1")
    assert batch["FilesCount"] == 5
    reasons = {r["file"]: r["reason"] for r in batch["Shards"][0]["Rejected"]}
    assert reasons == {"broken.png": "unsupported-file-type", "gone.png": "download-failed"}

    strict = ServerProcess(tmp_path / "strict", free_port()).start()  # default: private URLs refused
    try:
        api2 = httpx.Client(base_url=strict.url, timeout=30)
        api2.post("/v1/batches/refs-2/references", json={"References": refs[:1]})
        batch = wait_shards(api2, "refs-2")
        assert batch["FilesCount"] == 0
        assert batch["Shards"][0]["Rejected"][0]["reason"] == "unsafe-url-detected"
    finally:
        strict.stop()


@pytest.mark.parametrize(("batch_id", "count"), [("cli-small", 3), ("cli-large", 40)])
def test_real_client_creates_lists_shows_and_exports(rf_cloud, tmp_path: Path, batch_id: str, count: int) -> None:
    src = tmp_path / "images"
    src.mkdir()
    for i in range(count):
        (src / f"part_{i:03d}.png").write_bytes(samples.make_image(900 + i))
    rf_cloud("data-staging", "create-batch-of-images", "--images-dir", str(src), "--batch-id", batch_id)
    if count > 32:  # the sharded path: wait for the ingest job
        import time

        for _ in range(300):
            if (
                "Files Count" in (out := rf_cloud("data-staging", "show-batch-details", "--batch-id", batch_id))
                and str(count) in out
            ):
                break
            time.sleep(0.2)
    assert batch_id in rf_cloud("data-staging", "list-batches")
    details = rf_cloud("data-staging", "show-batch-details", "--batch-id", batch_id)
    assert str(count) in details and ("simple-batch" if count <= 32 else "sharded-batch") in details
    content = rf_cloud("data-staging", "list-batch-content", "--batch-id", batch_id)
    assert "part_000.png" in content
    out = tmp_path / "export"
    rf_cloud("data-staging", "export-batch", "--batch-id", batch_id, "--target-dir", str(out))
    exported = sorted(p.name for p in out.rglob("*.png"))
    assert len(exported) == count and (out.rglob("part_001.png").__next__().read_bytes() == samples.make_image(901))


def test_workflow_validation_names_step_and_field(staging_server: ServerProcess) -> None:
    api = httpx.Client(base_url=staging_server.url, timeout=30)
    bad = dict(WORKFLOW, steps=[dict(WORKFLOW["steps"][1], predictions="$steps.nothing.predictions")])
    body = api.put("/v1/workflows/bad", json=bad).json()
    assert body["field"] == "steps[0].predictions" and "nothing" in body["message"]


def _definition(workflow: str, **extra: object) -> dict:
    return {
        "type": "simple-image-processing-v1",
        "jobInput": {"type": "staging-batch-input-v1", "batchId": "to-inspect"},
        "computeConfiguration": {"type": "compute-configuration-v2", "machineType": "cpu"},
        "processingSpecification": {
            "type": "workflows-processing-specification-v1",
            "workspace": "anomalens",
            "workflowId": workflow,
            "persistImagesOutputs": True,
        },
    } | extra


def test_native_batch_job_writes_results_and_overlays(staging_server: ServerProcess, workflow: str) -> None:
    api = httpx.Client(base_url=staging_server.url, timeout=30)
    gpu = _definition(workflow, computeConfiguration={"machineType": "gpu"})
    answer = api.post("/v1/batch-jobs", json={"JobId": "gpu-job", "Definition": gpu})
    assert answer.status_code == 400 and "no GPU" in answer.json()["message"]
    receiver = Receiver(fail_first=0)
    definition = _definition(workflow, notificationsURL=receiver.url)
    answer = api.post("/v1/batch-jobs", json={"JobId": "native-1", "Definition": definition})
    assert answer.status_code == 202, answer.text
    job = wait_job(api, "native-1")
    assert job["Status"] == "SUCCEEDED", job
    import time

    for _ in range(100):
        if receiver.calls:
            break
        time.sleep(0.1)
    body = receiver.calls[0][0]
    assert (body["type"], body["job_id"], body["job_state"], body["delivery_attempt"]) == (
        "roboflow-batch-job-notification-v1",
        "native-1",
        "success",
        1,
    )
    files = {f["Name"]: f for f in api.get(f"/v1/batches/{job['OutputBatch']}/files").json()["Files"]}
    results_name = next(n for n in files if n.startswith("results-"))
    lines = [json.loads(x) for x in api.get(files[results_name]["DownloadUrl"]).text.splitlines()]
    assert len(lines) == 9
    verdict = {x["file_name"]: x["is_anomalous"] for x in lines}
    assert verdict == {**{f"n{i}.png": False for i in range(6)}, **{f"d{i}.png": True for i in range(3)}}
    assert {"d0-overlay.png", "n0-overlay.png"} <= set(files)
    logs = api.get("/v1/batch-jobs/native-1/logs").json()["Logs"]
    assert logs[0]["Type"] == "job-created" and logs[-1]["Type"] == "job-finished"


def test_real_client_processes_a_batch_with_a_workflow(
    rf_cloud, staging_server: ServerProcess, workflow: str, tmp_path: Path
) -> None:
    out = rf_cloud(
        "batch-processing",
        "process-images-with-workflow",
        "--workflow-id",
        workflow,
        "--batch-id",
        "to-inspect",
        "--machine-type",
        "cpu",
        "--job-id",
        "cli-job-1",
        "--aggregation-format",
        "csv",
    )
    assert "cli-job-1" in out
    api = httpx.Client(base_url=staging_server.url, timeout=30)
    job = wait_job(api, "cli-job-1")
    assert job["Status"] == "SUCCEEDED", job
    assert "cli-job-1" in rf_cloud("batch-processing", "list-jobs")
    details = rf_cloud("batch-processing", "show-job-details", "--job-id", "cli-job-1")
    assert "cli-job-1-output" in details
    assert "task-finished" in rf_cloud("batch-processing", "fetch-logs", "--job-id", "cli-job-1")
    rf_cloud("data-staging", "export-batch", "--batch-id", "cli-job-1-output", "--target-dir", str(tmp_path / "o"))
    csv_file = next((tmp_path / "o").rglob("results-*.csv"))
    assert csv_file.read_text().splitlines()[0].startswith("file_name,")
    assert len(csv_file.read_text().splitlines()) == 10


def test_abort_and_restart_with_overrides(rf_cloud, staging_server: ServerProcess, workflow: str) -> None:
    api = httpx.Client(base_url=staging_server.url, timeout=60)
    files = [("files", (f"b{i}.png", samples.make_image(8000 + i), "image/png")) for i in range(150)]
    api.post("/v1/batches/big-inspect/images", files=files)
    busy = _definition(workflow) | {"jobInput": {"type": "staging-batch-input-v1", "batchId": "big-inspect"}}
    api.post("/v1/batch-jobs", json={"JobId": "busy-1", "Definition": busy})
    api.post("/v1/batch-jobs", json={"JobId": "abort-1", "Definition": _definition(workflow)})
    rf_cloud("batch-processing", "abort-job", "--job-id", "abort-1")  # queued behind busy-1: aborted before it ran
    assert wait_job(api, "abort-1")["Status"] == "ABORTED"
    assert wait_job(api, "busy-1")["Status"] == "SUCCEEDED"
    rf_cloud("batch-processing", "restart-job", "--job-id", "abort-1", "--max-image-failure-rate", "0.5")
    job = wait_job(api, "abort-1")
    assert job["Status"] == "SUCCEEDED" and job["RestartOverrides"][0]["maxImageFailureRate"] == 0.5
    results = [
        f for f in api.get("/v1/batches/abort-1-output/files").json()["Files"] if f["Name"].startswith("results-")
    ]
    assert len(results) == 1  # the task ran once in total: no duplicated output


def test_anomalens_cli_batch_commands(staging_server: ServerProcess, workflow: str, tmp_path: Path) -> None:
    def run(*args: str) -> str:
        return cli(staging_server, "--json", *args).stdout

    src = tmp_path / "imgs"
    src.mkdir()
    for i in range(4):
        (src / f"c{i}.png").write_bytes(samples.make_image(9100 + i, "stain" if i == 3 else None))
    (src / "tiny.png").write_bytes(TEN_BYTES)
    created = json.loads(run("batches", "create", "cli-native", "--images-dir", str(src)))
    assert created["Accepted"] == 4 and created["Rejected"][0]["File"] == "tiny.png"
    job = json.loads(run("batch-jobs", "start", "cli-native", workflow, "--job-id", "cli-native-1", "--wait"))
    assert job["Status"] == "SUCCEEDED"
    exported = json.loads(run("batches", "export", job["OutputBatch"], str(tmp_path / "out")))
    assert exported["Exported"] == 1
    lines = [json.loads(x) for x in next((tmp_path / "out").glob("results-*.jsonl")).read_text().splitlines()]
    assert sorted((x["file_name"], x["is_anomalous"]) for x in lines) == [
        ("c0.png", False),
        ("c1.png", False),
        ("c2.png", False),
        ("c3.png", True),
    ]
    assert any(e["Type"] == "task-finished" for e in json.loads(run("batch-jobs", "logs", "cli-native-1")))


def test_real_client_with_an_api_key_uses_signed_links(tmp_path: Path) -> None:
    """With an API key set, the upload and download links the server hands out are signed:
    they work without the key, for their own path and method only, and a forged one is refused."""
    srv = ServerProcess(tmp_path / "home", free_port(), env={"ANOMALENS_API_KEY": "line-key"}).start()
    try:
        env = dict(os.environ, API_BASE_URL=f"{srv.url}/roboflow", ROBOFLOW_API_KEY="line-key")
        src = tmp_path / "imgs"
        src.mkdir()
        for i in range(40):  # more than 32: tar shards PUT to the signed upload URL
            (src / f"s_{i:02d}.png").write_bytes(samples.make_image(9300 + i))

        def rf(*args: str) -> str:
            done = subprocess.run(
                [str(install_cli()), "rf-cloud", *args], capture_output=True, text=True, env=env, timeout=600
            )
            assert done.returncode == 0, done.stdout + done.stderr
            return done.stdout

        rf("data-staging", "create-batch-of-images", "--images-dir", str(src), "--batch-id", "signed")
        api = httpx.Client(base_url=srv.url, timeout=30, headers={"Authorization": "Bearer line-key"})
        assert wait_shards(api, "signed")["FilesCount"] == 40
        rf("data-staging", "export-batch", "--batch-id", "signed", "--target-dir", str(tmp_path / "out"))
        assert len(list((tmp_path / "out").rglob("*.png"))) == 40

        link = api.get("/v1/batches/signed/files").json()["Files"][0]["DownloadUrl"]
        assert "X-Anomalens-Signature" in link and httpx.get(link).status_code == 200
        assert httpx.get(link.replace("/files/s_", "/files/t_")).status_code == 401  # another path: refused
        query = link.split("?", 1)[1]
        assert httpx.delete(f"{srv.url}/v1/batches/signed?{query}").status_code == 401  # not a key for other calls
        forged = link[: link.rindex("=") + 1] + "0" * 64
        assert httpx.get(forged).status_code == 401
    finally:
        srv.stop()
