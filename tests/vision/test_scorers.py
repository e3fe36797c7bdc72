"""PaDiM's Gaussians: the fitted statistics, their size budget, and how they are exported."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from anomalens.vision import scorers
from anomalens.vision.engine import _export
from anomalens.vision.runtime import session


def _features(n: int = 60, c: int = 24, h: int = 4, w: int = 3, seed: int = 0) -> np.ndarray:
    """Correlated channels (a random mixing of independent ones), so covariances are not diagonal."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(c, c)).astype(np.float32)
    base = rng.normal(size=(n, h, w, c)).astype(np.float32)
    return np.ascontiguousarray((base @ mixing).transpose(0, 3, 1, 2))


def test_padim_gaussians_match_numpy() -> None:
    feats = _features()
    _, c, h, w = feats.shape
    scorer = scorers.fit_padim(feats, seed=0, dims=c)
    query = _features(n=5, seed=1)
    got = scorer(torch.from_numpy(query)).numpy()
    for p in range(h * w):
        y, x = divmod(p, w)
        samples = feats[:, :, y, x].astype(np.float64)
        mean = samples.mean(axis=0)
        inv = np.linalg.inv(np.cov(samples, rowvar=False) + scorers.PADIM_EPS * np.eye(c))
        assert scorer.mean[p].numpy() == pytest.approx(mean, abs=1e-4)
        delta = query[:, :, y, x] - mean
        expected = np.sqrt(np.einsum("nd,de,ne->n", delta, inv, delta))
        # float16 storage of the inverse: ~5e-4 per entry, more where the quadratic form cancels
        assert got[:, y, x] == pytest.approx(expected, rel=1e-2)


def test_padim_channels_fill_the_float16_budget() -> None:
    for positions in (768, 1024, 4096):
        dims = scorers.padim_dims(152, positions)
        assert scorers.PADIM_STORED_BYTES * positions * dims**2 <= scorers.PADIM_BUDGET_BYTES
        assert dims == 152 or scorers.PADIM_STORED_BYTES * positions * (dims + 1) ** 2 > scorers.PADIM_BUDGET_BYTES
    assert scorers.padim_dims(152, 768) == 152  # 32x24 positions: every channel
    assert scorers.padim_dims(152, 10**6) == scorers.PADIM_MIN_DIMS


def test_export_stores_inverse_covariances_as_float16_and_agrees_with_torch() -> None:
    feats = _features()
    scorer = scorers.fit_padim(feats, seed=0).eval()
    graph = _export(scorer, torch.from_numpy(feats[:2]), "features", ["dist"], trace_weights=False)
    stored = {i.name: i.data_type for i in graph.graph.initializer}
    assert stored["inv_cov"] == onnx.TensorProto.FLOAT16
    assert [i.name for i in graph.graph.input] == ["features"]  # the weights are not inputs
    query = _features(n=7, seed=2)
    ort_out = session(graph.SerializeToString(), threads=1).run(None, {"features": query})[0]
    with torch.inference_mode():
        torch_out = scorer(torch.from_numpy(query)).numpy()
    np.testing.assert_allclose(ort_out, torch_out, rtol=1e-4)
