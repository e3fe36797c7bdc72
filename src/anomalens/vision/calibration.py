"""Threshold and Confidence.

* With anomalous validation images: the threshold that maximises F1 on the validation scores
  (the middle of the best plateau, so it is not glued to one image's score).
* With normal images only: the 99th percentile of the held-out normal scores (with fewer than
  about 100 held-out images this is, in effect, the highest one). "Held-out" scores are those
  of normals the model was not fitted on: validation normals, a held-out share of the training
  images, or, below 130 training images, every training image scored by the model fitted on
  all the others (``engine._calibration_plan``, ``engine._score_left_out``). The expected
  false-positive rate on new normal images is then about 1 % with a few hundred held-out
  scores; with n of them the threshold sits near the highest, which a new normal part exceeds
  about once in n + 1 (5 % for 20, 2 % for 50). The rule never flags every held-out image
  (when their scores are all equal it sits just above them). Rules using mean + k std were
  tried and rejected: a few held-out outliers inflate the std and the recall collapses.
  Outliers hurt the percentile too: two held-out tiles that scored like defects put one
  magnetic-tile model's threshold at 12.2 where the bulk ends near 7, and its recall fell to
  0.18. So, with at least 20 held-out normals, held-out scores more than 3 robust standard
  deviations (1.4826 x the median absolute deviation) above the median count as outliers: the
  percentile is capped there — but never below the 97th percentile, so at most 2 % more of
  the held-out normals than before can end above the threshold, whatever the shape of their
  distribution (without that floor a skewed or two-peaked normal population, two part
  variants say, could put the cap inside it). The floor also limits how many outliers the cap
  can pass over in a small held-out set: the 97th percentile of n scores lies below the top k
  only from n of about (k - 1) / 0.03, so two outliers need about 35 held-out normals (15 % of
  230 training images) before the threshold drops below both. ``benchmarks/threshold_bench.py``
  compares the rules over seeds 0-3 on the shared categories; see ``benchmarks/README.md`` for its table.

Confidence is how sure the model is of its IsAnomalous decision:
``confidence = 1 / (1 + exp(-|score - threshold| / spread))``, where ``spread`` is the standard
deviation of the held-out normal scores. It is 0.5 at the threshold and rises monotonically
towards 1 as the score moves away from it, on either side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anomalens.vision.types import EngineError


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


#: Held-out normal scores this many robust standard deviations above the median are outliers...
OUTLIER_SIGMAS = 3.0
#: ...but the threshold stays at or above this quantile of the held-out normal scores...
FLOOR_QUANTILE = 0.97
#: ...and the cap applies only from this many held-out normals (fewer give no stable deviation).
ROBUST_MIN_NORMALS = 20


def from_normals(
    normal: np.ndarray, *, sigmas: float = OUTLIER_SIGMAS, floor: float | None = FLOOR_QUANTILE
) -> Calibration:
    """Low-false-positive threshold from held-out normal scores only (outlier-capped, see above).

    ``sigmas`` and ``floor`` (None: no floor) exist so benchmarks can compare variants of the rule.
    """
    normal = np.asarray(normal, dtype=np.float64)
    if normal.size == 0:
        raise EngineError("no held-out normal scores to calibrate the threshold on")
    if not np.isfinite(normal).all():
        raise EngineError("held-out normal scores must be finite numbers (is the model or an image broken?)")
    threshold = float(np.quantile(normal, 0.99))
    if normal.size >= ROBUST_MIN_NORMALS:
        centre = float(np.median(normal))
        deviation = 1.4826 * float(np.median(np.abs(normal - centre)))
        if deviation > 0:
            threshold = min(threshold, centre + sigmas * deviation)
            if floor is not None:
                threshold = max(threshold, float(np.quantile(normal, floor)))
    if (normal >= threshold).all():  # all scores equal: ">=" would flag every one of them
        threshold = float(np.nextafter(normal.max(), np.inf))
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
