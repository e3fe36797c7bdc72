"""Fitting the two scorers from normal patch features (PatchCore memory bank, PaDiM Gaussians)."""

from __future__ import annotations

import numpy as np
import torch

from anomalens.vision.coreset import greedy_coreset, memory_size
from anomalens.vision.network import PadimScorer, PatchCoreScorer
from anomalens.vision.types import EngineError

PADIM_EPS = 0.01
#: Bytes the PaDiM inverse covariances may take (they dominate the artifact); 36 MB keeps a
#: whole model under 50 MB at the largest default input (32x32 positions).
PADIM_BUDGET_BYTES = 36_000_000
#: The inverse covariances are rounded to float16 values, which ``model.onnx`` stores in two
#: bytes each (ONNX Runtime casts them back to float32 once, when it builds the session): half
#: the bytes buys ~1.4x the channels, and the rounding changed no AUROC in the third decimal on
#: the shared categories. Training scores with the rounded values, so calibration on held-out
#: or validation normals sees the model that ships (the cross-fitted scores of
#: ``padim_out_of_fold`` and ``padim_leave_one_out`` are unrounded).
PADIM_STORED_BYTES = 2
PADIM_MIN_DIMS = 32


def padim_dims(channels: int, positions: int, budget: int = PADIM_BUDGET_BYTES) -> int:
    """How many channels PaDiM models: as many as the size budget allows (P x d x d float16).

    More channels model the normal texture better and make the model depend less on which
    channels the seed picks (magnetic tiles, PaDiM alone: 64 → 100 channels raised the image
    AUROC from 0.946 to 0.967; 108 random channels gave 0.971-0.977 over four seeds, all 152
    gave 0.977; metal plates: 93 → 132 channels, 0.968-0.991 → 0.988-0.993 over three seeds),
    so the budget, not a fixed number, decides.
    """
    per_position = budget / (PADIM_STORED_BYTES * max(1, positions))
    return int(max(PADIM_MIN_DIMS, min(channels, per_position**0.5)))


