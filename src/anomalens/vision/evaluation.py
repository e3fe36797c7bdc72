"""Evaluating a detector on a labelled test set (torch-free: ONNX Runtime + numpy)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from anomalens.vision import metrics
from anomalens.vision.preprocess import InputSize, letterbox_mask
from anomalens.vision.runtime import Detector
from anomalens.vision.types import EngineError, Evaluation, ImageRecord, LabeledImage


def evaluate(detector: Detector, test_images: Sequence[LabeledImage]) -> Evaluation:
    """Metrics at the detector's threshold, plus per-image records."""
    if not test_images:
        raise EngineError("the test set is empty")
    raw = detector.run([t.image for t in test_images])
    labels = np.array([t.is_anomalous for t in test_images])
    predicted = raw.scores >= detector.threshold
    precision, recall, f1 = metrics.classification(labels, predicted)
    auroc, ap = metrics.ranking(labels.astype(int), raw.scores)
    pix_auroc = pro = None
    if any(t.mask is not None for t in test_images):
        masks, maps = [], []
        for t, amap in zip(test_images, raw.maps, strict=True):
            mask = t.mask if t.mask is not None else np.zeros(t.image.shape[:2], bool)
            boxed, valid = letterbox_mask(mask, detector.size)
            masks.append(boxed[valid])
            maps.append(amap[valid])
        pix_auroc, pro = metrics.pixel_auroc(masks, maps), _aupro(test_images, raw.maps, detector.size)
    records = [
        ImageRecord(t.key, bool(t.is_anomalous), bool(p), float(s), detector.calibration.confidence(float(s)))
        for t, p, s in zip(test_images, predicted, raw.scores, strict=True)
    ]
    return Evaluation(precision, recall, f1, auroc, ap, pix_auroc, pro, detector.threshold, records)


def _aupro(tests: Sequence[LabeledImage], maps: np.ndarray, size: InputSize) -> float | None:
    masks, kept = [], []
    for t, amap in zip(tests, maps, strict=True):
        mask = t.mask if t.mask is not None else np.zeros(t.image.shape[:2], bool)
        boxed, valid = letterbox_mask(mask, size)
        rows, cols = np.where(valid)
        window = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
        masks.append(boxed[window])
        kept.append(amap[window])
    return metrics.aupro(masks, kept)
