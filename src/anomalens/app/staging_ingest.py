"""The staging ingest job: one shard (an uploaded tar, or up to 20,000 URL references).

Files are checked and stored one by one (content-addressed, so a retried job rewrites the same
keys); the file rows, the shard's final status and the job's completion commit together, so a
shard is never half-visible and a crash never duplicates files.
"""

from __future__ import annotations

import io
import json
import posixpath
import re
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator
from typing import IO, Any

import httpx
from fsspec.utils import glob_translate
from sqlalchemy.orm import Session

from anomalens.app import notifications, url_fetch
from anomalens.app.context import Platform
from anomalens.app.staged_files import store_file, store_video
from anomalens.app.staging_sources import INGEST_JOB, LIST_JOB
from anomalens.domain import staging
from anomalens.domain.errors import InvalidInput, NotFound
from anomalens.domain.staging import FileRejected, Rejection, ShardStatus
from anomalens.jobs import queue
from anomalens.jobs.worker import JobContext
from anomalens.storage.blobs import open_source
from anomalens.store.staging import StagingRepository
from anomalens.store.staging_rows import StagingBatchRow

MAX_REPORTED = 1000
SKIPPED_MEMBERS = ("notification_config.json",)


def tar_notification(data: bytes) -> dict[str, Any] | None:
    """The ``notification_config.json`` the rf-cloud client packs into a shard, as notify settings."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        for member in tar:
            if posixpath.basename(member.name) == SKIPPED_MEMBERS[0] and (handle := tar.extractfile(member)):
                config = json.loads(handle.read())
                return {
                    "url": config.get("notificationsURL"),
                    "ingest_id": config.get("ingestId"),
                    "categories": ["ingest-status"],
                }
    return None


def _tar_members(data: bytes) -> Iterator[tuple[str, bytes | FileRejected]]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        for member in tar:
            if not member.isfile() or posixpath.basename(member.name) in SKIPPED_MEMBERS:
                continue
            name = posixpath.basename(member.name)
            if member.size > staging.MAX_FILE_BYTES:
                yield name, FileRejected(Rejection.FILE_SIZE_LIMIT_EXCEEDED, f"{name} is {member.size} bytes")
                continue
            handle = tar.extractfile(member)
            yield name, handle.read() if handle else FileRejected(Rejection.FILE_CORRUPTED, name)


Item = tuple[str, bytes | IO[bytes] | FileRejected]


def _spool() -> IO[bytes]:
    """A temporary file for one downloaded video (in memory up to 64 MB); the consumer closes it."""
    return tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024)


def _listing_shard(ingest_id: str, n: int) -> str:
    """Shard id of part ``n`` of a cloud listing: derived, so a retried listing reuses it."""
    return f"{ingest_id}-{n}"


def _failed_listing(repo: StagingRepository, batch: StagingBatchRow, ingest_id: str, reason: str, detail: str) -> None:
    """Record a listing that produced nothing as a FAILED shard, so the batch shows why."""
    shard = repo.add_shard(batch, _listing_shard(ingest_id, 0), ingest_id, ShardStatus.FAILED.value)
    shard.rejected = [{"file": "*", "reason": reason, "detail": detail}]


def _object_items(payload: dict[str, Any], refs: list[dict[str, str]]) -> Iterator[Item]:
    """Objects of a cloud listing, read with the server's credentials (videos spooled to disk)."""
    fs, _ = open_source(payload["base"])
    content = payload.get("content", "images")
    for ref in refs:
        try:
            size = fs.size(ref["path"])
            if size is not None and size > staging.size_limit(content):
                raise FileRejected(Rejection.FILE_SIZE_LIMIT_EXCEEDED, f"{ref['name']} is {size} bytes")
            if content != "videos":
                yield ref["name"], bytes(fs.cat_file(ref["path"]))
                continue
            spool = _spool()
            with fs.open(ref["path"], "rb") as remote:
                shutil.copyfileobj(remote, spool, 8 * 1024 * 1024)
            spool.seek(0)
            yield ref["name"], spool
        except FileRejected as exc:
            yield ref["name"], exc
        except (OSError, ValueError) as exc:
            yield ref["name"], FileRejected(Rejection.DOWNLOAD_FAILED, f"{ref['name']}: {type(exc).__name__}: {exc}")


