"""Batch-processing jobs: run a stored workflow over a staging batch (Roboflow job semantics).

The job definition keeps the Roboflow ``simple-image-processing-v1`` shape (``jobInput``,
``computeConfiguration``, ``processingSpecification``, limits), so the native API and the
``rf-cloud`` client describe jobs the same way. The work itself is a durable job
(``anomalens.app.batch_runner``); tasks are the input batch's shards and finished tasks are never
redone.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import onnxruntime as ort
from sqlalchemy import select
from sqlalchemy.orm import Session

from anomalens.app import pagination
from anomalens.app.context import Platform
from anomalens.app.workflows import get_workflow
from anomalens.domain import names, staging, workflows
from anomalens.domain.errors import Conflict, InvalidInput, NotFound
from anomalens.jobs import queue
from anomalens.store.batch_rows import BatchJobLogRow, BatchJobRow
from anomalens.store.staging import StagingRepository

RUN_JOB = "batch-process"
IMAGE_JOB = "simple-image-processing-v1"
VIDEO_JOB = "simple-video-processing-v1"
JOB_CONTENT = {IMAGE_JOB: "images", VIDEO_JOB: "videos"}
JOB_FOR_CONTENT = {content: kind for kind, content in JOB_CONTENT.items()}
TERMINAL = {"SUCCEEDED", "FAILED", "ABORTED"}
OVERRIDABLE = ("computeConfiguration", "maxParallelTasks", "processingTimeoutSeconds", "maxImageFailureRate")


def _check_compute(definition: dict[str, Any]) -> None:
    machine = (definition.get("computeConfiguration") or {}).get("machineType") or "cpu"
    if machine not in ("cpu", "gpu"):
        raise InvalidInput(
            f"machineType must be cpu or gpu (got {machine!r}).", field="computeConfiguration.machineType"
        )
    if machine == "gpu" and "CUDAExecutionProvider" not in ort.get_available_providers():
        raise InvalidInput(
            "machineType 'gpu' was asked for, but this server has no GPU; use machineType 'cpu'.",
            field="computeConfiguration.machineType",
        )
    rate = definition.get("maxImageFailureRate")
    if rate is not None and not 0 <= float(rate) <= 1:
        raise InvalidInput(f"maxImageFailureRate must be between 0 and 1 (got {rate}).", field="maxImageFailureRate")
    timeout = definition.get("processingTimeoutSeconds")
    if timeout is not None and float(timeout) <= 0:
        raise InvalidInput(
            f"processingTimeoutSeconds must be positive (got {timeout}).", field="processingTimeoutSeconds"
        )


def create_job(p: Platform, job_id: str | None, definition: dict[str, Any], name: str | None = None) -> BatchJobRow:
    """Validate a job definition and queue it.

    Without a ``type`` the job processes what the batch holds (images or videos frame by frame).
    """
    job_id = workflows.job_id(job_id or f"job-{uuid.uuid4().hex[:12]}")
    kind = definition.get("type")
    if kind is not None and kind not in JOB_CONTENT:
        raise InvalidInput(f"job type {kind!r} is not supported; use {IMAGE_JOB} or {VIDEO_JOB}.", field="type")
    batch_id = staging.batch_id(str((definition.get("jobInput") or {}).get("batchId", "")))
    spec = definition.get("processingSpecification") or {}
    staging.max_video_fps(spec.get("maxVideoFPS"))
    workflow = get_workflow(p, str(spec.get("workflowId", "")))
    if spec.get("aggregationFormat") not in (None, "jsonl", "csv"):
        raise InvalidInput("aggregationFormat must be jsonl or csv.", field="processingSpecification.aggregationFormat")
    _check_compute(definition)
    now = time.time()
    with p.db.unit_of_work() as s:
        batch = StagingRepository(s).batch(batch_id)
        if kind is None:
            if batch.content_type not in JOB_FOR_CONTENT:
                raise InvalidInput(
                    f"batch {batch_id!r} holds {batch.content_type}; jobs process batches of images or videos.",
                    field="jobInput.batchId",
                )
            kind = JOB_FOR_CONTENT[batch.content_type]
            definition = definition | {"type": kind}
        needed = JOB_CONTENT[str(kind)]
        if batch.content_type != needed:
            raise InvalidInput(
                f"batch {batch_id!r} holds {batch.content_type}; a {kind} job needs a batch of {needed}.",
                field="jobInput.batchId",
            )
        if s.scalar(select(BatchJobRow.id).where(BatchJobRow.job_id == job_id)) is not None:
            raise Conflict(f"Job {job_id!r} already exists.", field="jobId")
        row = BatchJobRow(
            job_id=job_id,
            name=name or job_id,
            definition=definition,
            workflow_id=workflow.workflow_id,
            workflow_version=workflow.version,
            input_batch=batch_id,
            output_batch=f"{job_id}-output",
            status="RUNNING",
            stage="processing",
            error=False,
            notification={"message": "queued"},
            overrides=[],
            tasks={},
            started_at=now,
            created_at=now,
            updated_at=now,
        )
        s.add(row)
        s.flush()
        log(s, row, "info", "job-created", {"workflowVersion": workflow.version, "inputBatch": batch_id})
        queue.enqueue(s, RUN_JOB, {"job_id": job_id}, max_attempts=5)
        return row


def log(
    s: Any, job: BatchJobRow, severity: str, log_type: str, payload: dict[str, Any], task_id: str | None = None
) -> None:
    """Append a log entry to a job (in the caller's transaction)."""
    s.add(
        BatchJobLogRow(
            job_pk=job.id,
            created_at=time.time(),
            severity=severity,
            task_id=task_id,
            log_type=log_type,
            payload=payload,
        )
    )


def find_job(s: Session, job_id: str, *, lock: bool = False) -> BatchJobRow:
    stmt = select(BatchJobRow).where(BatchJobRow.job_id == job_id)
    row = s.scalars(stmt.with_for_update() if lock else stmt).one_or_none()
    if row is None:
        raise NotFound(f"Batch job {job_id!r} does not exist.", field="jobId")
    return row


def get_job(p: Platform, job_id: str) -> BatchJobRow:
    """A batch job."""
    with p.db.unit_of_work() as s:
        return find_job(s, job_id)


def list_jobs(
    p: Platform, max_results: int | None = None, next_token: str | None = None
) -> tuple[list[BatchJobRow], str | None]:
    """Batch jobs, newest first."""
    limit, offset = names.max_results(max_results), pagination.decode(next_token)
    with p.db.unit_of_work() as s:
        rows = list(s.scalars(select(BatchJobRow).order_by(BatchJobRow.id.desc()).offset(offset).limit(limit + 1)))
    return rows[:limit], pagination.next_token(offset, len(rows), limit)


def abort_job(p: Platform, job_id: str) -> BatchJobRow:
    """Stop a running job after the task in progress; finished tasks keep their output."""
    with p.db.unit_of_work() as s:
        row = find_job(s, job_id, lock=True)
        if row.status in TERMINAL:
            raise Conflict(f"Job {job_id!r} is already {row.status}.", field="jobId")
        row.status, row.updated_at = "ABORTED", time.time()
        row.notification = {"message": "aborted by the user"}
        log(s, row, "warning", "job-aborted", {})
        return row


def restart_job(p: Platform, job_id: str, overrides: dict[str, Any]) -> BatchJobRow:
    """Restart a failed or aborted job, with parameter overrides; finished tasks are not redone."""
    unknown = set(overrides) - set(OVERRIDABLE) - {"type"}
    if unknown:
        raise InvalidInput(
            f"cannot override {', '.join(sorted(unknown))}; allowed: {', '.join(OVERRIDABLE)}.", field="overrides"
        )
    with p.db.unit_of_work() as s:
        row = find_job(s, job_id, lock=True)
        if row.status not in ("FAILED", "ABORTED"):
            raise Conflict(
                f"Job {job_id!r} is {row.status}; only failed or aborted jobs can be restarted.", field="jobId"
            )
        definition = dict(row.definition) | {k: v for k, v in overrides.items() if k != "type"}
        _check_compute(definition)
        now = time.time()
        row.definition, row.overrides = definition, [*row.overrides, overrides]
        row.status, row.stage, row.error, row.started_at, row.updated_at = "RUNNING", "processing", False, now, now
        row.notification = {"message": "restarted"}
        log(s, row, "info", "job-restarted", {"overrides": overrides})
        queue.enqueue(s, RUN_JOB, {"job_id": job_id}, max_attempts=5)
        return row


def job_logs(p: Platform, job_id: str) -> list[BatchJobLogRow]:
    """Every log entry of a job, oldest first."""
    with p.db.unit_of_work() as s:
        job = find_job(s, job_id)
        return list(
            s.scalars(select(BatchJobLogRow).where(BatchJobLogRow.job_pk == job.id).order_by(BatchJobLogRow.id))
        )
