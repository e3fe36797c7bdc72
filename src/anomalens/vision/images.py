"""Image decoding for the engine: bytes in, HxWx3 uint8 RGB arrays out.

The header is read first (PIL opens lazily), so a small file that claims a huge size is refused
before any pixel is decoded. EXIF orientation is applied, 16-bit and grey images are brought
to 8-bit RGB, and alpha is dropped.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from anomalens.vision.types import ImageDecodeError

#: Refuse to decode anything above this many pixels (the platform's own limit is 4096x4096).
MAX_PIXELS = 8192 * 8192
FORMATS = ("PNG", "JPEG")


@dataclass(frozen=True)
class ImageInfo:
    """What the header says: format, size (as stored, before EXIF rotation) and mode."""

    format: str
    width: int
    height: int
    mode: str


def _open(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageDecodeError(f"image is too large to decode safely ({exc})") from None
    except Exception:
        raise ImageDecodeError("not a PNG or JPEG image (the header cannot be read)") from None
    if img.format not in FORMATS:
        raise ImageDecodeError(f"only PNG and JPEG are supported (got {img.format})")
    return img


def _png_header(data: bytes) -> ImageInfo | None:
    """Size straight from a PNG's IHDR chunk (for headers PIL refuses to open at all)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR" or len(data) < 24:
        return None
    return ImageInfo("PNG", int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"), "unknown")


def probe_image(data: bytes) -> ImageInfo:
    """Format and size from the header only; raises ImageDecodeError for non-PNG/JPEG bytes."""
    try:
        img = _open(data)
    except ImageDecodeError:
        if (info := _png_header(data)) is not None:
            return info
        raise
    return ImageInfo(str(img.format), img.width, img.height, img.mode)


def _to_uint8(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        return Image.fromarray(np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
    return img


def decode_image(data: bytes) -> np.ndarray:
    """Decode to an HxWx3 uint8 RGB array (EXIF-rotated); raises ImageDecodeError."""
    img = _open(data)
    if img.width * img.height > MAX_PIXELS:
        raise ImageDecodeError(f"{img.width}x{img.height} pixels is above the decoding limit")
    try:
        img.load()
        img = ImageOps.exif_transpose(img) or img
        img = _to_uint8(img)
        if img.mode in ("RGBA", "LA", "P", "PA"):
            img = img.convert("RGBA").convert("RGB") if img.mode != "P" else img.convert("RGB")
        return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))
    except ImageDecodeError:
        raise
    except Exception as exc:
        raise ImageDecodeError(f"the image data is corrupt or truncated ({type(exc).__name__})") from None


def decode_mask(data: bytes, size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode a mask to HxW bool (non-zero = anomalous), resized (nearest) to ``size`` = (w, h)."""
    img = _open(data)
    if img.width * img.height > MAX_PIXELS:
        raise ImageDecodeError("mask is above the decoding limit")
    img = _to_uint8(img).convert("L")
    if size is not None and img.size != size:
        img = img.resize(size, Image.Resampling.NEAREST)
    return np.asarray(img) > 0
