"""The ``inference rf-cloud`` wire format (inference-cli 1.8.3), translated to the staging services.

Mounted under ``/roboflow``: point the real client at it with
``API_BASE_URL=http://<host>:<port>/roboflow``. Only translation lives here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request

from anomalens.api.deps import PlatformDep, signed
from anomalens.api.routes.staging import download_url
from anomalens.app import batch_jobs, staging, staging_sources
from anomalens.app.context import Platform
from anomalens.store.batch_rows import BatchJobRow
from anomalens.store.staging_rows import StagingBatchRow

WORKSPACE = "anomalens"
router = APIRouter(prefix="/roboflow", tags=["compat-roboflow"])
BATCHES = "/data-staging/v1/external/{workspace}/batches"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def _batch(b: StagingBatchRow) -> dict[str, Any]:
    return {
        "displayName": b.display_name,
        "batchId": b.batch_id,
        "batchType": b.batch_type,
        "batchContentType": b.content_type,
        "createdDate": _iso(b.created_at),
        "expiryDate": _iso(b.expires_at),
    }


@router.get("")
def workspace() -> dict[str, str]:
    """Workspace discovery (``GET {API_BASE_URL}?api_key=...``)."""
    return {"workspace": WORKSPACE}


@router.get(BATCHES)
def list_batches(
    workspace: str,
    p: PlatformDep,
    pageSize: int | None = None,
    nextPageToken: str | None = None,
) -> dict[str, Any]:
    """list-batches."""
    page = staging.list_batches(p, pageSize, nextPageToken)
    return {"batches": [_batch(b) for b in page.items], "nextPageToken": page.next_token}


@router.get(BATCHES + "/{batch_id}")
def batch_metadata(workspace: str, batch_id: str, p: PlatformDep) -> dict[str, Any]:
    """show-batch-details."""
    return {"batch": _batch(staging.describe_batch(p, batch_id)[0])}


@router.get(BATCHES + "/{batch_id}/count")
def batch_count(workspace: str, batch_id: str, p: PlatformDep) -> dict[str, int]:
    """Files count."""
    return {"count": staging.describe_batch(p, batch_id)[1]}


@router.get(BATCHES + "/{batch_id}/shards")
def batch_shards(workspace: str, batch_id: str, p: PlatformDep) -> dict[str, Any]:
    """Shard statuses."""
    shards = staging.describe_batch(p, batch_id)[2]
    return {
        "shards": [
            {
                "shardId": s.shard_id,
                "statusName": s.status,
                "statusType": s.status.lower(),
                "eventTimestamp": _iso(s.updated_at),
                "shardObjectsCount": s.objects_count,
                "statusMetadata": {"rejected": s.rejected},
            }
            for s in shards
        ],
        "nextPageToken": None,
    }


@router.get(BATCHES + "/{batch_id}/list")
def batch_list(
    workspace: str,
    batch_id: str,
    request: Request,
    p: PlatformDep,
    pageSize: int | None = None,
    nextPageToken: str | None = None,
) -> dict[str, Any]:
    """list-batch-content / export-batch."""
    page = staging.list_files(p, batch_id, pageSize, nextPageToken)
    files = [
        {
            "downloadURL": download_url(request, batch_id, f.name),
            "fileName": f.name,
            "shardId": f.shard_id,
            "contentType": f.content_type,
        }
        for f in page.items
    ]
    return {"filesMetadata": files, "nextPageToken": page.next_token}


@router.post(BATCHES + "/{batch_id}/upload/image")
async def upload_image(
    workspace: str,
    batch_id: str,
    request: Request,
    p: PlatformDep,
    fileName: str,
    displayName: str | None = None,
) -> dict[str, Any]:
    """Small-batch upload: one multipart part named after the file."""
    form = await request.form()
    part = next(iter(form.values()), None)
    data = await part.read() if part is not None and not isinstance(part, str) else b""
    staging.upload_image(p, batch_id, fileName, data, displayName)
    return {"status": "ok"}


@router.post(BATCHES + "/{batch_id}/bulk-upload/image-files")
def register_shard(
    workspace: str, batch_id: str, request: Request, p: PlatformDep, displayName: str | None = None
) -> dict[str, Any]:
    """Bulk upload: hand out an upload URL for one tar shard (served by ourselves)."""
    shard_id = staging.register_shard_upload(p, batch_id, displayName)
    return _upload_target(request, f"/v1/staging-uploads/{shard_id}")


def _upload_target(request: Request, path: str) -> dict[str, Any]:
    """The client's ``signedURLDetails``: a signed PUT link to ourselves."""
    return {"signedURLDetails": {"uploadURL": signed(request, "PUT", path), "extensionHeaders": {}}}


def _references(
    p: Platform, batch_id: str, body: dict[str, Any], display_name: str | None, content: str
) -> tuple[str, list[str]]:
    """A references ingest from the client's body (``imageReferences`` or ``videoReferences``)."""
    prefix = "image" if content == "images" else "video"
    return staging_sources.ingest_references(
        p,
        batch_id,
        body.get(f"{prefix}References"),
        body.get(f"{prefix}ReferencesURL"),
        display_name,
        body.get("ingestId"),
        body.get("notificationsURL"),
        body.get("notificationCategories"),
        content=content,
    )


