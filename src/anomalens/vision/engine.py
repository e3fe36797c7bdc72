"""Training and evaluation: ``fit`` builds an artifact directory, ``evaluate`` scores a test set.

Training extracts patch features once with ONNX Runtime (much faster than eager torch on a
small CPU), fits PatchCore and PaDiM, blends them with the weights ``selection`` picks (by
anomalous validation images when there are some, by synthetic anomalies made from held-out
normals otherwise), calibrates the image threshold and the map's own threshold, and exports the
whole graph to ``model.onnx``.
"""

from __future__ import annotations

import functools
import io
import json
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import onnx
import onnx.compose
import onnx.numpy_helper
import onnxruntime as ort
import torch
from torch.jit._trace import TracerWarning

from anomalens.vision import backbones, calibration, metrics, options, scorers, selection
from anomalens.vision.backbone_registry import BackboneSpec
from anomalens.vision.network import (
    AnomalyNetwork,
    BlendedScorer,
    PadimScorer,
    PatchCoreScorer,
    PatchFeatures,
    TailAtSize,
    standardise,
)
from anomalens.vision.preprocess import InputSize, choose_input_size, fit_to_input, to_batch
from anomalens.vision.runtime import ARTIFACT_FORMAT, session
from anomalens.vision.synthetic import make_anomalies
from anomalens.vision.types import EngineError, LabeledImage, ModelArtifact, ProgressFn, TrainConfig

ENGINE_VERSION = "1.6"
#: Synthetic anomalies made to choose the blend: twice the held-out normals, within these bounds.
SYNTHETIC_MIN, SYNTHETIC_MAX = 32, 64


class _WeightsAsInputs(torch.nn.Module):
    """Calls a module with its buffers passed in as arguments, so the tracer sees them as inputs.

    The old exporter's shape inference walks every buffer it finds in a module (0.4 s for the
    PaDiM inverse covariances of one model); graph inputs cost it nothing.
    """

    def __init__(self, module: torch.nn.Module) -> None:
        super().__init__()
        self.module = module
        # (owning module, attribute) of every buffer, in named_buffers() order
        self.slots = [
            (module.get_submodule(owner), attr)
            for owner, _, attr in (name.rpartition(".") for name, _ in module.named_buffers())
        ]

    def forward(self, x: torch.Tensor, *weights: torch.Tensor) -> Any:
        # torch.func.functional_call refuses to run under the tracer, so the buffers are swapped
        # for the inputs by hand and put back afterwards.
        saved = [m._buffers[a] for m, a in self.slots]
        try:
            for (m, a), weight in zip(self.slots, weights, strict=True):
                m._buffers[a] = weight
            return self.module(x)
        finally:
            for (m, a), kept in zip(self.slots, saved, strict=True):
                m._buffers[a] = kept


def _export(
    model: torch.nn.Module, example: torch.Tensor, inputs: str, outputs: list[str], *, trace_weights: bool = True
) -> onnx.ModelProto:
    """Trace a module to ONNX (only the batch axis is dynamic: the input size is fixed per model).

    ``trace_weights=False`` traces the module with its weights as graph inputs and turns them
    into initialisers afterwards (``_attach_weights``): tracing takes 0.5 s less per training,
    and constant folding cannot turn the float16 PaDiM inverse covariances into float32 on disk
    (ONNX Runtime folds that cast once, when it builds a session).

    The tracer warns that shapes become constants and the exporter that it is deprecated; both
    are expected here, so they are silenced rather than printed on every training.
    """
    weights = {} if trace_weights else dict(model.named_buffers())
    # in eval mode: the exporter restores the traced module's mode onto every submodule afterwards,
    # and a wrapper left in training mode would switch the kept feature module to training
    traced = model if trace_weights else _WeightsAsInputs(model).eval()
    buffer = io.BytesIO()  # in memory: no temporary file to write and read back
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TracerWarning)
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            traced,
            (example, *weights.values()),
            cast(Any, buffer),  # the legacy exporter writes to file objects; its annotation names paths only
            input_names=[inputs, *weights],
            output_names=outputs,
            dynamic_axes={inputs: {0: "n"}, **{o: {0: "n"} for o in outputs}},
            opset_version=17,
            dynamo=False,
            do_constant_folding=trace_weights,
        )
    graph = onnx.load_from_string(buffer.getvalue())
    _attach_weights(graph, weights)
    return graph


