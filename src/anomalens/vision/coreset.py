"""Greedy k-center coreset selection with a random projection (PatchCore's memory subsampling).

The greedy pass works on a seeded random candidate pool projected to a few dimensions, which
keeps it memory-bound-cheap on a 2-core CPU while still spreading the memory bank over the
whole normal feature distribution.
"""

from __future__ import annotations

import numpy as np

PROJECTION_DIMS = 32
MAX_CANDIDATES = 40_000


def memory_size(n_patches: int, ratio: float, low: int, high: int) -> int:
    """How many patches to keep: ``ratio`` of all, clamped to [low, high] and to what exists."""
    return int(min(n_patches, max(low, min(high, round(n_patches * ratio)))))


def greedy_coreset(features: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Indices (into ``features``) of a k-center greedy coreset of size ``k``."""
    rng = np.random.default_rng(seed)
    n = features.shape[0]
    pool = np.sort(rng.choice(n, size=min(n, MAX_CANDIDATES), replace=False))
    if k >= pool.size:
        return pool
    proj = rng.normal(size=(features.shape[1], PROJECTION_DIMS)).astype(np.float32) / np.sqrt(PROJECTION_DIMS)
    z = features[pool] @ proj
    sq = np.einsum("ij,ij->i", z, z)
    chosen = np.empty(k, dtype=np.int64)
    current = int(rng.integers(pool.size))
    min_d = np.full(pool.size, np.inf, dtype=np.float32)
    for i in range(k):
        chosen[i] = current
        d = sq - 2.0 * (z @ z[current]) + sq[current]
        np.minimum(min_d, d, out=min_d)
        current = int(np.argmax(min_d))
    return pool[chosen]
