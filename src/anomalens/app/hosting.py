"""Hosting (StartModel / StopModel, spec §2.3.14-2.3.15) and the in-process host manager.

The database holds the desired state; :class:`HostManager` makes this process match it. Every
tick it loads models that are STARTING_HOSTING (then marks them HOSTED, or HOSTING_FAILED with
the reason), reloads HOSTED models after a restart, and unloads models that are
STOPPING_HOSTING (then marks them TRAINED). So hosting survives restarts with no extra state.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from anomalens.app.artifacts import local_artifact
from anomalens.app.context import Platform
from anomalens.app.inference_units import InferencePool
from anomalens.domain import names
from anomalens.domain.errors import AnomalensError
from anomalens.domain.statuses import ModelStatus, model_transition
from anomalens.store.models import ModelRepository
from anomalens.store.projects import ProjectRepository

log = logging.getLogger(__name__)
HOSTING_STATES = {
    ModelStatus.STARTING_HOSTING,
    ModelStatus.HOSTED,
    ModelStatus.STOPPING_HOSTING,
    ModelStatus.SYSTEM_UPDATING,
}


def start_model(p: Platform, project: str, version: str, min_units: int, max_units: int | None = None) -> str:
    """Ask for the model to be hosted with ``min_units`` (auto-scaling up to ``max_units``)."""
    names.project_name(project)
    names.model_version(version)
    names.inference_units(min_units, max_units, ceiling=p.settings.max_inference_units)
    with p.db.unit_of_work() as s:
        repo = ModelRepository(s)
        row = repo.row(ProjectRepository(s).project_row(project), version)
        target = model_transition(
            ModelStatus(row.status), ModelStatus.STARTING_HOSTING, what=f"Model version {row.version}"
        )
        repo.set_status(row, target, "Starting inference units.")
        row.min_inference_units, row.max_inference_units = min_units, max_units
    return target.value


def stop_model(p: Platform, project: str, version: str) -> str:
    """Ask for the model's inference units to be released."""
    names.project_name(project)
    names.model_version(version)
    with p.db.unit_of_work() as s:
        repo = ModelRepository(s)
        row = repo.row(ProjectRepository(s).project_row(project), version)
        target = model_transition(
            ModelStatus(row.status), ModelStatus.STOPPING_HOSTING, what=f"Model version {row.version}"
        )
        repo.set_status(row, target, "Stopping inference units.")
    return target.value


@dataclass(frozen=True)
class UnitCounts:
    """Live scaling state of a hosted model in this process."""

    desired: int
    in_service: int


class HostManager:
    """Keeps this process's inference pools in line with the models' statuses."""

    def __init__(self, platform: Platform, interval: float = 0.5) -> None:
        self.p, self.interval = platform, interval
        self.pools: dict[tuple[str, int], InferencePool] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def pool(self, project: str, version: int) -> InferencePool | None:
        """The pool of a model version hosted here, if any."""
        return self.pools.get((project, version))

    def counts(self, project: str, version: int) -> UnitCounts | None:
        """Desired/in-service units of a model hosted here."""
        pool = self.pool(project, version)
        return UnitCounts(pool.desired, pool.in_service) if pool else None

    def _load(self, project: str, version: int, key: str | None, min_u: int, max_u: int | None) -> None:
        if key is None:
            raise AnomalensError("the model has no artifact")
        pool = InferencePool(
            local_artifact(self.p, project, version, key), min_u, max_u, threads=self.p.settings.inference_threads
        )
        pool.start()
        self.pools[(project, version)] = pool

    def reconcile(self) -> None:
        """One pass: load what should be hosted, unload what should not, record outcomes."""
        with self._lock, self.p.db.unit_of_work() as s:
            wanted: set[tuple[str, int]] = set()
            for row, project in ModelRepository(s).rows_with_status(HOSTING_STATES):
                key, status = (project, row.version), ModelStatus(row.status)
                if status is ModelStatus.STOPPING_HOSTING:
                    self.pools.pop(key, None)
                    ModelRepository.set_status(row, ModelStatus.TRAINED, "Model stopped.")
                    continue
                wanted.add(key)
                if key in self.pools:
                    self.pools[key].tick()
                    continue
                try:
                    self._load(
                        project, row.version, row.artifact_key, row.min_inference_units or 1, row.max_inference_units
                    )
                except Exception as exc:
                    log.exception("hosting %s v%s failed", project, row.version)
                    ModelRepository.set_status(row, ModelStatus.HOSTING_FAILED, f"Hosting failed: {exc}")
                    continue
                if status is ModelStatus.STARTING_HOSTING:
                    ModelRepository.set_status(row, ModelStatus.HOSTED, "The model is running.")
            for key in set(self.pools) - wanted:
                self.pools.pop(key, None)

    def loop(self) -> None:
        """Reconcile until stopped."""
        while not self._stop.is_set():
            try:
                self.reconcile()
            except Exception:
                log.exception("host reconcile failed")
            self._stop.wait(self.interval)

    def start(self) -> threading.Thread:
        """Run :meth:`loop` in a daemon thread."""
        thread = threading.Thread(target=self.loop, name="host-manager", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Stop reconciling and drop every pool."""
        self._stop.set()
        self.pools.clear()
