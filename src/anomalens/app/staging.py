"""Data staging use cases: batches of images or videos, filled by uploads and tar shards; listing.

Small uploads are checked and stored at once (``anomalens.app.staged_files``). Tar shards,
reference lists and cloud listings (``anomalens.app.staging_sources``) become shards of at
most 20,000 files ingested by durable jobs (``anomalens.app.staging_ingest``); every file is
checked and a rejected file is reported with a reason type while the rest are ingested.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any, TypeVar

from anomalens.app import pagination
from anomalens.app.context import Platform
from anomalens.app.staged_files import store_file, store_video
from anomalens.app.staging_sources import INGEST_JOB, batch_ttl
from anomalens.domain import names, staging
from anomalens.domain.errors import InvalidInput, NotFound
from anomalens.domain.staging import FileRejected, Rejection, ShardStatus
from anomalens.jobs import queue
from anomalens.store.staging import StagingRepository
from anomalens.store.staging_rows import StagingBatchRow, StagingFileRow, StagingShardRow

DIRECT_SHARD = "direct-upload"
T = TypeVar("T")
UploadReport = tuple[list[str], list[dict[str, str]]]


@dataclass(frozen=True)
class Page:
    """A page of rows and the token of the next page."""

    items: list[Any]
    next_token: str | None


def _add_direct(p: Platform, batch_id: str, display_name: str | None, content: str, values: dict[str, Any]) -> None:
    """Add one checked file to a batch's direct-upload shard (a repeated name is refused)."""
    with p.db.unit_of_work() as s:
        repo = StagingRepository(s)
        batch = repo.ensure_batch(batch_id, display_name or batch_id, content, "simple-batch", batch_ttl(p))
        try:
            shard = repo.shard(batch, DIRECT_SHARD)
        except NotFound:
            shard = repo.add_shard(batch, DIRECT_SHARD, DIRECT_SHARD, ShardStatus.COMPLETED.value)
        name = values["name"]
        if repo.existing_names(batch, [name]):
            raise InvalidInput(
                f"{name} is already in batch {batch_id} ({Rejection.DUPLICATED_FILE.value}).", field="fileName"
            )
        repo.add_files(batch, [values | {"shard_id": DIRECT_SHARD}])
        shard.objects_count += 1
        shard.updated_at = time.time()


def _upload_one(
    p: Platform,
    batch_id: str,
    name: str,
    display_name: str | None,
    content: str,
    store: Callable[[], dict[str, Any]],
) -> None:
    """Check and store one file (``store``), then add it to the batch; a bad file is a 400."""
    staging.batch_id(batch_id)
    staging.file_name(name)
    try:
        values = store()
    except FileRejected as exc:
        raise InvalidInput(f"{name} was rejected ({exc.reason.value}): {exc.detail}", field="file") from None
    _add_direct(p, batch_id, display_name, content, values)


def _upload_each(upload: Callable[[str, T], None], files: Sequence[tuple[str, T]]) -> UploadReport:
    """Upload several files: each bad file is reported (name, message) while the rest are stored."""
    accepted: list[str] = []
    rejected: list[dict[str, str]] = []
    for name, data in files:
        try:
            upload(name, data)
            accepted.append(name)
        except InvalidInput as exc:
            rejected.append({"File": name, "Message": exc.message})
    return accepted, rejected


def upload_image(p: Platform, batch_id: str, name: str, data: bytes, display_name: str | None = None) -> None:
    """Add one image to a (simple) batch at once; a bad file is a 400 naming the reason type."""
    _upload_one(p, batch_id, name, display_name, "images", lambda: store_file(p, batch_id, name, data))


def upload_video(p: Platform, batch_id: str, name: str, source: IO[bytes], display_name: str | None = None) -> None:
    """Add one video to a batch of videos; a bad file is a 400 naming the reason type."""
    _upload_one(p, batch_id, name, display_name, "videos", lambda: store_video(p, batch_id, name, source))


def upload_images(
    p: Platform, batch_id: str, files: Sequence[tuple[str, bytes]], display_name: str | None = None
) -> UploadReport:
    """Upload several images; each bad file is reported while the rest are stored."""
    staging.batch_id(batch_id)
    return _upload_each(lambda name, data: upload_image(p, batch_id, name, data, display_name), files)


def upload_videos(
    p: Platform, batch_id: str, files: Sequence[tuple[str, IO[bytes]]], display_name: str | None = None
) -> UploadReport:
    """Upload several videos; each bad file is reported while the rest are stored."""
    staging.batch_id(batch_id)
    return _upload_each(lambda name, source: upload_video(p, batch_id, name, source, display_name), files)


def register_video_upload(p: Platform, batch_id: str, file_name: str, display_name: str | None = None) -> str:
    """Open the upload of one video (rf-cloud ``upload/video``): a shard of its own, awaiting its bytes."""
    staging.batch_id(batch_id)
    staging.file_name(file_name)
    shard_id = uuid.uuid4().hex
    with p.db.unit_of_work() as s:
        repo = StagingRepository(s)
        batch = repo.ensure_batch(batch_id, display_name or batch_id, "videos", "simple-batch", batch_ttl(p))
        if repo.existing_names(batch, [file_name]):
            raise InvalidInput(
                f"{file_name} is already in batch {batch_id} ({Rejection.DUPLICATED_FILE.value}).", field="fileName"
            )
        repo.add_shard(batch, shard_id, shard_id, ShardStatus.AWAITING_UPLOAD.value)
    return shard_id


