"""Model version use cases: describe, list, delete, tags (spec §2.3.11-2.3.13, §2.3.20)."""

from __future__ import annotations

from dataclasses import dataclass

from anomalens.app import pagination
from anomalens.app.context import Platform
from anomalens.domain import arns, names
from anomalens.domain.entities import Model
from anomalens.domain.errors import Conflict
from anomalens.domain.statuses import ModelStatus
from anomalens.store.models import ModelRepository
from anomalens.store.projects import ProjectRepository


@dataclass(frozen=True)
class ModelPage:
    """One page of model versions (newest first)."""

    models: list[Model]
    next_token: str | None


def describe_model(p: Platform, project: str, version: str) -> Model:
    """A model version (``latest`` allowed)."""
    names.project_name(project)
    names.model_version(version)
    with p.db.unit_of_work() as s:
        prow = ProjectRepository(s).project_row(project)
        repo = ModelRepository(s)
        return repo.to_model(repo.row(prow, version), project)


def list_models(p: Platform, project: str, max_results: int | None = None, next_token: str | None = None) -> ModelPage:
    """Model versions of a project, newest first, paginated."""
    names.project_name(project)
    limit = names.max_results(max_results)
    offset = pagination.decode(next_token)
    with p.db.unit_of_work() as s:
        prow = ProjectRepository(s).project_row(project)
        repo = ModelRepository(s)
        rows = repo.list_rows(prow, offset, limit + 1)
        models = [repo.to_model(r, project) for r in rows[:limit]]
    return ModelPage(models, pagination.next_token(offset, len(rows), limit))


def delete_model(p: Platform, project: str, version: str) -> str:
    """Delete a model version that is neither training nor hosted; returns its ARN."""
    names.project_name(project)
    names.model_version(version, allow_latest=False)
    with p.db.unit_of_work() as s:
        prow = ProjectRepository(s).project_row(project)
        repo = ModelRepository(s)
        row = repo.row(prow, version)
        status = ModelStatus(row.status)
        if status not in (ModelStatus.TRAINED, ModelStatus.TRAINING_FAILED, ModelStatus.HOSTING_FAILED):
            hint = "wait for training to finish" if status is ModelStatus.TRAINING else "stop it first"
            raise Conflict(f"Model version {version} is {status.value}; {hint}.", field="ModelVersion")
        repo.delete(row)
    p.blobs.delete_prefix(f"projects/{project}/models/{version}")
    return arns.model_arn(project, int(version))


def _model_row_for_arn(p: Platform, arn: str) -> tuple[str, int]:
    return arns.parse_model_arn(arn)


def tag_model(p: Platform, arn: str, tags: dict[str, str]) -> None:
    """Add or overwrite tags of a model version."""
    project, version = _model_row_for_arn(p, arn)
    names.tags(tags)
    with p.db.unit_of_work() as s:
        repo = ModelRepository(s)
        row = repo.row(ProjectRepository(s).project_row(project), version)
        merged = repo.to_model(row, project).tags | tags
        names.tags(merged)
        repo.set_tags(row, tags)


def untag_model(p: Platform, arn: str, keys: list[str]) -> None:
    """Remove tags of a model version by key."""
    project, version = _model_row_for_arn(p, arn)
    with p.db.unit_of_work() as s:
        repo = ModelRepository(s)
        repo.remove_tags(repo.row(ProjectRepository(s).project_row(project), version), keys)


def list_tags(p: Platform, arn: str) -> dict[str, str]:
    """Tags of a model version."""
    project, version = _model_row_for_arn(p, arn)
    with p.db.unit_of_work() as s:
        repo = ModelRepository(s)
        return repo.to_model(repo.row(ProjectRepository(s).project_row(project), version), project).tags
