"""Notification payloads of the Roboflow batch seed, emitted through the outbox.

Categories: ``ingest-status`` (default) and ``files-status`` for staging ingests; the job
completion notification for batch jobs. Also the query side: recorded events and deliveries.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from anomalens.app.context import Platform
from anomalens.events.outbox import emit
from anomalens.store.event_rows import DeliveryRow, EventRow

CATEGORIES = ("ingest-status", "files-status")
STAGING_TYPE = "roboflow-data-staging-notification-v1"
JOB_TYPE = "roboflow-batch-job-notification-v1"
MAX_FILES_LISTED = 1000


def ingest_done(
    s: Session,
    notify: dict[str, Any] | None,
    batch_id: str,
    shard_id: str,
    ingested: list[str],
    failed: list[dict[str, str]],
) -> None:
    """Emit the ingest-status and/or files-status notifications of a finished shard."""
    if not notify or not notify.get("url"):
        return
    categories = notify.get("categories") or ["ingest-status"]
    base = {"type": STAGING_TYPE, "ingest_id": notify.get("ingest_id"), "batch_id": batch_id, "shard_id": shard_id}
    if "ingest-status" in categories:
        success = bool(ingested) or not failed
        note: dict[str, Any] = {"type": "ingest-status-notification-v1", "success": success}
        if not success:
            first = failed[0]
            note["error_details"] = {"type": first["reason"], "reason": first["detail"]}
        emit(s, notify["url"], "ingest-status", base | {"notification": note})
    if "files-status" in categories:
        note = {
            "type": "ingest-files-status-notification-v1",
            "success": not failed,
            "ingested_files": ingested[:MAX_FILES_LISTED],
            "failed_files": [
                {"type": f["reason"], "file_name": f["file"], "reason": f["detail"]} for f in failed[:MAX_FILES_LISTED]
            ],
            "content_truncated": len(ingested) > MAX_FILES_LISTED or len(failed) > MAX_FILES_LISTED,
        }
        emit(s, notify["url"], "files-status", base | {"notification": note})


def job_done(s: Session, url: str | None, job_id: str, success: bool) -> None:
    """Emit the batch-job completion notification."""
    if url:
        emit(s, url, "job-status", {"type": JOB_TYPE, "job_id": job_id, "job_state": "success" if success else "fail"})


def list_events(p: Platform, limit: int = 100) -> list[tuple[EventRow, list[DeliveryRow]]]:
    """Recent events with their delivery attempts, newest first."""
    with p.db.unit_of_work() as s:
        events = list(s.scalars(select(EventRow).order_by(EventRow.id.desc()).limit(limit)))
        deliveries = list(
            s.scalars(
                select(DeliveryRow).where(DeliveryRow.event_pk.in_([e.id for e in events])).order_by(DeliveryRow.id)
            )
        )
    return [(e, [d for d in deliveries if d.event_pk == e.id]) for e in events]