@router.post(BATCHES + "/{batch_id}/bulk-upload/image-references")
def image_references(
    workspace: str, batch_id: str, body: dict[str, Any], p: PlatformDep, displayName: str | None = None
) -> dict[str, Any]:
    """References ingest (signed URLs listed by the client, or a JSONL at a URL)."""
    ingest_id, shard_ids = _references(p, batch_id, body, displayName, "images")
    return {"ingestId": ingest_id, "shardIds": shard_ids}


@router.post(BATCHES + "/{batch_id}/upload/video")
def upload_video(
    workspace: str,
    batch_id: str,
    request: Request,
    p: PlatformDep,
    fileName: str,
    displayName: str | None = None,
) -> dict[str, Any]:
    """Video upload: hand out an upload URL (served by ourselves) for the video's bytes."""
    shard_id = staging.register_video_upload(p, batch_id, fileName, displayName)
    return _upload_target(request, f"/v1/staging-uploads/{shard_id}/{quote(fileName)}")


@router.post(BATCHES + "/{batch_id}/bulk-upload/video-references")
def video_references(
    workspace: str, batch_id: str, body: dict[str, Any], p: PlatformDep, displayName: str | None = None
) -> dict[str, Any]:
    """Video references ingest (signed URLs listed by the client, or a JSONL at a URL)."""
    ingest_id, _ = _references(p, batch_id, body, displayName, "videos")
    return {"ingestId": ingest_id}


JOBS = "/batch-processing/v1/external/{workspace}/jobs"


def _job(j: BatchJobRow) -> dict[str, Any]:
    return {
        "jobId": j.job_id,
        "name": j.name,
        "jobDefinition": j.definition,
        "currentStage": j.stage,
        "plannedStages": ["processing"],
        "error": j.error,
        "isTerminal": j.status in batch_jobs.TERMINAL,
        "lastNotification": j.notification,
        "createdAt": _iso(j.created_at),
        "lastUpdate": _iso(j.updated_at),
        "restartParametersOverride": j.overrides,
    }


@router.get(JOBS)
def list_jobs(
    workspace: str, p: PlatformDep, pageSize: int | None = None, nextPageToken: str | None = None
) -> dict[str, Any]:
    """list-jobs."""
    rows, token = batch_jobs.list_jobs(p, pageSize, nextPageToken)
    return {"jobs": [_job(j) for j in rows], "nextPageToken": token}


@router.post(JOBS + "/{job_id}")
def create_job(
    workspace: str, job_id: str, body: dict[str, Any], p: PlatformDep, name: str | None = None
) -> dict[str, Any]:
    """process-images-with-workflow."""
    return {"job": _job(batch_jobs.create_job(p, job_id, body, name))}


@router.get(JOBS + "/{job_id}")
def job_details(workspace: str, job_id: str, p: PlatformDep) -> dict[str, Any]:
    """show-job-details."""
    return {"job": _job(batch_jobs.get_job(p, job_id))}


@router.get(JOBS + "/{job_id}/stages")
def job_stages(workspace: str, job_id: str, p: PlatformDep) -> dict[str, Any]:
    """The job's (single) processing stage."""
    j = batch_jobs.get_job(p, job_id)
    shards = staging.describe_batch(p, j.input_batch)[2]
    status = "info" if j.status == "RUNNING" else "error" if j.error or j.status == "ABORTED" else "success"
    return {
        "stages": [
            {
                "processingStageId": "processing",
                "processingStageName": "Processing",
                "tasksNumber": max(1, len(shards)),
                "outputBatches": [j.output_batch],
                "startTimestamp": _iso(j.started_at),
                "notification": j.notification,
                "statusType": status,
                "lastEventTimestamp": _iso(j.updated_at),
            }
        ]
    }


@router.get(JOBS + "/{job_id}/stages/{stage_id}/tasks")
def stage_tasks(workspace: str, job_id: str, stage_id: str, p: PlatformDep) -> dict[str, Any]:
    """Per-task (input shard) status."""
    j = batch_jobs.get_job(p, job_id)
    tasks = [
        {
            "taskId": task_id,
            "notification": {"processed": t["processed"], "failed": t["failed"]},
            "statusType": "success",
            "progress": 1.0,
            "eventTimestamp": _iso(t["at"]),
        }
        for task_id, t in j.tasks.items()
    ]
    return {"tasks": tasks, "nextPageToken": None}


@router.post(JOBS + "/{job_id}/abort")
def abort_job(workspace: str, job_id: str, p: PlatformDep) -> dict[str, Any]:
    """abort-job."""
    return {"job": _job(batch_jobs.abort_job(p, job_id))}


@router.post(JOBS + "/{job_id}/restart")
def restart_job(workspace: str, job_id: str, body: dict[str, Any], p: PlatformDep) -> dict[str, Any]:
    """restart-job with a parameters-override-v1 body."""
    return {"job": _job(batch_jobs.restart_job(p, job_id, body))}


@router.get(JOBS + "/{job_id}/logs")
def job_logs(
    workspace: str, job_id: str, p: PlatformDep, pageSize: int | None = None, nextPageToken: str | None = None
) -> dict[str, Any]:
    """fetch-logs."""
    entries = batch_jobs.job_logs(p, job_id)
    return {
        "logs": [
            {
                "createdAt": _iso(e.created_at),
                "processingStageId": "processing",
                "taskId": e.task_id,
                "severity": e.severity,
                "reportingModule": "anomalens-batch-runner",
                "logType": e.log_type,
                "payload": e.payload,
            }
            for e in entries
        ],
        "nextPageToken": None,
    }
