"""Evaluation metrics: image-level precision/recall/F1, AUROC and AP; pixel AUROC and AUPRO.

AUPRO follows the MVTec AD definition: the area under the per-region-overlap curve up to a
false-positive rate of 0.3, divided by 0.3, so 1.0 is perfect.

scikit-learn and SciPy are imported where they are used: importing them takes longer than
fitting a small model, and training without anomalous validation images needs neither.
"""

from __future__ import annotations

import numpy as np

MAX_PIXELS = 4_000_000
PRO_FPR_LIMIT = 0.3


def classification(labels: np.ndarray, predicted: np.ndarray) -> tuple[float, float, float]:
    """(precision, recall, F1) with anomalous as the positive class (0 when undefined)."""
    labels, predicted = labels.astype(bool), predicted.astype(bool)
    tp = float((labels & predicted).sum())
    fp = float((~labels & predicted).sum())
    fn = float((labels & ~predicted).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def ranking(labels: np.ndarray, scores: np.ndarray) -> tuple[float | None, float | None]:
    """(AUROC, average precision); None when only one class is present."""
    if labels.min() == labels.max():
        return None, None
    from sklearn.metrics import average_precision_score, roc_auc_score

    return float(roc_auc_score(labels, scores)), float(average_precision_score(labels, scores))


def rank_auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """AUROC from average ranks (Mann-Whitney U) in plain numpy; 0.5 when a class is missing.

    Training uses it to compare candidate blends without importing scikit-learn.
    """
    truth = np.asarray(labels).astype(bool).ravel()
    n_pos, n_neg = int(truth.sum()), int((~truth).sum())
    if not n_pos or not n_neg:
        return 0.5
    _, inverse, counts = np.unique(np.asarray(scores).ravel(), return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    average_rank = ends - (counts - 1) / 2.0  # 1-based average rank of each distinct value
    pos_ranks = float(average_rank[inverse][truth].sum())
    return (pos_ranks - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def pixel_auroc(masks: list[np.ndarray], maps: list[np.ndarray], seed: int = 0) -> float | None:
    """AUROC over pixels (evenly subsampled above MAX_PIXELS)."""
    truth = np.concatenate([m.ravel() for m in masks])
    pred = np.concatenate([a.ravel() for a in maps])
    if truth.all() or not truth.any():
        return None
    if truth.size > MAX_PIXELS:
        idx = np.random.default_rng(seed).choice(truth.size, MAX_PIXELS, replace=False)
        truth, pred = truth[idx], pred[idx]
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(truth, pred))


def aupro(masks: list[np.ndarray], maps: list[np.ndarray], steps: int = 200) -> float | None:
    """Normalised area under the PRO curve up to FPR 0.3."""
    from scipy import ndimage

    regions: list[tuple[int, np.ndarray]] = []
    for i, mask in enumerate(masks):
        labelled, count = ndimage.label(mask)
        regions.extend((i, labelled == r) for r in range(1, count + 1))
    background = np.concatenate([a[~m].ravel() for a, m in zip(maps, masks, strict=True)])
    if not regions or background.size == 0:
        return None
    thresholds = np.quantile(background, np.linspace(1.0 - PRO_FPR_LIMIT, 1.0, steps))[::-1]
    fprs, pros = [], []
    for t in thresholds:
        fprs.append(float((background >= t).mean()))
        pros.append(float(np.mean([(maps[i][region] >= t).mean() for i, region in regions])))
    fpr, pro = np.array([0.0, *fprs]), np.array([0.0, *pros])
    order = np.argsort(fpr, kind="stable")
    fpr, pro = fpr[order], pro[order]
    keep = fpr <= PRO_FPR_LIMIT
    area = float(np.trapezoid(pro[keep], fpr[keep]))
    return area / PRO_FPR_LIMIT
