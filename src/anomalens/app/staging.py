"""Data staging use cases: batches of images filled by uploads, tar shards or URL references.

Small uploads are checked and stored at once. Tar shards and reference lists become shards
(at most 20,000 files each) ingested by durable jobs (``anomalens.app.staging_ingest``); every
file is checked (size, type, decodable) and a rejected file is reported with a reason type
while the rest are ingested.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from anomalens import vision
from anomalens.app import pagination
from anomalens.app.context import Platform
from anomalens.domain import names, staging
from anomalens.domain.errors import InvalidInput, NotFound
from anomalens.domain.staging import FileRejected, Rejection, ShardStatus
from anomalens.jobs import queue
from anomalens.storage import cloud
from anomalens.storage.blobs import open_source
from anomalens.store.staging import StagingRepository
from anomalens.store.staging_rows import StagingBatchRow, StagingFileRow, StagingShardRow

INGEST_JOB = "staging-ingest"
LIST_JOB = "staging-list"
DIRECT_SHARD = "direct-upload"


@dataclass(frozen=True)
class Page:
    """A page of rows and the token of the next page."""

    items: list[Any]
    next_token: str | None


def check_image(name: str, data: bytes) -> str:
    """Content type of a valid image file; FileRejected with the reason type otherwise."""
    if len(data) > staging.MAX_FILE_BYTES:
        raise FileRejected(Rejection.FILE_SIZE_LIMIT_EXCEEDED, f"{name} is {len(data)} bytes (limit 20 MiB)")
    try:
        info = vision.probe_image(data)
    except vision.ImageDecodeError as exc:
        raise FileRejected(Rejection.UNSUPPORTED_FILE_TYPE, f"{name}: {exc}") from None
    try:
        vision.decode_image(data)
    except vision.ImageDecodeError as exc:
        raise FileRejected(Rejection.FILE_CORRUPTED, f"{name}: {exc}") from None
    return "image/png" if info.format == "PNG" else "image/jpeg"


def store_file(p: Platform, batch_id: str, name: str, data: bytes) -> dict[str, Any]:
    """Check one file and put its bytes in storage; the row values to insert."""
    content_type = check_image(name, data)
    digest = hashlib.sha256(data).hexdigest()
    key = f"staging/{batch_id}/{digest[:2]}/{digest}"
    if not p.blobs.exists(key):
        p.blobs.put_bytes(key, data)
    return {"name": name, "blob_key": key, "content_type": content_type, "size": len(data), "created_at": time.time()}


def _ttl(p: Platform) -> float:
    return p.settings.staging_ttl_days * 86400


def check_video(name: str, source: IO[bytes]) -> tuple[str, int]:
    """(content type, size) of a valid video file; FileRejected with the reason type otherwise."""
    size = source.seek(0, 2)
    source.seek(0)
    if size > staging.MAX_VIDEO_BYTES:
        raise FileRejected(Rejection.FILE_SIZE_LIMIT_EXCEEDED, f"{name} is {size} bytes (limit 4 GiB)")
    if not name.lower().endswith(staging.VIDEO_SUFFIXES):
        raise FileRejected(
            Rejection.UNSUPPORTED_FILE_TYPE, f"{name}: videos must end in {', '.join(staging.VIDEO_SUFFIXES)}"
        )
    try:
        vision.probe_video(source)
    except vision.VideoDecodeError as exc:
        raise FileRejected(Rejection.FILE_CORRUPTED, f"{name}: {exc}") from None
    finally:
        source.seek(0)
    return mimetypes.guess_type(name)[0] or "video/mp4", size


def store_video(p: Platform, batch_id: str, name: str, source: IO[bytes]) -> dict[str, Any]:
    """Check one video and stream it into storage (content-addressed); the row values to insert."""
    content_type, size = check_video(name, source)
    digest = hashlib.sha256()
    while block := source.read(8 * 1024 * 1024):
        digest.update(block)
    source.seek(0)
    key = f"staging/{batch_id}/{digest.hexdigest()[:2]}/{digest.hexdigest()}"
    if not p.blobs.exists(key):
        p.blobs.put_file(key, source)
    return {"name": name, "blob_key": key, "content_type": content_type, "size": size, "created_at": time.time()}


def _add_direct(p: Platform, batch_id: str, display_name: str | None, content: str, values: dict[str, Any]) -> None:
    """Add one checked file to a batch's direct-upload shard (a repeated name is refused)."""
    with p.db.unit_of_work() as s:
        repo = StagingRepository(s)
        batch = repo.ensure_batch(batch_id, display_name or batch_id, content, "simple-batch", _ttl(p))
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


