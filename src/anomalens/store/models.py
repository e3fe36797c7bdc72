"""Repository of model versions and their tags."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from anomalens.domain.entities import Model, Performance
from anomalens.domain.errors import NotFound
from anomalens.domain.statuses import ModelStatus
from anomalens.store.rows import ModelRow, ProjectRow, TagRow


class ModelRepository:
    """Reads and writes model versions inside the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def to_model(self, row: ModelRow, project: str) -> Model:
        """Build the entity (tags included)."""
        tags = dict(self.s.execute(select(TagRow.key, TagRow.value).where(TagRow.model_id == row.id)).all())
        perf = Performance(**row.performance) if row.performance else None
        return Model(
            project=project,
            version=row.version,
            status=ModelStatus(row.status),
            status_message=row.status_message,
            description=row.description,
            created_at=row.created_at,
            performance=perf,
            output_prefix=row.output_prefix,
            artifact_key=row.artifact_key,
            evaluation_manifest_key=row.evaluation_manifest_key,
            evaluation_result_key=row.evaluation_result_key,
            evaluation_end=row.evaluation_end,
            min_inference_units=row.min_inference_units,
            max_inference_units=row.max_inference_units,
            details=dict(row.details or {}),
            tags=tags,
        )

    def add(
        self, project: ProjectRow, *, description: str | None, output_prefix: str, details: dict[str, Any]
    ) -> ModelRow:
        """Insert the next version of a project's model (versions are never reused)."""
        version = project.next_model_version
        project.next_model_version = version + 1
        row = ModelRow(
            project_id=project.id,
            version=version,
            status=ModelStatus.TRAINING.value,
            status_message="Training queued.",
            description=description,
            created_at=time.time(),
            output_prefix=output_prefix.replace("{version}", str(version)),
            details=details,
        )
        self.s.add(row)
        self.s.flush()
        return row

    def row(self, project: ProjectRow, version: str | int) -> ModelRow:
        """A model row by version number or ``latest``."""
        stmt = select(ModelRow).where(ModelRow.project_id == project.id)
        if str(version) == "latest":
            stmt = stmt.order_by(ModelRow.version.desc()).limit(1)
        else:
            stmt = stmt.where(ModelRow.version == int(version))
        row = self.s.scalars(stmt).first()
        if row is None:
            raise NotFound(f"Project {project.name!r} has no model version {version}.", field="ModelVersion")
        return row

    def list_rows(self, project: ProjectRow, offset: int = 0, limit: int | None = None) -> list[ModelRow]:
        """Model rows, newest version first."""
        stmt = select(ModelRow).where(ModelRow.project_id == project.id).order_by(ModelRow.version.desc())
        stmt = stmt.offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        return list(self.s.scalars(stmt))

    def rows_with_status(self, statuses: set[ModelStatus]) -> list[tuple[ModelRow, str]]:
        """(row, project name) of every model in one of ``statuses`` (for the hosting reconciler)."""
        stmt = (
            select(ModelRow, ProjectRow.name)
            .join(ProjectRow, ProjectRow.id == ModelRow.project_id)
            .where(ModelRow.status.in_([s.value for s in statuses]))
        )
        return [(m, name) for m, name in self.s.execute(stmt)]

    @staticmethod
    def set_status(row: ModelRow, status: ModelStatus, message: str) -> None:
        """Record a status (the caller has checked the transition)."""
        row.status = status.value
        row.status_message = message

    def set_tags(self, row: ModelRow, tags: dict[str, str]) -> None:
        """Add or overwrite tags."""
        for key, value in tags.items():
            self.s.merge(TagRow(model_id=row.id, key=key, value=value))
        self.s.flush()

    def remove_tags(self, row: ModelRow, keys: list[str]) -> None:
        """Remove tags by key (missing keys are ignored)."""
        self.s.execute(delete(TagRow).where(TagRow.model_id == row.id, TagRow.key.in_(keys)))

    def delete(self, row: ModelRow) -> None:
        """Remove a model version and its tags."""
        self.s.execute(delete(TagRow).where(TagRow.model_id == row.id))
        self.s.delete(row)