def list_cloud_objects(payload: dict[str, Any]) -> list[dict[str, str]]:
    """``{name, path}`` of the objects under the base that match the glob and the content's suffixes.

    A file's name in the batch is its path relative to the base with ``/`` written as ``__``,
    so equal file names in different folders stay distinct.
    """
    fs, base = open_source(payload["base"])
    base = base.rstrip("/")
    regex = re.compile(glob_translate(payload["pattern"])) if payload.get("pattern") else None
    suffixes = staging.suffixes(payload.get("content", "images"))
    found = []
    for path in sorted(fs.find(base)):
        rel = path[len(base) :].lstrip("/")
        if (regex is None or regex.match(rel)) and rel.lower().endswith(suffixes):
            found.append({"name": rel.replace("/", "__"), "path": path})
    return found


class StagingListHandler:
    """Runs ``staging-list`` jobs: list a cloud URI, then queue one ingest per shard of 20,000.

    Shard ids and their reference files are derived from the ingest id, so a retried listing
    rewrites the same keys and the shards and their ingest jobs appear in one commit.
    """

    kind = LIST_JOB

    def __init__(self, platform: Platform) -> None:
        self.p = platform

    def run(self, ctx: JobContext) -> None:
        """List, write the shards' reference files, then add shards + ingest jobs together."""
        payload = ctx.payload
        ctx.progress(0.0, f"Listing {payload['base']} ...")
        found = list_cloud_objects(payload)
        parts = staging.shards(len(found))
        keys = []
        for n, part in enumerate(parts):
            key = f"staging/{payload['batch_id']}/shards/{_listing_shard(payload['ingest_id'], n)}.uris.json"
            self.p.blobs.put_bytes(key, json.dumps([found[i] for i in part]).encode())
            keys.append(key)
        with self.p.db.unit_of_work() as s:
            repo = StagingRepository(s)
            batch = repo.batch(payload["batch_id"])
            if not found:
                detail = f"nothing under {payload['base']} matched"
                _failed_listing(repo, batch, payload["ingest_id"], "no-files-matched", detail)
            for n, key in enumerate(keys):
                shard_id = _listing_shard(payload["ingest_id"], n)
                repo.add_shard(batch, shard_id, payload["ingest_id"], ShardStatus.QUEUED.value, key)
                queue.enqueue(
                    s,
                    INGEST_JOB,
                    {
                        "batch_id": batch.batch_id,
                        "shard_id": shard_id,
                        "source": "uris",
                        "key": key,
                        "base": payload["base"],
                        "content": payload["content"],
                        "notify": payload.get("notify"),
                    },
                )
            ctx.finish(
                s, {"matched": len(found), "shards": len(keys)}, f"Listed {len(found)} files in {len(keys)} shards."
            )

    def give_up(self, session: Session, payload: dict[str, Any], message: str) -> None:
        """Record the failed listing as a FAILED shard, so the batch shows why nothing arrived."""
        repo = StagingRepository(session)
        try:
            batch = repo.batch(payload["batch_id"])
        except NotFound:
            return
        _failed_listing(repo, batch, payload["ingest_id"], "listing-failed", message)


