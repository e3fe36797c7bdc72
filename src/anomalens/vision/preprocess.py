"""Input handling: orientation-matched resize into the model's fixed input size, and back.

The input size is chosen once at training time from the training images' median aspect ratio
(long side fixed, short side a multiple of 32), so elongated parts keep their proportions and
small defects are not squashed. This code is plain numpy + PIL so the torch-free runtime
shares it with training.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class InputSize:
    """Model input height and width (multiples of 32), and how images are shrunk to them.

    ``reducing_gap`` is Pillow's: an image at least ``2 * gap`` times the input is first shrunk
    by a whole factor with a box filter (block means), leaving a bilinear resize of at most
    ``2 * gap``. At 3.0 a 5-megapixel camera frame (2448x2048) takes 15 instead of 22 ms to
    bring to 256x256, a 12-megapixel one 29 instead of 48 ms (``benchmarks/input_bench.py``),
    for a mean difference under one grey level; images under 6x the input (every image in
    ``../shared/data``) are resized exactly as before. None (artifacts written before it
    existed) is the plain antialiased resize those models were trained with.
    """

    height: int
    width: int
    reducing_gap: float | None = None

    def to_json(self) -> dict[str, Any]:
        """For model.json."""
        return {"height": self.height, "width": self.width, "reducing_gap": self.reducing_gap}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InputSize:
        """From model.json."""
        gap = data.get("reducing_gap")
        return cls(int(data["height"]), int(data["width"]), None if gap is None else float(gap))


#: What new trainings use (see ``InputSize.reducing_gap``).
REDUCING_GAP = 3.0


def choose_input_size(shapes: list[tuple[int, int]], long_side: int) -> InputSize:
    """Pick (H, W) from the images' median aspect ratio; the long side is ``long_side``.

    Orientation follows the majority of the images; the others are rotated to match
    (:func:`needs_rotation`), so the aspect ratio is taken over long/short sides.
    """
    if not shapes:
        return InputSize(long_side, long_side, REDUCING_GAP)
    landscape = sum(w >= h for h, w in shapes) >= len(shapes) / 2
    ratio = float(np.median([max(h, w) / min(h, w) for h, w in shapes]))
    aspect = ratio if landscape else 1 / ratio
    aspect = min(max(aspect, 1 / 4), 4.0)

    def short(n: float) -> int:
        return max(64, round(n / 32) * 32)

    if aspect >= 1:
        return InputSize(short(long_side / aspect), long_side, REDUCING_GAP)
    return InputSize(long_side, short(long_side * aspect), REDUCING_GAP)


@dataclass(frozen=True)
class Placement:
    """Where an image landed inside the model input (to map the anomaly map back onto it)."""

    top: int
    left: int
    height: int
    width: int
    rotated: bool = False


ORIENTATION_SLACK = 1.1


def needs_rotation(shape: tuple[int, int], size: InputSize) -> bool:
    """True when an image's orientation is clearly opposite to the model's (portrait vs landscape).

    Rotating such images by 90 degrees lets parts photographed in either orientation fill the
    input instead of shrinking into a letterbox.
    """
    h, w = shape
    if size.width > size.height:
        return h > w * ORIENTATION_SLACK
    if size.height > size.width:
        return w > h * ORIENTATION_SLACK
    return False


def fit_to_input(image: np.ndarray, size: InputSize) -> tuple[np.ndarray, Placement]:
    """Rotate to the model's orientation if needed, then resize to ``size``.

    The input's aspect ratio is the training images' median, so images of the usual shape keep
    their proportions; images of unusual shape are stretched rather than letterboxed, because
    padding borders at varying places look like anomalies to a patch model (measured on the
    magnetic-tile set, whose sizes vary: 0.922 → 0.951 image AUROC).
    """
    rotated = needs_rotation(image.shape[:2], size)
    if rotated:
        image = np.ascontiguousarray(np.rot90(image))
    resized = Image.fromarray(image).resize(
        (size.width, size.height), Image.Resampling.BILINEAR, reducing_gap=size.reducing_gap
    )
    out = np.asarray(resized)
    return out, Placement(0, 0, size.height, size.width, rotated)


#: Threads that resize a batch's images side by side. Pillow releases the GIL while it resizes,
#: and ONNX Runtime waits for the batch, so the cores would otherwise idle: 209 bottle images
#: brought from 1024 px to 256 take 1.07 s on one thread (a fifth of a training).
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
RESIZE_THREADS = max(1, min(4, _CORES))
_THREAD_PREFIX = "anomalens-resize"
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _resize_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(RESIZE_THREADS, thread_name_prefix=_THREAD_PREFIX)
        return _pool


def _forget_pool() -> None:
    """A forked child inherits the pool object but not its threads (nor a lock one of them held)."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def map_images(func: Any, images: list[Any], threads: int = RESIZE_THREADS) -> list[Any]:
    """``[func(x) for x in images]``, on the resize threads when there is more than one image.

    ``threads`` is the caller's share of the machine (a detector's thread count): with 1 it
    resizes on its own thread, so processes sized to one core each stay on one core.
    """
    nested = threading.current_thread().name.startswith(_THREAD_PREFIX)  # a task waiting on tasks could deadlock
    if len(images) < 2 or min(threads, RESIZE_THREADS) < 2 or nested:
        return [func(x) for x in images]
    try:
        return list(_resize_pool().map(func, images))
    except RuntimeError as exc:  # the interpreter is shutting down: no new threads, finish here
        if "shutdown" not in str(exc):
            raise
        return [func(x) for x in images]


