"""Value types exchanged between the vision engine and its callers.

The engine is pure compute: callers hand it decoded images (numpy arrays) and get back
results and artifact directories. Nothing here knows about databases, HTTP or URIs, so the
platform (``anomalens.app``) and the benchmarks can drive the engine the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: Progress callback: ``progress(fraction_done in [0, 1], short human message)``.
ProgressFn = Callable[[float, str], None]


class EngineError(Exception):
    """Base of every error the engine raises on purpose (bad image, bad config, bad artifact)."""


class ConfigError(EngineError):
    """A training configuration the engine refuses; ``part`` says which: algorithm, seed, backbone or option."""

    def __init__(self, message: str, part: str) -> None:
        super().__init__(message)
        self.part = part


class ImageDecodeError(EngineError):
    """The bytes are not a decodable PNG/JPEG image (or violate a safety limit)."""


class ArtifactError(EngineError):
    """A model artifact directory is missing, corrupt or from an incompatible engine version."""


@dataclass(frozen=True)
class LabeledImage:
    """An image with ground truth, used for validation and evaluation.

    Attributes:
        image: HxWx3 uint8 RGB array (use :func:`anomalens.vision.decode_image`).
        is_anomalous: the image-level label.
        mask: optional HxW bool array of anomalous pixels (same H, W as ``image``).
        key: caller's identifier, echoed in per-image evaluation records.
        anomaly_class: optional anomaly type name (for later segmentation work).
    """

    image: np.ndarray
    is_anomalous: bool
    mask: np.ndarray | None = None
    key: str = ""
    anomaly_class: str | None = None


@dataclass(frozen=True)
class TrainConfig:
    """Training options; the defaults are the one configuration the README benchmarks.

    ``algorithm="auto"`` lets the engine choose between candidates by validation when
    anomalous validation images exist (as Lookout for Vision "trains several models and
    selects the best"), never by dataset name. ``backbone`` is a registry name, or
    ``"name:/path/to/weights.pth"`` for a user's own weights. ``extra`` overrides the options in
    ``anomalens.vision.options.RULES`` (for example ``{"long_side": 512}`` for small defects on
    large parts); ``check_config`` refuses an unknown option or a value out of range.
    """

    algorithm: str = "auto"
    backbone: str = "efficientnet-lite0"
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Prediction:
    """The engine's answer for one image.

    Attributes:
        score: raw anomaly score (higher = more anomalous), model-specific scale.
        is_anomalous: ``score >= threshold``.
        confidence: in [0, 1], how sure the model is of ``is_anomalous``; monotone in the
            distance of the score from the threshold (see the vision README for the mapping).
        anomaly_map: HxW float32 map in the *input image's* resolution, normalised so that
            values >= 0.5 are anomalous at the image threshold.
    """

    score: float
    is_anomalous: bool
    confidence: float
    anomaly_map: np.ndarray


@dataclass(frozen=True)
class ImageRecord:
    """Per-image evaluation record (one line of the evaluation manifest)."""

    key: str
    is_anomalous: bool
    predicted_anomalous: bool
    score: float
    confidence: float


@dataclass(frozen=True)
class Evaluation:
    """Metrics of a detector on a labelled test set (spec §5.2-5.6).

    Pixel metrics are ``None`` when the test set carries no masks; AUROC/AP are ``None``
    when the test set lacks one of the two classes.
    """

    precision: float
    recall: float
    f1: float
    image_auroc: float | None
    average_precision: float | None
    pixel_auroc: float | None
    aupro: float | None
    threshold: float
    records: list[ImageRecord]


@dataclass(frozen=True)
class ModelArtifact:
    """A trained model: a self-contained directory (``model.json``, arrays, ``model.onnx``)."""

    path: Path
    meta: dict[str, Any]
