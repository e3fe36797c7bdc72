"""Batch-processing test helpers: the inspection workflow and waits on shards and jobs."""

from __future__ import annotations

import time

import httpx

WORKFLOW = {
    "version": "1.0",
    "inputs": [{"type": "WorkflowImage", "name": "image"}],
    "steps": [
        {
            "type": "anomalens/detect_anomalies",
            "name": "detector",
            "image": "$inputs.image",
            "project": "batchproj",
            "model_version": "1",
        },
        {
            "type": "anomalens/threshold_filter",
            "name": "flag",
            "predictions": "$steps.detector.predictions",
            "min_confidence": 0.0,
        },
        {
            "type": "anomalens/anomaly_overlay",
            "name": "overlay",
            "image": "$inputs.image",
            "predictions": "$steps.detector.predictions",
        },
    ],
    "outputs": [
        {"type": "JsonField", "name": "is_anomalous", "selector": "$steps.detector.is_anomalous"},
        {"type": "JsonField", "name": "flagged", "selector": "$steps.flag.passed"},
        {"type": "JsonField", "name": "score", "selector": "$steps.detector.score"},
        {"type": "JsonField", "name": "overlay", "selector": "$steps.overlay.image"},
    ],
}


def detect_workflow(project: str, *fields: str) -> dict:
    """A one-step workflow: model version 1 of ``project``, emitting the named detector fields."""
    return {
        "version": "1.0",
        "inputs": [{"type": "WorkflowImage", "name": "image"}],
        "steps": [
            {
                "type": "anomalens/detect_anomalies",
                "name": "d",
                "image": "$inputs.image",
                "project": project,
                "model_version": "1",
            }
        ],
        "outputs": [{"type": "JsonField", "name": f, "selector": f"$steps.d.{f}"} for f in fields],
    }


def wait_shards(api: httpx.Client, batch_id: str) -> dict:
    for _ in range(300):
        batch = api.get(f"/v1/batches/{batch_id}").json()["Batch"]
        if batch["Shards"] and all(s["Status"] in ("COMPLETED", "FAILED") for s in batch["Shards"]):
            return batch
        time.sleep(0.1)
    raise AssertionError("shards never finished")


def wait_job(api: httpx.Client, job_id: str) -> dict:
    for _ in range(600):
        job = api.get(f"/v1/batch-jobs/{job_id}").json()["Job"]
        if job["Status"] != "RUNNING":
            return job
        time.sleep(0.2)
    raise AssertionError("batch job did not finish")
