"""How much of a category's pixel AUROC is in the features, against what the default map gets.

    .venv/bin/python benchmarks/pixel_ceiling.py [CATEGORY ...] [--seed 0] [--threads 2]

Default: every category with masks under ../shared/data. Per category it trains the default
model (normal images only, as ``vision_bench``) and, on the same backbone features, a
*supervised* linear head: a logistic regression over each feature position (and its 5x5 and
11x11 neighbourhood means), fitted on the masks of half the test images plus training normals
and scored on the other half, then the halves swapped (split by image, within each defect
type). Both maps are scored on every test image, out of fold for the head.

This is a diagnostic, not a method: the head sees test masks, which no normal-only model may.
What it answers is where a missed pixel target comes from. Where the head is far above the
default map, the features separate the defects and the anomaly *scoring* is what loses them
(the later supervised-segmentation work can use them); where the head is no better, only
other features could help.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from anomalens import vision
from anomalens.vision import engine, metrics
from anomalens.vision.network import AnomalyNetwork, PatchFeatures
from anomalens.vision.preprocess import InputSize, mask_to_input, to_batch
from vision_bench import SHARED, load_category, require_categories

#: Neighbourhood widths (feature positions) whose means are stacked as the head's input.
CONTEXT_WIDTHS = (1, 5, 11)
#: Rows the head is fitted on per fold (all of them would take minutes for little change).
FIT_ROWS = 150_000
#: Training normals whose features join the head's negatives.
TRAIN_NORMALS = 200


def _features(module: PatchFeatures, images: list[np.ndarray], size: InputSize) -> np.ndarray:
    """Backbone features with their neighbourhood means stacked, N x C' x h x w."""
    out = []
    with torch.inference_mode():
        for start in range(0, len(images), 8):
            batch, _ = to_batch(images[start : start + 8], size)
            feats = module(torch.from_numpy(batch))
            stacked = [
                feats if k == 1 else F.avg_pool2d(feats, k, 1, k // 2, count_include_pad=False) for k in CONTEXT_WIDTHS
            ]
            out.append(torch.cat(stacked, 1).numpy())
    return np.concatenate(out)


def _rows(feats: np.ndarray) -> np.ndarray:
    return feats.transpose(0, 2, 3, 1).reshape(-1, feats.shape[1])


def _folds(kinds: list[str], seed: int) -> np.ndarray:
    """Half of each defect type's images (and of the normals) in fold 1."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(kinds), dtype=int)
    by_kind: dict[str, list[int]] = defaultdict(list)
    for i, kind in enumerate(kinds):
        by_kind[kind].append(i)
    for ids in by_kind.values():
        chosen = rng.permutation(ids)[: len(ids) // 2]
        fold[chosen] = 1
    return fold


def _head_maps(
    test_feats: np.ndarray, normal_feats: np.ndarray, labels: np.ndarray, fold: np.ndarray, seed: int
) -> np.ndarray:
    """Out-of-fold decision values of the supervised head on the feature grid, N x h x w."""
    rng = np.random.default_rng(seed)
    n, _, h, w = test_feats.shape
    out = np.zeros((n, h, w), dtype=np.float32)
    negatives = _rows(normal_feats)
    for held in (0, 1):
        fit_ids = np.flatnonzero(fold != held)
        x = np.concatenate([_rows(test_feats[fit_ids]), negatives])
        y = np.concatenate([labels[fit_ids].ravel(), np.zeros(len(negatives), dtype=bool)])
        keep = rng.choice(len(x), min(len(x), FIT_ROWS), replace=False)
        scaler = StandardScaler().fit(x[keep])
        head = LogisticRegression(C=0.1, max_iter=300, class_weight="balanced")
        head.fit(scaler.transform(x[keep]), y[keep])
        ids = np.flatnonzero(fold == held)
        values = head.decision_function(scaler.transform(_rows(test_feats[ids])))
        out[ids] = values.reshape(len(ids), h, w)
    return out


def run(cat: Path, seed: int, threads: int) -> None:
    train, test = load_category(cat)
    with tempfile.TemporaryDirectory() as tmp:
        config = vision.TrainConfig(seed=seed)
        artifact = vision.fit(train, [], config, Path(tmp) / "model")
        detector = vision.load(artifact.path, threads=threads)
        default_maps = detector.run([t.image for t in test]).maps
    size = detector.size
    module, _, _ = engine._feature_graph(config.backbone, size)  # the backbone the model was trained with, kept by fit
    test_feats = _features(module, [t.image for t in test], size)
    picks = np.random.default_rng(seed).permutation(len(train))[:TRAIN_NORMALS]
    normal_feats = _features(module, [train[i] for i in sorted(picks)], size)
    masks = np.stack(
        [mask_to_input(t.mask if t.mask is not None else np.zeros(t.image.shape[:2], bool), size) for t in test]
    )
    h, w = test_feats.shape[2:]
    grid_labels = F.adaptive_avg_pool2d(torch.from_numpy(masks[:, None].astype(np.float32)), (h, w))[:, 0].numpy() > 0.5
    kinds = [Path(t.key).parent.name for t in test]
    head_grid = _head_maps(test_feats, normal_feats, grid_labels, _folds(kinds, seed), seed)
    # upsampled and blurred by the model's own map tail, as the default map is
    tail = AnomalyNetwork(module, torch.nn.Identity(), float(artifact.meta["map"]["sigma"]))
    with torch.inference_mode():
        head = tail.upsample(torch.from_numpy(head_grid), (size.height, size.width)).numpy()

    def pixel(maps: np.ndarray, ids: list[int]) -> str:
        value = metrics.pixel_auroc([masks[i] for i in ids], [maps[i] for i in ids])
        return "-" if value is None else f"{value:.3f}"

    normals = [i for i, k in enumerate(kinds) if k == "good"]
    print(f"\n{cat.name} (seed {seed}; features {test_feats.shape[1]} x {h} x {w})")
    print("| pixels of | default map (normal images only) | supervised head (half the test masks) |")
    print("|---|---|---|")
    everything = list(range(len(test)))
    print(f"| all test images | {pixel(default_maps, everything)} | {pixel(head, everything)} |")
    for kind in sorted(set(kinds) - {"good"}):
        ids = [i for i, k in enumerate(kinds) if k == kind] + normals
        print(f"| {kind} + normal images | {pixel(default_maps, ids)} | {pixel(head, ids)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("roots", nargs="*", type=Path, default=[SHARED])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for cat in require_categories(args.roots):
        if (cat / "ground_truth").exists():
            run(cat, args.seed, args.threads)


if __name__ == "__main__":
    main()
