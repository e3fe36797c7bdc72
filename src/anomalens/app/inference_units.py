"""Inference units: concurrent workers each holding one ONNX Runtime session of a model.

A pool starts with ``min_units``; when a request finds every unit busy and ``max_units``
allows, it asks for one more (desired > in service while it loads). Units idle for
``scale_down_after`` seconds are released down to ``min_units``. Desired and in-service
counts are what DescribeModel shows, like the CloudWatch metrics of the spec (§1.6).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from anomalens import vision
from anomalens.domain.errors import Unavailable

Loader = Callable[[], "vision.Detector"]


class InferencePool:
    """Units of one hosted model version."""

    def __init__(
        self,
        artifact_dir: Path,
        min_units: int,
        max_units: int | None,
        *,
        threads: int,
        scale_down_after: float = 60.0,
        wait_timeout: float = 30.0,
    ) -> None:
        self.artifact_dir, self.threads = artifact_dir, threads
        self.min_units, self.max_units = min_units, max_units or min_units
        self.scale_down_after, self.wait_timeout = scale_down_after, wait_timeout
        self._idle: queue.LifoQueue[vision.Detector] = queue.LifoQueue()
        self._lock = threading.Lock()
        self.desired = min_units
        self.in_service = 0
        self._last_pressure = time.monotonic()
        self.processed = 0
        self.anomalous = 0

    def start(self) -> None:
        """Load the minimum units (raises if the artifact cannot be loaded)."""
        for _ in range(self.min_units):
            self._add_unit()

    def _add_unit(self) -> None:
        detector = vision.load(self.artifact_dir, threads=self.threads)
        with self._lock:
            self.in_service += 1
        self._idle.put(detector)

    def _scale_up(self) -> None:
        with self._lock:
            if self.desired >= self.max_units:
                return
            self.desired += 1
        threading.Thread(target=self._add_unit, name="inference-unit-loader", daemon=True).start()

    def predict(self, image: np.ndarray) -> vision.Prediction:
        """Run one image on a free unit, scaling up when all are busy."""
        try:
            unit = self._idle.get_nowait()
        except queue.Empty:
            self._last_pressure = time.monotonic()
            self._scale_up()
            try:
                unit = self._idle.get(timeout=self.wait_timeout)
            except queue.Empty:
                raise Unavailable("Every inference unit is busy; retry shortly or raise MaxInferenceUnits.") from None
        try:
            result = unit.predict([image])[0]
        finally:
            self._idle.put(unit)
        self.processed += 1
        self.anomalous += int(result.is_anomalous)
        return result

    def tick(self) -> None:
        """Release one idle unit above the minimum after a quiet period."""
        quiet = time.monotonic() - self._last_pressure > self.scale_down_after
        if not quiet or self.in_service <= self.min_units or self._idle.qsize() < self.in_service:
            return
        try:
            self._idle.get_nowait()
        except queue.Empty:
            return
        with self._lock:
            self.in_service -= 1
            self.desired = max(self.min_units, self.in_service)
        self._last_pressure = time.monotonic()
