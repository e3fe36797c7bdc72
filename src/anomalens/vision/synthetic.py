"""Synthetic anomalies made from held-out normal images, to choose between models without defects.

Most users train from good parts only, so no real defect can tell the engine which of its
candidate blends ranks defects best. Three cheap kinds of damage stand in for them: a patch of
another normal image pasted flipped (foreign texture, broken structure), a thin line (scratch,
crack) and a bright or dark blob (stain, uneven surface). On the three ``../shared/data``
categories the blend that ranked these best was also the best or tied best on the real test
defects (README of the vision engine); no category name or test image takes part.

Images are handled at the model's input size, so masks line up with the anomaly maps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw


@dataclass(frozen=True)
class SyntheticAnomaly:
    """A damaged copy of a normal image and the mask of the damage."""

    image: np.ndarray
    mask: np.ndarray


def _pasted_patch(base: np.ndarray, donor: np.ndarray, rng: np.random.Generator) -> SyntheticAnomaly:
    h, w = base.shape[:2]
    ph, pw = max(2, int(h * rng.uniform(0.06, 0.2))), max(2, int(w * rng.uniform(0.06, 0.2)))
    y, x = int(rng.integers(0, h - ph + 1)), int(rng.integers(0, w - pw + 1))
    y2, x2 = int(rng.integers(0, h - ph + 1)), int(rng.integers(0, w - pw + 1))
    patch = donor[y : y + ph, x : x + pw]
    patch = patch[::-1] if rng.random() < 0.5 else patch[:, ::-1]
    image, mask = base.copy(), np.zeros((h, w), bool)
    image[y2 : y2 + ph, x2 : x2 + pw] = patch
    mask[y2 : y2 + ph, x2 : x2 + pw] = True
    return SyntheticAnomaly(image, mask)


def _line(base: np.ndarray, rng: np.random.Generator) -> SyntheticAnomaly:
    h, w = base.shape[:2]
    x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
    angle, length = rng.uniform(0, np.pi), rng.uniform(0.15, 0.4) * max(h, w)
    ends = [(x0, y0), (x0 + length * np.cos(angle), y0 + length * np.sin(angle))]
    if rng.random() < 0.5:
        colour = tuple(int(255 - c) for c in base[y0, x0])
    else:
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
    width = int(rng.integers(1, 4))
    picture, drawn = Image.fromarray(base), Image.new("L", (w, h))
    ImageDraw.Draw(picture).line(ends, fill=colour, width=width)
    ImageDraw.Draw(drawn).line(ends, fill=255, width=width)
    return SyntheticAnomaly(np.asarray(picture), np.asarray(drawn) > 0)


def _blob(base: np.ndarray, rng: np.random.Generator) -> SyntheticAnomaly:
    h, w = base.shape[:2]
    yy, xx = np.mgrid[:h, :w]
    cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
    radius = rng.uniform(0.03, 0.1) * max(h, w)
    mask = (yy - cy) ** 2 + (xx - cx) ** 2 < radius**2
    shift = int(rng.choice([-1, 1]) * rng.integers(30, 80))
    image = base.astype(np.int16)
    image[mask] = np.clip(image[mask] + shift, 0, 255)
    return SyntheticAnomaly(image.astype(np.uint8), mask)


def make_anomalies(normals: list[np.ndarray], count: int, seed: int) -> list[SyntheticAnomaly]:
    """``count`` damaged copies of the given normal images (HxWx3 uint8, one size), cycling through them."""
    if not normals:
        return []
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        base = normals[i % len(normals)]
        kind = int(rng.integers(3))
        if kind == 0:
            out.append(_pasted_patch(base, normals[int(rng.integers(len(normals)))], rng))
        elif kind == 1:
            out.append(_line(base, rng))
        else:
            out.append(_blob(base, rng))
    return out
