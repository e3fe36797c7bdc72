"""The evaluation manifest and evaluation result files of spec §5.5-5.6, built from an Evaluation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from anomalens import vision
from anomalens.domain import arns
from anomalens.domain.entities import Entry

JOB_NAME = "training-job/anomaly-detection"


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def manifest_lines(
    project: str, version: int, evaluation: vision.Evaluation, entries: dict[str, Entry], now: float
) -> str:
    """One JSON line per test image: ground truth plus the detected label and its confidence."""
    out = []
    for rec in evaluation.records:
        entry = entries[rec.key]
        truth = json.loads(entry.line)
        line: dict[str, Any] = {
            "source-ref": entry.source_ref,
            "source-ref-metadata": {"creation-date": _stamp(entry.created_at)},
        }
        line |= {k: v for k, v in truth.items() if k != "source-ref"}
        line["anomaly-label-detected"] = 1 if rec.predicted_anomalous else 0
        line["anomaly-label-detected-metadata"] = {
            "class-name": "anomaly" if rec.predicted_anomalous else "normal",
            "confidence": round(rec.confidence, 6),
            "type": "groundtruth/image-classification",
            "human-annotated": "no",
            "creation-date": _stamp(now),
            "job-name": JOB_NAME,
            "model-arn": arns.model_arn(project, version),
            "project-name": project,
            "model-version": str(version),
            "anomaly-score": round(rec.score, 6),
        }
        out.append(json.dumps(line, separators=(",", ":")))
    return "\n".join(out) + "\n"


def result_document(
    project: str, version: int, evaluation: vision.Evaluation, n_train: int, now: float
) -> dict[str, Any]:
    """The aggregate EvaluationResult document (key spellings as the spec, ``AIIOU`` included)."""
    metrics: dict[str, Any] = {
        "ROCAUC": evaluation.image_auroc,
        "AveragePrecision": evaluation.average_precision,
        "Precision": evaluation.precision,
        "Recall": evaluation.recall,
        "F1Score": evaluation.f1,
        "PixelAnomalyClassMetrics": [],
    }
    if evaluation.pixel_auroc is not None:
        metrics["PixelROCAUC"] = evaluation.pixel_auroc
    if evaluation.aupro is not None:
        metrics["AUPRO"] = evaluation.aupro
    return {
        "Version": 1,
        "EvaluationDetails": {
            "ModelArn": arns.model_arn(project, version),
            "EvaluationEndTimestamp": _stamp(now),
            "NumberOfTrainingImages": n_train,
            "NumberOfTestingImages": len(evaluation.records),
        },
        "AggregatedEvaluationResults": {"Metrics": metrics},
    }
