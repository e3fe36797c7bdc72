"""Worker loop: claim a job, run its handler with a heartbeating lease, record the outcome.

Lifecycle follows ``setup -> loop until stop -> teardown``. A handler raising an
:class:`AnomalensError` failed because of the user's data: the job fails at once and the
handler's ``give_up`` records the reason on the resource. Anything else is retried with
backoff until the job's attempts are spent. A job whose worker died (lease expired) is
claimed again; if that was its last attempt it is given up instead of run forever.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from typing import Any, Protocol

from sqlalchemy.orm import Session

from anomalens.domain.errors import AnomalensError
from anomalens.jobs import queue
from anomalens.jobs.queue import Claimed, LeaseLost
from anomalens.store.db import Database

log = logging.getLogger(__name__)


class JobContext:
    """What a handler sees: the payload, a progress reporter and the lease-guarded commit."""

    def __init__(self, db: Database, job: Claimed, lease_s: float) -> None:
        self.db, self.job, self.lease_s = db, job, lease_s
        self._progress: tuple[float, str] | None = None
        self._lost = threading.Event()
        self._done = threading.Event()

    @property
    def payload(self) -> dict[str, Any]:
        """The job's input."""
        return self.job.payload

    def progress(self, fraction: float, message: str) -> None:
        """Report progress (written by the heartbeat); raises LeaseLost if the job was taken over."""
        if self._lost.is_set():
            raise LeaseLost(f"job {self.job.id} lease lost")
        self._progress = (fraction, message)

    def finish(self, session: Session, result: dict[str, Any], message: str = "Done.") -> None:
        """Mark the job succeeded in the same transaction as its outputs."""
        queue.finish(session, self.job, result, message)

    def _beat(self) -> None:
        while not self._done.wait(self.lease_s / 3):
            pending, self._progress = self._progress, None
            try:
                queue.heartbeat(self.db, self.job, self.lease_s, *(pending or (None, None)))
            except LeaseLost:
                self._lost.set()
                return
            except Exception:  # a transient DB error must not kill the heartbeat
                log.exception("heartbeat of job %s failed", self.job.id)


class JobHandler(Protocol):
    """One kind of job."""

    kind: str

    def run(self, ctx: JobContext) -> None:
        """Do the work; call ``ctx.finish`` inside the transaction that commits the outputs."""

    def give_up(self, session: Session, payload: dict[str, Any], message: str) -> None:
        """Record on the resource that the job failed for good (e.g. TRAINING_FAILED)."""


class Worker:
    """Runs jobs of the registered kinds until stopped."""

    def __init__(self, db: Database, handlers: list[JobHandler], *, lease_s: float, poll_s: float = 0.5) -> None:
        self.db, self.lease_s, self.poll_s = db, lease_s, poll_s
        self.handlers = {h.kind: h for h in handlers}
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stop_event = threading.Event()

    def run_one(self) -> bool:
        """Claim and run one job; False when none was runnable."""
        job = queue.claim(self.db, self.owner, self.lease_s, list(self.handlers))
        if job is None:
            return False
        handler = self.handlers[job.kind]
        if job.attempts > job.max_attempts:
            self._give_up(handler, job, f"Gave up after {job.max_attempts} attempts (the worker stopped each time).")
            return True
        ctx = JobContext(self.db, job, self.lease_s)
        beat = threading.Thread(target=ctx._beat, name=f"heartbeat-{job.id}", daemon=True)
        beat.start()
        try:
            handler.run(ctx)
        except LeaseLost:
            log.warning("job %s was taken over by another worker; dropped its outputs", job.id)
        except AnomalensError as exc:
            self._give_up(handler, job, exc.message)
        except Exception as exc:
            log.exception("job %s (%s) attempt %s failed", job.id, job.kind, job.attempts)
            reason = f"{type(exc).__name__}: {exc}"
            if job.attempts < job.max_attempts:
                queue.fail(
                    self.db,
                    job,
                    f"Attempt {job.attempts} failed ({reason}); retrying.",
                    retry_in=min(60.0, 2.0**job.attempts),
                )
            else:
                self._give_up(handler, job, f"Failed after {job.attempts} attempts: {reason}")
        finally:
            ctx._done.set()
        return True

    def _give_up(self, handler: JobHandler, job: Claimed, message: str) -> None:
        queue.fail(self.db, job, message, retry_in=None)
        with self.db.unit_of_work() as s:
            handler.give_up(s, job.payload, message)

    def loop(self) -> None:
        """Run jobs until :attr:`stop_event` is set."""
        while not self.stop_event.is_set():
            try:
                busy = self.run_one()
            except Exception:
                log.exception("worker loop error")
                busy = False
            if not busy:
                self.stop_event.wait(self.poll_s)

    def start(self, threads: int) -> list[threading.Thread]:
        """Start ``threads`` daemon threads running :meth:`loop`."""
        started = []
        for i in range(threads):
            t = threading.Thread(target=self.loop, name=f"job-worker-{i}", daemon=True)
            t.start()
            started.append(t)
        return started

    def stop(self) -> None:
        """Ask the loops to stop after their current job."""
        self.stop_event.set()
