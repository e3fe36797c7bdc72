"""Threshold and Confidence.

* With anomalous validation images: the threshold that maximises F1 on the validation scores
  (the middle of the best plateau, so it is not glued to one image's score).
* With normal images only: the 99th percentile of the held-out normal scores (with fewer than
  about 100 held-out images this is, in effect, the highest one). The expected false-positive
  rate on new normal images is then about 1 %, and the rule can never flag every image: it
  sits at or above the normal images the model has seen held out. Rules using mean + k std
  were tried and rejected: a few held-out outliers inflate the std and the recall collapses.

Confidence is how sure the model is of its IsAnomalous decision:
``confidence = 1 / (1 + exp(-|score - threshold| / spread))``, where ``spread`` is the standard
deviation of the held-out normal scores. It is 0.5 at the threshold and rises monotonically
towards 1 as the score moves away from it, on either side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Calibration:
    """Threshold, the spread used for confidence, and which rule chose the threshold."""

    threshold: float
    spread: float
    rule: str

    def confidence(self, score: float) -> float:
        """Confidence of the decision ``score >= threshold``."""
        return float(1.0 / (1.0 + np.exp(-abs(score - self.threshold) / self.spread)))


def _spread(normal: np.ndarray) -> float:
    std = float(np.std(normal)) if normal.size > 1 else 0.0
    return max(std, 1e-3 * max(1.0, float(np.abs(normal).mean()) if normal.size else 1.0))


def from_normals(normal: np.ndarray) -> Calibration:
    """Low-false-positive threshold from held-out normal scores only."""
    normal = np.asarray(normal, dtype=np.float64)
    threshold = float(np.quantile(normal, 0.99))
    return Calibration(threshold, _spread(normal), "held-out-normals")


def f1_optimal(normal: np.ndarray, anomalous: np.ndarray) -> Calibration:
    """Threshold maximising F1 on validation scores (positive = anomalous)."""
    normal, anomalous = np.asarray(normal, float), np.asarray(anomalous, float)
    scores = np.unique(np.concatenate([normal, anomalous]))
    cuts = np.concatenate([(scores[:-1] + scores[1:]) / 2, [scores[-1] + 1e-9]]) if scores.size > 1 else scores
    best_f1, best = -1.0, []
    for cut in cuts:
        tp = float((anomalous >= cut).sum())
        fp = float((normal >= cut).sum())
        f1 = 2 * tp / (2 * tp + fp + (anomalous.size - tp)) if tp else 0.0
        if f1 > best_f1 + 1e-12:
            best_f1, best = f1, [cut]
        elif abs(f1 - best_f1) <= 1e-12:
            best.append(cut)
    threshold = float(best[len(best) // 2])
    return Calibration(threshold, _spread(normal), "f1-optimal-validation")


def calibrate(normal: np.ndarray, anomalous: np.ndarray) -> Calibration:
    """F1-optimal when anomalous scores exist, else the held-out-normals rule."""
    return f1_optimal(normal, anomalous) if np.asarray(anomalous).size else from_normals(normal)