def receive_video_upload(p: Platform, shard_id: str, file_name: str, source: IO[bytes]) -> None:
    """Store the bytes of a registered video upload; a bad video marks its shard FAILED with the reason."""
    staging.file_name(file_name)
    with p.db.unit_of_work() as s:
        batch, shard = StagingRepository(s).shard_by_id(shard_id)
        if shard.status != ShardStatus.AWAITING_UPLOAD.value:
            raise InvalidInput(f"upload {shard_id} was already received ({shard.status}).", field="shardId")
        batch_id = batch.batch_id
    try:
        values = store_video(p, batch_id, file_name, source)
    except FileRejected as exc:
        with p.db.unit_of_work() as s:
            _, shard = StagingRepository(s).shard_by_id(shard_id)
            shard.status, shard.updated_at = ShardStatus.FAILED.value, time.time()
            shard.rejected = [{"file": file_name, "reason": exc.reason.value, "detail": exc.detail}]
        raise InvalidInput(f"{file_name} was rejected ({exc.reason.value}): {exc.detail}", field="body") from None
    with p.db.unit_of_work() as s:
        repo = StagingRepository(s)
        batch, shard = repo.shard_by_id(shard_id)
        if shard.status != ShardStatus.AWAITING_UPLOAD.value:
            raise InvalidInput(f"upload {shard_id} was already received ({shard.status}).", field="shardId")
        if repo.existing_names(batch, [file_name]):
            raise InvalidInput(f"{file_name} is already in batch {batch.batch_id}.", field="fileName")
        repo.add_files(batch, [values | {"shard_id": shard_id}])
        shard.status, shard.objects_count, shard.updated_at = ShardStatus.COMPLETED.value, 1, time.time()


def register_shard_upload(p: Platform, batch_id: str, display_name: str | None = None) -> str:
    """Open a tar-shard upload; returns the shard id that the upload URL carries."""
    staging.batch_id(batch_id)
    shard_id = uuid.uuid4().hex
    with p.db.unit_of_work() as s:
        repo = StagingRepository(s)
        batch = repo.ensure_batch(batch_id, display_name or batch_id, "images", "sharded-batch", batch_ttl(p))
        repo.add_shard(batch, shard_id, shard_id, ShardStatus.AWAITING_UPLOAD.value)
    return shard_id


def receive_shard_upload(p: Platform, shard_id: str, data: bytes) -> None:
    """Store an uploaded tar shard and queue its ingest (a second upload of the same shard is refused)."""
    if not data:
        raise InvalidInput("the uploaded shard is empty.", field="body")
    with p.db.unit_of_work() as s:
        repo = StagingRepository(s)
        batch, shard = repo.shard_by_id(shard_id)
        if shard.status != ShardStatus.AWAITING_UPLOAD.value:
            raise InvalidInput(f"shard {shard_id} was already uploaded ({shard.status}).", field="shardId")
        key = f"staging/{batch.batch_id}/shards/{shard_id}.tar"
        p.blobs.put_bytes(key, data)
        shard.status, shard.source_key, shard.updated_at = ShardStatus.QUEUED.value, key, time.time()
        queue.enqueue(s, INGEST_JOB, {"batch_id": batch.batch_id, "shard_id": shard_id, "source": "tar", "key": key})


def list_batches(p: Platform, max_results: int | None = None, next_token: str | None = None) -> Page:
    """Live batches, newest first."""
    limit, offset = names.max_results(max_results), pagination.decode(next_token)
    with p.db.unit_of_work() as s:
        rows = StagingRepository(s).list_batches(offset, limit + 1)
    return Page(rows[:limit], pagination.next_token(offset, len(rows), limit))


def describe_batch(p: Platform, batch_id: str) -> tuple[StagingBatchRow, int, list[StagingShardRow]]:
    """A batch, its file count and its shards."""
    staging.batch_id(batch_id)
    with p.db.unit_of_work() as s:
        repo = StagingRepository(s)
        batch = repo.batch(batch_id)
        return batch, repo.count(batch), repo.shards(batch)


def list_files(p: Platform, batch_id: str, max_results: int | None = None, next_token: str | None = None) -> Page:
    """Files of a batch, in ingest order."""
    staging.batch_id(batch_id)
    limit, offset = names.max_results(max_results), pagination.decode(next_token)
    with p.db.unit_of_work() as s:
        repo = StagingRepository(s)
        rows = repo.files(repo.batch(batch_id), offset, limit + 1)
    return Page(rows[:limit], pagination.next_token(offset, len(rows), limit))


def file_content(p: Platform, batch_id: str, name: str) -> tuple[StagingFileRow, bytes]:
    """A staged file's row and bytes."""
    staging.batch_id(batch_id)
    with p.db.unit_of_work() as s:
        repo = StagingRepository(s)
        row = repo.file(repo.batch(batch_id), name)
    return row, p.blobs.get_bytes(row.blob_key)
