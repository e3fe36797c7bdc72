"""Engine behaviour on synthetic images the tests generate (textured surfaces with drawn defects)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from anomalens import samples, vision
from anomalens.vision import calibration, options, selection
from anomalens.vision.engine import _calibration_plan, _maxima
from anomalens.vision.network import AnomalyNetwork

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "mpdd" / "metal_plate"


def _img(seed: int, defect: str | None = None) -> np.ndarray:
    return vision.decode_image(samples.make_image(seed, defect))


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> vision.ModelArtifact:
    train = [_img(i) for i in range(24)]
    return vision.fit(train, [], vision.TrainConfig(), tmp_path_factory.mktemp("m") / "model")


def test_scratches_score_higher_than_clean_surfaces(artifact: vision.ModelArtifact) -> None:
    det = vision.load(artifact.path)
    clean = det.predict([_img(1000 + i) for i in range(6)])
    scratched = det.predict([_img(2000 + i, "scratch") for i in range(6)])
    assert min(p.score for p in scratched) > max(p.score for p in clean)
    assert not any(p.is_anomalous for p in clean)  # normals-only threshold never flags everything
    assert all(p.is_anomalous for p in scratched)
    assert all(0.5 <= p.confidence <= 1.0 for p in clean + scratched)
    assert scratched[0].anomaly_map.shape == (128, 128) and scratched[0].anomaly_map.max() >= 0.5


def test_artifact_is_self_contained(artifact: vision.ModelArtifact) -> None:
    names = {p.name for p in artifact.path.iterdir()}
    assert {"model.json", "model.onnx", "scorer.npz"} <= names
    meta = artifact.meta
    assert meta["backbone"] == "efficientnet-lite0" and meta["calibration"]["rule"] == "held-out-normals"
    assert meta["input"]["height"] == meta["input"]["width"] == 256
    blend = meta["blend"]
    assert blend["chosen_by"] == "synthetic anomalies" and meta["training"]["synthetic_anomalies"] >= 32
    assert blend["patchcore_share_in_score"] in selection.WEIGHTS and 0.5 < blend["image_auroc"] <= 1.0
    assert meta["calibration"]["map_threshold"] > 0


def test_onnx_agrees_with_torch(artifact: vision.ModelArtifact, tmp_path: Path) -> None:
    images = [_img(3000), _img(3001, "stain")]
    onnx_scores = vision.load(artifact.path).run(images).scores
    art = vision.fit([_img(i) for i in range(24)], [], vision.TrainConfig(), tmp_path / "again")
    assert vision.load(art.path).run(images).scores == pytest.approx(onnx_scores, rel=1e-5)  # deterministic
    art = vision.fit([_img(i) for i in range(24)], [], vision.TrainConfig(algorithm="patchcore"), tmp_path / "pc")
    onnx_scores = vision.load(art.path).run(images).scores
    from anomalens.vision import backbones, scorers
    from anomalens.vision.network import PatchFeatures
    from anomalens.vision.preprocess import InputSize, to_batch

    size = InputSize.from_json(art.meta["input"])
    memory = np.load(art.path / "scorer.npz")["memory_t"].T
    net = AnomalyNetwork(
        PatchFeatures(backbones.build("efficientnet-lite0")[0]),
        scorers.PatchCoreScorer(torch.from_numpy(np.ascontiguousarray(memory))),
    ).eval()
    with torch.inference_mode():
        feats = net.features(torch.from_numpy(to_batch(images, size)[0])).numpy()
    torch_scores = _maxima(net, feats, size, "t", {})[0]
    assert torch_scores == pytest.approx(onnx_scores, rel=1e-3)  # stated tolerance: 0.1 %


def test_validation_with_anomalies_picks_f1_threshold(tmp_path: Path) -> None:
    val = [vision.LabeledImage(_img(4000 + i), False) for i in range(4)]
    val += [vision.LabeledImage(_img(4100 + i, "scratch"), True) for i in range(4)]
    art = vision.fit([_img(i) for i in range(20)], val, vision.TrainConfig(), tmp_path / "m")
    assert art.meta["calibration"]["rule"] == "f1-optimal-validation"
    assert (
        art.meta["algorithm"] in ("ensemble", "patchcore", "padim") and art.meta["training"]["validation_auroc"] == 1.0
    )
    assert art.meta["blend"]["chosen_by"] == "validation" and art.meta["blend"]["image_auroc"] == 1.0
    test = [vision.LabeledImage(_img(5000 + i), False, key=f"n{i}") for i in range(5)]
    test += [vision.LabeledImage(_img(5100 + i, "stain"), True, key=f"a{i}") for i in range(5)]
    ev = vision.evaluate(vision.load(art.path), test)
    assert ev.image_auroc == 1.0 and ev.f1 == 1.0 and len(ev.records) == 10


def test_threshold_rules() -> None:
    rule = calibration.from_normals(np.array([1.0, 1.1, 0.9, 1.05]))
    assert 1.05 < rule.threshold <= 1.1 and rule.confidence(rule.threshold) == pytest.approx(0.5)
    assert rule.confidence(5.0) > rule.confidence(2.0) > 0.5
    f1 = calibration.f1_optimal(np.array([1.0, 2.0, 3.0]), np.array([5.0, 6.0]))
    assert 3.0 < f1.threshold < 5.0


def test_held_out_outliers_do_not_set_the_threshold() -> None:
    """Two held-out normals that score like defects must not lift the threshold over real defects."""
    bulk = np.random.default_rng(0).normal(6.0, 0.5, 112)
    clean = calibration.from_normals(bulk)
    assert clean.threshold == pytest.approx(np.quantile(bulk, 0.99))  # no outliers: the percentile
    polluted = calibration.from_normals(np.r_[bulk, 14.0, 15.0])
    assert bulk.max() < polluted.threshold < 6.0 + 3 * 0.5 * 1.2  # the bulk's edge, not the outliers'
    defects = np.array([9.0, 10.0, 11.0])  # score between the bulk and the outliers
    assert (defects >= polluted.threshold).all()
    few = np.r_[bulk[:17], 14.0, 15.0]  # under 20 held-out normals: no stable deviation, no cap
    assert calibration.from_normals(few).threshold == pytest.approx(np.quantile(few, 0.99))
    flat = calibration.from_normals(np.full(30, 2.5))  # e.g. featureless images: all scores equal
    assert flat.threshold > 2.5  # never flags every held-out normal
    with pytest.raises(vision.EngineError, match="finite"):
        calibration.from_normals(np.r_[bulk, np.nan])


@pytest.mark.parametrize(
    "normals",
    [
        np.r_[np.random.default_rng(1).normal(5.0, 0.3, 80), np.random.default_rng(2).normal(8.0, 0.3, 34)],
        np.random.default_rng(3).lognormal(1.5, 1.0, 114),
    ],
    ids=["two part variants", "skewed"],
)
def test_outlier_cap_never_cuts_into_the_normal_population(normals: np.ndarray) -> None:
    """The cap may pass over at most 2 % more held-out normals than the 99th percentile does."""
    rule = calibration.from_normals(normals)
    assert rule.threshold >= np.quantile(normals, calibration.FLOOR_QUANTILE)
    assert (normals >= rule.threshold).mean() <= 0.04
    no_floor = calibration.from_normals(normals, floor=None)  # what the floor prevents
    assert (normals >= no_floor.threshold).mean() > 0.04


def _png(arr: np.ndarray, mode: str | None = None) -> bytes:
    out = io.BytesIO()
    Image.fromarray(arr, mode=mode).save(out, format="PNG")
    return out.getvalue()


def test_decode_variants() -> None:
    grey16 = (np.arange(64 * 80, dtype=np.uint16).reshape(64, 80) * 10).astype(np.uint16)
    rgb = vision.decode_image(_png(grey16))
    assert rgb.shape == (64, 80, 3) and rgb.dtype == np.uint8
    assert rgb.max() == round(grey16.max() / 65535 * 255)  # scaled, not clipped
    jpeg = io.BytesIO()
    img = Image.fromarray(np.zeros((64, 100, 3), np.uint8))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90°
    img.save(jpeg, format="JPEG", exif=exif)
    assert vision.decode_image(jpeg.getvalue()).shape == (100, 64, 3)
    assert vision.probe_image(jpeg.getvalue()).format == "JPEG"
    with pytest.raises(vision.ImageDecodeError):
        vision.decode_image(b"GIF89a not what we take")
    with pytest.raises(vision.ImageDecodeError):
        vision.decode_image(_png(np.zeros((64, 64, 3), np.uint8))[:60])


@pytest.mark.skipif(not DATA.exists(), reason=f"real data not found at {DATA}")
def test_metal_plate_integration(tmp_path: Path) -> None:
    train = [vision.decode_image(p.read_bytes()) for p in sorted((DATA / "train" / "good").glob("*.png"))]
    test = [
        vision.LabeledImage(vision.decode_image(p.read_bytes()), kind != "good")
        for kind in ("good", "defect")
        for p in sorted((DATA / "test" / kind).glob("*.png"))
    ]
    det = vision.load(vision.fit(train, [], vision.TrainConfig(), tmp_path / "m").path)
    ev = vision.evaluate(det, test)
    assert ev.image_auroc is not None and ev.image_auroc >= 0.99


@pytest.mark.parametrize(("name", "channels"), [("efficientnet-lite1", 152), ("efficientnet-lite2", 168)])
def test_other_backbones_tap_stride_8_and_16(name: str, channels: int) -> None:
    from anomalens.vision import backbones

    extractor, spec = backbones.build(name)
    first, second = extractor(torch.zeros(1, 3, 256, 256))
    assert (first.shape[-1], second.shape[-1]) == (32, 16)
    assert first.shape[1] + second.shape[1] == spec.channels == channels


def test_user_weights_file_and_unknown_backbone(tmp_path: Path) -> None:
    from anomalens.vision import backbone_registry, backbones

    with pytest.raises(vision.EngineError, match="unknown backbone"):
        backbones.build("resnet-50")
    with pytest.raises(vision.EngineError, match="does not exist"):
        backbones.build(f"efficientnet-lite0:{tmp_path / 'missing.pth'}")
    extractor, _ = backbones.build("efficientnet-lite0")
    net = extractor  # save a compatible state dict the way a user would
    from efficientnet_lite_pytorch import EfficientNet

    full = EfficientNet.from_name("efficientnet-lite0")
    full.load_state_dict(
        torch.load(backbones._weights_path(backbone_registry.REGISTRY["efficientnet-lite0"], None), weights_only=True)
    )
    path = tmp_path / "mine.pth"
    torch.save(full.state_dict(), path)
    mine, _ = backbones.build(f"efficientnet-lite0:{path}")
    x = torch.rand(1, 3, 64, 64)
    assert torch.allclose(mine(x)[1], net(x)[1])


def test_training_leaves_the_kept_feature_module_in_eval_mode(tmp_path: Path) -> None:
    """Exporting a model must not switch the shared, kept backbone to training mode (batch norm)."""
    from anomalens.vision.engine import _feature_graph
    from anomalens.vision.preprocess import InputSize

    train = [_img(i)[:96, :64] for i in range(6)]  # an input size no other test uses
    art = vision.fit(train, [], vision.TrainConfig(), tmp_path / "m")
    features = _feature_graph("efficientnet-lite0", InputSize.from_json(art.meta["input"]))[0]
    assert not any(module.training for module in features.modules())


def test_feature_graph_is_kept_per_size_and_rebuilt_for_a_replaced_weights_file(tmp_path: Path) -> None:
    """Trainings at one size reuse the traced backbone; a user's new weights file is never served stale."""
    from efficientnet_lite_pytorch import EfficientNet

    from anomalens.vision import backbone_registry, backbones
    from anomalens.vision.engine import _feature_graph
    from anomalens.vision.preprocess import InputSize

    small, other = InputSize(width=64, height=64), InputSize(width=96, height=64)
    assert _feature_graph("efficientnet-lite0", small) is _feature_graph("efficientnet-lite0", small)
    assert _feature_graph("efficientnet-lite0", other)[2] != _feature_graph("efficientnet-lite0", small)[2]

    net = EfficientNet.from_name("efficientnet-lite0")
    net.load_state_dict(
        torch.load(backbones._weights_path(backbone_registry.REGISTRY["efficientnet-lite0"], None), weights_only=True)
    )
    path = tmp_path / "mine.pth"
    torch.save(net.state_dict(), path)
    first = _feature_graph(f"efficientnet-lite0:{path}", small)
    with torch.no_grad():
        net._conv_stem.weight.mul_(0.5)  # the user retrains and overwrites the same file
    torch.save(net.state_dict(), path)
    second = _feature_graph(f"efficientnet-lite0:{path}", small)
    assert second is not first and second[2] != first[2]
    x = torch.rand(1, 3, 64, 64)
    assert not torch.allclose(first[0](x), second[0](x))


