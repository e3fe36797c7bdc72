"""The scorers' fitted statistics (PaDiM's Gaussians, PatchCore's bank), their size budget, export and cross-fitting."""

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


FOLDS = [np.array([0, 3, 7, 11]), np.array([1, 2, 5]), np.array([4, 6, 8, 9, 10])]


def test_padim_out_of_fold_matches_a_fit_without_the_fold() -> None:
    feats = _features(n=12)
    scorer = scorers.fit_padim(feats, seed=0)
    synthetic = [_features(n=2, seed=10 + k) for k in range(len(FOLDS))]
    got, got_extra = scorers.padim_out_of_fold(scorer, feats, FOLDS, synthetic)
    for k, fold in enumerate(FOLDS):
        rest = np.setdiff1d(np.arange(12), fold)
        refit = scorers.fit_padim(feats[rest], seed=0)  # the same seed picks the same channels
        assert torch.equal(refit.channels, scorer.channels)
        with torch.inference_mode():
            expected = refit(torch.from_numpy(feats[fold])).numpy()
            expected_extra = refit(torch.from_numpy(synthetic[k])).numpy()
        # the refit's inverse is stored in float16; the cross-fit solves in float32
        assert got[torch.from_numpy(fold)].numpy() == pytest.approx(expected, rel=2e-2)
        assert got_extra[k].numpy() == pytest.approx(expected_extra, rel=2e-2)
    # far from the in-sample distances: a fold's own images are not in its Gaussians
    with torch.inference_mode():
        assert float(got.mean()) > 1.2 * float(scorer(torch.from_numpy(feats)).mean())


def test_patchcore_out_of_fold_never_matches_an_image_with_its_own_fold() -> None:
    feats = _features(n=12)
    scorer = scorers.fit_patchcore(feats, seed=0, ratio=1.0, low=1, high=10_000)  # every patch kept
    assert scorer.origin is not None and scorer.origin.numel() == 12 * 4 * 3
    got, extra = scorers.patchcore_out_of_fold(scorer, feats, FOLDS, [feats[f[:1]] for f in FOLDS])
    memory, origin = scorer.memory_t.t().numpy(), scorer.origin.numpy()
    for k, fold in enumerate(FOLDS):
        bank = memory[~np.isin(origin, fold)]
        rows = feats[fold].transpose(0, 2, 3, 1).reshape(-1, feats.shape[1])
        nearest = np.sqrt(((rows[:, None, :] - bank[None]) ** 2).sum(-1)).min(1)
        assert got[torch.from_numpy(fold)].numpy().ravel() == pytest.approx(nearest, rel=1e-4, abs=1e-4)
        assert extra[k].numpy() == pytest.approx(got[torch.from_numpy(fold[:1])].numpy(), rel=1e-5)
    with torch.inference_mode():
        assert float(scorer(torch.from_numpy(feats)).max()) < 0.05  # in the bank: ~0 (float32 rounding)
    assert float(got.min()) > 1.0


@pytest.mark.parametrize("n", [12, 40])  # fewer images than PaDiM's 24 channels, and more
def test_padim_leave_one_out_matches_a_fit_without_the_image(n: int) -> None:
    feats = _features(n=n)
    feats[0] *= 4  # one image unlike the others: the downdate formula's hard case
    _, c, h, w = feats.shape
    scorer = scorers.fit_padim(feats, seed=0, dims=c)
    got = scorers.padim_leave_one_out(scorer, feats).numpy()
    for i in (0, n // 2, n - 1):
        rest = np.delete(feats, i, axis=0).astype(np.float64)
        for p in range(h * w):
            y, x = divmod(p, w)
            samples = rest[:, :, y, x]
            delta = feats[i, :, y, x] - samples.mean(axis=0)
            cov = np.cov(samples, rowvar=False) + scorers.PADIM_EPS * np.eye(c)
            assert got[i, y, x] == pytest.approx(np.sqrt(delta @ np.linalg.solve(cov, delta)), rel=1e-5)
    with torch.inference_mode():
        assert float(got.mean()) > 1.2 * float(scorer(torch.from_numpy(feats)).mean())


def test_padim_leave_one_out_of_two_images_scores_each_against_the_other() -> None:
    feats = _features(n=2)
    scorer = scorers.fit_padim(feats, seed=0)
    singles = [np.array([0]), np.array([1])]
    expected, _ = scorers.padim_out_of_fold(scorer, feats, singles, [feats[:0]] * 2)
    assert torch.equal(scorers.padim_leave_one_out(scorer, feats), expected)


def test_patchcore_leave_one_out_never_matches_an_image_with_itself() -> None:
    feats = _features(n=12)
    scorer = scorers.fit_patchcore(feats, seed=0, ratio=0.5, low=1, high=10_000)
    assert scorer.origin is not None
    got = scorers.patchcore_leave_one_out(scorer, feats).numpy()
    memory, origin = scorer.memory_t.t().numpy(), scorer.origin.numpy()
    for i in range(12):
        bank = memory[origin != i]
        rows = feats[i].transpose(1, 2, 0).reshape(-1, feats.shape[1])
        nearest = np.sqrt(((rows[:, None, :] - bank[None]) ** 2).sum(-1)).min(1)
        assert got[i].ravel() == pytest.approx(nearest, rel=1e-4, abs=1e-4)
    assert float(got.min()) > 1.0  # its own entries (distance ~0) never count
