"""The job queue: the row is the truth.

* ``enqueue`` writes a row in the caller's transaction, so a resource and its job appear together.
* ``claim`` takes one runnable job with a single atomic ``UPDATE ... RETURNING`` (plus
  ``FOR UPDATE SKIP LOCKED`` on PostgreSQL); a RUNNING job whose lease expired is runnable again,
  which is how work survives ``kill -9``.
* ``finish`` marks success in the handler's own output transaction, guarded by the lease owner,
  so outputs are committed exactly once even if two workers ever raced.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from anomalens.domain.entities import Job
from anomalens.domain.errors import NotFound
from anomalens.domain.statuses import JobStatus
from anomalens.store.db import Database
from anomalens.store.rows import JobRow


class LeaseLost(Exception):
    """Another worker owns this job now; stop without writing outputs."""


@dataclass(frozen=True)
class Claimed:
    """A job this worker holds the lease of."""

    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    owner: str


def to_job(row: JobRow) -> Job:
    """Entity view of a job row."""
    return Job(
        row.id,
        row.kind,
        JobStatus(row.status),
        dict(row.payload),
        row.attempts,
        row.progress,
        row.message,
        row.result,
        row.created_at,
        row.updated_at,
    )


def enqueue(session: Session, kind: str, payload: dict[str, Any], *, max_attempts: int = 3) -> int:
    """Add a job in the caller's transaction and return its id."""
    now = time.time()
    row = JobRow(
        kind=kind,
        payload=payload,
        status=JobStatus.QUEUED.value,
        attempts=0,
        max_attempts=max_attempts,
        run_after=now,
        progress=0.0,
        message="Queued.",
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row.id


def _runnable(now: float) -> Any:
    return or_(
        and_(JobRow.status == JobStatus.QUEUED.value, JobRow.run_after <= now),
        and_(JobRow.status == JobStatus.RUNNING.value, JobRow.lease_expires < now),
    )


def claim(db: Database, owner: str, lease_s: float, kinds: list[str] | None = None) -> Claimed | None:
    """Atomically take the oldest runnable job, or return None."""
    now = time.time()
    pick = select(JobRow.id).where(_runnable(now)).order_by(JobRow.id).limit(1)
    if kinds:
        pick = pick.where(JobRow.kind.in_(kinds))
    if not db.is_sqlite:
        pick = pick.with_for_update(skip_locked=True)
    stmt = (
        update(JobRow)
        .where(JobRow.id == pick.scalar_subquery(), _runnable(now))
        .values(
            status=JobStatus.RUNNING.value,
            lease_owner=owner,
            lease_expires=now + lease_s,
            attempts=JobRow.attempts + 1,
            updated_at=now,
            message="Running.",
        )
        .returning(JobRow.id, JobRow.kind, JobRow.payload, JobRow.attempts, JobRow.max_attempts)
    )
    with db.unit_of_work() as s:
        got = s.execute(stmt).first()
    if got is None:
        return None
    return Claimed(got[0], got[1], dict(got[2]), got[3], got[4], owner)


def _owned(job_id: int, owner: str) -> Any:
    return and_(JobRow.id == job_id, JobRow.lease_owner == owner, JobRow.status == JobStatus.RUNNING.value)


def heartbeat(
    db: Database, job: Claimed, lease_s: float, progress: float | None = None, message: str | None = None
) -> None:
    """Extend the lease and record progress; raise LeaseLost if the job is no longer ours."""
    now = time.time()
    values: dict[str, Any] = {"lease_expires": now + lease_s, "updated_at": now}
    if progress is not None:
        values["progress"] = max(0.0, min(1.0, progress))
    if message is not None:
        values["message"] = message
    with db.unit_of_work() as s:
        if s.execute(update(JobRow).where(_owned(job.id, job.owner)).values(**values)).rowcount != 1:  # type: ignore[attr-defined]
            raise LeaseLost(f"job {job.id} lease lost")


def finish(session: Session, job: Claimed, result: dict[str, Any], message: str = "Done.") -> None:
    """Mark success inside the handler's output transaction (LeaseLost rolls it all back)."""
    stmt = (
        update(JobRow)
        .where(_owned(job.id, job.owner))
        .values(
            status=JobStatus.SUCCEEDED.value,
            progress=1.0,
            result=result,
            message=message,
            lease_owner=None,
            lease_expires=None,
            updated_at=time.time(),
        )
    )
    if session.execute(stmt).rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseLost(f"job {job.id} lease lost before commit")


def fail(db: Database, job: Claimed, message: str, *, retry_in: float | None) -> bool:
    """Record a failure; requeue after ``retry_in`` seconds if given and attempts remain.

    Returns True when the job was requeued, False when it failed for good.
    """
    requeue = retry_in is not None and job.attempts < job.max_attempts
    now = time.time()
    values: dict[str, Any] = {"lease_owner": None, "lease_expires": None, "updated_at": now, "message": message}
    if requeue:
        assert retry_in is not None
        values |= {"status": JobStatus.QUEUED.value, "run_after": now + retry_in}
    else:
        values |= {"status": JobStatus.FAILED.value}
    with db.unit_of_work() as s:
        s.execute(update(JobRow).where(_owned(job.id, job.owner)).values(**values))
    return requeue


def get(session: Session, job_id: int) -> Job:
    """A job by id."""
    row = session.get(JobRow, job_id)
    if row is None:
        raise NotFound(f"Job {job_id} does not exist.", field="JobId")
    return to_job(row)


def list_jobs(session: Session, *, offset: int = 0, limit: int = 100, status: str | None = None) -> list[Job]:
    """Jobs, newest first."""
    stmt = select(JobRow).order_by(JobRow.id.desc()).offset(offset).limit(limit)
    if status:
        stmt = stmt.where(JobRow.status == status)
    return [to_job(r) for r in session.scalars(stmt)]
