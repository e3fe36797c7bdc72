"""Normalising anomaly masks to the service's internal form: one channel, 0 = background, k = class k.

Ground Truth masks are colour images whose pixels must equal the ``internal-color-map``
colours (background ``#ffffff``); MVTec masks are black/white. Both become an index mask, so
everything downstream reads masks one way.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from anomalens.domain.errors import InvalidInput

MAX_MASK_PIXELS = 4096 * 4096


def _open(data: bytes, field: str) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(data))
    except Exception:
        raise InvalidInput("the mask is not a PNG image.", field=field) from None
    if img.format != "PNG":
        raise InvalidInput(f"the mask must be PNG-encoded (got {img.format}).", field=field)
    if img.width * img.height > MAX_MASK_PIXELS:
        raise InvalidInput(f"the mask is {img.width}x{img.height}; at most 4096x4096 is allowed.", field=field)
    return img


def index_mask(data: bytes, color_map: dict[str, dict[str, object]] | None, *, field: str = "mask") -> bytes:
    """Return a PNG index mask; colour masks must use only the colour map's colours."""
    img = _open(data, field)
    if color_map is None or img.mode in ("1", "L", "I", "I;16"):
        arr = np.asarray(img.convert("L"))
        index = (arr > 0).astype(np.uint8)
        if color_map is not None:  # a grey mask in a Ground Truth line: white is background
            index = (arr < 255).astype(np.uint8)
    else:
        rgb = np.asarray(img.convert("RGB")).astype(np.int32)
        packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
        index = np.full(packed.shape, 255, dtype=np.uint8)
        for key, item in color_map.items():
            color = int(str(item["hex-color"]).lstrip("#"), 16)
            index[packed == color] = int(key)
        if (index == 255).any():
            bad = packed[index == 255][0]
            raise InvalidInput(
                f"mask colour #{bad:06x} is not in internal-color-map (colours must match exactly).", field=field
            )
    out = io.BytesIO()
    Image.fromarray(index, mode="L").save(out, format="PNG")
    return out.getvalue()