def _attach_weights(model: onnx.ModelProto, weights: dict[str, torch.Tensor]) -> None:
    """Turn weight inputs into initialisers (not inputs, so ONNX Runtime may fold them)."""
    graph = model.graph
    stays = [i for i in graph.input if i.name not in weights]
    for i in graph.input:
        if i.name in weights:
            graph.initializer.append(onnx.numpy_helper.from_array(weights[i.name].numpy(), i.name))
    del graph.input[:]
    graph.input.extend(stays)


#: Feature graphs a process keeps: a worker trains many models, tuning trials at one input size.
FEATURE_GRAPHS_KEPT = 4


def _feature_graph(backbone: str, size: InputSize) -> tuple[PatchFeatures, BackboneSpec, bytes]:
    """The backbone's feature module and its ONNX graph (serialised) for one input size.

    Building the backbone and tracing it to ONNX take ~0.4 s, the same for every training at
    that size, so a process keeps the last few (keyed by a digest of a user's weights file as well,
    so a replaced file is rebuilt).
    """
    for _ in range(2):
        stamp = backbones.weights_stamp(backbone)
        built = _built_feature_graph(backbone, stamp, size.height, size.width)
        if stamp is None or backbones.weights_stamp(backbone) == stamp:
            return built
        _built_feature_graph.cache_clear()  # the file changed while it was loaded: either file may be in it
    raise EngineError(f"backbone weights file of {backbone!r} keeps changing while it is loaded; try again")


def forget_feature_graphs() -> None:
    """Drop the kept feature graphs (benchmarks time cold trainings)."""
    _built_feature_graph.cache_clear()


@functools.lru_cache(maxsize=FEATURE_GRAPHS_KEPT)
def _built_feature_graph(
    backbone: str, stamp: str | None, height: int, width: int
) -> tuple[PatchFeatures, BackboneSpec, bytes]:
    del stamp  # part of the cache key only
    extractor, spec = backbones.build(backbone)
    features = PatchFeatures(extractor).eval()
    graph = _export(features, torch.zeros(2, 3, height, width), "images", ["features"])
    return features, spec, graph.SerializeToString()


def _export_model(net: AnomalyNetwork, sets: _FeatureSets, size: InputSize, path: Path) -> None:
    """model.onnx = the feature graph (exported once for training) joined to the exported tail."""
    example = torch.zeros(2, *sets.train.shape[1:])
    tail_at_size = TailAtSize(net, (size.height, size.width))
    tail = _export(tail_at_size, example, "features", ["scores", "maps"], trace_weights=False)
    tail = onnx.compose.add_prefix(tail, "tail/", rename_inputs=False, rename_outputs=False)
    head = onnx.load_from_string(sets.graph)
    onnx.save(onnx.compose.merge_models(head, tail, io_map=[("features", "features")]), str(path))


#: Images per call when training extracts features. The backbone alone runs faster per image in
#: small batches that stay in cache (bottle, 178 images at 256x256 on 2 threads: 1.19-1.25 s in
#: batches of 2-8, 1.30 s in 16); the whole model does not (its PaDiM tail reads 36 MB per
#: call), so inference keeps ``runtime.BATCH``.
FEATURE_BATCH = 4


def _features(
    images: Sequence[np.ndarray],
    size: InputSize,
    sess: ort.InferenceSession,
    progress: ProgressFn | None,
    span: tuple[float, float],
) -> np.ndarray:
    if not images:
        return np.zeros((0, 1, 1, 1), dtype=np.float32)
    out: np.ndarray | None = None
    for start in range(0, len(images), FEATURE_BATCH):
        batch, _ = to_batch(list(images[start : start + FEATURE_BATCH]), size, torch.get_num_threads())
        part = sess.run(None, {"images": batch})[0]
        if out is None:  # filled in place: concatenating copies of all features cost ~0.25 s per 200 images
            out = np.empty((len(images), *part.shape[1:]), dtype=np.float32)
        out[start : start + part.shape[0]] = part
        if progress:
            done = min(len(images), start + FEATURE_BATCH)
            progress(span[0] + (span[1] - span[0]) * done / len(images), f"Features of {done}/{len(images)} images")
    assert out is not None
    return out