def test_two_training_images_need_a_validation_normal(tmp_path: Path) -> None:
    """Two images leave none to hold out: a clear error without validation normals, a model with one."""
    train = [_img(i) for i in range(2)]
    with pytest.raises(vision.EngineError, match="at least 3 normal training images"):
        vision.fit(train, [], vision.TrainConfig(), tmp_path / "a")
    art = vision.fit(train, [vision.LabeledImage(_img(3), False)], vision.TrainConfig(), tmp_path / "b")
    assert art.meta["calibration"]["rule"] == "held-out-normals" and art.meta["training"]["validation_normals"] == 1


def test_small_training_sets_are_cross_fitted(artifact: vision.ModelArtifact, tmp_path: Path) -> None:
    """A few normals calibrate by cross-fitting: every image scored by a model that did not see it.

    A single split of 10 images holds out 3, and their highest score flagged 7 of these 40 new
    normals; cross-fitted, the threshold rests on all 10 scores and the model on all 10 images.
    """
    training = artifact.meta["training"]
    assert (training["images"], training["held_out_normals"], training["cross_fit_folds"]) == (24, 0, 5)
    train = [_img(i) for i in range(10)]
    det = vision.load(vision.fit(train, [], vision.TrainConfig(), tmp_path / "m").path)
    assert sum(p.is_anomalous for p in det.predict([_img(1000 + i) for i in range(40)])) <= 1
    assert all(p.is_anomalous for p in det.predict([_img(2000 + i, "scratch") for i in range(10)]))
    single = vision.fit(train, [], vision.TrainConfig(extra={"folds": 1}), tmp_path / "single").meta["training"]
    assert (single["images"], single["held_out_normals"], single["cross_fit_folds"]) == (7, 3, 0)
    three = vision.fit(train, [], vision.TrainConfig(extra={"folds": 3}), tmp_path / "three").meta["training"]
    assert (three["images"], three["held_out_normals"], three["cross_fit_folds"]) == (10, 0, 3)