def upload_image(p: Platform, batch_id: str, name: str, data: bytes, display_name: str | None = None) -> None:
    """Add one image to a (simple) batch at once; a bad file is a 400 naming the reason type."""
    staging.batch_id(batch_id)
    staging.file_name(name)
    try:
        values = store_file(p, batch_id, name, data)
    except FileRejected as exc:
        raise InvalidInput(f"{name} was rejected ({exc.reason.value}): {exc.detail}", field="file") from None
    _add_direct(p, batch_id, display_name, "images", values)


def upload_video(p: Platform, batch_id: str, name: str, source: IO[bytes], display_name: str | None = None) -> None:
    """Add one video to a batch of videos; a bad file is a 400 naming the reason type."""
    staging.batch_id(batch_id)
    staging.file_name(name)
    try:
        values = store_video(p, batch_id, name, source)
    except FileRejected as exc:
        raise InvalidInput(f"{name} was rejected ({exc.reason.value}): {exc.detail}", field="file") from None
    _add_direct(p, batch_id, display_name, "videos", values)


def upload_videos(
    p: Platform, batch_id: str, files: Sequence[tuple[str, IO[bytes]]], display_name: str | None = None
) -> tuple[list[str], list[dict[str, str]]]:
    """Upload several videos: each bad file is reported (name, message) while the rest are stored."""
    staging.batch_id(batch_id)
    accepted: list[str] = []
    rejected: list[dict[str, str]] = []
    for name, source in files:
        try:
            upload_video(p, batch_id, name, source, display_name)
            accepted.append(name)
        except InvalidInput as exc:
            rejected.append({"File": name, "Message": exc.message})
    return accepted, rejected


def register_video_upload(p: Platform, batch_id: str, file_name: str, display_name: str | None = None) -> str:
    """Open the upload of one video (rf-cloud ``upload/video``): a shard of its own, awaiting its bytes."""
    staging.batch_id(batch_id)
    staging.file_name(file_name)
    shard_id = uuid.uuid4().hex
    with p.db.unit_of_work() as s:
        repo = StagingRepository(s)
        batch = repo.ensure_batch(batch_id, display_name or batch_id, "videos", "simple-batch", _ttl(p))
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


def upload_images(
    p: Platform,
    batch_id: str,
    files: list[tuple[str, bytes]],
    display_name: str | None = None,
) -> tuple[list[str], list[dict[str, str]]]:
    """Upload several images: each bad file is reported (name, message) while the rest are stored."""
    staging.batch_id(batch_id)
    accepted: list[str] = []
    rejected: list[dict[str, str]] = []
    for name, data in files:
        try:
            upload_image(p, batch_id, name, data, display_name)
            accepted.append(name)
        except InvalidInput as exc:
            rejected.append({"File": name, "Message": exc.message})
    return accepted, rejected


def register_shard_upload(p: Platform, batch_id: str, display_name: str | None = None) -> str:
    """Open a tar-shard upload; returns the shard id that the upload URL carries."""
    staging.batch_id(batch_id)
    shard_id = uuid.uuid4().hex
    with p.db.unit_of_work() as s:
        repo = StagingRepository(s)
        batch = repo.ensure_batch(batch_id, display_name or batch_id, "images", "sharded-batch", _ttl(p))
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


def ingest_references(
    p: Platform,
    batch_id: str,
    references: list[dict[str, str]] | None = None,
    references_url: str | None = None,
    display_name: str | None = None,
    ingest_id: str | None = None,
    notifications_url: str | None = None,
    categories: list[str] | None = None,
    content: str = "images",
) -> tuple[str, list[str]]:
    """Queue the download of ``{name, url}`` references (images or videos), split into shards of 20,000."""
    staging.batch_id(batch_id)
    staging.content_type(content)
    if references is None:
        if not references_url:
            raise InvalidInput("give imageReferences or imageReferencesURL.", field="imageReferences")
        references = _read_references(p, references_url)
    refs = _valid_references(references)
    ingest_id = ingest_id or uuid.uuid4().hex
    notify = _notify(notifications_url, categories, ingest_id)
    shard_ids = []
    with p.db.unit_of_work() as s:
        repo = StagingRepository(s)
        batch = repo.ensure_batch(batch_id, display_name or batch_id, content, "sharded-batch", _ttl(p))
        for part in staging.shards(len(refs)):
            shard_id = uuid.uuid4().hex
            key = f"staging/{batch_id}/shards/{shard_id}.refs.json"
            p.blobs.put_bytes(key, json.dumps([refs[i] for i in part]).encode())
            repo.add_shard(batch, shard_id, ingest_id, ShardStatus.QUEUED.value, key)
            queue.enqueue(
                s,
                INGEST_JOB,
                {
                    "batch_id": batch_id,
                    "shard_id": shard_id,
                    "source": "refs",
                    "key": key,
                    "notify": notify,
                    "content": content,
                },
            )
            shard_ids.append(shard_id)
    return ingest_id, shard_ids


