"""The torch-free runtime: load an artifact directory and score images with ONNX Runtime."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from anomalens.vision.calibration import Calibration
from anomalens.vision.preprocess import InputSize, Placement, map_images, to_batch, unbox_map
from anomalens.vision.types import ArtifactError, Prediction

ARTIFACT_FORMAT = 1
BATCH = 16


@dataclass(frozen=True)
class RawOutput:
    """Scores and maps at the model's input resolution, with each image's placement."""

    scores: np.ndarray
    maps: np.ndarray
    placements: list[Placement]


def session(model: Path | bytes, threads: int, *, spinning: bool = True) -> ort.InferenceSession:
    """An ONNX Runtime CPU session with a fixed thread count (from a file or serialised model).

    ``spinning=False`` lets its threads sleep as soon as a run ends instead of busy-waiting for
    the next one: right for a loop that does other work between runs on the same cores (training
    resizes the next batch on the resize threads meanwhile), wrong for low-latency serving.
    """
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    if not spinning:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])


class Detector:
    """A loaded model: ``predict`` turns RGB arrays into Predictions."""

    def __init__(self, path: Path, threads: int = 2) -> None:
        try:
            self.meta: dict[str, Any] = json.loads((path / "model.json").read_text())
        except (OSError, ValueError) as exc:
            raise ArtifactError(f"{path} is not a model artifact (model.json: {exc})") from None
        if self.meta.get("format") != ARTIFACT_FORMAT:
            raise ArtifactError(f"artifact format {self.meta.get('format')} is not supported by this engine")
        self.size = InputSize.from_json(self.meta["input"])
        cal = self.meta["calibration"]
        self.calibration = Calibration(float(cal["threshold"]), float(cal["spread"]), str(cal["rule"]))
        # The map may blend the scorers differently from the score, so it has its own threshold.
        self.map_threshold = float(cal.get("map_threshold", cal["threshold"]))
        self.threads = threads
        self._session = session(path / "model.onnx", threads)

    @property
    def threshold(self) -> float:
        """Image score at and above which an image is anomalous."""
        return self.calibration.threshold

    def run(self, images: Sequence[np.ndarray]) -> RawOutput:
        """Raw scores and input-resolution maps, batched."""
        scores, maps, places = [], [], []
        for start in range(0, len(images), BATCH):
            batch, placed = to_batch(list(images[start : start + BATCH]), self.size, self.threads)
            s, m = self._session.run(None, {"images": batch})
            scores.append(s)
            maps.append(m)
            places.extend(placed)
        return RawOutput(np.concatenate(scores), np.concatenate(maps), places)

    def predict(self, images: Sequence[np.ndarray]) -> list[Prediction]:
        """Predictions with anomaly maps at each image's own resolution (0.5 = the map's threshold)."""
        if not images:
            return []
        raw = self.run(images)
        scale = 0.5 / self.map_threshold
        # one map per resize thread; a lone large map is made in strips on them instead (inside a
        # resize thread the strips run in turn: map_images does not nest)
        maps = map_images(
            lambda item: unbox_map(item[1], item[2], item[0].shape[:2], scale, self.threads),
            list(zip(images, raw.maps, raw.placements, strict=True)),
            self.threads,
        )
        return [
            Prediction(float(score), bool(score >= self.threshold), self.calibration.confidence(float(score)), amap)
            for score, amap in zip(raw.scores, maps, strict=True)
        ]


def load(path: Path, threads: int = 2) -> Detector:
    """Load an artifact directory for inference (ONNX Runtime only)."""
    return Detector(Path(path), threads)
