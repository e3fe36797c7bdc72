"""Repository of projects, datasets and dataset entries (one aggregate: the project's data)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from anomalens.domain.entities import Dataset, Entry, ImageStats, Project
from anomalens.domain.errors import Conflict, NotFound
from anomalens.domain.statuses import DatasetStatus
from anomalens.store.rows import DatasetRow, EntryRow, ProjectRow


def _project(row: ProjectRow) -> Project:
    return Project(name=row.name, created_at=row.created_at)


def _entry(row: EntryRow) -> Entry:
    return Entry(row.source_ref, row.label, row.line, row.blob_key, row.mask_key, row.width, row.height, row.created_at)


class ProjectRepository:
    """Reads and writes projects, datasets and entries inside the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.s = session

    # -- projects -----------------------------------------------------------------------
    def add_project(self, name: str) -> Project:
        """Insert a project; the unique constraint (not a pre-check) refuses duplicates."""
        row = ProjectRow(name=name, created_at=time.time(), next_model_version=1)
        try:
            with self.s.begin_nested():
                self.s.add(row)
                self.s.flush()
        except IntegrityError:
            raise Conflict(f"Project {name!r} already exists.", field="ProjectName") from None
        return _project(row)

    def project_row(self, name: str, *, lock: bool = False) -> ProjectRow:
        """The row of a project, or NotFound."""
        stmt = select(ProjectRow).where(ProjectRow.name == name)
        if lock:
            stmt = stmt.with_for_update()
        row = self.s.scalars(stmt).one_or_none()
        if row is None:
            raise NotFound(f"Project {name!r} does not exist.", field="ProjectName")
        return row

    def get_project(self, name: str) -> Project:
        """A project by name."""
        return _project(self.project_row(name))

    def list_projects(self, offset: int, limit: int) -> list[Project]:
        """Projects by name, one page (``limit + 1`` rows tell the caller whether more exist)."""
        rows = self.s.scalars(select(ProjectRow).order_by(ProjectRow.name).offset(offset).limit(limit))
        return [_project(r) for r in rows]

    def delete_project(self, name: str) -> None:
        """Remove a project row (callers check the preconditions)."""
        self.s.delete(self.project_row(name))

    # -- datasets -----------------------------------------------------------------------
    def dataset_row(self, project: str, dataset_type: str) -> DatasetRow:
        """The row of a dataset, or NotFound."""
        prow = self.project_row(project)
        row = self.s.scalars(
            select(DatasetRow).where(DatasetRow.project_id == prow.id, DatasetRow.dataset_type == dataset_type)
        ).one_or_none()
        if row is None:
            raise NotFound(f"Project {project!r} has no {dataset_type} dataset.", field="DatasetType")
        return row

    def add_dataset(self, project: str, dataset_type: str, status: DatasetStatus, message: str = "") -> Dataset:
        """Insert a dataset; a second dataset of the same type is a Conflict."""
        prow = self.project_row(project)
        now = time.time()
        row = DatasetRow(
            project_id=prow.id,
            dataset_type=dataset_type,
            status=status.value,
            status_message=message,
            created_at=now,
            updated_at=now,
        )
        try:
            with self.s.begin_nested():
                self.s.add(row)
                self.s.flush()
        except IntegrityError:
            raise Conflict(
                f"Project {project!r} already has a {dataset_type} dataset; delete it first.", field="DatasetType"
            ) from None
        return self.to_dataset(row, project)

    def to_dataset(self, row: DatasetRow, project: str) -> Dataset:
        """Build the entity, with image counts."""
        counts = dict(
            self.s.execute(
                select(EntryRow.label, func.count()).where(EntryRow.dataset_id == row.id).group_by(EntryRow.label)
            ).all()
        )
        normal, anomaly = counts.get("normal", 0), counts.get("anomaly", 0)
        stats = ImageStats(total=sum(counts.values()), labeled=normal + anomaly, normal=normal, anomaly=anomaly)
        return Dataset(
            project,
            row.dataset_type,
            DatasetStatus(row.status),
            row.status_message,
            row.created_at,
            row.updated_at,
            stats,
        )

    def get_dataset(self, project: str, dataset_type: str) -> Dataset:
        """A dataset entity."""
        return self.to_dataset(self.dataset_row(project, dataset_type), project)

    def list_datasets(self, project: str) -> list[Dataset]:
        """Every dataset of a project."""
        prow = self.project_row(project)
        rows = self.s.scalars(
            select(DatasetRow).where(DatasetRow.project_id == prow.id).order_by(DatasetRow.dataset_type.desc())
        )
        return [self.to_dataset(r, project) for r in rows]

    def set_dataset_status(self, row: DatasetRow, status: DatasetStatus, message: str = "") -> None:
        """Record a status (the caller has checked the transition)."""
        row.status = status.value
        row.status_message = message
        row.updated_at = time.time()

    def delete_dataset(self, row: DatasetRow) -> None:
        """Remove a dataset and its entries."""
        self.s.execute(delete(EntryRow).where(EntryRow.dataset_id == row.id))
        self.s.delete(row)

    # -- entries ------------------------------------------------------------------------
    def upsert_entries(self, row: DatasetRow, entries: Iterable[Entry]) -> None:
        """Add entries; an entry whose source-ref exists replaces it entirely (spec §2.3.8)."""
        batch = list(entries)
        refs = [e.source_ref for e in batch]
        for start in range(0, len(refs), 500):
            self.s.execute(
                delete(EntryRow).where(
                    EntryRow.dataset_id == row.id, EntryRow.source_ref.in_(refs[start : start + 500])
                )
            )
        self.s.add_all(
            EntryRow(
                dataset_id=row.id,
                source_ref=e.source_ref,
                label=e.label,
                line=e.line,
                blob_key=e.blob_key,
                mask_key=e.mask_key,
                width=e.width,
                height=e.height,
                created_at=e.created_at,
            )
            for e in batch
        )
        self.s.flush()

    def list_entries(
        self,
        row: DatasetRow,
        *,
        offset: int = 0,
        limit: int | None = None,
        labeled: bool | None = None,
        anomaly_class: str | None = None,
        after: float | None = None,
        before: float | None = None,
        source_ref_contains: str | None = None,
    ) -> Sequence[Entry]:
        """Entries in insertion order, filtered as ListDatasetEntries allows."""
        stmt = select(EntryRow).where(EntryRow.dataset_id == row.id)
        if labeled is not None:
            stmt = stmt.where(EntryRow.label.is_not(None) if labeled else EntryRow.label.is_(None))
        if anomaly_class is not None:
            stmt = stmt.where(EntryRow.label == anomaly_class)
        if after is not None:
            stmt = stmt.where(EntryRow.created_at >= after)
        if before is not None:
            stmt = stmt.where(EntryRow.created_at <= before)
        if source_ref_contains:
            stmt = stmt.where(EntryRow.source_ref.contains(source_ref_contains, autoescape=True))
        stmt = stmt.order_by(EntryRow.id).offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [_entry(r) for r in self.s.scalars(stmt)]