def fit_patchcore(features: np.ndarray, seed: int, ratio: float, low: int, high: int) -> PatchCoreScorer:
    """Memory bank = greedy coreset of all normal patches (features: NxCxhxw).

    Patches are gathered as rows on demand: the coreset reads only its candidate pool and the
    chosen rows, so the whole (N*h*w) x C matrix (110 MB for 200 images) is never copied.
    """
    n, _, h, w = features.shape

    def rows(idx: np.ndarray) -> np.ndarray:
        image, rest = np.divmod(idx, h * w)
        y, x = np.divmod(rest, w)
        return np.ascontiguousarray(features[image, :, y, x])

    chosen = greedy_coreset(rows, n * h * w, memory_size(n * h * w, ratio, low, high), seed)
    return PatchCoreScorer(torch.from_numpy(rows(chosen)), torch.from_numpy(chosen // (h * w)))


#: Patches PatchCore scores per call in training: small chunks keep the query x memory-bank
#: matrix in cache (4x faster than whole sets at once on 2 cores) and bound its memory.
PATCH_CHUNK = 4096


def patchcore_images_per_call(positions: int) -> int:
    """Images per PatchCore call in training: ``PATCH_CHUNK`` patches' worth, at least one."""
    return max(1, PATCH_CHUNK // max(1, positions))


def _patchcore_in_chunks(scorer: PatchCoreScorer, features: np.ndarray) -> torch.Tensor:
    step = patchcore_images_per_call(features.shape[2] * features.shape[3])
    parts = [scorer(torch.from_numpy(features[i : i + step])) for i in range(0, features.shape[0], step)]
    return torch.cat(parts) if parts else torch.zeros(0, *features.shape[2:])


def _origins(scorer: PatchCoreScorer) -> torch.Tensor:
    """The training image each bank entry came from (what cross-fitting takes out)."""
    if scorer.origin is None:
        raise ValueError("this memory bank does not record where its entries came from")
    return scorer.origin


def patchcore_out_of_fold(
    scorer: PatchCoreScorer, features: np.ndarray, folds: list[np.ndarray], extra: list[np.ndarray]
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Cross-fitting: each image's patch scores against the memory bank without its own fold's entries.

    No coreset per fold: the fitted bank less the entries its fold's images contributed stands in
    for a bank fitted without them. It is a little sparser than a fresh one (about (K-1)/K of the
    entries), so the scores lean high. ``extra[k]`` are more images
    to score as fold ``k`` (synthetic anomalies made from its images). Returns (NxHxW for
    ``features``, one tensor per fold for ``extra``).
    """
    origin = _origins(scorer)
    memory = scorer.memory_t.t()
    out = torch.empty(features.shape[0], *features.shape[2:])
    extra_out = []
    with torch.inference_mode():
        for fold, more in zip(folds, extra, strict=True):
            keep = ~torch.isin(origin, torch.from_numpy(fold))
            if not bool(keep.any()):
                raise EngineError(
                    "the memory bank holds entries of one fold only, too few to cross-fit: "
                    "raise the training option 'memory_max' or set 'folds' to 1"
                )
            without = PatchCoreScorer(memory[keep])
            out[torch.from_numpy(fold)] = _patchcore_in_chunks(without, features[fold])
            extra_out.append(_patchcore_in_chunks(without, more) if more.shape[0] else torch.zeros(0, *out.shape[1:]))
    return out, extra_out


def patchcore_leave_one_out(scorer: PatchCoreScorer, features: np.ndarray) -> torch.Tensor:
    """Each training image's patch scores against the memory bank without the entries it contributed.

    The bank's own images, one at a time, as ``patchcore_out_of_fold`` with a fold per image: one
    scoring pass over the images, in which an image's own entries are ruled out of its nearest-
    neighbour search. ``features`` are the images the bank was fitted on, in order.
    """
    n, c, h, w = features.shape
    positions = h * w
    origin = _origins(scorer)
    own = [torch.nonzero(origin == i).squeeze(1) for i in range(n)]
    if any(entries.numel() == scorer.memory_sq.numel() for entries in own):
        raise EngineError(
            "the memory bank holds entries of one image only, too few to leave an image out: "
            "raise the training option 'memory_max' or set 'folds' to 1"
        )
    out = torch.empty(n, positions)
    step = patchcore_images_per_call(positions)
    with torch.inference_mode():
        for start in range(0, n, step):
            query = torch.from_numpy(features[start : start + step]).permute(0, 2, 3, 1).reshape(-1, c)
            images = range(start, start + query.shape[0] // positions)
            ruled_out = [(slice((i - start) * positions, (i - start + 1) * positions), own[i]) for i in images]
            out[start : start + step] = scorer.nearest(query, ruled_out).reshape(-1, positions)
    return out.reshape(n, h, w)


#: Images per float64 chunk in ``padim_leave_one_out`` (1024 positions x 152 channels: 38 MB).
LOO_SOLVE_IMAGES = 32


def padim_leave_one_out(scorer: PadimScorer, features: np.ndarray) -> torch.Tensor:
    """Each training image's Mahalanobis distances to the Gaussians fitted on all the other images.

    Exact, from one factorisation instead of one per image: leaving image i out moves the mean
    by -u/(n-1) (u: its deviation from the mean of all n), so the image lies n/(n-1) u from the
    new mean, and takes n/(n-1) u u^T out of the scatter, a rank-one change. By the
    Sherman-Morrison formula its distance to the Gaussians without it is
    ``n/(n-1) sqrt(q / (1 - c q))`` with ``q = u^T A^-1 u``, ``A = scatter/(n-2) + eps I`` (the
    covariance rule of ``fit_padim`` for n-1 images, before the downdate) and
    ``c = n/((n-1)(n-2))``. ``1 - c q`` is positive (the downdated covariance keeps its eps I) but
    small for images unlike the others, hence float64. Same channels and regularisation as
    ``scorer``, without the stored float16 rounding. Solved ``LOO_SOLVE_IMAGES`` images at a
    time, so beside the factor only one chunk's float64 copy is alive.
    """
    n, _, h, w = features.shape
    if n < 3:  # the divisor n - 2 would be 0: score each image against the other directly
        singles = [np.array([i]) for i in range(n)]
        return padim_out_of_fold(scorer, features, singles, [features[:0]] * n)[0]
    x = _position_major(features, scorer.channels)  # float32, P x d x n
    mean = x.sum(dim=2, keepdim=True, dtype=torch.float64) / n

    def deviations(start: int) -> torch.Tensor:  # u of one chunk of images, float64
        return x[:, :, start : start + LOO_SOLVE_IMAGES].double() - mean

    shared = torch.zeros(x.shape[0], x.shape[1], x.shape[1], dtype=torch.float64)
    for start in range(0, n, LOO_SOLVE_IMAGES):
        part = deviations(start)
        shared.baddbmm_(part, part.transpose(1, 2))
    shared /= n - 2
    shared.diagonal(dim1=1, dim2=2).add_(PADIM_EPS)
    factor = torch.linalg.cholesky(shared)
    del shared
    c = n / ((n - 1) * (n - 2))
    distance = torch.empty(x.shape[0], n)
    for start in range(0, n, LOO_SOLVE_IMAGES):
        q = torch.linalg.solve_triangular(factor, deviations(start), upper=False).square_().sum(dim=1)  # P x chunk
        distance[:, start : start + LOO_SOLVE_IMAGES] = (n / (n - 1)) * (q / (1.0 - c * q).clamp_min(1e-12)).sqrt()
    return distance.t().reshape(n, h, w)


def _position_major(features: np.ndarray, channels: torch.Tensor) -> torch.Tensor:
    """The chosen channels of every patch, P x d x N.

    Filled image by image: a third faster than gathering channels from the strided
    position-major view, and no second copy of the features.
    """
    n, c, h, w = features.shape
    source = torch.from_numpy(features).reshape(n, c, h * w)
    x = torch.empty(h * w, channels.numel(), n)
    for i in range(n):
        x[:, :, i] = source[i].index_select(0, channels).t()
    return x


def _mahalanobis(points: torch.Tensor, mean: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Distances of P x d x m points to per-position Gaussians (mean P x d, Cholesky factor P x d x d), m x P."""
    y = torch.linalg.solve_triangular(factor, points - mean[:, :, None], upper=False)
    return (y * y).sum(dim=1).clamp_min(0).sqrt().t()


def padim_out_of_fold(
    scorer: PadimScorer, features: np.ndarray, folds: list[np.ndarray], extra: list[np.ndarray]
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Cross-fitting: each image's Mahalanobis distances to Gaussians fitted without its own fold.

    The fold's Gaussians come from the totals less the fold's share (sums of the centred
    patches and of their outer products), and distances from a Cholesky solve, not an inverse:
    a fold costs one factorisation instead of a whole fit (bottle, 50 images: 0.34 → ~0.06 s).
    Same channels and regularisation as ``scorer``; float32 like the fit, without the stored
    float16 rounding. ``extra`` as in ``patchcore_out_of_fold``.
    """
    n, _, h, w = features.shape
    x = _position_major(features, scorer.channels)
    shift = x.mean(dim=2, keepdim=True)
    x -= shift  # centred, so the subtractions below do not cancel large values
    total, scatter = x.sum(dim=2), torch.bmm(x, x.transpose(1, 2))
    out = torch.empty(n, h * w)
    extra_out = []
    for fold, more in zip(folds, extra, strict=True):
        part = x[:, :, torch.from_numpy(fold)]  # P x d x m
        rest = n - fold.size
        mean = (total - part.sum(dim=2)) / rest
        # (scatter of the rest - rest * mean mean^T) / (rest - 1) + eps I, in place: one P x d x d buffer
        cov = torch.baddbmm(scatter, part, part.transpose(1, 2), alpha=-1.0)
        cov.baddbmm_(mean[:, :, None], mean[:, None, :], alpha=-float(rest))
        cov /= max(1, rest - 1)
        cov.diagonal(dim1=1, dim2=2).add_(PADIM_EPS)
        factor, failed = torch.linalg.cholesky_ex(cov)
        if bool(failed.any()):
            factor = torch.linalg.cholesky(cov.double()).float()

        out[torch.from_numpy(fold)] = _mahalanobis(part, mean, factor)
        if more.shape[0]:
            extra_out.append(
                _mahalanobis(_position_major(more, scorer.channels) - shift, mean, factor).reshape(-1, h, w)
            )
        else:
            extra_out.append(torch.zeros(0, h, w))
    return out.reshape(n, h, w), extra_out


def fit_padim(features: np.ndarray, seed: int, dims: int | None = None) -> PadimScorer:
    """Per-position mean and inverse covariance of a seeded random subset of channels.

    Covariances are summed with batched matrix products over a position-major copy of the
    features and inverted through a Cholesky factorisation (symmetric positive definite after
    the +eps·I). float32 is enough for values that are stored as float16 (relative difference to
    float64 ~3e-5, against ~5e-4 for the float16 rounding) and halves the cost; float64 is the
    fallback should a factorisation fail.
    """
    n, c, h, w = features.shape
    rng = np.random.default_rng(seed)
    dims = dims or padim_dims(c, h * w)
    channels = np.sort(rng.choice(c, size=min(dims, c), replace=False))
    x = _position_major(features, torch.from_numpy(channels))
    mean = x.mean(dim=2)  # P x d
    x -= mean[:, :, None]
    cov = torch.bmm(x, x.transpose(1, 2)) / max(1, n - 1)
    cov += PADIM_EPS * torch.eye(channels.size)
    factor, failed = torch.linalg.cholesky_ex(cov)
    if bool(failed.any()):
        factor = torch.linalg.cholesky(cov.double())
    inv = torch.cholesky_inverse(factor).float()
    return PadimScorer(torch.from_numpy(channels.astype(np.int64)), mean.contiguous(), inv.contiguous())