class StagingIngestHandler:
    """Runs ``staging-ingest`` jobs."""

    kind = INGEST_JOB

    def __init__(self, platform: Platform) -> None:
        self.p = platform

    def _items(self, payload: dict[str, Any]) -> Iterator[Item]:
        data = self.p.blobs.get_bytes(payload["key"])
        if payload["source"] == "tar":
            try:
                yield from _tar_members(data)
            except tarfile.TarError as exc:
                raise InvalidInput(f"the uploaded shard is not a tar archive ({exc})", field="body") from None
            return
        if payload["source"] == "uris":
            yield from _object_items(payload, json.loads(data))
            return
        allow_private = self.p.settings.allow_private_urls
        videos = payload.get("content") == "videos"
        with httpx.Client(timeout=60) as client:
            for ref in json.loads(data):
                try:
                    if videos:
                        spool = _spool()
                        url_fetch.fetch_into(
                            ref["url"], spool, allow_private=allow_private, client=client, limit=staging.MAX_VIDEO_BYTES
                        )
                        yield ref["name"], spool
                    else:
                        yield ref["name"], url_fetch.fetch(ref["url"], allow_private=allow_private, client=client)
                except FileRejected as exc:
                    yield ref["name"], exc

    def run(self, ctx: JobContext) -> None:
        """Check and store every file, then commit rows + shard status + job completion together."""
        payload = ctx.payload
        self._set_status(payload, ShardStatus.PROCESSING)
        stored: list[dict[str, Any]] = []
        rejected: list[dict[str, str]] = []
        for i, (name, item) in enumerate(self._items(payload), start=1):
            try:
                if isinstance(item, FileRejected):
                    raise item
                if isinstance(item, bytes):
                    stored.append(store_file(self.p, payload["batch_id"], staging.file_name(name), item))
                else:
                    with item:
                        stored.append(store_video(self.p, payload["batch_id"], staging.file_name(name), item))
            except FileRejected as exc:
                rejected.append({"file": name, "reason": exc.reason.value, "detail": exc.detail})
            except InvalidInput as exc:
                rejected.append({"file": name, "reason": Rejection.UNSUPPORTED_FILE_TYPE.value, "detail": exc.message})
            if i % 20 == 0:
                ctx.progress(0.0, f"Checked {i} files ({len(rejected)} rejected).")
        with self.p.db.unit_of_work() as s:
            repo = StagingRepository(s)
            batch = repo.batch(payload["batch_id"])
            shard = repo.shard(batch, payload["shard_id"])
            existing = repo.existing_names(batch, [f["name"] for f in stored])
            fresh, seen = [], set(existing)
            for f in stored:
                if f["name"] in seen:
                    rejected.append(
                        {
                            "file": f["name"],
                            "reason": Rejection.DUPLICATED_FILE.value,
                            "detail": f"{f['name']} is already in the batch",
                        }
                    )
                    continue
                seen.add(f["name"])
                fresh.append(f | {"shard_id": shard.shard_id})
            repo.add_files(batch, fresh)
            notify = payload.get("notify")
            if payload["source"] == "tar":
                try:
                    notify = tar_notification(self.p.blobs.get_bytes(payload["key"]))
                except (tarfile.TarError, ValueError):
                    notify = None
            notifications.ingest_done(s, notify, batch.batch_id, shard.shard_id, [f["name"] for f in fresh], rejected)
            shard.status, shard.objects_count = ShardStatus.COMPLETED.value, len(fresh)
            shard.rejected, shard.updated_at = rejected[:MAX_REPORTED], time.time()
            ctx.finish(
                s,
                {"ingested": len(fresh), "rejected_count": len(rejected), "rejected": rejected[:MAX_REPORTED]},
                f"Ingested {len(fresh)} files, rejected {len(rejected)}.",
            )

    def _set_status(self, payload: dict[str, Any], status: ShardStatus, message: str | None = None) -> None:
        with self.p.db.unit_of_work() as s:
            self._mark(s, payload, status, message)

    @staticmethod
    def _mark(s: Session, payload: dict[str, Any], status: ShardStatus, message: str | None) -> None:
        repo = StagingRepository(s)
        try:
            shard = repo.shard(repo.batch(payload["batch_id"]), payload["shard_id"])
        except NotFound:
            return
        shard.status, shard.updated_at = status.value, time.time()
        if message:
            shard.rejected = [{"file": "*", "reason": "shard-failed", "detail": message}]

    def give_up(self, session: Session, payload: dict[str, Any], message: str) -> None:
        """Mark the shard FAILED with the reason."""
        self._mark(session, payload, ShardStatus.FAILED, message)
