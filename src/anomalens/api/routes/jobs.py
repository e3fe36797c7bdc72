"""Job routes: progress of imports and training."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from anomalens.api import schemas
from anomalens.api.deps import PlatformDep
from anomalens.app import jobs

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.get("")
def list_jobs(p: PlatformDep, maxResults: int | None = None, status: str | None = None) -> dict[str, Any]:
    """Recent jobs, newest first."""
    return {"Jobs": [schemas.job_public(j) for j in jobs.list_jobs(p, maxResults, status)]}


@router.get("/{job_id}")
def get_job(job_id: int, p: PlatformDep) -> dict[str, Any]:
    """One job with progress."""
    return {"Job": schemas.job_public(jobs.get_job(p, job_id))}
