"""Image rules of the spec (§3.6): formats, dimensions and file size, checked from the header.

Checking the header before decoding keeps decompression bombs (a small file claiming
30000x30000 pixels) from ever being decoded.
"""

from __future__ import annotations

from anomalens.domain.errors import InvalidInput

FORMATS = ("PNG", "JPEG")
MIN_SIDE = 64
MAX_SIDE = 4096
MAX_FILE_BYTES = 8 * 1024 * 1024
CONTENT_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG"}


def check_file_size(size: int, *, field: str = "image") -> None:
    """Refuse empty files and files over 8 MB."""
    if size <= 0:
        raise InvalidInput(f"{field} is empty.", field=field)
    if size > MAX_FILE_BYTES:
        raise InvalidInput(f"{field} is {size} bytes; the limit is {MAX_FILE_BYTES} bytes (8 MB).", field=field)


def check_dimensions(fmt: str, width: int, height: int, *, field: str = "image") -> None:
    """Refuse formats other than PNG/JPEG and sides outside 64-4096 px."""
    if fmt not in FORMATS:
        raise InvalidInput(f"{field} must be a PNG or JPEG image (got {fmt}).", field=field)
    for side, value in (("width", width), ("height", height)):
        if not MIN_SIDE <= value <= MAX_SIDE:
            raise InvalidInput(
                f"{field} {side} is {value} px; it must be between {MIN_SIDE} and {MAX_SIDE} px.", field=field
            )


def check_content_type(content_type: str | None, fmt: str) -> None:
    """Check a declared Content-Type against the bytes' real format."""
    if content_type is None:
        return
    declared = CONTENT_TYPES.get(content_type.split(";")[0].strip().lower())
    if declared is None:
        raise InvalidInput(f"Content-Type must be image/png or image/jpeg (got {content_type!r}).", field="ContentType")
    if declared != fmt:
        raise InvalidInput(f"Content-Type says {content_type} but the body is a {fmt} image.", field="ContentType")
