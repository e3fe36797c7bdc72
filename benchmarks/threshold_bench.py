"""The threshold rule without anomalous validation images, over several seeds, on test images.

    .venv/bin/python benchmarks/threshold_bench.py [ROOT_OR_CATEGORY ...] [--seeds 0,1,2,3]

Per category and seed it trains the default model with a single held-out split (``folds=1``:
the rules are compared on the scores of images held out of the model; the default cross-fits
instead below 130 training images, see ``calibration_bench.py``), scores the held-out normals
and the test images with the exported model, and applies to those
same scores, side by side: the rule engines up to 1.3 used (the 99th percentile of the held-out
normal scores), engine 1.4's (``calibration.from_normals``: that percentile capped at median + 3
robust standard deviations, never below the 97th percentile) and two variants without the
floor. It prints F1 and the false-positive rate on the test normals, as the mean and the worst
seed. No test image chooses anything in the model; this script only reports how rules fare.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import numpy as np
import torch

from anomalens import vision
from anomalens.vision import calibration, engine, metrics, options
from vision_bench import SHARED, load_category, require_categories


def _rates(threshold: float, scores: np.ndarray, anomalous: np.ndarray) -> tuple[float, float]:
    """(F1, false-positive rate on the normals) of the decision ``score >= threshold``."""
    flagged = scores >= threshold
    return metrics.classification(anomalous, flagged)[2], float(flagged[~anomalous].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("roots", nargs="*", type=Path, default=[SHARED])
    parser.add_argument("--seeds", default="0,1,2,3")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")]
    cats = require_categories(args.roots)
    print("| category | rule | F1 mean | F1 worst | FP rate mean | FP rate worst |")
    print("|---|---|---|---|---|---|")
    for cat in cats:
        train, test = load_category(cat)
        anomalous = np.array([t.is_anomalous for t in test])
        results: dict[str, list[tuple[float, float]]] = {}
        for seed in seeds:
            with tempfile.TemporaryDirectory() as tmp:
                config = vision.TrainConfig(seed=seed, extra={"folds": 1})
                art = vision.fit(train, [], config, Path(tmp) / "m")
                det = vision.load(art.path, threads=args.threads)
                _, held = engine._split_holdout(train, float(options.DEFAULTS["holdout"]), seed)
                held_out = det.run([train[i] for i in held]).scores.astype(np.float64)
                scores = det.run([t.image for t in test]).scores
            rules = {
                "99th percentile (engine <= 1.3)": float(np.quantile(held_out, 0.99)),
                "engine 1.4: cap at 3 robust sd, floor q97": calibration.from_normals(held_out).threshold,
                "cap at 5 robust sd, no floor": calibration.from_normals(held_out, sigmas=5.0, floor=None).threshold,
                "cap at 3 robust sd, no floor": calibration.from_normals(held_out, floor=None).threshold,
            }
            for name, threshold in rules.items():
                results.setdefault(name, []).append(_rates(threshold, scores, anomalous))
        for name, rows in results.items():
            f1s, fprs = [r[0] for r in rows], [r[1] for r in rows]
            print(
                f"| {cat.name} | {name} | {statistics.mean(f1s):.2f} | {min(f1s):.2f} | "
                f"{statistics.mean(fprs):.2f} | {max(fprs):.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
