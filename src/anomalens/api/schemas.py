"""Wire shapes of the native API.

Field names follow the Lookout for Vision JSON (spec §2.2), so the native API and the compat
adapter describe resources the same way.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from anomalens.app.hosting import UnitCounts
from anomalens.domain import arns
from anomalens.domain.entities import Dataset, Job, Model, Project
from anomalens.storage.blobs import BlobStore


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ProjectCreate(_In):
    """Body of CreateProject."""

    ProjectName: str


class SourceIn(_In):
    """Where a dataset's images come from."""

    Layout: str = Field(description="manifest | labeled-folders | mvtec")
    Location: str = Field(description="Path or fsspec URI of the manifest or folder.")


class DatasetCreate(_In):
    """Body of CreateDataset."""

    DatasetType: str
    Source: SourceIn | None = None


class ModelCreate(_In):
    """Body of CreateModel."""

    Description: str | None = None
    Tags: dict[str, str] | None = None
    Algorithm: str = "auto"
    #: Anomalens extensions: a backbone registry name and engine training options such as
    #: ``{"long_side": 512}`` (``anomalens.vision.options``); omitted means the default configuration.
    Backbone: str | None = None
    TrainingOptions: dict[str, Any] | None = None  # values checked by the engine's rules, not coerced here


class ModelStart(_In):
    """Body of StartModel."""

    MinInferenceUnits: int = 1
    MaxInferenceUnits: int | None = None


class TagsIn(_In):
    """Body of TagResource."""

    Tags: dict[str, str]


def project_metadata(p: Project) -> dict[str, Any]:
    """ProjectMetadata."""
    return {"ProjectArn": arns.project_arn(p.name), "ProjectName": p.name, "CreationTimestamp": p.created_at}


def dataset_metadata(d: Dataset) -> dict[str, Any]:
    """DatasetMetadata."""
    return {
        "DatasetType": d.dataset_type,
        "CreationTimestamp": d.created_at,
        "Status": d.status.value,
        "StatusMessage": d.status_message,
    }


def dataset_description(d: Dataset) -> dict[str, Any]:
    """DatasetDescription."""
    return dataset_metadata(d) | {
        "ProjectName": d.project,
        "LastUpdatedTimestamp": d.updated_at,
        "ImageStats": {
            "Total": d.stats.total,
            "Labeled": d.stats.labeled,
            "Normal": d.stats.normal,
            "Anomaly": d.stats.anomaly,
        },
    }


def _performance(m: Model) -> dict[str, float] | None:
    if m.performance is None:
        return None
    return {"F1Score": m.performance.f1, "Recall": m.performance.recall, "Precision": m.performance.precision}


def model_metadata(m: Model) -> dict[str, Any]:
    """ModelMetadata."""
    out: dict[str, Any] = {
        "ModelVersion": str(m.version),
        "ModelArn": arns.model_arn(m.project, m.version),
        "CreationTimestamp": m.created_at,
        "Status": m.status.value,
        "StatusMessage": m.status_message,
    }
    if m.description:
        out["Description"] = m.description
    if (perf := _performance(m)) is not None:
        out["Performance"] = perf
    return out


def _location(blobs: BlobStore, key: str | None) -> dict[str, str] | None:
    return {"Key": key, "Uri": blobs.uri(key)} if key else None


def model_description(m: Model, blobs: BlobStore, units: UnitCounts | None) -> dict[str, Any]:
    """ModelDescription, plus Anomalens details (algorithm, AUROC, timings, unit counts)."""
    out = model_metadata(m) | {"OutputConfig": {"Location": blobs.uri(m.output_prefix)}, "Tags": m.tags}
    for name, key in (
        ("EvaluationManifest", m.evaluation_manifest_key),
        ("EvaluationResult", m.evaluation_result_key),
        ("Artifact", m.artifact_key),
    ):
        if (loc := _location(blobs, key)) is not None:
            out[name] = loc
    if m.evaluation_end is not None:
        out["EvaluationEndTimestamp"] = m.evaluation_end
    if m.min_inference_units is not None:
        out["MinInferenceUnits"] = m.min_inference_units
    if m.max_inference_units is not None:
        out["MaxInferenceUnits"] = m.max_inference_units
    if units is not None:
        out["DesiredInferenceUnits"] = units.desired
        out["InServiceInferenceUnits"] = units.in_service
    out["Details"] = m.details
    return out


def job_public(j: Job) -> dict[str, Any]:
    """A job's public view, with progress."""
    return {
        "JobId": j.id,
        "Kind": j.kind,
        "Status": j.status.value,
        "Progress": round(j.progress, 4),
        "Message": j.message,
        "Attempts": j.attempts,
        "Payload": j.payload,
        "Result": j.result,
        "CreationTimestamp": j.created_at,
        "LastUpdatedTimestamp": j.updated_at,
    }
