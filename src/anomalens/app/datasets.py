"""Dataset use cases (spec §2.3.5-2.3.9).

Create (empty or imported), describe, list entries, update entries, export as a manifest, delete.

Imports and updates run as durable jobs (``anomalens.app.importing``); the call itself only
validates what it can check quickly (names, states, the manifest's lines) so a broken line is
a clear 400 at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from anomalens.app import pagination
from anomalens.app.context import Platform
from anomalens.app.sources import read_manifest_text
from anomalens.domain import manifest, names
from anomalens.domain.entities import Dataset, Entry
from anomalens.domain.errors import Conflict, InvalidInput
from anomalens.domain.statuses import BUSY_DATASET, USABLE_DATASET, DatasetStatus, ModelStatus, dataset_transition
from anomalens.jobs import queue
from anomalens.store.models import ModelRepository
from anomalens.store.projects import ProjectRepository

IMPORT_JOB = "dataset-import"
LAYOUTS = ("manifest", "labeled-folders", "mvtec")


@dataclass(frozen=True)
class DatasetSource:
    """Where a new dataset's images come from: a manifest, a labelled folder or an MVTec folder."""

    layout: str
    uri: str

    def validate(self, p: Platform) -> None:
        """Check the layout and that the location is readable by this server."""
        if self.layout not in LAYOUTS:
            raise InvalidInput(
                f"Source.Layout must be one of {', '.join(LAYOUTS)} (got {self.layout!r}).", field="Source.Layout"
            )
        if not self.uri:
            raise InvalidInput("Source location is required.", field="Source")
        p.check_local_source(self.uri)
        if self.layout == "manifest":
            manifest.parse_manifest(read_manifest_text(self.uri))


@dataclass(frozen=True)
class EntryPage:
    """One page of dataset entries (their manifest lines)."""

    entries: list[Entry]
    next_token: str | None


def create_dataset(
    p: Platform,
    project: str,
    dataset_type: str,
    source: DatasetSource | None = None,
) -> tuple[Dataset, int | None]:
    """Create an empty dataset (synchronously) or start importing one (returns the job id)."""
    names.project_name(project)
    names.dataset_type(dataset_type)
    if source is not None:
        source.validate(p)
    with p.db.unit_of_work() as s:
        repo = ProjectRepository(s)
        if source is None:
            return repo.add_dataset(project, dataset_type, DatasetStatus.CREATE_COMPLETE, "Created empty."), None
        dataset = repo.add_dataset(project, dataset_type, DatasetStatus.CREATE_IN_PROGRESS, "Import queued.")
        job_id = queue.enqueue(
            s,
            IMPORT_JOB,
            {
                "project": project,
                "dataset_type": dataset_type,
                "mode": "create",
                "layout": source.layout,
                "uri": source.uri,
            },
        )
        return dataset, job_id


def describe_dataset(p: Platform, project: str, dataset_type: str) -> Dataset:
    """A dataset with its status and image counts."""
    names.project_name(project)
    names.dataset_type(dataset_type)
    with p.db.unit_of_work() as s:
        return ProjectRepository(s).get_dataset(project, dataset_type)


def list_entries(
    p: Platform,
    project: str,
    dataset_type: str,
    *,
    max_results: int | None = None,
    next_token: str | None = None,
    **filters: Any,
) -> EntryPage:
    """Entries with ListDatasetEntries filters (labeled, anomaly_class, after, before, source_ref_contains)."""
    names.project_name(project)
    names.dataset_type(dataset_type)
    limit = names.max_results(max_results)
    offset = pagination.decode(next_token)
    anomaly_class = filters.get("anomaly_class")
    if anomaly_class is not None and anomaly_class not in ("normal", "anomaly"):
        raise InvalidInput(f"AnomalyClass must be 'normal' or 'anomaly' (got {anomaly_class!r}).", field="AnomalyClass")
    with p.db.unit_of_work() as s:
        repo = ProjectRepository(s)
        rows = repo.list_entries(repo.dataset_row(project, dataset_type), offset=offset, limit=limit + 1, **filters)
    return EntryPage(list(rows[:limit]), pagination.next_token(offset, len(rows), limit))


def update_entries(p: Platform, project: str, dataset_type: str, changes: bytes) -> tuple[Dataset, int]:
    """Add or replace entries from manifest lines; all or nothing (rolled back on any bad line)."""
    names.project_name(project)
    names.dataset_type(dataset_type)
    if not changes or len(changes) > manifest.MAX_CHANGES_BYTES:
        raise InvalidInput(
            f"Changes must hold 1 to {manifest.MAX_CHANGES_BYTES} bytes of manifest lines (got {len(changes)}).",
            field="Changes",
        )
    try:
        manifest.parse_manifest(changes.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidInput("Changes must be UTF-8 JSON Lines.", field="Changes") from None
    key = f"projects/{project}/changes/{uuid.uuid4().hex}.manifest"
    with p.db.unit_of_work() as s:
        repo = ProjectRepository(s)
        row = repo.dataset_row(project, dataset_type)
        target = dataset_transition(
            DatasetStatus(row.status), DatasetStatus.UPDATE_IN_PROGRESS, what=f"The {dataset_type} dataset"
        )
        p.blobs.put_bytes(key, changes)
        repo.set_dataset_status(row, target, "Update queued.")
        job_id = queue.enqueue(
            s,
            IMPORT_JOB,
            {
                "project": project,
                "dataset_type": dataset_type,
                "mode": "update",
                "layout": "manifest",
                "changes_key": key,
            },
        )
        return repo.to_dataset(row, project), job_id


def export_manifest(p: Platform, project: str, dataset_type: str) -> str:
    """The dataset as a Ground Truth manifest (one line per entry, original source-refs)."""
    names.project_name(project)
    names.dataset_type(dataset_type)
    with p.db.unit_of_work() as s:
        repo = ProjectRepository(s)
        row = repo.dataset_row(project, dataset_type)
        if DatasetStatus(row.status) not in USABLE_DATASET:
            raise Conflict(f"The {dataset_type} dataset is {row.status}; only complete datasets can be exported.")
        entries = repo.list_entries(row)
    return "".join(e.line + "\n" for e in entries)


def delete_dataset(p: Platform, project: str, dataset_type: str) -> None:
    """Delete a dataset (the original images are not touched)."""
    names.project_name(project)
    names.dataset_type(dataset_type)
    with p.db.unit_of_work() as s:
        repo = ProjectRepository(s)
        row = repo.dataset_row(project, dataset_type)
        if DatasetStatus(row.status) in BUSY_DATASET:
            raise Conflict(f"The {dataset_type} dataset is {row.status}; wait for it to finish.", field="DatasetType")
        training = [
            m.version
            for m in ModelRepository(s).list_rows(repo.project_row(project))
            if m.status == ModelStatus.TRAINING.value
        ]
        if training:
            raise Conflict(
                f"Model version {training[0]} is training on this dataset; wait for it to finish.", field="DatasetType"
            )
        repo.delete_dataset(row)
