"""Choosing the blend: rank AUROC, synthetic anomalies, blend selection, the map tail's matrices."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score

from anomalens import samples, vision
from anomalens.vision import selection
from anomalens.vision.metrics import rank_auroc
from anomalens.vision.network import AnomalyNetwork, gaussian_kernel
from anomalens.vision.synthetic import make_anomalies


def test_rank_auroc_matches_scikit_learn_with_ties() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 500)
    scores = np.round(rng.normal(size=500) + labels, 1)  # many ties
    assert rank_auroc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert rank_auroc(np.ones(4), np.arange(4.0)) == 0.5  # one class only: neutral


def test_synthetic_anomalies_change_only_their_mask_and_are_seeded() -> None:
    normals = [vision.decode_image(samples.make_image(i)) for i in range(4)]
    made = make_anomalies(normals, 12, seed=3)
    assert len(made) == 12
    for i, anomaly in enumerate(made):
        base = normals[i % len(normals)]
        changed = (anomaly.image != base).any(axis=2)
        assert anomaly.mask.any() and anomaly.mask.shape == base.shape[:2]
        assert not (changed & ~anomaly.mask).any()  # nothing outside the mask is touched
    again = make_anomalies(normals, 12, seed=3)
    assert all(np.array_equal(a.image, b.image) for a, b in zip(made, again, strict=True))


def _maps(n: int, hot: np.ndarray | None, strength: float, seed: int) -> np.ndarray:
    maps = np.random.default_rng(seed).normal(size=(n, 32, 32)).astype(np.float32)
    if hot is not None:
        maps[hot] += strength
    return maps


def test_blend_follows_the_member_that_separates_synthetic_defects() -> None:
    masks = np.zeros((20, 32, 32), bool)
    masks[:, 10:16, 10:16] = True
    false_alarms = np.zeros((20, 32, 32), bool)
    false_alarms[::2, 20:26, 20:26] = True
    # PatchCore sees the defects; PaDiM does not, and fires on half of the normal images.
    normal = (_maps(20, None, 0, 1), _maps(20, false_alarms, 30.0, 2))
    defects = (_maps(20, masks, 6.0, 3), _maps(20, None, 0, 4))
    blend = selection.choose(normal, None, defects, masks)
    assert blend.score_weight == 1.0 and blend.map_weight == 1.0 and blend.chosen_by == "synthetic anomalies"
    blend = selection.choose((normal[1], normal[0]), None, (defects[1], defects[0]), masks)
    assert blend.score_weight == 0.0 and blend.map_weight == 0.0


def test_blend_ties_keep_the_even_blend_and_real_defects_rank_images() -> None:
    masks = np.zeros((10, 32, 32), bool)
    masks[:, :4, :4] = True
    same = _maps(10, masks, 5.0, 5)
    normal = _maps(10, None, 0, 6)
    blend = selection.choose((normal, normal), None, (same, same), masks)
    assert blend.score_weight == 0.5 and blend.map_weight == 0.5
    false_alarms = np.zeros((10, 32, 32), bool)
    false_alarms[::2, 20:26, 20:26] = True
    # Real defects only PaDiM sees, while PatchCore fires on normal images: the score follows them.
    real = (_maps(10, None, 0.0, 7), _maps(10, masks, 6.0, 8))
    blend = selection.choose((_maps(10, false_alarms, 30.0, 9), normal), real, (same, same), masks)
    assert blend.chosen_by == "validation" and blend.score_weight == 0.0
    assert blend.map_weight == 0.0  # its false alarms on normal pixels count against it in the map too


def test_map_tail_matrices_equal_resize_then_blur() -> None:
    net = AnomalyNetwork(torch.nn.Identity(), torch.nn.Identity(), 4.0)  # type: ignore[arg-type]
    patch = torch.randn(3, 32, 24)
    k = gaussian_kernel(4.0)
    r = k.numel() // 2
    expected = F.interpolate(patch.unsqueeze(1), size=(256, 192), mode="bilinear", align_corners=False)
    expected = F.conv2d(F.pad(expected, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    expected = F.conv2d(F.pad(expected, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1)).squeeze(1)
    assert torch.allclose(net.upsample(patch, (256, 192)), expected, atol=1e-5)
