"""The exportable inference graph, from pixels to anomaly map and image score.

Normalise → backbone features → local aggregation → distance to the normal model → smoothed
anomaly map and image score.

One ``nn.Module`` holds everything, so ``model.onnx`` is the whole inference contract and the
runtime only resizes images in and maps out. Two scorers share the feature path:

* PatchCore: distance of each patch to its nearest neighbour in a coreset memory bank.
* PaDiM: Mahalanobis distance of each patch to a Gaussian fitted at its own position.

``BlendedScorer`` mixes the two, with one blend for the image score and one for the map.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from anomalens.vision.backbones import FeatureExtractor

#: EfficientNet-Lite expects (x*255 - 127) / 128.
LITE_MEAN, LITE_STD = 127.0 / 255.0, 128.0 / 255.0


class PatchFeatures(nn.Module):
    """Backbone + neighbourhood aggregation; both taps at stride 8, concatenated.

    Each tap is averaged over 3x3 of its own positions, and the concatenation once more over 3x3
    stride-8 positions: the stride-8 tap sees a 5x5 neighbourhood (triangular weights), the
    upsampled stride-16 tap a wider one.
    """

    def __init__(self, extractor: FeatureExtractor) -> None:
        super().__init__()
        self.extractor = extractor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Nx3xHxW in [0,1] → NxCx(H/8)x(W/8)."""
        first, second = self.extractor((x - LITE_MEAN) / LITE_STD)
        first = F.avg_pool2d(first, 3, stride=1, padding=1, count_include_pad=False)
        second = F.avg_pool2d(second, 3, stride=1, padding=1, count_include_pad=False)
        second = F.interpolate(second, size=first.shape[-2:], mode="bilinear", align_corners=False)
        return F.avg_pool2d(torch.cat([first, second], dim=1), 3, stride=1, padding=1, count_include_pad=False)


def gaussian_kernel(sigma: float) -> torch.Tensor:
    """1-D Gaussian kernel truncated at 4 sigma."""
    radius = max(1, math.ceil(4 * sigma))
    xs = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-(xs**2) / (2 * sigma**2))
    return k / k.sum()


class PatchCoreScorer(nn.Module):
    """Nearest-neighbour distance of every patch to the memory bank."""

    memory_t: torch.Tensor
    memory_sq: torch.Tensor

    def __init__(self, memory: torch.Tensor, origin: torch.Tensor | None = None) -> None:
        super().__init__()
        self.register_buffer("memory_t", memory.t().contiguous())
        self.register_buffer("memory_sq", (memory**2).sum(dim=1))
        #: the training image each memory entry came from (training's cross-fitting; not exported)
        self.origin = origin

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """NxCxhxw → Nxhxw patch distances.

        ``|q|² - 2 q·m + |m|²`` as one fused matrix product with the bank's norms as its bias, and
        ``|q|²`` added after the minimum: one pass over the large query x memory matrix instead
        of three (2-4x faster in torch and in ONNX Runtime).
        """
        n, c, h, w = feats.shape
        return self.nearest(feats.permute(0, 2, 3, 1).reshape(-1, c)).reshape(n, h, w)

    def nearest(self, queries: torch.Tensor, ruled_out: Sequence[tuple[slice, torch.Tensor]] = ()) -> torch.Tensor:
        """Distance of each query row (M x C) to its nearest bank entry.

        ``ruled_out`` holds (query rows, bank entries) pairs that may not match: training's
        leave-one-out keeps an image from finding its own entries (``scorers.patchcore_leave_one_out``).
        """
        partial = torch.addmm(self.memory_sq, queries, self.memory_t, alpha=-2.0)
        for rows, entries in ruled_out:
            partial[rows].index_fill_(1, entries, float("inf"))
        return (partial.min(dim=1).values + (queries * queries).sum(dim=1)).clamp_min(0).sqrt()