#: Patch scores by (id of the scorer, feature set): "normal" (held-out, validation or, when
#: cross-fitting, out-of-fold normals), ``LEFT_OUT``, "synthetic", "anomalous" and so on.
PatchCache = dict[tuple[int, str], torch.Tensor]
#: Images PaDiM scores per call in training: every call reads all inverse covariances (up to
#: 36 MB), so larger batches amortise them (16 images: 214 ms for 93 images at 32x32 positions,
#: against 287 ms in 4-image chunks and 327 ms in one call).
PADIM_CHUNK = 16


def _member_patches(scorer: torch.nn.Module, feats: np.ndarray, key: str, cache: PatchCache) -> torch.Tensor:
    """Patch scores of one scorer, computed once per feature set (PatchCore passes are costly)."""
    if (id(scorer), key) not in cache:
        n, _, h, w = feats.shape
        step = PADIM_CHUNK if isinstance(scorer, PadimScorer) else scorers.patchcore_images_per_call(h * w)
        with torch.inference_mode():
            parts = [scorer(torch.from_numpy(feats[i : i + step])) for i in range(0, n, step)]
        cache[(id(scorer), key)] = torch.cat(parts) if parts else torch.zeros(0, h, w)
    return cache[(id(scorer), key)]


def _blends(net: AnomalyNetwork, feats: np.ndarray, key: str, cache: PatchCache) -> tuple[torch.Tensor, torch.Tensor]:
    """(score patches, map patches) of a network's scorer for a feature set, from cached member scores."""
    scorer = net.scorer
    if not isinstance(scorer, BlendedScorer):
        patch = _member_patches(scorer, feats, key, cache)
        return patch, patch
    return scorer.combine([_member_patches(m, feats, key, cache) for m in scorer.members])


def _maxima(
    net: AnomalyNetwork, feats: np.ndarray, size: InputSize, key: str, cache: PatchCache
) -> tuple[np.ndarray, np.ndarray]:
    """Each image's score and highest anomaly-map value (what the two thresholds are calibrated on)."""
    if feats.shape[0] == 0:
        return np.zeros(0), np.zeros(0)
    with torch.inference_mode():
        score_patch, map_patch = _blends(net, feats, key, cache)
        score_map, amap = net.smoothed(score_patch, map_patch, (size.height, size.width))
        highest = [m.flatten(1).amax(dim=1).numpy().astype(np.float64) for m in (score_map, amap)]
    return highest[0], highest[1]


