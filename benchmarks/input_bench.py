"""Camera-resolution input: shrinking frames to the model input, plain vs box-reduced first.

    .venv/bin/python benchmarks/input_bench.py [--repeat 15] [--threads 2]

For common camera sizes it prints, side by side in one run, the median milliseconds to bring a
frame to a 256-px input with the plain antialiased bilinear resize (models trained before engine
1.3) and with Pillow's ``reducing_gap`` (``preprocess.REDUCING_GAP``, what new models use), the
mean/max pixel difference between the two, and ``Detector.predict`` end to end on one frame
(resize, ONNX Runtime, anomaly map back at the frame's resolution) for the same model under
both settings. A second table gives ``Detector.predict`` on one frame (ms) and on 8 frames
(images/s) with the resizing on one thread and on ``preprocess.RESIZE_THREADS`` (one frame: its
map brought back in strips; 8 frames: one image per thread), alternately in this run. The
frames are smooth synthetic content; no data is read.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from anomalens import samples, vision
from anomalens.vision import preprocess
from anomalens.vision.preprocess import REDUCING_GAP, fit_to_input

FRAMES = [(1080, 1920), (2048, 2448), (3000, 4000)]


def frame(h: int, w: int) -> np.ndarray:
    small = np.random.default_rng(h * w).integers(0, 256, (h // 16, w // 16, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC))


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def row(det: vision.Detector, img: np.ndarray, repeat: int) -> str:
    """One frame: resize and predict, plain and with the gap, measured alternately in this run."""
    reduced = det.size
    plain = dataclasses.replace(reduced, reducing_gap=None)
    resize = {s: median_ms(partial(fit_to_input, img, s), repeat) for s in (plain, reduced)}
    diff = np.abs(fit_to_input(img, plain)[0].astype(np.int16) - fit_to_input(img, reduced)[0])
    predict = {}
    for s in (plain, reduced):
        det.size = s
        predict[s] = median_ms(partial(det.predict, [img]), repeat)
    det.size = reduced
    h, w = img.shape[:2]
    return (
        f"| {w}x{h} | {resize[plain]:.1f} | {resize[reduced]:.1f} | {diff.mean():.2f} / {diff.max()} "
        f"| {predict[plain]:.1f} | {predict[reduced]:.1f} |"
    )


def threads_row(det: vision.Detector, img: np.ndarray, repeat: int) -> str:
    """One frame and a batch of 8: resizing on one thread vs on the resize threads (alternately)."""
    frames = [img.copy() for _ in range(8)]
    settings = (1, preprocess.RESIZE_THREADS)
    one: dict[int, list[float]] = {t: [] for t in settings}
    eight: dict[int, list[float]] = {t: [] for t in settings}
    det.predict(frames)  # warm-up
    for _ in range(repeat):
        for threads in settings:
            preprocess.RESIZE_THREADS = threads
            start = time.perf_counter()
            det.predict(frames[:1])
            one[threads].append((time.perf_counter() - start) * 1000)
    for _ in range(max(3, repeat // 3)):
        for threads in settings:
            preprocess.RESIZE_THREADS = threads
            start = time.perf_counter()
            det.predict(frames)
            eight[threads].append(time.perf_counter() - start)
    ms = {t: statistics.median(v) for t, v in one.items()}
    rate = {t: len(frames) / statistics.median(v) for t, v in eight.items()}
    h, w = img.shape[:2]
    n = settings[1]
    return f"| {w}x{h} | {ms[1]:.1f} | {ms[n]:.1f} | {rate[1]:.1f} | {rate[n]:.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train = [vision.decode_image(samples.make_image(i)) for i in range(24)]
    with tempfile.TemporaryDirectory() as tmp:
        det = vision.load(vision.fit(train, [], vision.TrainConfig(), Path(tmp) / "m").path, threads=args.threads)
        gap = f"{REDUCING_GAP:g}"
        print(
            f"| frame | resize ms plain | resize ms gap {gap} | mean / max diff | predict ms plain | predict ms gap |"
        )
        print("|---|---|---|---|---|---|")
        for h, w in FRAMES:
            print(row(det, frame(h, w), args.repeat), flush=True)
        n = preprocess.RESIZE_THREADS
        print(
            f"\n| frame | predict ms, 1 frame, 1 thread | 1 frame, {n} threads (map in strips) "
            f"| img/s, 8 frames, 1 thread | 8 frames, {n} threads (one image per thread) |"
        )
        print("|---|---|---|---|---|")
        for h, w in [(512, 512), *FRAMES]:
            print(threads_row(det, frame(h, w), args.repeat), flush=True)
        preprocess.RESIZE_THREADS = n


if __name__ == "__main__":
    main()
