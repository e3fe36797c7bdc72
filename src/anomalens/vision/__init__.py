"""The Anomalens ML engine: backbones, anomaly algorithms, thresholds, metrics, ONNX runtime.

Public surface (everything else is private to the engine)::

    decode_image(data: bytes) -> np.ndarray            # HxWx3 uint8 RGB; EXIF, 16-bit, grey handled
    probe_image(data: bytes) -> ImageInfo              # format/size from the header, no full decode
    fit(train_images, val_images, config, out_dir, progress=None) -> ModelArtifact
    load(path, threads=2) -> Detector                  # ONNX Runtime, no torch needed
    Detector.predict(images) -> list[Prediction]
    evaluate(detector, test_images) -> Evaluation

The engine imports nothing from the rest of Anomalens.
"""

from anomalens.vision.types import (
    ArtifactError,
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

__all__ = [
    "ArtifactError",
    "EngineError",
    "Evaluation",
    "ImageDecodeError",
    "ImageRecord",
    "LabeledImage",
    "ModelArtifact",
    "Prediction",
    "ProgressFn",
    "TrainConfig",
]
