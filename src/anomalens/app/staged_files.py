"""Checking and storing one staged file (image or video).

Every file is checked before it is kept: size limit, type, and that it decodes; a rejected
file raises ``FileRejected`` with the seed's reason type, so callers can report it per file
while the rest proceed. Bytes are stored content-addressed under the batch, so a retried
ingest rewrites the same keys.
"""

from __future__ import annotations

import hashlib
import mimetypes
import time
from typing import IO, Any

from anomalens import vision
from anomalens.app.context import Platform
from anomalens.domain import staging
from anomalens.domain.staging import FileRejected, Rejection


def _content_key(batch_id: str, digest: str) -> str:
    """Blob key of a staged file: content-addressed inside its batch."""
    return f"staging/{batch_id}/{digest[:2]}/{digest}"


def file_row(name: str, key: str, content_type: str, size: int) -> dict[str, Any]:
    """The staging-file record of a stored blob (staged inputs and job outputs alike)."""
    return {"name": name, "blob_key": key, "content_type": content_type, "size": size, "created_at": time.time()}


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
    key = _content_key(batch_id, hashlib.sha256(data).hexdigest())
    if not p.blobs.exists(key):
        p.blobs.put_bytes(key, data)
    return file_row(name, key, content_type, len(data))


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
    key = _content_key(batch_id, digest.hexdigest())
    if not p.blobs.exists(key):
        p.blobs.put_file(key, source)
    return file_row(name, key, content_type, size)
