"""Training time with the images resized on one thread (and ONNX Runtime spinning) vs on the resize threads.

    .venv/bin/python benchmarks/resize_threads_bench.py [CATEGORY] [--sides 512,1024] [--repeat 4]

Trains the default model on one category's training images (default: bottle under
../shared/data), first as they are stored and then enlarged to each long side in ``--sides``
(standing in for full-resolution photos; the model input stays 256 px), alternating the two
settings ``--repeat`` times in one process, and prints the median and range of the fit seconds.
"one thread" is how engines up to 1.4 trained: each batch resized image by image, the feature
session's threads busy-waiting between runs. "resize threads" resizes a batch's images side by
side (``preprocess.RESIZE_THREADS``) while the feature session's threads sleep.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image

from anomalens import vision
from anomalens.vision import engine, preprocess, runtime
from vision_bench import SHARED, load_category


def _enlarged(images: list[np.ndarray], side: int) -> list[np.ndarray]:
    out = []
    for img in images:
        h, w = img.shape[:2]
        scale = side / max(h, w)
        size = (round(w * scale), round(h * scale))
        out.append(np.asarray(Image.fromarray(img).resize(size, Image.Resampling.BILINEAR)))
    return out


def _setting(threads: int, spinning: bool) -> None:
    preprocess.RESIZE_THREADS = threads
    chosen: Callable[..., ort.InferenceSession] = lambda model, threads, **_: runtime.session(  # noqa: E731
        model, threads, spinning=spinning
    )
    engine.session = chosen  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("category", nargs="?", type=Path, default=SHARED / "mvtec_bottle_512" / "bottle")
    parser.add_argument("--sides", default="1024")
    parser.add_argument("--repeat", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(2)
    stored, _ = load_category(args.category)
    sets = {"stored": stored} | {f"{s} px": _enlarged(stored, int(s)) for s in args.sides.split(",")}
    threads = preprocess.RESIZE_THREADS
    settings = {"one thread": (1, True), f"{threads} resize threads": (threads, False)}
    print(f"| images ({len(stored)}) | setting | fit s median | range |")
    print("|---|---|---|---|")
    for name, images in sets.items():
        times: dict[str, list[float]] = {s: [] for s in settings}
        with tempfile.TemporaryDirectory() as tmp:
            vision.fit(images, [], vision.TrainConfig(), Path(tmp) / "warm")  # traces the backbone once
            for _ in range(args.repeat):
                for setting, (threads, spinning) in settings.items():
                    _setting(threads, spinning)
                    start = time.perf_counter()
                    vision.fit(images, [], vision.TrainConfig(), Path(tmp) / "m")
                    times[setting].append(time.perf_counter() - start)
        for setting, values in times.items():
            print(
                f"| {name} | {setting} | {statistics.median(values):.2f} | {min(values):.2f}-{max(values):.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
