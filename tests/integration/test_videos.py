"""Video batches end to end: staging (upload, references, the real client), frame sampling at
``maxVideoFPS`` with PyAV, and per-frame results naming the frame and its timestamp."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx

from helpers.batch import wait_job, wait_shards
from helpers.cli import cli
from helpers.server import ServerProcess
from helpers.videos import make_video, not_a_video, video_bytes


def _video_job(workflow: str, batch_id: str, fps: object = 2.5) -> dict:
    return {
        "type": "simple-video-processing-v1",
        "jobInput": {"type": "staging-batch-input-v1", "batchId": batch_id},
        "computeConfiguration": {"type": "compute-configuration-v2", "machineType": "cpu"},
        "processingSpecification": {
            "type": "workflows-processing-specification-v1",
            "workflowId": workflow,
            "maxVideoFPS": fps,
            "persistImagesOutputs": True,
            "imagesOutputsToBePersisted": ["overlay"],
        },
    }


def _results(api: httpx.Client, output_batch: str) -> tuple[list[dict], set[str]]:
    files = {f["Name"]: f for f in api.get(f"/v1/batches/{output_batch}/files").json()["Files"]}
    lines = []
    for name, f in files.items():
        if name.startswith("results-"):
            lines += [json.loads(x) for x in api.get(f["DownloadUrl"]).text.splitlines()]
    return lines, set(files)


def test_video_upload_rejects_bad_files_and_job_samples_frames(staging_server: ServerProcess, workflow: str) -> None:
    api = httpx.Client(base_url=staging_server.url, timeout=60)
    files = [
        ("files", ("line-a.mp4", video_bytes(seed=1), "video/mp4")),
        ("files", ("line-b.mp4", video_bytes(seed=2, defective=range(0)), "video/mp4")),
        ("files", ("broken.mp4", not_a_video().getvalue(), "video/mp4")),
        ("files", ("notes.txt", b"hello", "text/plain")),
    ]
    body = api.post("/v1/batches/vids/videos", files=files).json()
    assert sorted(body["Accepted"]) == ["line-a.mp4", "line-b.mp4"]
    reasons = {r["File"]: r["Message"] for r in body["Rejected"]}
    assert "file-corrupted" in reasons["broken.mp4"] and "unsupported-file-type" in reasons["notes.txt"]
    batch = api.get("/v1/batches/vids").json()["Batch"]
    assert (batch["ContentType"], batch["FilesCount"]) == ("videos", 2)

    bad_fps = api.post("/v1/batch-jobs", json={"JobId": "v-bad", "Definition": _video_job(workflow, "vids", 0)})
    assert bad_fps.status_code == 400 and bad_fps.json()["field"] == "processingSpecification.maxVideoFPS"
    image_job = _video_job(workflow, "vids") | {"type": "simple-image-processing-v1"}
    wrong = api.post("/v1/batch-jobs", json={"JobId": "v-wrong", "Definition": image_job})
    assert wrong.status_code == 400 and wrong.json()["field"] == "jobInput.batchId"

    answer = api.post("/v1/batch-jobs", json={"JobId": "video-1", "Definition": _video_job(workflow, "vids")})
    assert answer.status_code == 202, answer.text
    job = wait_job(api, "video-1")
    assert job["Status"] == "SUCCEEDED", job
    lines, names = _results(api, job["OutputBatch"])
    # 40 frames at 10 fps sampled at 2.5 fps: frames 0, 4, ..., 36 of each video
    assert sorted((x["file_name"], x["frame_number"]) for x in lines) == sorted(
        (v, i) for v in ("line-a.mp4", "line-b.mp4") for i in range(0, 40, 4)
    )
    assert all(abs(x["frame_timestamp"] - x["frame_number"] / 10) < 1e-3 for x in lines)
    flagged = sorted((x["file_name"], x["frame_number"]) for x in lines if x["is_anomalous"])
    assert flagged == [("line-a.mp4", 20), ("line-a.mp4", 24), ("line-a.mp4", 28)]
    assert "line-a-000020-overlay.png" in names


def test_video_references_are_downloaded_and_checked(
    staging_server: ServerProcess, files_server: tuple[str, Path]
) -> None:
    base, root = files_server
    make_video(root / "clip.mp4", frames=12)
    (root / "fake.mp4").write_bytes(not_a_video().getvalue())
    api = httpx.Client(base_url=staging_server.url, timeout=60)
    refs = [{"name": "clip.mp4", "url": f"{base}/clip.mp4"}, {"name": "fake.mp4", "url": f"{base}/fake.mp4"}]
    answer = api.post("/v1/batches/vid-refs/references", json={"References": refs, "ContentType": "videos"})
    assert answer.status_code == 202, answer.text
    batch = wait_shards(api, "vid-refs")
    assert batch["ContentType"] == "videos" and batch["FilesCount"] == 1
    assert [(r["file"], r["reason"]) for r in batch["Shards"][0]["Rejected"]] == [("fake.mp4", "file-corrupted")]


def test_real_client_stages_and_processes_videos(
    rf_cloud: Callable[..., str], staging_server: ServerProcess, workflow: str, tmp_path: Path
) -> None:
    src = tmp_path / "videos"
    src.mkdir()
    make_video(src / "cam-1.mp4", seed=5)
    make_video(src / "cam-2.mp4", seed=6, frames=20, defective=range(0))
    rf_cloud("data-staging", "create-batch-of-videos", "--videos-dir", str(src), "--batch-id", "cli-videos")
    details = rf_cloud("data-staging", "show-batch-details", "--batch-id", "cli-videos")
    assert "videos" in details and "2" in details
    assert "cam-1.mp4" in rf_cloud("data-staging", "list-batch-content", "--batch-id", "cli-videos")
    out = rf_cloud(
        "batch-processing",
        "process-videos-with-workflow",
        "--workflow-id",
        workflow,
        "--batch-id",
        "cli-videos",
        "--machine-type",
        "cpu",
        "--max-video-fps",
        "2",
        "--job-id",
        "cli-video-1",
    )
    assert "cli-video-1" in out
    api = httpx.Client(base_url=staging_server.url, timeout=60)
    job = wait_job(api, "cli-video-1")
    assert job["Status"] == "SUCCEEDED", job
    lines, _ = _results(api, job["OutputBatch"])
    # 2 fps of a 10 fps video: every 5th frame (40 frames -> 8 lines, 20 frames -> 4 lines)
    frames = {(x["file_name"], x["frame_number"]) for x in lines}
    assert frames == {("cam-1.mp4", i) for i in range(0, 40, 5)} | {("cam-2.mp4", i) for i in range(0, 20, 5)}
    assert {x["frame_number"] for x in lines if x["is_anomalous"]} == {20, 25}, sorted(
        (x["file_name"], x["frame_number"], x.get("score"), x.get("confidence")) for x in lines
    )


def test_anomalens_cli_stages_and_runs_videos(staging_server: ServerProcess, workflow: str, tmp_path: Path) -> None:
    def run(*args: str) -> dict:
        return dict(json.loads(cli(staging_server, "--json", *args).stdout))

    src = tmp_path / "v"
    src.mkdir()
    make_video(src / "belt.mp4", frames=20, defective=range(10, 20))
    (src / "bad.mov").write_bytes(b"\x00" * 100)
    created = run("batches", "create", "cli-vids", "--videos-dir", str(src))
    assert created["Accepted"] == 1 and created["Rejected"][0]["File"] == "bad.mov"
    job = run("batch-jobs", "start", "cli-vids", workflow, "--job-id", "cli-vid-1", "--max-video-fps", "1", "--wait")
    assert job["Status"] == "SUCCEEDED"
    run("batches", "export", job["OutputBatch"], str(tmp_path / "out"))
    lines = [json.loads(x) for x in next((tmp_path / "out").glob("results-*.jsonl")).read_text().splitlines()]
    assert [(x["frame_number"], x["is_anomalous"]) for x in lines] == [(0, False), (10, True)]