def _holdout_count(n: int, share: float) -> int:
    return min(max(3, round(n * share)), n // 3)


def _split_holdout(images: Sequence[np.ndarray], share: float, seed: int) -> tuple[list[int], list[int]]:
    order = np.random.default_rng(seed).permutation(len(images))
    n_hold = _holdout_count(len(images), share)
    return sorted(order[n_hold:].tolist()), sorted(order[:n_hold].tolist())


#: Folds of the automatic cross-fitting.
CROSS_FIT_FOLDS = 5


def _calibration_plan(
    n: int, validation_normals: int, opts: dict[str, Any], seed: int
) -> tuple[list[np.ndarray], bool]:
    """Which normals set the threshold: (cross-fitting folds or none, whether to hold images out).

    The folds split the training images; holding out keeps a share of them out of the model.

    A threshold read off a handful of normal scores is mostly luck: with 20 training images a
    single split holds out 3, and the 99th percentile of 3 scores is their maximum, which new
    normal parts exceed a quarter of the time even when nothing has changed. Cross-fitting
    instead scores each training image as the model would without its fold (no refit:
    ``scorers.*_out_of_fold`` take the fold's share out of the fitted scorers) to choose the
    blend, and without the image alone to set the thresholds (``_score_left_out``), so every
    training image gives a normal score the model did not see, and the model that ships is
    fitted on all of them. Trained on 10-50 random normals of bottle and metal_plate, the single
    split flagged 10-40 % of their test normals on average (up to 80 %); cross-fitted, 0-8 % at
    about the same recall (README, ``benchmarks/calibration_bench.py``).

    Automatic (``folds`` 0): 20 or more validation normals are enough on their own (the
    outlier-capped rule's minimum, ``calibration.ROBUST_MIN_NORMALS``). Otherwise training
    images help: cross-fitted below 130 of them, where a single split would hold out fewer than
    20 and training is quick anyway; from 130 up a held-out share, since scoring every image
    out of fold and left out would cost two scoring passes over the whole set instead of one
    over 15 % of it. ``folds`` 1 is the single split (engine 1.4: held out only when there are
    no validation normals), 2-10 cross-fit whatever the size.
    """
    wanted = int(opts["folds"])
    if wanted == 0:
        if validation_normals >= calibration.ROBUST_MIN_NORMALS:
            return [], False
        if _holdout_count(n, float(opts["holdout"])) >= calibration.ROBUST_MIN_NORMALS:
            return [], True
        wanted = CROSS_FIT_FOLDS
    if min(wanted, n) < 2:
        return [], validation_normals == 0
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(part) for part in np.array_split(order, min(wanted, n))], False


@dataclass(frozen=True)
class _FeatureSets:
    """Patch features of every image set training looks at."""

    train: np.ndarray
    #: calibration normals: validation or held-out normals, then (cross-fitting) every training image
    normal: np.ndarray
    anomalous: np.ndarray
    synthetic: np.ndarray
    synthetic_masks: np.ndarray
    graph: bytes  # the feature graph (serialised), reused as the head of model.onnx
    folds: list[np.ndarray]  # cross-fitting folds of the training images (empty: none)
    synthetic_fold: np.ndarray  # cross-fitting: the fold each synthetic anomaly was made from (made fold by fold)


def _synthetic_count(normals: int) -> int:
    return min(SYNTHETIC_MAX, max(SYNTHETIC_MIN, 2 * normals))


#: Training images this many times the input's pixels (median) keep the resize threads busy
#: enough that the feature session's threads should sleep between runs rather than spin.
HEAVY_RESIZE = 3.0


def _resizing_heavy(images: Sequence[np.ndarray], size: InputSize) -> bool:
    """Whether resizing dominates between feature runs (decides ONNX Runtime's spinning).

    Sleeping threads free the cores for the resize threads when there is real shrinking to do
    (bottle's 209 images, features: at 512 px 1.68 -> 1.38 s, enlarged to 1024 px 2.31 -> 1.79 s),
    but wake up late for work that is all model (160 images already at 256 px: 0.82 -> 1.03 s).
    """
    if not images:
        return False
    pixels = float(np.median([img.shape[0] * img.shape[1] for img in images]))
    return pixels >= HEAVY_RESIZE * size.height * size.width


