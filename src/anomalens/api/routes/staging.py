"""Data-staging routes (native API): batches, uploads, references, content."""

from __future__ import annotations

import tempfile
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from anomalens.api.deps import PlatformDep, signed
from anomalens.app import staging, staging_cleanup, staging_sources
from anomalens.store.staging_rows import StagingBatchRow, StagingFileRow, StagingShardRow

router = APIRouter(prefix="/v1/batches", tags=["staging"])
uploads = APIRouter(prefix="/v1/staging-uploads", tags=["staging"])


def batch_public(b: StagingBatchRow) -> dict[str, Any]:
    """A batch's public view."""
    return {
        "BatchId": b.batch_id,
        "DisplayName": b.display_name,
        "ContentType": b.content_type,
        "BatchType": b.batch_type,
        "CreationTimestamp": b.created_at,
        "ExpiryTimestamp": b.expires_at,
    }


def shard_public(s: StagingShardRow) -> dict[str, Any]:
    """A shard's public view with its rejected files."""
    return {
        "ShardId": s.shard_id,
        "IngestId": s.ingest_id,
        "Status": s.status,
        "ObjectsCount": s.objects_count,
        "Rejected": s.rejected,
        "LastUpdatedTimestamp": s.updated_at,
    }


def download_url(request: Request, batch_id: str, name: str) -> str:
    """Absolute URL of a staged file's bytes."""
    return signed(request, "GET", f"/v1/batches/{batch_id}/files/{quote(name)}")


def file_public(request: Request, batch_id: str, f: StagingFileRow) -> dict[str, Any]:
    """A staged file's public view."""
    return {
        "Name": f.name,
        "ContentType": f.content_type,
        "Size": f.size,
        "ShardId": f.shard_id,
        "DownloadUrl": download_url(request, batch_id, f.name),
    }


@router.get("")
def list_batches(p: PlatformDep, maxResults: int | None = None, nextToken: str | None = None) -> dict[str, Any]:
    """Live staging batches, newest first."""
    page = staging.list_batches(p, maxResults, nextToken)
    return {"Batches": [batch_public(b) for b in page.items], "NextToken": page.next_token}


@router.get("/{batch_id}")
def describe_batch(batch_id: str, p: PlatformDep) -> dict[str, Any]:
    """A batch with its file count and shards."""
    batch, count, shards = staging.describe_batch(p, batch_id)
    return {"Batch": batch_public(batch) | {"FilesCount": count, "Shards": [shard_public(s) for s in shards]}}


@router.delete("/{batch_id}")
def delete_batch(batch_id: str, p: PlatformDep) -> dict[str, Any]:
    """Delete a batch with its files and stored bytes (refused while a running job uses it)."""
    staging_cleanup.delete_batch(p, batch_id)
    return {}


@router.post("/{batch_id}/images")
async def upload_images(
    batch_id: str, files: list[UploadFile], p: PlatformDep, displayName: str | None = None
) -> dict[str, Any]:
    """Upload images (multipart, field ``files``); each bad file is reported, the rest are stored."""
    contents = [(upload.filename or "", await upload.read()) for upload in files]
    accepted, rejected = await run_in_threadpool(staging.upload_images, p, batch_id, contents, displayName)
    return {"Accepted": accepted, "Rejected": rejected}


@router.post("/{batch_id}/videos")
async def upload_videos(
    batch_id: str, files: list[UploadFile], p: PlatformDep, displayName: str | None = None
) -> dict[str, Any]:
    """Upload videos (multipart, field ``files``, streamed to temp files); bad files are reported."""
    contents = [(upload.filename or "", upload.file) for upload in files]
    accepted, rejected = await run_in_threadpool(staging.upload_videos, p, batch_id, contents, displayName)
    return {"Accepted": accepted, "Rejected": rejected}


@router.post("/{batch_id}/references", status_code=202)
def ingest_references(batch_id: str, body: dict[str, Any], p: PlatformDep) -> dict[str, Any]:
    """Queue an ingest from References, ReferencesUrl (a JSONL) or SourceUri (a cloud glob).

    A ``SourceUri`` is listed and read with the server's own credentials.
    """
    content = str(body.get("ContentType") or "images")
    if body.get("SourceUri"):
        ingest_id = staging_sources.ingest_cloud(
            p,
            batch_id,
            str(body["SourceUri"]),
            content,
            body.get("DisplayName"),
            body.get("NotificationsUrl"),
            body.get("NotificationCategories"),
        )
        return {"IngestId": ingest_id, "ShardIds": []}
    ingest_id, shard_ids = staging_sources.ingest_references(
        p,
        batch_id,
        body.get("References"),
        body.get("ReferencesUrl"),
        body.get("DisplayName"),
        None,
        body.get("NotificationsUrl"),
        body.get("NotificationCategories"),
        content=content,
    )
    return {"IngestId": ingest_id, "ShardIds": shard_ids}


@router.get("/{batch_id}/files")
def list_files(
    batch_id: str,
    request: Request,
    p: PlatformDep,
    maxResults: int | None = None,
    nextToken: str | None = None,
) -> dict[str, Any]:
    """Files of a batch with download URLs."""
    page = staging.list_files(p, batch_id, maxResults, nextToken)
    return {"Files": [file_public(request, batch_id, f) for f in page.items], "NextToken": page.next_token}


@router.get("/{batch_id}/files/{name}")
def get_file(batch_id: str, name: str, p: PlatformDep) -> Response:
    """A staged file's bytes."""
    row, data = staging.file_content(p, batch_id, name)
    return Response(
        data, media_type=row.content_type, headers={"Content-Disposition": f'attachment; filename="{quote(row.name)}"'}
    )


@uploads.put("/{shard_id}")
async def upload_shard(shard_id: str, request: Request, p: PlatformDep) -> dict[str, Any]:
    """The target of a shard upload URL: a tar of images."""
    staging.receive_shard_upload(p, shard_id, await request.body())
    return {"ShardId": shard_id, "Status": "QUEUED"}


@uploads.put("/{shard_id}/{file_name}")
async def upload_video(shard_id: str, file_name: str, request: Request, p: PlatformDep) -> dict[str, Any]:
    """The target of a video upload URL: the video's bytes, spooled to disk as they arrive."""
    with tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024) as spool:
        async for chunk in request.stream():
            spool.write(chunk)
        spool.seek(0)
        await run_in_threadpool(staging.receive_video_upload, p, shard_id, file_name, spool)
    return {"ShardId": shard_id, "Status": "COMPLETED"}
