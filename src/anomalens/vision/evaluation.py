"""Evaluating a detector on a labelled test set (torch-free: ONNX Runtime + numpy)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from anomalens.vision import metrics
from anomalens.vision.preprocess import mask_to_input
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
        masks = [mask_to_input(_mask(t), detector.size) for t in test_images]
        maps = list(raw.maps)
        pix_auroc, pro = metrics.pixel_auroc(masks, maps), metrics.aupro(masks, maps)
    records = [
        ImageRecord(t.key, bool(t.is_anomalous), bool(p), float(s), detector.calibration.confidence(float(s)))
        for t, p, s in zip(test_images, predicted, raw.scores, strict=True)
    ]
    return Evaluation(precision, recall, f1, auroc, ap, pix_auroc, pro, detector.threshold, records)


def _mask(test: LabeledImage) -> np.ndarray:
    return test.mask if test.mask is not None else np.zeros(test.image.shape[:2], bool)
