"""Staging from elsewhere: lists of ``{name, url}`` references and cloud storage globs.

Both become shards of at most 20,000 files, each ingested by a durable job
(``anomalens.app.staging_ingest``); a cloud glob is first listed by a job of its own, with
the server's credentials (``anomalens.storage.cloud``).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from anomalens.app.context import Platform
from anomalens.domain import staging
from anomalens.domain.errors import InvalidInput
from anomalens.domain.staging import FileRejected, ShardStatus
from anomalens.jobs import queue
from anomalens.storage import cloud
from anomalens.storage.blobs import open_source
from anomalens.store.staging import StagingRepository

INGEST_JOB = "staging-ingest"
LIST_JOB = "staging-list"
CHECK_TIMEOUT_S = 15.0


def batch_ttl(p: Platform) -> float:
    """Seconds a staging batch lives (``ANOMALENS_STAGING_TTL_DAYS``)."""
    return p.settings.staging_ttl_days * 86400


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
        batch = repo.ensure_batch(batch_id, display_name or batch_id, content, "sharded-batch", batch_ttl(p))
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
    if not cloud.bucket_of(base):
        raise InvalidInput(f"SourceUri {source_uri!r} names no bucket or container.", field="SourceUri")

    def exists() -> bool:
        fs, path = open_source(base)
        return bool(fs.exists(path))

    try:
        found = cloud.run_with_timeout(exists, CHECK_TIMEOUT_S)
    except TimeoutError:
        raise InvalidInput(
            f"{base} could not be reached within {CHECK_TIMEOUT_S:g} s: check the server's credentials for "
            f"{cloud.protocol_of(base)}:// (see the README's configuration table).",
            field="SourceUri",
        ) from None
    except (OSError, ValueError, ImportError) as exc:
        raise InvalidInput(f"{base} cannot be listed: {type(exc).__name__}: {exc}", field="SourceUri") from None
    if not found:
        raise InvalidInput(f"{base} does not exist or holds no objects.", field="SourceUri")
    ingest_id = uuid.uuid4().hex
    notify = _notify(notifications_url, categories, ingest_id)
    with p.db.unit_of_work() as s:
        repo = StagingRepository(s)
        repo.ensure_batch(batch_id, display_name or batch_id, content, "sharded-batch", batch_ttl(p))
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
