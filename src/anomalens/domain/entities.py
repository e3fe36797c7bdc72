"""Plain, persistence-free views of the resources. Stores return these, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from anomalens.domain.statuses import DatasetStatus, JobStatus, ModelStatus


@dataclass(frozen=True)
class Project:
    """A project groups the datasets and model versions of one inspection use case."""

    name: str
    created_at: float


@dataclass(frozen=True)
class ImageStats:
    """Counts of a dataset's entries (DescribeDataset ImageStats)."""

    total: int = 0
    labeled: int = 0
    normal: int = 0
    anomaly: int = 0


@dataclass(frozen=True)
class Dataset:
    """The ``train`` or ``test`` dataset of a project."""

    project: str
    dataset_type: str
    status: DatasetStatus
    status_message: str
    created_at: float
    updated_at: float
    stats: ImageStats = field(default_factory=ImageStats)


@dataclass(frozen=True)
class Entry:
    """One image of a dataset: its manifest line plus where the service keeps its copy."""

    source_ref: str
    label: str | None
    line: str
    blob_key: str
    mask_key: str | None
    width: int
    height: int
    created_at: float


@dataclass(frozen=True)
class Performance:
    """Classification summary metrics (DescribeModel Performance)."""

    f1: float
    precision: float
    recall: float


@dataclass(frozen=True)
class Model:
    """A model version of a project."""

    project: str
    version: int
    status: ModelStatus
    status_message: str
    description: str | None
    created_at: float
    performance: Performance | None
    output_prefix: str
    artifact_key: str | None
    evaluation_manifest_key: str | None
    evaluation_result_key: str | None
    evaluation_end: float | None
    min_inference_units: int | None
    max_inference_units: int | None
    details: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    """A durable background job."""

    id: int
    kind: str
    status: JobStatus
    payload: dict[str, Any]
    attempts: int
    progress: float
    message: str
    result: dict[str, Any] | None
    created_at: float
    updated_at: float