def _extract(
    fit_imgs: list[np.ndarray],
    normals: list[np.ndarray],
    anomalous: list[np.ndarray],
    blend: bool,
    size: InputSize,
    graph: bytes,
    folds: list[np.ndarray],
    seed: int,
    progress: ProgressFn | None,
) -> _FeatureSets:
    spinning = not _resizing_heavy(fit_imgs, size)
    normals = [fit_to_input(img, size)[0] for img in normals]  # resized once, for features and synthesis
    synthetic_fold = np.zeros(0, dtype=np.int64)
    if folds:  # synthetic anomalies from each fold's images, to be scored by the model fitted without them
        fit_imgs = [fit_to_input(img, size)[0] for img in fit_imgs]
        count = _synthetic_count(len(normals) + len(fit_imgs)) if blend else 0
        ends = np.round(np.cumsum([0] + [fold.size for fold in folds]) * count / len(fit_imgs)).astype(int)
        made = [
            make_anomalies([fit_imgs[i] for i in fold], int(ends[k + 1] - ends[k]), seed + k)
            for k, fold in enumerate(folds)
        ]
        synthetic = [a for part in made for a in part]
        synthetic_fold = np.repeat(np.arange(len(folds)), [len(part) for part in made])
    else:
        synthetic = make_anomalies(normals, _synthetic_count(len(normals)), seed) if blend else []
    sess = session(graph, threads=torch.get_num_threads(), spinning=spinning)
    train_f = _features(fit_imgs, size, sess, progress, (0.05, 0.6))
    normal_f = _features(normals, size, sess, None, (0, 0))
    if folds:
        normal_f = np.concatenate([normal_f, train_f]) if normals else train_f
    anom_f = _features(anomalous, size, sess, None, (0, 0))
    syn_f = _features([a.image for a in synthetic], size, sess, None, (0, 0))
    masks = np.stack([a.mask for a in synthetic]) if synthetic else np.zeros((0, size.height, size.width), bool)
    return _FeatureSets(train_f, normal_f, anom_f, syn_f, masks, graph, folds, synthetic_fold)


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
    opts = options.check_config(config)
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    val_normal = [v.image for v in val_images if not v.is_anomalous]
    val_anomalous = [v.image for v in val_images if v.is_anomalous]
    if not val_normal and len(train_images) < 3:
        raise EngineError(
            f"at least 3 normal training images are needed when validation holds no normal images "
            f"(the threshold is calibrated on images the model was not fitted on; got {len(train_images)})"
        )
    folds, hold_out = _calibration_plan(len(train_images), len(val_normal), opts, config.seed)
    fit_idx, hold_idx = (
        _split_holdout(train_images, float(opts["holdout"]), config.seed)
        if hold_out
        else (list(range(len(train_images))), [])
    )
    normals_cal = val_normal + [train_images[i] for i in hold_idx]
    fit_imgs = [train_images[i] for i in fit_idx]
    size = choose_input_size([img.shape[:2] for img in train_images], int(opts["long_side"]))
    features, spec, graph = _feature_graph(config.backbone, size)
    calibrating = len(normals_cal) + (len(fit_imgs) if folds else 0)
    blend_wanted = config.algorithm in ("auto", "ensemble") and calibrating >= 2 and len(fit_imgs) >= 4
    sets = _extract(fit_imgs, normals_cal, val_anomalous, blend_wanted, size, graph, folds, config.seed, progress)
    if progress:
        progress(0.65, "Building the memory bank")
    cache: PatchCache = {}
    members = _fit_members(sets.train, config, opts, blend_wanted)
    if folds and len(members) > 1:  # fold scores choose the blend; a single scorer has none to choose
        _score_out_of_fold(members, sets, cache)
    chosen, net, blend = _network(members, features, sets, size, float(opts["sigma"]), cache)
    calibrating_on = "normal"
    if folds:
        _score_left_out(net, sets, cache)
        calibrating_on = LEFT_OUT
    normal_scores, normal_map_max = _maxima(net, sets.normal, size, calibrating_on, cache)
    anom_scores, anom_map_max = _maxima(net, sets.anomalous, size, "anomalous", cache)
    cal = calibration.calibrate(normal_scores, anom_scores)
    map_cal = calibration.calibrate(normal_map_max, anom_map_max)
    val_auroc = None
    if anom_scores.size and normal_scores.size:
        labels = np.r_[np.zeros(normal_scores.size), np.ones(anom_scores.size)]
        val_auroc = metrics.rank_auroc(labels, np.r_[normal_scores, anom_scores])
    if progress:
        progress(0.85, f"Exporting {chosen} to ONNX")
    out_dir.mkdir(parents=True, exist_ok=True)
    _export_model(net.eval(), sets, size, out_dir / "model.onnx")
    _save_arrays(net, out_dir)
    meta = {
        "format": ARTIFACT_FORMAT,
        "engine_version": ENGINE_VERSION,
        "algorithm": chosen,
        "backbone": config.backbone,
        "feature_taps": list(spec.taps),
        "input": size.to_json() | {"resize": "rotate to the input's orientation, then bilinear (Pillow, reducing_gap)"},
        "normalisation": {"mean": 127 / 255, "std": 128 / 255, "scale": "0-1"},
        "calibration": {
            "threshold": cal.threshold,
            "spread": cal.spread,
            "rule": cal.rule,
            "map_threshold": map_cal.threshold,
        },
        "map": {"sigma": opts["sigma"], "normalised": "map * 0.5 / map_threshold, clipped to [0, 1]"},
        "blend": _blend_json(blend),
        "classes": [{"name": "background", "color": "#FFFFFF"}],
        "seed": config.seed,
        "training": {
            "images": len(fit_imgs),
            "held_out_normals": len(hold_idx),
            "cross_fit_folds": len(folds),
            "validation_normals": len(val_normal),
            "validation_anomalous": len(val_anomalous),
            "synthetic_anomalies": int(sets.synthetic.shape[0]),
            "validation_auroc": val_auroc,
            "seconds": round(time.perf_counter() - started, 2),
        },
    }
    (out_dir / "model.json").write_text(json.dumps(meta, indent=2))
    if progress:
        progress(1.0, "Model written")
    return ModelArtifact(out_dir, meta)


