"""The dataset import/update job: read each image, check it, copy it into storage, commit.

Every image is checked (readable, PNG/JPEG, 8 MB, 64-4096 px, fully decodable) before it is
copied under a content-addressed key, so a retried job rewrites the same keys. The entries and
the dataset's final status are committed in one transaction with the job's completion: a
half-imported dataset is never visible as complete.

A new dataset keeps the good images and reports each rejected file (with its manifest line);
an update is all-or-nothing and rolls back on any rejected file (spec §2.3.8).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from anomalens import vision
from anomalens.app import sources
from anomalens.app.context import Platform
from anomalens.app.datasets import IMPORT_JOB
from anomalens.app.masks import index_mask
from anomalens.app.sources import SourceItem
from anomalens.domain import images
from anomalens.domain.entities import Entry
from anomalens.domain.errors import AnomalensError, NotFound
from anomalens.domain.statuses import DatasetStatus
from anomalens.jobs.worker import JobContext
from anomalens.store.projects import ProjectRepository

MAX_REPORTED = 200


@dataclass(frozen=True)
class Rejection:
    """A file that was not imported, and why."""

    file: str
    line: int | None
    reason: str

    def describe(self) -> str:
        """Short human form for the StatusMessage."""
        where = f" (manifest line {self.line})" if self.line else ""
        return f"{self.file}{where}: {self.reason}"


def _image_blob(p: Platform, project: str, data: bytes, suffix: str) -> str:
    digest = hashlib.sha256(data).hexdigest()
    key = f"projects/{project}/images/{digest[:2]}/{digest}{suffix}"
    if not p.blobs.exists(key):
        p.blobs.put_bytes(key, data)
    return key


def ingest(p: Platform, project: str, item: SourceItem) -> Entry:
    """Check and copy one image (and its mask); raise AnomalensError/EngineError with the reason."""
    try:
        data = sources.read_bytes(item.image_uri)
    except (OSError, ValueError) as exc:
        raise AnomalensError(f"cannot be read ({type(exc).__name__})") from None
    images.check_file_size(len(data))
    info = vision.probe_image(data)
    images.check_dimensions(info.format, info.width, info.height)
    vision.decode_image(data)
    key = _image_blob(p, project, data, ".png" if info.format == "PNG" else ".jpg")
    mask_key = None
    if item.mask_uri:
        try:
            mask_data = sources.read_bytes(item.mask_uri)
        except (OSError, ValueError):
            raise AnomalensError(f"its mask {item.mask_uri} cannot be read") from None
        color_map = None if item.binary_mask else item.entry.color_map
        mask_key = _image_blob(p, project, index_mask(mask_data, color_map), ".mask.png")
    return Entry(
        item.entry.source_ref,
        item.entry.label,
        item.entry.to_line(),
        key,
        mask_key,
        info.width,
        info.height,
        time.time(),
    )


class DatasetImportHandler:
    """Runs ``dataset-import`` jobs (create from a source, or update from manifest lines)."""

    kind = IMPORT_JOB

    def __init__(self, platform: Platform) -> None:
        self.p = platform

    def _items(self, payload: dict[str, Any]) -> list[SourceItem]:
        if payload["mode"] == "update":
            text = self.p.blobs.get_bytes(payload["changes_key"]).decode("utf-8")
            return sources.manifest_items("", text)
        layout, uri = payload["layout"], payload["uri"]
        if layout == "manifest":
            return sources.manifest_items(uri)
        if layout == "labeled-folders":
            return sources.labeled_folder_items(uri)
        return sources.mvtec_items(uri, payload["dataset_type"])

    def run(self, ctx: JobContext) -> None:
        """Import every item, then commit entries + status + job completion together."""
        payload = ctx.payload
        items = self._items(payload)
        accepted: list[Entry] = []
        rejected: list[Rejection] = []
        for i, item in enumerate(items, start=1):
            try:
                accepted.append(ingest(self.p, payload["project"], item))
            except (AnomalensError, vision.EngineError) as exc:
                reason = exc.message if isinstance(exc, AnomalensError) else str(exc)
                rejected.append(Rejection(item.entry.source_ref, item.line_no, reason))
            ctx.progress(i / len(items), f"Checked {i} of {len(items)} images ({len(rejected)} rejected).")
        with self.p.db.unit_of_work() as s:
            status, message = self._commit(s, payload, accepted, rejected)
            ctx.finish(
                s,
                {
                    "accepted": len(accepted),
                    "rejected": [vars(r) for r in rejected[:MAX_REPORTED]],
                    "rejected_count": len(rejected),
                    "status": status.value,
                },
                message,
            )

    def _commit(
        self, s: Session, payload: dict[str, Any], accepted: list[Entry], rejected: list[Rejection]
    ) -> tuple[DatasetStatus, str]:
        repo = ProjectRepository(s)
        row = repo.dataset_row(payload["project"], payload["dataset_type"])
        summary = "; ".join(r.describe() for r in rejected[:3]) + (" ..." if len(rejected) > 3 else "")
        if payload["mode"] == "update":
            if rejected:
                status = DatasetStatus.UPDATE_FAILED_ROLLBACK_COMPLETE
                message = f"Update rolled back: {len(rejected)} of {len(accepted) + len(rejected)} files rejected: "
                repo.set_dataset_status(row, status, message + summary)
                return status, message + summary
            repo.upsert_entries(row, accepted)
            repo.set_dataset_status(row, DatasetStatus.UPDATE_COMPLETE, f"Updated {len(accepted)} entries.")
            return DatasetStatus.UPDATE_COMPLETE, f"Updated {len(accepted)} entries."
        if not accepted:
            message = f"No image could be imported: {summary}"
            repo.set_dataset_status(row, DatasetStatus.CREATE_FAILED, message)
            return DatasetStatus.CREATE_FAILED, message
        repo.upsert_entries(row, accepted)
        message = f"Imported {len(accepted)} images."
        sizes = {(e.width, e.height) for e in accepted}
        if len(sizes) > 1:
            message += f" They have {len(sizes)} different sizes; the model resizes every image to its input size."
        if rejected:
            message += f" {len(rejected)} rejected: {summary}"
        repo.set_dataset_status(row, DatasetStatus.CREATE_COMPLETE, message)
        return DatasetStatus.CREATE_COMPLETE, message

    def give_up(self, session: Session, payload: dict[str, Any], message: str) -> None:
        """Mark the dataset failed (create) or rolled back (update)."""
        repo = ProjectRepository(session)
        try:
            row = repo.dataset_row(payload["project"], payload["dataset_type"])
        except NotFound:
            return
        failed = (
            DatasetStatus.UPDATE_FAILED_ROLLBACK_COMPLETE
            if payload["mode"] == "update"
            else DatasetStatus.CREATE_FAILED
        )
        repo.set_dataset_status(row, failed, message)
