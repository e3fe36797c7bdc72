"""Vision engine benchmark on any root in the MVTec AD layout, with ONE default configuration.

    .venv/bin/python benchmarks/vision_bench.py [ROOT_OR_CATEGORY ...] [--threads 2] [--seed 0]
        [--set OPTION=VALUE ...]

Default: every category found under ../shared/data. Per category it prints image AUROC, pixel
AUROC and AUPRO (where masks exist), precision/recall/F1 at the calibrated threshold (threshold
from held-out training normals only: no test image chooses it), training seconds, inference
ms/image p50 at batch 1 and images/s at batch 16 (ONNX Runtime), peak RSS and artifact size.
"train s" is a cold training (the backbone traced for it); "retrain s" the same training again
in the same process, as a worker that trains repeatedly (or a tuning trial) sees it.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from anomalens import vision
from anomalens.vision import engine

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SUFFIXES = (".png", ".jpg", ".jpeg")


def categories(roots: list[Path]) -> list[Path]:
    """Every folder with train/good below the given roots."""
    found = []
    for root in roots:
        found += sorted(p.parent.parent for p in root.rglob("train/good") if p.is_dir())
    return found


def require_categories(roots: list[Path]) -> list[Path]:
    """``categories(roots)``, or exit with a message naming the roots when there are none."""
    found = categories(roots)
    if not found:
        sys.exit(f"no MVTec-layout category under {roots}")
    return found


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES)


def load_category(cat: Path) -> tuple[list[np.ndarray], list[vision.LabeledImage]]:
    train = [vision.decode_image(p.read_bytes()) for p in _images(cat / "train" / "good")]
    test = []
    for kind in sorted(d.name for d in (cat / "test").iterdir() if d.is_dir()):
        for p in _images(cat / "test" / kind):
            img = vision.decode_image(p.read_bytes())
            mask = None
            mask_path = cat / "ground_truth" / kind / f"{p.stem}_mask.png"
            if kind != "good" and mask_path.exists():
                mask = vision.decode_mask(mask_path.read_bytes(), (img.shape[1], img.shape[0]))
            elif kind == "good" and (cat / "ground_truth").exists():
                mask = np.zeros(img.shape[:2], bool)
            test.append(vision.LabeledImage(img, kind != "good", mask, key=str(p)))
    return train, test


def timing(detector: vision.Detector, images: list[np.ndarray]) -> tuple[float, float]:
    one = []
    for img in images[:30]:
        t = time.perf_counter()
        detector.predict([img])
        one.append((time.perf_counter() - t) * 1000)
    batch = (images * (1 + 48 // max(1, len(images))))[:48]
    detector.predict(batch[:16])
    t = time.perf_counter()
    for i in range(0, 48, 16):
        detector.predict(batch[i : i + 16])
    return statistics.median(one), 48 / (time.perf_counter() - t)


def fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("roots", nargs="*", type=Path, default=[SHARED])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0, help="training seed (held-out split, channels, coreset)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="OPTION=VALUE",
        help="override a training option (anomalens.vision.options), e.g. --set long_side=512; "
        "not the benchmarked default configuration",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    extra: dict[str, int | float] = {}
    for option in args.set:
        key, _, value = option.partition("=")
        try:
            extra[key] = int(value)
        except ValueError:
            try:
                extra[key] = float(value)
            except ValueError:
                parser.error(f"--set {option!r}: expected OPTION=NUMBER")
    config = vision.TrainConfig(seed=args.seed, extra=extra)
    vision.check_config(config)
    cats = require_categories(args.roots)
    if extra:
        print(f"training options: {extra} (not the default configuration)")
    print(
        "| category | train imgs | image AUROC | pixel AUROC | AUPRO | P / R / F1 | algorithm | train s "
        "| s per 200 imgs | retrain s | p50 ms b1 | img/s b16 | peak RSS MB | artifact MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for cat in cats:
        train, test = load_category(cat)
        with tempfile.TemporaryDirectory() as tmp:
            engine.forget_feature_graphs()  # timed cold: the backbone traced for this training
            t = time.perf_counter()
            art = vision.fit(train, [], config, Path(tmp) / "m")
            secs = time.perf_counter() - t
            t = time.perf_counter()  # again in this process, as a worker retrains or a tuning trial runs
            vision.fit(train, [], config, Path(tmp) / "again")
            again = time.perf_counter() - t
            det = vision.load(art.path, threads=args.threads)
            ev = vision.evaluate(det, test)
            p50, ips = timing(det, [x.image for x in test])
            size = sum(f.stat().st_size for f in art.path.iterdir()) / 1e6
            del det  # the next category trains without this one's session and threads around
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"| {cat.name} | {len(train)} | {fmt(ev.image_auroc)} | {fmt(ev.pixel_auroc)} | {fmt(ev.aupro)} | "
            f"{ev.precision:.2f} / {ev.recall:.2f} / {ev.f1:.2f} | {art.meta['algorithm']} | {secs:.1f} | "
            f"{secs * 200 / len(train):.1f} | {again:.1f} | {p50:.1f} | {ips:.1f} | {rss:.0f} | {size:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