def _fit_members(
    train_f: np.ndarray, config: TrainConfig, opts: dict[str, Any], blend_wanted: bool
) -> dict[str, torch.nn.Module]:
    """The scorers to fit: both for a blend; PatchCore alone when too few images for one; else the one asked for."""
    if blend_wanted:
        wanted = ["patchcore", "padim"]  # this order: blend weights are PatchCore's share
    elif config.algorithm in ("auto", "ensemble"):
        wanted = ["patchcore"]
    else:
        wanted = [config.algorithm]
    out: dict[str, torch.nn.Module] = {}
    for name in wanted:
        if name == "patchcore":
            out[name] = scorers.fit_patchcore(
                train_f, config.seed, float(opts["coreset_ratio"]), int(opts["memory_min"]), int(opts["memory_max"])
            )
        elif train_f.shape[0] >= 2:
            out[name] = scorers.fit_padim(train_f, config.seed)
        else:
            raise EngineError("PaDiM needs at least 2 training images")
    return out


def _score_out_of_fold(members: dict[str, torch.nn.Module], sets: _FeatureSets, cache: PatchCache) -> None:
    """Cross-fitting: each member's patch scores of the calibration normals and synthetic anomalies.

    A training image (and each synthetic anomaly made from it) is scored by the member as if it
    had been fitted without the image's fold; validation normals by the member itself. The
    scores are cached under the fitted members, so blending and standardising read them as the
    model's own (``_network``): they stand in for what the model gives normal images it has not
    seen. The thresholds read leave-one-out scores instead (``_score_left_out``).
    """
    extra = [sets.synthetic[sets.synthetic_fold == k] for k in range(len(sets.folds))]
    for member in members.values():
        if isinstance(member, PatchCoreScorer):
            train, made = scorers.patchcore_out_of_fold(member, sets.train, sets.folds, extra)
        elif isinstance(member, PadimScorer):
            train, made = scorers.padim_out_of_fold(member, sets.train, sets.folds, extra)
        else:
            raise TypeError(f"no cross-fitting for {type(member).__name__}")
        cache[(id(member), "normal")] = _after_validation_normals(member, sets, train, cache)
        cache[(id(member), "synthetic")] = torch.cat(made)  # _extract makes them fold by fold, in order


def _after_validation_normals(
    member: torch.nn.Module, sets: _FeatureSets, train: torch.Tensor, cache: PatchCache
) -> torch.Tensor:
    """The calibration normals' patch scores: validation normals' own, then the training images' ``train``.

    Cross-fitting puts validation normals first in ``sets.normal``, then every training image.
    """
    given = sets.normal.shape[0] - sets.train.shape[0]
    if not given:
        return train
    return torch.cat([_member_patches(member, sets.normal[:given], "validation normals", cache), train])


#: Cache key of the calibration normals' patch scores with each training image left out.
LEFT_OUT = "normal, left out"