def to_batch(
    images: list[np.ndarray], size: InputSize, threads: int = RESIZE_THREADS
) -> tuple[np.ndarray, list[Placement]]:
    """Letterbox every image into an Nx3xHxW float32 batch in [0, 1] (on the resize threads unless ``threads`` is 1)."""
    boxed: list[tuple[np.ndarray, Placement]] = map_images(partial(fit_to_input, size=size), images, threads)
    pixels = np.stack([b[0] for b in boxed]).transpose(0, 3, 1, 2)
    batch = np.empty(pixels.shape, dtype=np.float32)
    np.divide(pixels, np.float32(255.0), out=batch)  # one pass: convert, transpose and scale
    return batch, [b[1] for b in boxed]


#: Maps brought back to at least this many pixels are done in horizontal strips, one per thread.
STRIP_MIN_PIXELS = 1_000_000


def unbox_map(
    amap: np.ndarray, place: Placement, shape: tuple[int, int], scale: float = 1.0, threads: int = 1
) -> np.ndarray:
    """A map (input resolution) cropped to the image's area, at the image's HxW, times ``scale``, clipped to [0, 1].

    A camera frame's map is the largest array ``predict`` makes (48 MB at 12 megapixels) and
    bringing it back took most of a large frame's prediction, so with ``threads`` > 1 it is
    made in horizontal strips side by side. Pillow's ``box`` gives each strip the sampling
    positions of the whole resize (strips agree with it within 1e-7, tested).
    """
    crop = amap[place.top : place.top + place.height, place.left : place.left + place.width]
    if place.rotated:
        crop = np.rot90(crop, k=-1)
    source = Image.fromarray(crop.astype(np.float32), mode="F")
    height, width = shape
    out = np.empty((height, width), dtype=np.float32)
    strips = max(1, min(threads, RESIZE_THREADS)) if height * width >= STRIP_MIN_PIXELS else 1
    edges = [round(height * i / strips) for i in range(strips + 1)]
    rows_per_pixel = crop.shape[0] / height

    def make_strip(i: int) -> None:
        top, bottom = edges[i], edges[i + 1]
        box = (0.0, top * rows_per_pixel, float(crop.shape[1]), bottom * rows_per_pixel)
        part = source.resize((width, bottom - top), Image.Resampling.BILINEAR, box=box)
        rows = out[top:bottom]
        np.multiply(np.asarray(part, dtype=np.float32), np.float32(scale), out=rows)
        np.clip(rows, 0.0, 1.0, out=rows)

    map_images(make_strip, list(range(strips)), threads)
    return out


def mask_to_input(mask: np.ndarray, size: InputSize) -> np.ndarray:
    """Bring a ground-truth mask to the input grid exactly as its image (for pixel metrics)."""
    if needs_rotation(mask.shape, size):
        mask = np.rot90(mask)
    img = Image.fromarray(mask.astype(np.uint8) * 255).resize((size.width, size.height), Image.Resampling.NEAREST)
    return np.asarray(img) > 0