def test_one_scorer_is_calibrated_on_scores_with_each_image_left_out(tmp_path: Path) -> None:
    """PaDiM alone, 10 images (fewer than its channels): no blend to choose, thresholds from leave-one-out scores."""
    train = [_img(i) for i in range(10)]
    art = vision.fit(train, [], vision.TrainConfig(algorithm="padim"), tmp_path / "padim")
    assert art.meta["algorithm"] == "padim" and art.meta["blend"] is None
    assert art.meta["training"]["cross_fit_folds"] == 5
    det = vision.load(art.path)
    assert sum(p.is_anomalous for p in det.predict([_img(1000 + i) for i in range(20)])) <= 1
    assert all(p.is_anomalous for p in det.predict([_img(2000 + i, "scratch") for i in range(6)]))


@pytest.mark.parametrize(
    ("images", "validation_normals", "folds", "expected"),
    [
        (129, 0, 0, (5, True)),  # a single split would hold out 19: cross-fit
        (130, 0, 0, (0, True)),  # ... 20: hold out
        (50, 5, 0, (5, True)),  # a few validation normals: the training images join them
        (300, 5, 0, (0, True)),
        (300, 20, 0, (0, False)),  # enough validation normals on their own
        (2, 1, 0, (2, True)),  # never more folds than images
        (50, 0, 1, (0, True)),  # folds=1: engine 1.4's rule
        (50, 5, 1, (0, False)),
        (300, 25, 3, (3, True)),
    ],
)
def test_calibration_plan(images: int, validation_normals: int, folds: int, expected: tuple[int, bool]) -> None:
    """(folds, training images held out) — the second is read as: does any training image calibrate."""
    got_folds, hold_out = _calibration_plan(images, validation_normals, options.DEFAULTS | {"folds": folds}, 0)
    assert (len(got_folds), hold_out or bool(got_folds)) == expected
    if got_folds:
        assert sorted(np.concatenate(got_folds).tolist()) == list(range(images))
        assert not hold_out


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (vision.TrainConfig(extra={"longside": 512}), "unknown training option 'longside'; known options: long_side"),
        (
            vision.TrainConfig(extra={"long_side": 500}),
            "'long_side' must be an integer from 128 to 1024, a multiple of 32",
        ),
        (vision.TrainConfig(extra={"long_side": True}), "'long_side' must be an integer"),
        (vision.TrainConfig(extra={"holdout": "0.2"}), "'holdout' must be a number from 0.05 to 0.5"),
        (vision.TrainConfig(extra={"sigma": float("nan")}), "'sigma' must be a number"),
        (vision.TrainConfig(extra={"folds": 11}), "'folds' must be an integer from 0 to 10"),
        (
            vision.TrainConfig(extra={"memory_min": 3000}),
            r"'memory_min' \(3000\) must not exceed 'memory_max' \(2000, the default\)",
        ),
        (vision.TrainConfig(algorithm="knn"), "algorithm must be one of auto, ensemble, patchcore, padim"),
        (vision.TrainConfig(seed=-1), "seed must be an integer from 0"),
    ],
)
def test_bad_training_options_are_refused_before_any_work(
    config: vision.TrainConfig, message: str, tmp_path: Path
) -> None:
    with pytest.raises(vision.EngineError, match=message):
        vision.check_config(config)
    with pytest.raises(vision.EngineError, match=message):
        vision.fit([_img(i) for i in range(3)], [], config, tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_a_larger_input_side_is_trained_at_and_mapped_back(tmp_path: Path) -> None:
    """``long_side`` sets the model input (for small defects on large parts); maps still come back at image size."""
    config = vision.TrainConfig(algorithm="patchcore", extra={"long_side": 192.0, "memory_min": 200, "memory_max": 500})
    vision.check_config(config)
    art = vision.fit([_img(i) for i in range(6)], [], config, tmp_path / "m")
    assert (art.meta["input"]["height"], art.meta["input"]["width"]) == (192, 192)
    pred = vision.load(art.path).predict([_img(2000, "scratch")])[0]
    assert pred.anomaly_map.shape == (128, 128)


def test_backbone_names_are_checked_without_building(tmp_path: Path) -> None:
    with pytest.raises(vision.EngineError, match="backbone must be one of efficientnet-lite0, efficientnet-lite1"):
        vision.check_config(vision.TrainConfig(backbone="resnet-50"))
    with pytest.raises(vision.EngineError, match="does not exist"):
        vision.check_config(vision.TrainConfig(backbone=f"efficientnet-lite0:{tmp_path / 'missing.pth'}"))
    vision.check_config(vision.TrainConfig(backbone="efficientnet-lite2"))


def test_large_frame_maps_agree_on_one_and_two_threads(artifact: vision.ModelArtifact) -> None:
    frame = np.asarray(Image.fromarray(_img(2001, "scratch")).resize((1400, 1100)))
    one = vision.load(artifact.path, threads=1).predict([frame])[0]
    two = vision.load(artifact.path, threads=2).predict([frame, frame])  # a batch: one map per thread
    single_two = vision.load(artifact.path, threads=2).predict([frame])[0]  # one frame: its map in strips
    assert one.anomaly_map.shape == two[0].anomaly_map.shape == single_two.anomaly_map.shape == (1100, 1400)
    # ONNX Runtime on 1 vs 2 threads already differs in the last bits; the resizing adds nothing visible
    for other in (two[0], two[1], single_two):
        assert np.abs(other.anomaly_map - one.anomaly_map).max() < 1e-5
    assert np.array_equal(two[0].anomaly_map, two[1].anomaly_map) and one.is_anomalous
