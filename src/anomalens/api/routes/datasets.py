"""Dataset routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from anomalens.api import schemas
from anomalens.api.deps import PlatformDep
from anomalens.app import datasets

router = APIRouter(prefix="/v1/projects/{project}/datasets", tags=["datasets"])


@router.post("", status_code=202)
def create_dataset(project: str, body: schemas.DatasetCreate, p: PlatformDep) -> dict[str, Any]:
    """CreateDataset (empty, or imported from a source as a background job)."""
    source = datasets.DatasetSource(body.Source.Layout, body.Source.Location) if body.Source else None
    dataset, job_id = datasets.create_dataset(p, project, body.DatasetType, source)
    return {"DatasetMetadata": schemas.dataset_metadata(dataset), "JobId": job_id}


@router.get("/{dataset_type}")
def describe_dataset(project: str, dataset_type: str, p: PlatformDep) -> dict[str, Any]:
    """DescribeDataset."""
    return {"DatasetDescription": schemas.dataset_description(datasets.describe_dataset(p, project, dataset_type))}


@router.get("/{dataset_type}/entries")
def list_entries(
    project: str,
    dataset_type: str,
    p: PlatformDep,
    labeled: bool | None = None,
    anomalyClass: str | None = None,
    createdBefore: float | None = None,
    createdAfter: float | None = None,
    sourceRefContains: str | None = None,
    maxResults: int | None = None,
    nextToken: str | None = None,
) -> dict[str, Any]:
    """ListDatasetEntries."""
    page = datasets.list_entries(
        p,
        project,
        dataset_type,
        max_results=maxResults,
        next_token=nextToken,
        labeled=labeled,
        anomaly_class=anomalyClass,
        before=createdBefore,
        after=createdAfter,
        source_ref_contains=sourceRefContains,
    )
    out: dict[str, Any] = {"DatasetEntries": [e.line for e in page.entries]}
    if page.next_token:
        out["NextToken"] = page.next_token
    return out


@router.patch("/{dataset_type}/entries", status_code=202)
async def update_entries(project: str, dataset_type: str, request: Request, p: PlatformDep) -> dict[str, Any]:
    """UpdateDatasetEntries: the body is the manifest lines (JSON Lines)."""
    changes = await request.body()
    dataset, job_id = datasets.update_entries(p, project, dataset_type, changes)
    return {"Status": dataset.status.value, "JobId": job_id}


@router.get("/{dataset_type}/manifest", response_class=PlainTextResponse)
def export_manifest(project: str, dataset_type: str, p: PlatformDep) -> PlainTextResponse:
    """The dataset as a Ground Truth manifest."""
    text = datasets.export_manifest(p, project, dataset_type)
    return PlainTextResponse(
        text,
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{project}-{dataset_type}.manifest"'},
    )


@router.delete("/{dataset_type}", status_code=202)
def delete_dataset(project: str, dataset_type: str, p: PlatformDep) -> dict[str, Any]:
    """DeleteDataset."""
    datasets.delete_dataset(p, project, dataset_type)
    return {}
