"""The Anomalens ML engine: backbones, anomaly algorithms, thresholds, metrics, ONNX runtime.

Public surface (everything else is private to the engine)::

    decode_image(data: bytes) -> np.ndarray            # HxWx3 uint8 RGB; EXIF, 16-bit, grey handled
    probe_image(data: bytes) -> ImageInfo              # format/size from the header, no full decode
    decode_mask(data, size=None) -> np.ndarray         # HxW bool
    fit(train_images, val_images, config, out_dir, progress=None) -> ModelArtifact
    load(path, threads=2) -> Detector                  # ONNX Runtime, no torch needed
    Detector.predict(images) -> list[Prediction]
    evaluate(detector, test_images) -> Evaluation
    probe_video(fileobj) -> VideoInfo                  # PyAV; VideoDecodeError when not a video
    sample_frames(fileobj, max_fps=None) -> Iterator[Frame]

The engine imports nothing from the rest of Anomalens. ``fit`` imports torch lazily, so
hosting and batch inference never load it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from anomalens.vision.images import ImageInfo, decode_image, decode_mask, probe_image
from anomalens.vision.options import ALGORITHMS, check_config
from anomalens.vision.runtime import Detector, load
from anomalens.vision.types import (
    ArtifactError,
    ConfigError,
    EngineError,
    Evaluation,
    ImageDecodeError,
    ImageRecord,
    LabeledImage,
    ModelArtifact,
    Prediction,
    ProgressFn,
    TrainConfig,
)
from anomalens.vision.video import Frame, VideoDecodeError, VideoInfo, probe_video, sample_frames

if TYPE_CHECKING:
    import numpy as np


def fit(
    train_images: Sequence[np.ndarray],
    val_images: Sequence[LabeledImage],
    config: TrainConfig,
    out_dir: Path,
    progress: ProgressFn | None = None,
) -> ModelArtifact:
    """Train a model from normal images (see ``anomalens.vision.engine.fit``)."""
    from anomalens.vision import engine

    return engine.fit(train_images, val_images, config, out_dir, progress)


def evaluate(detector: Detector, test_images: Sequence[LabeledImage]) -> Evaluation:
    """Metrics of a detector on a labelled test set (see ``anomalens.vision.evaluation``)."""
    from anomalens.vision import evaluation

    return evaluation.evaluate(detector, test_images)


__all__ = [
    "ALGORITHMS",
    "ArtifactError",
    "ConfigError",
    "Detector",
    "EngineError",
    "Evaluation",
    "Frame",
    "ImageDecodeError",
    "ImageInfo",
    "ImageRecord",
    "LabeledImage",
    "ModelArtifact",
    "Prediction",
    "ProgressFn",
    "TrainConfig",
    "VideoDecodeError",
    "VideoInfo",
    "check_config",
    "decode_image",
    "decode_mask",
    "evaluate",
    "fit",
    "load",
    "probe_image",
    "probe_video",
    "sample_frames",
]