def _score_left_out(net: AnomalyNetwork, sets: _FeatureSets, cache: PatchCache) -> None:
    """Cross-fitting, for the thresholds: each training image scored by the scorers without it alone.

    The folds' scores choose and standardise the blend, next to synthetic anomalies scored the
    same way. But the model that ships is fitted on all n images and a fold's scorers on
    (K-1)/K of them, and where images are fewer than PaDiM's channels its distances shrink
    with every image added: metal_plate's 54 images, 152 channels, PaDiM alone, had its
    threshold at 233 from 5-fold scores while the test normals reach 211; with one image
    left out, 205. So the thresholds are read off leave-one-out scores (exact for PaDiM; for
    PatchCore the bank less the image's own entries) of the scorers the network kept, cached
    under ``LEFT_OUT`` next to the fold scores; validation normals are scored as they are.
    """
    kept = list(net.scorer.members) if isinstance(net.scorer, BlendedScorer) else [net.scorer]
    for member in kept:
        if isinstance(member, PatchCoreScorer):
            train = scorers.patchcore_leave_one_out(member, sets.train)
        elif isinstance(member, PadimScorer):
            train = scorers.padim_leave_one_out(member, sets.train)
        else:
            raise TypeError(f"no leave-one-out scores for {type(member).__name__}")
        cache[(id(member), LEFT_OUT)] = _after_validation_normals(member, sets, train, cache)


def _network(
    members: dict[str, torch.nn.Module],
    features: PatchFeatures,
    sets: _FeatureSets,
    size: InputSize,
    sigma: float,
    cache: PatchCache,
) -> tuple[str, AnomalyNetwork, selection.Blend | None]:
    """One scorer as it is, or PatchCore and PaDiM blended with the weights ``selection`` picks."""
    if len(members) == 1:
        name, scorer = next(iter(members.items()))
        return name, AnomalyNetwork(features, scorer, sigma).eval(), None
    names = list(members)
    ordered = [members[n] for n in names]
    normal = [_member_patches(members[n], sets.normal, "normal", cache) for n in names]
    centre = torch.stack([p.mean() for p in normal])
    scale = torch.stack([p.std().clamp_min(1e-6) for p in normal])
    tail = AnomalyNetwork(features, torch.nn.Identity(), sigma)

    def smoothed(feats: np.ndarray, key: str) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            patches = [
                standardise(_member_patches(m, feats, key, cache), centre[i], scale[i]) for i, m in enumerate(ordered)
            ]
            maps = [tail.upsample(p, (size.height, size.width)).numpy() for p in patches]
        return maps[0], maps[1]

    blend = selection.choose(
        smoothed(sets.normal, "normal"),
        smoothed(sets.anomalous, "anomalous") if sets.anomalous.shape[0] else None,
        smoothed(sets.synthetic, "synthetic"),
        sets.synthetic_masks,
    )
    score_w = torch.tensor([blend.score_weight, 1.0 - blend.score_weight])
    map_w = torch.tensor([blend.map_weight, 1.0 - blend.map_weight])
    keep = [i for i in range(len(names)) if score_w[i] > 0 or map_w[i] > 0]
    scorer = BlendedScorer([members[names[i]] for i in keep], centre[keep], scale[keep], score_w[keep], map_w[keep])
    chosen = "ensemble" if len(keep) > 1 else names[keep[0]]
    return chosen, AnomalyNetwork(features, scorer, sigma).eval(), blend


def _blend_json(blend: selection.Blend | None) -> dict[str, Any] | None:
    if blend is None:
        return None
    return {
        "members": ["patchcore", "padim"],
        "patchcore_share_in_score": blend.score_weight,
        "patchcore_share_in_map": blend.map_weight,
        "chosen_by": blend.chosen_by,
        "image_auroc": blend.image_auroc,
        "pixel_auroc": blend.pixel_auroc,
    }


def _save_arrays(net: AnomalyNetwork, out_dir: Path) -> None:
    """Keep the fitted arrays beside the graph for inspection.

    PaDiM's inverse covariances, the one large array, live only in model.onnx so the artifact stays small.
    """
    arrays = {k.replace(".", "_"): v.numpy() for k, v in net.scorer.state_dict().items() if "inv_cov" not in k}
    np.savez(out_dir / "scorer.npz", **arrays)


__all__ = ["fit"]
