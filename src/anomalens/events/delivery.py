"""Delivering events: HTTP POST with an Authorization header, retried with exponential backoff.

A delivery thread claims one due event at a time with an atomic update that also pushes its
next attempt into the future (a lease), so two processes never send the same attempt at once and
a crash mid-send only delays the retry. Each attempt is recorded. An event is delivered at least
once; after ``MAX_ATTEMPTS`` failures it is marked FAILED.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import httpx
from sqlalchemy import select, update

from anomalens.store.db import Database
from anomalens.store.event_rows import DeliveryRow, EventRow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
SEND_LEASE_S = 60.0


def backoff(attempt: int, base: float) -> float:
    """Seconds before the next attempt after ``attempt`` failures."""
    return float(min(3600.0, base * 2 ** (attempt - 1)))


class DeliveryWorker:
    """Sends due events until stopped."""

    def __init__(self, db: Database, authorization: str, *, base_delay: float = 2.0, poll_s: float = 0.5) -> None:
        self.db, self.authorization, self.base_delay, self.poll_s = db, authorization, base_delay, poll_s
        self.stop_event = threading.Event()
        self.http = httpx.Client(timeout=10, follow_redirects=False)

    def _claim(self) -> tuple[int, str, dict[str, Any], int] | None:
        now = time.time()
        with self.db.unit_of_work() as s:
            pick = (
                select(EventRow.id)
                .where(EventRow.status == "PENDING", EventRow.next_attempt_at <= now)
                .order_by(EventRow.next_attempt_at)
                .limit(1)
                .scalar_subquery()
            )
            got = s.execute(
                update(EventRow)
                .where(EventRow.id == pick, EventRow.status == "PENDING", EventRow.next_attempt_at <= now)
                .values(attempts=EventRow.attempts + 1, next_attempt_at=now + SEND_LEASE_S)
                .returning(EventRow.id, EventRow.url, EventRow.body, EventRow.attempts)
            ).first()
        return (got[0], got[1], dict(got[2]), got[3]) if got else None

    def send_one(self) -> bool:
        """Send one due event; False when none was due."""
        claimed = self._claim()
        if claimed is None:
            return False
        pk, url, body, attempt = claimed
        code, error = None, ""
        try:
            response = self.http.post(
                url, json=body | {"delivery_attempt": attempt}, headers={"Authorization": self.authorization}
            )
            code = response.status_code
            if not 200 <= code < 300:
                error = f"HTTP {code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        with self.db.unit_of_work() as s:
            s.add(DeliveryRow(event_pk=pk, attempt=attempt, at=time.time(), status_code=code, error=error))
            values: dict[str, Any] = {"last_error": error}
            if not error:
                values["status"] = "DELIVERED"
            elif attempt >= MAX_ATTEMPTS:
                values["status"] = "FAILED"
            else:
                values["next_attempt_at"] = time.time() + backoff(attempt, self.base_delay)
            s.execute(update(EventRow).where(EventRow.id == pk).values(**values))
        return True

    def loop(self) -> None:
        """Deliver until stopped."""
        while not self.stop_event.is_set():
            try:
                busy = self.send_one()
            except Exception:
                log.exception("event delivery failed")
                busy = False
            if not busy:
                self.stop_event.wait(self.poll_s)

    def start(self) -> threading.Thread:
        """Run :meth:`loop` in a daemon thread."""
        thread = threading.Thread(target=self.loop, name="event-delivery", daemon=True)
        thread.start()
        return thread
