"""Training and evaluation: ``fit`` builds an artifact directory, ``evaluate`` scores a test set.

Training extracts patch features once with ONNX Runtime (much faster than eager torch on a
small CPU), fits the candidate scorers, scores held-out images with each, keeps the best
candidate (by validation AUROC when anomalous validation images exist; the ensemble otherwise),
calibrates the threshold, and exports the whole graph to ``model.onnx``.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from anomalens.vision import backbones, calibration, metrics, scorers
from anomalens.vision.network import AnomalyNetwork, EnsembleScorer, PatchFeatures
from anomalens.vision.preprocess import InputSize, choose_input_size, to_batch
from anomalens.vision.runtime import ARTIFACT_FORMAT, BATCH, session
from anomalens.vision.types import EngineError, LabeledImage, ModelArtifact, ProgressFn, TrainConfig

ENGINE_VERSION = "1.0"
DEFAULTS: dict[str, Any] = {
    "long_side": 256,
    "coreset_ratio": 0.02,
    "memory_min": 1000,
    "memory_max": 2000,
    "sigma": 4.0,
    "holdout": 0.15,
}


def _export(model: torch.nn.Module, size: InputSize, path: Path) -> None:
    dummy = torch.zeros(2, 3, size.height, size.width)
    output_names = ["scores", "maps"] if isinstance(model, AnomalyNetwork) else ["features"]
    torch.onnx.export(
        model,
        (dummy,),
        str(path),
        input_names=["images"],
        output_names=output_names,
        dynamic_axes={"images": {0: "n"}, **{o: {0: "n"} for o in output_names}},
        opset_version=17,
        dynamo=False,
    )


def _features(
    images: Sequence[np.ndarray],
    size: InputSize,
    onnx_path: Path,
    progress: ProgressFn | None,
    span: tuple[float, float],
) -> np.ndarray:
    if not images:
        return np.zeros((0, 1, 1, 1), dtype=np.float32)
    sess = session(onnx_path, threads=torch.get_num_threads())
    out = []
    for start in range(0, len(images), BATCH):
        batch, _ = to_batch(list(images[start : start + BATCH]), size)
        out.append(sess.run(None, {"images": batch})[0])
        if progress:
            done = min(len(images), start + BATCH)
            progress(span[0] + (span[1] - span[0]) * done / len(images), f"Features of {done}/{len(images)} images")
    return np.concatenate(out).astype(np.float32)


PatchCache = dict[tuple[int, str], torch.Tensor]


def _patches(scorer: torch.nn.Module, feats: np.ndarray, key: str, cache: PatchCache) -> torch.Tensor:
    """Patch scores of one scorer, computed once per feature set (PatchCore passes are costly)."""
    if isinstance(scorer, EnsembleScorer):
        parts = [
            (_patches(m, feats, key, cache) - scorer.centre[i]) / scorer.scale[i] for i, m in enumerate(scorer.members)
        ]
        return torch.stack(parts).mean(dim=0)
    if (id(scorer), key) not in cache:
        with torch.inference_mode():
            cache[(id(scorer), key)] = scorer(torch.from_numpy(feats))
    return cache[(id(scorer), key)]


def _score(net: AnomalyNetwork, feats: np.ndarray, size: InputSize, key: str, cache: PatchCache) -> np.ndarray:
    """Image scores from precomputed features (the torch tail of the graph)."""
    if feats.shape[0] == 0:
        return np.zeros(0)
    with torch.inference_mode():
        patch = _patches(net.scorer, feats, key, cache).unsqueeze(1)
        amap = F.interpolate(patch, size=(size.height, size.width), mode="bilinear", align_corners=False)
        return net.smooth(amap).flatten(1).amax(dim=1).numpy().astype(np.float64)


def _split_holdout(images: Sequence[np.ndarray], share: float, seed: int) -> tuple[list[int], list[int]]:
    order = np.random.default_rng(seed).permutation(len(images))
    n_hold = min(max(3, round(len(images) * share)), len(images) // 3)
    return sorted(order[n_hold:].tolist()), sorted(order[:n_hold].tolist())


def fit(
    train_images: Sequence[np.ndarray],
    val_images: Sequence[LabeledImage],
    config: TrainConfig,
    out_dir: Path,
    progress: ProgressFn | None = None,
) -> ModelArtifact:
    """Train from normal images; calibrate on validation (or held-out normals); write the artifact."""
    if len(train_images) < 2:
        raise EngineError(f"at least 2 normal training images are needed (got {len(train_images)})")
    if config.algorithm not in ("auto", "ensemble", "patchcore", "padim"):
        raise EngineError(f"unknown algorithm {config.algorithm!r}")
    opts = DEFAULTS | config.extra
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    val_normal = [v.image for v in val_images if not v.is_anomalous]
    val_anomalous = [v.image for v in val_images if v.is_anomalous]
    fit_idx, hold_idx = (
        (list(range(len(train_images))), [])
        if val_normal
        else _split_holdout(train_images, float(opts["holdout"]), config.seed)
    )
    normals_cal = val_normal + [train_images[i] for i in hold_idx]
    fit_imgs = [train_images[i] for i in fit_idx]
    size = choose_input_size([img.shape[:2] for img in train_images], int(opts["long_side"]))
    extractor, spec = backbones.build(config.backbone)
    features = PatchFeatures(extractor).eval()
    with tempfile.TemporaryDirectory() as tmp:
        feat_onnx = Path(tmp) / "features.onnx"
        _export(features, size, feat_onnx)
        train_f = _features(fit_imgs, size, feat_onnx, progress, (0.05, 0.6))
        normal_f = _features(normals_cal, size, feat_onnx, None, (0, 0))
        anom_f = _features(val_anomalous, size, feat_onnx, None, (0, 0))
    if progress:
        progress(0.65, "Building the memory bank")
    cache: PatchCache = {}
    candidates = _candidates(train_f, normal_f, features, config, opts, cache)
    chosen, net, cal, val_auroc = _select(candidates, normal_f, anom_f, size, cache)
    if progress:
        progress(0.85, f"Exporting {chosen} to ONNX")
    out_dir.mkdir(parents=True, exist_ok=True)
    _export(net.eval(), size, out_dir / "model.onnx")
    _save_arrays(net, out_dir)
    meta = {
        "format": ARTIFACT_FORMAT,
        "engine_version": ENGINE_VERSION,
        "algorithm": chosen,
        "backbone": config.backbone,
        "feature_taps": list(spec.taps),
        "input": size.to_json() | {"resize": "rotate-to-orientation, then bilinear to input size"},
        "normalisation": {"mean": 127 / 255, "std": 128 / 255, "scale": "0-1"},
        "calibration": {"threshold": cal.threshold, "spread": cal.spread, "rule": cal.rule},
        "map": {"sigma": opts["sigma"], "normalised": "map * 0.5 / threshold, clipped to [0, 1]"},
        "classes": [{"name": "background", "color": "#FFFFFF"}],
        "seed": config.seed,
        "training": {
            "images": len(fit_imgs),
            "held_out_normals": len(hold_idx),
            "validation_normals": len(val_normal),
            "validation_anomalous": len(val_anomalous),
            "validation_auroc": val_auroc,
            "seconds": round(time.perf_counter() - started, 2),
        },
    }
    (out_dir / "model.json").write_text(json.dumps(meta, indent=2))
    if progress:
        progress(1.0, "Model written")
    return ModelArtifact(out_dir, meta)


def _candidates(
    train_f: np.ndarray,
    normal_f: np.ndarray,
    features: PatchFeatures,
    config: TrainConfig,
    opts: dict[str, Any],
    cache: PatchCache,
) -> dict[str, AnomalyNetwork]:
    wanted = ["patchcore", "padim"] if config.algorithm in ("auto", "ensemble") else [config.algorithm]
    out: dict[str, AnomalyNetwork] = {}
    for name in wanted:
        if name == "patchcore":
            scorer: torch.nn.Module = scorers.fit_patchcore(
                train_f, config.seed, float(opts["coreset_ratio"]), int(opts["memory_min"]), int(opts["memory_max"])
            )
        elif train_f.shape[0] >= 4:
            scorer = scorers.fit_padim(train_f, config.seed)
        else:
            continue
        out[name] = AnomalyNetwork(features, scorer, float(opts["sigma"])).eval()
    if len(out) > 1 and normal_f.shape[0] >= 2:
        members = [net.scorer for net in out.values()]
        patch = [_patches(m, normal_f, "normal", cache) for m in members]
        centre = torch.stack([p.mean() for p in patch])
        scale = torch.stack([p.std().clamp_min(1e-6) for p in patch])
        ensemble = EnsembleScorer(members, centre, scale)
        out = {"ensemble": AnomalyNetwork(features, ensemble, float(opts["sigma"])).eval()} | out
    return out


def _select(
    candidates: dict[str, AnomalyNetwork], normal_f: np.ndarray, anom_f: np.ndarray, size: InputSize, cache: PatchCache
) -> tuple[str, AnomalyNetwork, calibration.Calibration, float | None]:
    best: tuple[float, str] | None = None
    for name, net in candidates.items():
        if anom_f.shape[0] and normal_f.shape[0]:
            n, a = _score(net, normal_f, size, "normal", cache), _score(net, anom_f, size, "anomalous", cache)
            labels = np.r_[np.zeros(n.size), np.ones(a.size)]
            auroc = metrics.ranking(labels, np.r_[n, a])[0] or 0.0
            if best is None or auroc > best[0] + 1e-9:
                best = (auroc, name)
    name = best[1] if best else next(iter(candidates))
    net = candidates[name]
    normal_scores = _score(net, normal_f, size, "normal", cache)
    cal = calibration.calibrate(normal_scores, _score(net, anom_f, size, "anomalous", cache))
    return name, net, cal, (best[0] if best else None)


def _save_arrays(net: AnomalyNetwork, out_dir: Path) -> None:
    """Keep the fitted arrays beside the graph for inspection.

    PaDiM's inverse covariances, the one large array, live only in model.onnx so the artifact stays small.
    """
    arrays = {k.replace(".", "_"): v.numpy() for k, v in net.scorer.state_dict().items() if "inv_cov" not in k}
    np.savez(out_dir / "scorer.npz", **arrays)


__all__ = ["fit"]
