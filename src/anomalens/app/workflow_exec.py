"""Executing a workflow definition on one image (runs inside batch worker processes).

Steps run in order; each step's outputs are addressed by ``$steps.<name>.<field>`` selectors.
The detector of each (project, model version) is loaded once per worker process.
"""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from anomalens import vision

Detectors = dict[tuple[str, str], vision.Detector]


def render_overlay(image: np.ndarray, anomaly_map: np.ndarray, alpha: float = 0.5) -> bytes:
    """PNG of the image with the anomaly map blended in red where it is above 0.5 (the threshold)."""
    heat = np.zeros_like(image, dtype=np.float32)
    heat[..., 0] = 255.0
    weight = (np.clip(anomaly_map, 0, 1) * alpha * (anomaly_map >= 0.5))[..., None]
    blended = image.astype(np.float32) * (1 - weight) + heat * weight
    out = io.BytesIO()
    Image.fromarray(blended.astype(np.uint8)).save(out, format="PNG")
    return out.getvalue()


class WorkflowRunner:
    """Runs one definition; holds the detectors its steps use."""

    def __init__(self, definition: dict[str, Any], artifacts: dict[str, str], parameters: dict[str, Any]) -> None:
        self.definition, self.parameters = definition, parameters
        self.detectors = {key: vision.load(Path(path), threads=1) for key, path in artifacts.items()}

    @staticmethod
    def model_key(step: dict[str, Any]) -> str:
        """Key of a detect step's model in the artifacts mapping."""
        return f"{step['project']}/{step['model_version']}"

    def _resolve(self, selector: str, inputs: dict[str, Any], steps: dict[str, dict[str, Any]]) -> Any:
        parts = selector.lstrip("$").split(".")
        return inputs[parts[1]] if parts[0] == "inputs" else steps[parts[1]][parts[2]]

    def run(self, image: np.ndarray, image_input: str) -> tuple[dict[str, Any], dict[str, bytes]]:
        """(JSON outputs, image outputs as PNG bytes) of the workflow for one image."""
        inputs: dict[str, Any] = {image_input: image} | self.parameters
        steps: dict[str, dict[str, Any]] = {}
        for step in self.definition["steps"]:
            kind = step["type"]
            if kind == "anomalens/detect_anomalies":
                img = self._resolve(step["image"], inputs, steps)
                pred = self.detectors[self.model_key(step)].predict([img])[0]
                summary = {
                    "is_anomalous": pred.is_anomalous,
                    "confidence": round(pred.confidence, 6),
                    "score": round(pred.score, 6),
                }
                steps[step["name"]] = summary | {"predictions": summary | {"_map": pred.anomaly_map}}
            elif kind == "anomalens/threshold_filter":
                pred = self._resolve(step["predictions"], inputs, steps)
                minimum = float(step.get("min_confidence", 0.0))
                steps[step["name"]] = {"passed": bool(pred["is_anomalous"] and pred["confidence"] >= minimum)}
            else:  # anomalens/anomaly_overlay
                img = self._resolve(step["image"], inputs, steps)
                pred = self._resolve(step["predictions"], inputs, steps)
                steps[step["name"]] = {"image": render_overlay(img, pred["_map"])}
        return self._outputs(inputs, steps)

    def _outputs(
        self, inputs: dict[str, Any], steps: dict[str, dict[str, Any]]
    ) -> tuple[dict[str, Any], dict[str, bytes]]:
        values: dict[str, Any] = {}
        images: dict[str, bytes] = {}
        for out in self.definition.get("outputs") or []:
            value = self._resolve(out["selector"], inputs, steps)
            if isinstance(value, bytes):
                images[out["name"]] = value
            elif isinstance(value, dict):
                values[out["name"]] = {k: v for k, v in value.items() if not k.startswith("_")}
            elif not isinstance(value, np.ndarray):
                values[out["name"]] = value
        return values, images


_RUNNER: WorkflowRunner | None = None


def _exit_with_parent(parent: int, poll_s: float = 1.0) -> None:
    """End this worker when the process that started it is gone.

    A server killed with SIGKILL cannot shut its pool down; without this its model workers
    would live on as orphans, each holding a model in memory, until the machine restarts.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def init_worker(definition: dict[str, Any], artifacts: dict[str, str], parameters: dict[str, Any]) -> None:
    """Process-pool initializer: load the detectors once per worker process."""
    global _RUNNER
    _exit_with_parent(os.getppid())
    _RUNNER = WorkflowRunner(definition, artifacts, parameters)


Outcome = tuple[str, dict[str, Any] | None, dict[str, bytes], str]


def process(name: str, data: bytes, image_input: str) -> Outcome:
    """Worker entry for an image file: (file name, outputs or None, image outputs, error message)."""
    try:
        image = vision.decode_image(data)
    except Exception as exc:  # one bad image must not stop the job; it is counted and logged
        return name, None, {}, f"{type(exc).__name__}: {exc}"
    return process_frame(name, image, image_input)


def process_frame(name: str, frame: np.ndarray, image_input: str) -> Outcome:
    """Worker entry for a decoded image or video frame (RGB array); same outcome as ``process``."""
    assert _RUNNER is not None
    try:
        values, images = _RUNNER.run(frame, image_input)
        return name, values, images, ""
    except Exception as exc:  # one bad image or frame must not stop the job; it is counted and logged
        return name, None, {}, f"{type(exc).__name__}: {exc}"