class PadimScorer(nn.Module):
    """Mahalanobis distance of every patch to the Gaussian of its position."""

    channels: torch.Tensor
    mean: torch.Tensor
    inv_cov: torch.Tensor

    def __init__(self, channels: torch.Tensor, mean: torch.Tensor, inv_cov: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("channels", channels)
        self.register_buffer("mean", mean)  # P x d
        self.register_buffer("inv_cov", inv_cov.half())  # P x d x d, stored in half the bytes
        self._inv_cov32: torch.Tensor | None = None

    def inverse_covariances(self) -> torch.Tensor:
        """float32 inverse covariances: cast in the graph when exported, cached in eager torch.

        Exported, the cast stays a graph node over the float16 weights (the export must not fold
        it, see ``engine._export``) and ONNX Runtime folds it once when it builds a session.
        Eager training scores many batches, so the float32 copy is made once.
        """
        if torch.onnx.is_in_onnx_export():
            return self.inv_cov.float()
        if self._inv_cov32 is None:
            self._inv_cov32 = self.inv_cov.float()
        return self._inv_cov32

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """NxCxhxw → Nxhxw Mahalanobis distances."""
        n, _, h, w = feats.shape
        x = feats.index_select(1, self.channels).flatten(2).permute(2, 0, 1)  # P x N x d
        delta = x - self.mean.unsqueeze(1)
        m = torch.bmm(delta, self.inverse_covariances())
        dist = (m * delta).sum(dim=2).clamp_min(0).sqrt()  # P x N
        return dist.t().reshape(n, h, w)


def standardise(patch: torch.Tensor, centre: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """A member's patch scores as z-scores of its held-out normal patches (the blend's common scale).

    Training applies it before the blend weights exist (to choose them), the graph after.
    """
    return (patch - centre) / scale


class BlendedScorer(nn.Module):
    """Several scorers, each standardised by its held-out normal patch scores, blended twice.

    Standardising puts PatchCore distances and PaDiM Mahalanobis distances on one scale. The
    image score and the anomaly map get their own blend weights because the best blend for
    ranking images is often not the best for locating defects (magnetic tiles: PaDiM alone ranks
    images best, the even blend maps defects best); ``selection`` chooses both.
    """

    centre: torch.Tensor
    scale: torch.Tensor
    score_weights: torch.Tensor
    map_weights: torch.Tensor

    def __init__(
        self,
        members: list[nn.Module],
        centre: torch.Tensor,
        scale: torch.Tensor,
        score_weights: torch.Tensor,
        map_weights: torch.Tensor,
    ) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.register_buffer("centre", centre)
        self.register_buffer("scale", scale)
        self.register_buffer("score_weights", score_weights)
        self.register_buffer("map_weights", map_weights)
        self.same_blend = bool(torch.equal(score_weights, map_weights))

    def combine(self, patches: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The members' raw patch scores → (score blend, map blend); training reuses it on cached scores."""
        parts = [standardise(p, self.centre[i], self.scale[i]) for i, p in enumerate(patches)]
        score = sum((self.score_weights[i] * p for i, p in enumerate(parts)), torch.zeros_like(parts[0]))
        if self.same_blend:
            return score, score
        amap = sum((self.map_weights[i] * p for i, p in enumerate(parts)), torch.zeros_like(parts[0]))
        return score, amap

    def forward(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """NxCxhxw → (Nxhxw patch scores for the image score, Nxhxw patch scores for the map)."""
        return self.combine([member(feats) for member in self.members])


class AnomalyNetwork(nn.Module):
    """Features → scorer → upsampled, smoothed map (NxHxW) and image score (N)."""

    kernel: torch.Tensor

    def __init__(self, features: PatchFeatures, scorer: nn.Module, sigma: float = 4.0) -> None:
        super().__init__()
        self.features, self.scorer = features, scorer
        self.register_buffer("kernel", gaussian_kernel(sigma))
        self._operators: dict[tuple[int, int], torch.Tensor] = {}

    def axis_operator(self, n_in: int, n_out: int) -> torch.Tensor:
        """The n_out x n_in matrix that upsamples one axis (linear) and blurs it (Gaussian, reflect).

        Bilinear upsampling and a separable blur are both linear and separable, so the whole map
        tail is ``rows @ patch @ cols.T``: two small matrix products instead of a resize and two
        large-kernel convolutions (several times faster in torch and ONNX Runtime, same values).
        Built by pushing unit vectors through the two steps, and memoised per shape.
        """
        key = (n_in, n_out)
        if key not in self._operators:
            with torch.inference_mode(False), torch.no_grad():
                k = self.kernel.clone()
                r = k.numel() // 2
                line = F.interpolate(torch.eye(n_in).unsqueeze(1), size=n_out, mode="linear", align_corners=False)
                line = F.conv1d(F.pad(line, (r, r), mode="reflect"), k.view(1, 1, -1))
                self._operators[key] = line[:, 0, :].t().contiguous()
        return self._operators[key]

    def upsample(self, patch: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """Nxhxw patch scores → NxHxW smoothed map at the input resolution."""
        rows = self.axis_operator(int(patch.shape[-2]), size[0])
        cols = self.axis_operator(int(patch.shape[-1]), size[1])
        return torch.matmul(torch.matmul(rows, patch), cols.t())

    def tail(self, feats: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Patch features → (scores N, maps NxHxW) at input size ``size``.

        The score is the maximum of the score blend's smoothed map; the returned map is the map
        blend's (the same map when a single scorer or one blend is used).
        """
        out = self.scorer(feats)
        score_patch, map_patch = out if isinstance(out, tuple) else (out, out)
        score_map, amap = self.smoothed(score_patch, map_patch, size)
        return score_map.flatten(1).amax(dim=1), amap

    def smoothed(
        self, score_patch: torch.Tensor, map_patch: torch.Tensor, size: tuple[int, int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(score blend, map blend) patch scores → their smoothed maps; one upsampling when they are one."""
        score_map = self.upsample(score_patch, size)
        return score_map, score_map if map_patch is score_patch else self.upsample(map_patch, size)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Nx3xHxW in [0,1] → (scores N, maps NxHxW)."""
        return self.tail(self.features(x), (int(x.shape[-2]), int(x.shape[-1])))


class TailAtSize(nn.Module):
    """An AnomalyNetwork's tail for one input size, exported on its own.

    Training joins it to the feature graph it already exported, instead of tracing the backbone
    a second time (that cost ~0.4 s of every training).
    """

    def __init__(self, net: AnomalyNetwork, size: tuple[int, int]) -> None:
        super().__init__()
        self.net, self.size = net, size

    def forward(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """NxCxhxw patch features → (scores N, maps NxHxW)."""
        return self.net.tail(feats, self.size)
