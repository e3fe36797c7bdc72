"""Data-staging rules (Roboflow batch processing seed): batch ids, limits, per-file rejection reasons."""

from __future__ import annotations

import re
from enum import StrEnum

from anomalens.domain.errors import InvalidInput

BATCH_ID = re.compile(r"[a-z0-9_-]{1,64}")
MAX_FILE_BYTES = 20 * 1024 * 1024
SHARD_SIZE = 20_000
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpeg", ".mpg")
MAX_VIDEO_BYTES = 4 * 1024**3
MAX_VIDEO_FPS = 240.0
CONTENT_TYPES = ("images", "videos")


class Rejection(StrEnum):
    """Why a staged file was not ingested (reported per file)."""

    FILE_SIZE_LIMIT_EXCEEDED = "file-size-limit-exceeded"
    UNSUPPORTED_FILE_TYPE = "unsupported-file-type"
    FILE_CORRUPTED = "file-corrupted"
    UNSAFE_URL_DETECTED = "unsafe-url-detected"
    DOWNLOAD_FAILED = "download-failed"
    DUPLICATED_FILE = "duplicated-file"


class ShardStatus(StrEnum):
    """Lifecycle of one shard of a staging batch."""

    AWAITING_UPLOAD = "AWAITING_UPLOAD"
    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class FileRejected(Exception):
    """One file could not be ingested; ``reason`` is the machine-readable type."""

    def __init__(self, reason: Rejection, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason, self.detail = reason, detail


def batch_id(value: str) -> str:
    """Lowercase letters, digits, '-' and '_', at most 64 characters."""
    if not isinstance(value, str) or not BATCH_ID.fullmatch(value):
        raise InvalidInput(
            f"batch id {value!r} is invalid: use 1-64 lowercase letters, digits, '-' and '_'.", field="batchId"
        )
    return value


def file_name(value: str) -> str:
    """A staged file's name: a plain name (no folders), 1-255 characters."""
    if not value or len(value) > 255 or "/" in value or "\\" in value or value in (".", ".."):
        raise InvalidInput(f"file name {value!r} must be a plain name of 1-255 characters.", field="fileName")
    return value


def shards(count: int, size: int = SHARD_SIZE) -> list[range]:
    """Index ranges of the shards a batch of ``count`` files is split into."""
    return [range(start, min(count, start + size)) for start in range(0, count, size)]


def content_type(value: str) -> str:
    """What a staging batch holds: ``images`` or ``videos``."""
    if value not in CONTENT_TYPES:
        raise InvalidInput(
            f"content type must be one of {', '.join(CONTENT_TYPES)} (got {value!r}).", field="contentType"
        )
    return value


def size_limit(content: str) -> int:
    """Largest file a batch of ``content`` accepts."""
    return MAX_VIDEO_BYTES if content == "videos" else MAX_FILE_BYTES


def suffixes(content: str) -> tuple[str, ...]:
    """File name endings a batch of ``content`` takes from a listing."""
    return VIDEO_SUFFIXES if content == "videos" else IMAGE_SUFFIXES


def max_video_fps(value: object) -> float | None:
    """Frame sampling rate of a video job: a positive number up to 240, or None for every frame."""
    if value is None:
        return None
    try:
        fps = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        fps = -1.0
    if not 0 < fps <= MAX_VIDEO_FPS:
        raise InvalidInput(
            f"maxVideoFPS must be a number above 0 and at most {MAX_VIDEO_FPS:g} (got {value!r}).",
            field="processingSpecification.maxVideoFPS",
        )
    return fps
