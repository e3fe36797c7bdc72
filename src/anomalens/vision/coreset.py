"""Greedy k-center coreset selection with a random projection (PatchCore's memory subsampling).

The greedy pass works on a seeded random candidate pool projected to a few dimensions, which
keeps it memory-bound-cheap on a 2-core CPU while still spreading the memory bank over the
whole normal feature distribution.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

PROJECTION_DIMS = 32
MAX_CANDIDATES = 40_000


def memory_size(n_patches: int, ratio: float, low: int, high: int) -> int:
    """How many patches to keep: ``ratio`` of all, clamped to [low, high] and to what exists."""
    return int(min(n_patches, max(low, min(high, round(n_patches * ratio)))))


def greedy_coreset(rows: Callable[[np.ndarray], np.ndarray], n: int, k: int, seed: int) -> np.ndarray:
    """Indices of a k-center greedy coreset of size ``k`` among ``n`` feature rows.

    ``rows(indices)`` returns those rows as a len(indices) x C array, so callers need not
    materialise all ``n`` rows.
    """
    rng = np.random.default_rng(seed)
    pool = np.sort(rng.choice(n, size=min(n, MAX_CANDIDATES), replace=False))
    if k >= pool.size:
        return pool
    candidates = rows(pool).astype(np.float32, copy=False)
    # A Python-float divisor keeps the projection float32 (a numpy float64 scalar would make the
    # whole greedy pass float64, twice the memory traffic, under NumPy 2 promotion rules).
    scale = 1.0 / math.sqrt(PROJECTION_DIMS)
    proj = rng.normal(size=(candidates.shape[1], PROJECTION_DIMS)).astype(np.float32) * scale
    z = candidates @ proj
    half_sq = 0.5 * np.einsum("ij,ij->i", z, z)
    chosen = np.empty(k, dtype=np.int64)
    current = int(rng.integers(pool.size))
    min_d = np.full(pool.size, np.inf, dtype=np.float32)
    d = np.empty_like(min_d)
    for i in range(k):
        chosen[i] = current
        # Half the squared distance to the newest centre, |z|²/2 - z·c + |c|²/2, in preallocated buffers.
        np.dot(z, z[current], out=d)
        np.subtract(half_sq, d, out=d)
        d += half_sq[current]
        np.minimum(min_d, d, out=min_d)
        current = int(min_d.argmax())
    return pool[chosen]
