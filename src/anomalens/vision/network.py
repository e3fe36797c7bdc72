"""The exportable inference graph, from pixels to anomaly map and image score.

Normalise → backbone features → local aggregation → distance to the normal model → smoothed
anomaly map and image score.

One ``nn.Module`` holds everything, so ``model.onnx`` is the whole inference contract and the
runtime only resizes images in and maps out. Two scorers share the feature path:

* PatchCore: distance of each patch to its nearest neighbour in a coreset memory bank.
* PaDiM: Mahalanobis distance of each patch to a Gaussian fitted at its own position.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from anomalens.vision.backbones import FeatureExtractor

#: EfficientNet-Lite expects (x*255 - 127) / 128.
LITE_MEAN, LITE_STD = 127.0 / 255.0, 128.0 / 255.0


class PatchFeatures(nn.Module):
    """Backbone + 3x3 neighbourhood aggregation; both taps at stride 8, concatenated."""

    def __init__(self, extractor: FeatureExtractor) -> None:
        super().__init__()
        self.extractor = extractor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Nx3xHxW in [0,1] → NxCx(H/8)x(W/8)."""
        first, second = self.extractor((x - LITE_MEAN) / LITE_STD)
        first = F.avg_pool2d(first, 3, stride=1, padding=1, count_include_pad=False)
        second = F.avg_pool2d(second, 3, stride=1, padding=1, count_include_pad=False)
        second = F.interpolate(second, size=first.shape[-2:], mode="bilinear", align_corners=False)
        return torch.cat([first, second], dim=1)


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

    def __init__(self, memory: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("memory_t", memory.t().contiguous())
        self.register_buffer("memory_sq", (memory**2).sum(dim=1))

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """NxCxhxw → Nxhxw patch distances."""
        n, c, h, w = feats.shape
        q = feats.permute(0, 2, 3, 1).reshape(-1, c)
        d2 = (q**2).sum(dim=1, keepdim=True) - 2 * (q @ self.memory_t) + self.memory_sq
        nearest = d2.min(dim=1).values.clamp_min(0).sqrt()
        return nearest.reshape(n, h, w)


class PadimScorer(nn.Module):
    """Mahalanobis distance of every patch to the Gaussian of its position."""

    channels: torch.Tensor
    mean: torch.Tensor
    inv_cov: torch.Tensor

    def __init__(self, channels: torch.Tensor, mean: torch.Tensor, inv_cov: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("channels", channels)
        self.register_buffer("mean", mean)  # P x d
        self.register_buffer("inv_cov", inv_cov)  # P x d x d

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """NxCxhxw → Nxhxw Mahalanobis distances."""
        n, _, h, w = feats.shape
        x = feats.index_select(1, self.channels).flatten(2).permute(2, 0, 1)  # P x N x d
        delta = x - self.mean.unsqueeze(1)
        m = torch.bmm(delta, self.inv_cov)
        dist = (m * delta).sum(dim=2).clamp_min(0).sqrt()  # P x N
        return dist.t().reshape(n, h, w)


class EnsembleScorer(nn.Module):
    """Average of several scorers, each standardised by its held-out normal patch scores.

    Standardising puts PatchCore distances and PaDiM Mahalanobis distances on one scale, so
    a defect that only one of them sees still stands out in the mean.
    """

    centre: torch.Tensor
    scale: torch.Tensor

    def __init__(self, members: list[nn.Module], centre: torch.Tensor, scale: torch.Tensor) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.register_buffer("centre", centre)
        self.register_buffer("scale", scale)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """NxCxhxw → Nxhxw mean standardised score."""
        total = torch.zeros_like(feats[:, 0])
        for i, member in enumerate(self.members):
            total = total + (member(feats) - self.centre[i]) / self.scale[i]
        return total / len(self.members)


class AnomalyNetwork(nn.Module):
    """Features → scorer → upsampled, smoothed map (NxHxW) and image score (N)."""

    kernel: torch.Tensor

    def __init__(self, features: PatchFeatures, scorer: nn.Module, sigma: float = 4.0) -> None:
        super().__init__()
        self.features, self.scorer = features, scorer
        self.register_buffer("kernel", gaussian_kernel(sigma))

    def smooth(self, amap: torch.Tensor) -> torch.Tensor:
        """Separable Gaussian blur of an Nx1xHxW map (reflect padding)."""
        k = self.kernel
        r = k.numel() // 2
        amap = F.conv2d(F.pad(amap, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
        return F.conv2d(F.pad(amap, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Nx3xHxW in [0,1] → (scores N, maps NxHxW)."""
        patch = self.scorer(self.features(x)).unsqueeze(1)
        amap = F.interpolate(patch, size=x.shape[-2:], mode="bilinear", align_corners=False)
        amap = self.smooth(amap).squeeze(1)
        return amap.flatten(1).amax(dim=1), amap
