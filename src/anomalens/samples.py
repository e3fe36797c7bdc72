"""Synthetic inspection images made by Anomalens itself (no licensed data).

A brushed-metal surface with a stamped ring, and defects drawn on top (scratches, stains).

Used by the demo and the tests; deterministic for a seed.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SIZE = 128
DEFECTS = ("scratch", "stain")


def _surface(rng: np.random.Generator, size: int) -> Image.Image:
    """A grey brushed surface with a ring, lightly jittered so normals differ from each other."""
    noise = rng.normal(0, 1, (size, size * 2))
    grain = np.repeat(noise.mean(axis=1, keepdims=True), size * 2, axis=1) * 6 + noise * 4
    base = 140 + grain[:, :size] + rng.normal(0, 2)
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "L").convert("RGB")
    draw = ImageDraw.Draw(img)
    c = size / 2 + rng.uniform(-1.5, 1.5)
    r = size * 0.3
    draw.ellipse((c - r, c - r, c + r, c + r), outline=(90, 90, 95), width=max(2, size // 32))
    return img


def _defect(img: Image.Image, rng: np.random.Generator, kind: str) -> Image.Image:
    draw = ImageDraw.Draw(img)
    size = img.width
    if kind == "scratch":
        x0, y0 = rng.uniform(0.15, 0.5, 2) * size
        length = rng.uniform(0.25, 0.45) * size
        angle = rng.uniform(0, np.pi)
        x1, y1 = x0 + length * np.cos(angle), y0 + length * np.sin(angle)
        draw.line((x0, y0, x1, y1), fill=(235, 235, 235), width=max(2, size // 48))
    else:
        cx, cy = rng.uniform(0.25, 0.75, 2) * size
        r = rng.uniform(0.06, 0.1) * size
        draw.ellipse((cx - r, cy - r * 0.7, cx + r, cy + r * 0.7), fill=(60, 45, 30))
    return img.filter(ImageFilter.SMOOTH)


def make_image(seed: int, defect: str | None = None, size: int = SIZE) -> bytes:
    """PNG bytes of one normal (``defect=None``) or defective sample."""
    rng = np.random.default_rng(seed)
    img = _surface(rng, size)
    if defect:
        img = _defect(img, rng, defect)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def write_labeled_folder(root: Path, n_normal: int = 40, n_anomaly: int = 16, seed: int = 0, size: int = SIZE) -> Path:
    """A folder with ``normal/`` and ``anomaly/`` subfolders (the auto-label import layout)."""
    for sub in ("normal", "anomaly"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i in range(n_normal):
        (root / "normal" / f"normal_{i:03d}.png").write_bytes(make_image(seed * 10_000 + i, size=size))
    for i in range(n_anomaly):
        kind = DEFECTS[i % len(DEFECTS)]
        (root / "anomaly" / f"{kind}_{i:03d}.png").write_bytes(make_image(seed * 10_000 + 5_000 + i, kind, size))
    return root