def ingest_cloud(
    p: Platform,
    batch_id: str,
    source_uri: str,
    content: str = "images",
    display_name: str | None = None,
    notifications_url: str | None = None,
    categories: list[str] | None = None,
) -> str:
    """Queue the listing of a cloud URI with an optional glob (``s3://b/data/**/*.jpg``).

    The server lists and reads the objects with its own credentials (see
    ``anomalens.storage.cloud``); a listing job splits what matches into shards of 20,000,
    each ingested like references. The location is checked now, so a wrong bucket or
    credentials are a 400 at once rather than a failed job later.
    """
    staging.batch_id(batch_id)
    staging.content_type(content)
    if cloud.protocol_of(source_uri) not in cloud.CLOUD_SCHEMES:
        raise InvalidInput(f"SourceUri must start with s3://, gs:// or az:// (got {source_uri!r}).", field="SourceUri")
    base, pattern = cloud.split_glob(source_uri)
    try:
        fs, path = open_source(base)
        if not fs.exists(path):
            raise InvalidInput(f"{base} does not exist or holds no objects.", field="SourceUri")
    except (OSError, ValueError, ImportError) as exc:
        raise InvalidInput(f"{base} cannot be listed: {type(exc).__name__}: {exc}", field="SourceUri") from None
    ingest_id = uuid.uuid4().hex
    notify = _notify(notifications_url, categories, ingest_id)
    with p.db.unit_of_work() as s:
        repo = StagingRepository(s)
        repo.ensure_batch(batch_id, display_name or batch_id, content, "sharded-batch", _ttl(p))
        queue.enqueue(
            s,
            LIST_JOB,
            {
                "batch_id": batch_id,
                "base": base,
                "pattern": pattern,
                "content": content,
                "ingest_id": ingest_id,
                "notify": notify,
            },
        )
    return ingest_id


def _notify(url: str | None, categories: list[str] | None, ingest_id: str) -> dict[str, Any] | None:
    """Validated notification settings of an ingest (None without a URL)."""
    if not url:
        return None
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"notificationsURL must be an http(s) URL (got {url!r}).", field="notificationsURL")
    chosen = categories or ["ingest-status"]
    unknown = [c for c in chosen if c not in ("ingest-status", "files-status")]
    if unknown:
        raise InvalidInput(
            f"notificationCategories may hold ingest-status and files-status (got {unknown}).",
            field="notificationCategories",
        )
    return {"url": url, "categories": chosen, "ingest_id": ingest_id}


def _read_references(p: Platform, location: str) -> list[dict[str, str]]:
    from anomalens.app import sources, url_fetch

    try:
        if location.startswith(("http://", "https://")):
            import httpx

            with httpx.Client(timeout=60) as client:
                text = url_fetch.fetch(
                    location, allow_private=p.settings.allow_private_urls, client=client, limit=1024**3
                ).decode()
        else:
            p.check_local_source(location)
            text = sources.read_bytes(location).decode()
    except FileRejected as exc:
        raise InvalidInput(
            f"references file {location}: {exc.reason.value}: {exc.detail}", field="imageReferencesURL"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"references file {location} cannot be read: {exc}", field="imageReferencesURL") from None
    refs = []
    for no, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                refs.append(json.loads(line))
            except json.JSONDecodeError:
                raise InvalidInput(f"references line {no} is not JSON.", field=f"references[{no}]") from None
    return refs


def _valid_references(refs: list[Any]) -> list[dict[str, str]]:
    out, seen = [], set()
    for no, ref in enumerate(refs, start=1):
        if not isinstance(ref, dict) or not isinstance(ref.get("name"), str) or not isinstance(ref.get("url"), str):
            raise InvalidInput(
                f"reference {no} must be an object with string 'name' and 'url'.", field=f"imageReferences[{no}]"
            )
        staging.file_name(ref["name"])
        if ref["name"] in seen:
            raise InvalidInput(f"reference {no}: name {ref['name']!r} repeats.", field=f"imageReferences[{no}]")
        seen.add(ref["name"])
        out.append({"name": ref["name"], "url": ref["url"]})
    if not out:
        raise InvalidInput("the reference list is empty.", field="imageReferences")
    return out


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
