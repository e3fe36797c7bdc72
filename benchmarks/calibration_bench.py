"""Few training normals: the threshold from a single held-out split against cross-fitting, side by side.

    .venv/bin/python benchmarks/calibration_bench.py [ROOT_OR_CATEGORY ...] [--sizes 10,20,50]
        [--draws 3] [--threads 2]

A user who photographs 10-50 good parts (Lookout for Vision trains from 10) gets a threshold
from normals only. Per category, training-set size and draw (a random subset of the training
normals; the same subset for both schemes), this trains the default model twice, with
``folds=1`` (one held-out split, 15 % of the images, at least 3) and with the default
(``folds=0``: cross-fitting below 130 images), and evaluates both on the whole test set. It
prints, per scheme, the means over draws of image AUROC, recall and F1, the false-positive
rate on the test normals as mean and worst draw, and the median training seconds. No test
image chooses anything in either model.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from anomalens import vision
from vision_bench import SHARED, load_category, require_categories

SCHEMES = {"single held-out split (folds=1)": 1, "cross-fitted (default)": 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("roots", nargs="*", type=Path, default=[SHARED])
    parser.add_argument("--sizes", default="10,20,50", help="training normals per model (random subsets)")
    parser.add_argument("--draws", type=int, default=3, help="random subsets per size")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sizes = [int(s) for s in args.sizes.split(",")]
    cats = require_categories(args.roots)
    print(
        "| category | train imgs | calibration | image AUROC | recall | F1 | FP rate mean | FP rate worst | train s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for cat in cats:
        train, test = load_category(cat)
        for size in (s for s in sizes if s <= len(train)):
            rows: dict[str, list[tuple[float, float, float, float, float]]] = {name: [] for name in SCHEMES}
            for draw in range(args.draws):
                pick = np.random.default_rng(100 + draw).choice(len(train), size, replace=False)
                subset = [train[i] for i in sorted(pick)]
                for name, folds in SCHEMES.items():
                    with tempfile.TemporaryDirectory() as tmp:
                        started = time.perf_counter()
                        config = vision.TrainConfig(extra={"folds": folds})
                        art = vision.fit(subset, [], config, Path(tmp) / "m")
                        seconds = time.perf_counter() - started
                        ev = vision.evaluate(vision.load(art.path, threads=args.threads), test)
                    normals = [r for r in ev.records if not r.is_anomalous]
                    fp_rate = sum(r.predicted_anomalous for r in normals) / max(1, len(normals))
                    rows[name].append((ev.image_auroc or 0.0, ev.recall, ev.f1, fp_rate, seconds))
            for name, got in rows.items():
                auroc, recall, f1, fpr, secs = (list(col) for col in zip(*got, strict=True))
                print(
                    f"| {cat.name} | {size} | {name} | {statistics.mean(auroc):.3f} | {statistics.mean(recall):.2f} | "
                    f"{statistics.mean(f1):.2f} | {statistics.mean(fpr):.2f} | {max(fpr):.2f} | "
                    f"{statistics.median(secs):.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
