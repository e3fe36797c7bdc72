"""Workflow and batch-job routes (native API)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from anomalens.api.deps import PlatformDep
from anomalens.app import batch_jobs, notifications, workflows
from anomalens.store.batch_rows import BatchJobLogRow, BatchJobRow, WorkflowRow

router = APIRouter(prefix="/v1", tags=["batch"])


def workflow_public(w: WorkflowRow) -> dict[str, Any]:
    """A workflow version."""
    return {
        "WorkflowId": w.workflow_id,
        "Version": w.version,
        "Definition": w.definition,
        "CreationTimestamp": w.created_at,
    }


def job_public(j: BatchJobRow) -> dict[str, Any]:
    """A batch job with its tasks."""
    return {
        "JobId": j.job_id,
        "Name": j.name,
        "Status": j.status,
        "Stage": j.stage,
        "Error": j.error,
        "InputBatch": j.input_batch,
        "OutputBatch": j.output_batch,
        "Workflow": f"{j.workflow_id}@{j.workflow_version}",
        "Definition": j.definition,
        "Tasks": j.tasks,
        "Notification": j.notification,
        "RestartOverrides": j.overrides,
        "CreationTimestamp": j.created_at,
        "LastUpdatedTimestamp": j.updated_at,
    }


def log_public(entry: BatchJobLogRow) -> dict[str, Any]:
    """A job log entry."""
    return {
        "Timestamp": entry.created_at,
        "Severity": entry.severity,
        "TaskId": entry.task_id,
        "Type": entry.log_type,
        "Payload": entry.payload,
    }


@router.put("/workflows/{workflow_id}")
def save_workflow(workflow_id: str, body: dict[str, Any], p: PlatformDep) -> dict[str, Any]:
    """Store a workflow definition as a new version."""
    return {"Workflow": workflow_public(workflows.save_workflow(p, workflow_id, body))}


@router.get("/workflows")
def list_workflows(p: PlatformDep) -> dict[str, Any]:
    """Newest version of every workflow."""
    return {"Workflows": [workflow_public(w) for w in workflows.list_workflows(p)]}


@router.get("/workflows/{workflow_id}")
def get_workflow(workflow_id: str, p: PlatformDep, version: int | None = None) -> dict[str, Any]:
    """One workflow (newest version unless ``version`` is given)."""
    return {"Workflow": workflow_public(workflows.get_workflow(p, workflow_id, version))}


@router.post("/batch-jobs", status_code=202)
def create_job(body: dict[str, Any], p: PlatformDep) -> dict[str, Any]:
    """Start a batch job: ``{"JobId"?, "Name"?, "Definition": {...}}`` (Roboflow job shape; ``type`` optional)."""
    return {
        "Job": job_public(batch_jobs.create_job(p, body.get("JobId"), body.get("Definition") or {}, body.get("Name")))
    }


@router.get("/batch-jobs")
def list_jobs(p: PlatformDep, maxResults: int | None = None, nextToken: str | None = None) -> dict[str, Any]:
    """Batch jobs, newest first."""
    rows, token = batch_jobs.list_jobs(p, maxResults, nextToken)
    return {"Jobs": [job_public(j) for j in rows], "NextToken": token}


@router.get("/batch-jobs/{job_id}")
def get_job(job_id: str, p: PlatformDep) -> dict[str, Any]:
    """One batch job."""
    return {"Job": job_public(batch_jobs.get_job(p, job_id))}


@router.post("/batch-jobs/{job_id}/abort")
def abort_job(job_id: str, p: PlatformDep) -> dict[str, Any]:
    """Abort a running job."""
    return {"Job": job_public(batch_jobs.abort_job(p, job_id))}


@router.post("/batch-jobs/{job_id}/restart", status_code=202)
def restart_job(job_id: str, body: dict[str, Any], p: PlatformDep) -> dict[str, Any]:
    """Restart a failed or aborted job with parameter overrides."""
    return {"Job": job_public(batch_jobs.restart_job(p, job_id, body))}


@router.get("/batch-jobs/{job_id}/logs")
def job_logs(job_id: str, p: PlatformDep) -> dict[str, Any]:
    """A job's log entries."""
    return {"Logs": [log_public(e) for e in batch_jobs.job_logs(p, job_id)]}


@router.get("/events")
def list_events(p: PlatformDep, limit: int = 100) -> dict[str, Any]:
    """Recent notifications with every delivery attempt (newest first)."""
    return {
        "Events": [
            {
                "EventId": e.event_id,
                "Category": e.category,
                "Url": e.url,
                "Status": e.status,
                "Attempts": e.attempts,
                "Body": e.body,
                "LastError": e.last_error,
                "Deliveries": [
                    {"Attempt": d.attempt, "At": d.at, "StatusCode": d.status_code, "Error": d.error}
                    for d in deliveries
                ],
            }
            for e, deliveries in notifications.list_events(p, min(max(limit, 1), 1000))
        ]
    }
