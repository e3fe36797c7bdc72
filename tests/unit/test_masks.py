"""Mask normalisation: Ground Truth colour masks and MVTec black/white masks become index masks."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from anomalens.app.masks import index_mask
from anomalens.domain.errors import InvalidInput

CMAP = {
    "0": {"class-name": "BACKGROUND", "hex-color": "#ffffff"},
    "1": {"class-name": "scratch", "hex-color": "#2ca02c"},
}


def _png(arr: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(arr).save(out, format="PNG")
    return out.getvalue()


def _decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def test_colour_mask_maps_to_class_indices() -> None:
    rgb = np.full((8, 8, 3), 255, np.uint8)
    rgb[2:4, 2:4] = (0x2C, 0xA0, 0x2C)
    index = _decode(index_mask(_png(rgb), CMAP))
    assert index.sum() == 4 and index[2, 2] == 1 and index[0, 0] == 0


def test_colour_not_in_the_map_is_refused() -> None:
    rgb = np.full((8, 8, 3), 255, np.uint8)
    rgb[0, 0] = (1, 2, 3)
    with pytest.raises(InvalidInput, match="#010203"):
        index_mask(_png(rgb), CMAP)


def test_mvtec_mask_is_black_background() -> None:
    grey = np.zeros((8, 8), np.uint8)
    grey[5, 5] = 255
    index = _decode(index_mask(_png(grey), None))
    assert index.sum() == 1 and index[5, 5] == 1


def test_non_png_mask_is_refused() -> None:
    out = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(out, format="JPEG")
    with pytest.raises(InvalidInput, match="PNG"):
        index_mask(out.getvalue(), CMAP)
