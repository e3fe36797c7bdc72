"""Job use cases: look up background work and its progress."""

from __future__ import annotations

from anomalens.app.context import Platform
from anomalens.domain import names
from anomalens.domain.entities import Job
from anomalens.jobs import queue


def get_job(p: Platform, job_id: int) -> Job:
    """A job with its progress and result."""
    with p.db.unit_of_work() as s:
        return queue.get(s, job_id)


def list_jobs(p: Platform, max_results: int | None = None, status: str | None = None) -> list[Job]:
    """Recent jobs, newest first."""
    with p.db.unit_of_work() as s:
        return queue.list_jobs(s, limit=names.max_results(max_results), status=status)
