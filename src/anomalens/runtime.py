"""Composition root: builds the platform, job workers, host manager and API for one process."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

import uvicorn

from anomalens.api.app import create_app
from anomalens.app.batch_runner import BatchRunHandler
from anomalens.app.context import Platform
from anomalens.app.hosting import HostManager
from anomalens.app.importing import DatasetImportHandler
from anomalens.app.staging_cleanup import StagingSweeper
from anomalens.app.staging_ingest import StagingIngestHandler, StagingListHandler
from anomalens.app.training import TrainingHandler
from anomalens.config import Settings
from anomalens.events.delivery import DeliveryWorker
from anomalens.jobs.worker import JobHandler, Worker

log = logging.getLogger("anomalens")


def handlers(platform: Platform) -> list[JobHandler]:
    """Every job kind this release runs."""
    return [
        DatasetImportHandler(platform),
        TrainingHandler(platform),
        StagingIngestHandler(platform),
        StagingListHandler(platform),
        BatchRunHandler(platform),
    ]


def webhook_authorization(settings: Settings) -> str:
    """``Bearer <secret>``: the configured secret, or one generated once and kept in HOME."""
    if settings.webhook_secret:
        return f"Bearer {settings.webhook_secret}"
    path = settings.home / "webhook-secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return f"Bearer {path.read_text().strip()}"


@dataclass
class Runtime:
    """The live parts of one ``serve`` (or ``worker``) process."""

    platform: Platform
    worker: Worker
    host: HostManager
    delivery: DeliveryWorker
    sweeper: StagingSweeper

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        """Connect, migrate the schema to head, and wire the parts (nothing started yet)."""
        platform = Platform.from_settings(settings)
        platform.db.upgrade()
        worker = Worker(platform.db, handlers(platform), lease_s=settings.lease_seconds)
        delivery = DeliveryWorker(
            platform.db, webhook_authorization(settings), base_delay=settings.webhook_retry_base_seconds
        )
        sweeper = StagingSweeper(platform, settings.staging_sweep_seconds)
        return cls(platform, worker, HostManager(platform), delivery, sweeper)

    def start_background(self, *, workers: int, hosting: bool = True) -> None:
        """Start job worker threads and (optionally) the host manager."""
        self.worker.start(workers)
        self.delivery.start()
        self.sweeper.start()
        if hosting:
            self.host.start()

    def stop(self) -> None:
        """Stop background threads (running jobs are resumed by the next worker after their lease)."""
        self.worker.stop()
        self.delivery.stop_event.set()
        self.sweeper.stop()
        self.host.stop()


def serve(settings: Settings) -> None:
    """Run API, job workers and hosted models in this process until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    runtime = Runtime.build(settings)
    runtime.start_background(workers=settings.job_workers)
    app = create_app(runtime.platform, runtime.host)
    log.info("Anomalens serving on http://%s:%s (data in %s)", settings.host, settings.port, settings.home)
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    finally:
        runtime.stop()


def work(settings: Settings) -> None:
    """Run only job workers (scale-out: more workers on the same database and storage)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    runtime = Runtime.build(settings)
    log.info("Anomalens worker %s running %d thread(s)", runtime.worker.owner, max(1, settings.job_workers))
    runtime.worker.start(max(1, settings.job_workers))
    runtime.delivery.start()
    try:
        runtime.worker.stop_event.wait()
    except KeyboardInterrupt:
        runtime.stop()
