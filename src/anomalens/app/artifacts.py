"""Local copies of model artifacts (hosting and batch workers read them from disk)."""

from __future__ import annotations

from pathlib import Path

from anomalens.app.context import Platform
from anomalens.domain.errors import Conflict
from anomalens.domain.statuses import ModelStatus
from anomalens.store.models import ModelRepository
from anomalens.store.projects import ProjectRepository


def local_artifact(p: Platform, project: str, version: int, key: str) -> Path:
    """Download (once) the artifact under ``key`` into the cache; returns its directory."""
    local = p.cache_dir / "artifacts" / project / str(version) / key.rsplit("/", 1)[-1]
    if not (local / "model.json").exists():
        tmp = local.with_name(local.name + ".partial")
        p.blobs.get_dir(key, tmp)
        if not local.exists():
            tmp.replace(local)
    return local


def trained_artifact(p: Platform, project: str, version: str) -> tuple[int, Path]:
    """(version number, local artifact dir) of a model that finished training."""
    with p.db.unit_of_work() as s:
        row = ModelRepository(s).row(ProjectRepository(s).project_row(project), version)
        if ModelStatus(row.status) in (ModelStatus.TRAINING, ModelStatus.TRAINING_FAILED) or not row.artifact_key:
            raise Conflict(
                f"Model version {row.version} of {project!r} is {row.status}; it has no trained artifact.",
                field="model_version",
            )
        number, key = row.version, row.artifact_key
    return number, local_artifact(p, project, number, key)
