"""Deleting staging batches: on request, and when they expire (the seed's "expiry of staged data").

Blobs go first, then the rows, so an interrupted deletion is simply finished by the next sweep;
an expired batch id stays refused (Conflict) until its rows are gone, so new data never lands
in a prefix that is being removed. A batch that a running job reads or writes is kept until the
job ends.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from anomalens.app.context import Platform
from anomalens.domain import staging
from anomalens.domain.errors import Conflict
from anomalens.store.batch_rows import BatchJobRow
from anomalens.store.staging import StagingRepository
from anomalens.store.staging_rows import StagingBatchRow

log = logging.getLogger("anomalens.staging")


def _busy(s: Session, batch_id: str) -> bool:
    """True while a running batch job reads or writes the batch."""
    stmt = select(BatchJobRow.job_id).where(
        BatchJobRow.status == "RUNNING",
        or_(BatchJobRow.input_batch == batch_id, BatchJobRow.output_batch == batch_id),
    )
    return s.scalars(stmt).first() is not None


def _remove(p: Platform, batch_id: str, batch_pk: int) -> None:
    p.blobs.delete_prefix(f"staging/{batch_id}")
    with p.db.unit_of_work() as s:
        row = s.get(StagingBatchRow, batch_pk)
        if row is not None and row.expires_at < time.time():
            StagingRepository(s).delete(row)


def delete_batch(p: Platform, batch_id: str) -> None:
    """Delete a live batch now (its files and blobs); refused while a running job uses it."""
    staging.batch_id(batch_id)
    with p.db.unit_of_work() as s:
        batch = StagingRepository(s).batch(batch_id, lock=True)
        if _busy(s, batch_id):
            raise Conflict(f"Batch {batch_id!r} is used by a running batch job; abort it first.", field="batchId")
        batch.expires_at = time.time() - 1  # from now on it is expired: refused, and swept if we stop here
        pk = batch.id
    _remove(p, batch_id, pk)


def purge_expired(p: Platform, now: float | None = None) -> list[str]:
    """Delete every expired batch that no running job uses; the ids deleted."""
    with p.db.unit_of_work() as s:
        expired = [(b.batch_id, b.id) for b in StagingRepository(s).expired(now or time.time())]
        idle = [(batch_id, pk) for batch_id, pk in expired if not _busy(s, batch_id)]
    for batch_id, pk in idle:
        _remove(p, batch_id, pk)
    return [batch_id for batch_id, _ in idle]


class StagingSweeper:
    """A background thread that purges expired batches every ``interval`` seconds."""

    def __init__(self, platform: Platform, interval: float) -> None:
        self.p, self.interval = platform, interval
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        """Sweep once now, then every interval, until stopped."""
        self.thread = threading.Thread(target=self._loop, name="staging-sweeper", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            try:
                if purged := purge_expired(self.p):
                    log.info("Deleted expired staging batches: %s", ", ".join(purged))
            except Exception:  # a failed sweep is retried at the next interval
                log.exception("staging sweep failed")
            self.stop_event.wait(self.interval)

    def stop(self) -> None:
        """Ask the thread to end."""
        self.stop_event.set()
