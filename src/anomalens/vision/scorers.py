"""Fitting the two scorers from normal patch features (PatchCore memory bank, PaDiM Gaussians)."""

from __future__ import annotations

import numpy as np
import torch

from anomalens.vision.coreset import greedy_coreset, memory_size
from anomalens.vision.network import PadimScorer, PatchCoreScorer

PADIM_DIMS = 64
PADIM_EPS = 0.01


def fit_patchcore(features: np.ndarray, seed: int, ratio: float, low: int, high: int) -> PatchCoreScorer:
    """Memory bank = greedy coreset of all normal patches (features: NxCxhxw)."""
    c = features.shape[1]
    flat = np.ascontiguousarray(features.transpose(0, 2, 3, 1).reshape(-1, c))
    idx = greedy_coreset(flat, memory_size(flat.shape[0], ratio, low, high), seed)
    return PatchCoreScorer(torch.from_numpy(flat[idx].copy()))


def fit_padim(features: np.ndarray, seed: int) -> PadimScorer:
    """Per-position mean and inverse covariance of a seeded random subset of channels."""
    n, c, h, w = features.shape
    rng = np.random.default_rng(seed)
    channels = np.sort(rng.choice(c, size=min(PADIM_DIMS, c), replace=False))
    x = features[:, channels].reshape(n, channels.size, h * w).transpose(2, 0, 1).astype(np.float64)  # P x N x d
    mean = x.mean(axis=1)
    centred = x - mean[:, None, :]
    cov = np.einsum("pnd,pne->pde", centred, centred) / max(1, n - 1)
    cov += PADIM_EPS * np.eye(channels.size)[None]
    inv = np.linalg.inv(cov)
    return PadimScorer(
        torch.from_numpy(channels.astype(np.int64)),
        torch.from_numpy(mean.astype(np.float32)),
        torch.from_numpy(inv.astype(np.float32)),
    )
