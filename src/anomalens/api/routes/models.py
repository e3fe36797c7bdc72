"""Model routes: train, describe, list, delete, host, detect, tags."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from starlette.concurrency import run_in_threadpool

from anomalens.api import schemas
from anomalens.api.deps import ClientToken, HostDep, PlatformDep
from anomalens.app import detection, hosting, models, training

router = APIRouter(prefix="/v1/projects/{project}/models", tags=["models"])
tags_router = APIRouter(prefix="/v1/tags", tags=["tags"])


@router.post("", status_code=202)
def create_model(project: str, body: schemas.ModelCreate, p: PlatformDep, token: ClientToken = None) -> dict[str, Any]:
    """CreateModel: queue training of a new version."""
    model, job_id = training.create_model(
        p,
        project,
        description=body.Description,
        tags=body.Tags,
        client_token=token,
        algorithm=body.Algorithm,
        backbone=body.Backbone,
        training_options=body.TrainingOptions,
    )
    return {"ModelMetadata": schemas.model_metadata(model), "JobId": job_id}


@router.get("")
def list_models(
    project: str, p: PlatformDep, maxResults: int | None = None, nextToken: str | None = None
) -> dict[str, Any]:
    """ListModels."""
    page = models.list_models(p, project, maxResults, nextToken)
    out: dict[str, Any] = {"Models": [schemas.model_metadata(m) for m in page.models]}
    if page.next_token:
        out["NextToken"] = page.next_token
    return out


@router.get("/{version}")
def describe_model(project: str, version: str, p: PlatformDep, host: HostDep) -> dict[str, Any]:
    """DescribeModel (with live inference-unit counts when hosted here)."""
    model = models.describe_model(p, project, version)
    return {"ModelDescription": schemas.model_description(model, p.blobs, host.counts(project, model.version))}


@router.delete("/{version}", status_code=202)
def delete_model(project: str, version: str, p: PlatformDep) -> dict[str, Any]:
    """DeleteModel."""
    return {"ModelArn": models.delete_model(p, project, version)}


@router.post("/{version}/start", status_code=202)
def start_model(project: str, version: str, body: schemas.ModelStart, p: PlatformDep) -> dict[str, Any]:
    """StartModel."""
    return {"Status": hosting.start_model(p, project, version, body.MinInferenceUnits, body.MaxInferenceUnits)}


@router.post("/{version}/stop", status_code=202)
def stop_model(project: str, version: str, p: PlatformDep) -> dict[str, Any]:
    """StopModel."""
    return {"Status": hosting.stop_model(p, project, version)}


@router.post("/{version}/detect")
async def detect_anomalies(
    project: str,
    version: str,
    request: Request,
    p: PlatformDep,
    host: HostDep,
    content_type: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """DetectAnomalies: the body is the raw PNG/JPEG bytes."""
    body = await request.body()
    result = await run_in_threadpool(detection.detect_anomalies, p, host, project, version, body, content_type)
    return {"DetectAnomalyResult": result}


@tags_router.get("/{arn:path}")
def list_tags(arn: str, p: PlatformDep) -> dict[str, Any]:
    """ListTagsForResource."""
    return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(models.list_tags(p, arn).items())]}


@tags_router.post("/{arn:path}")
def tag_resource(arn: str, body: schemas.TagsIn, p: PlatformDep) -> dict[str, Any]:
    """TagResource."""
    models.tag_model(p, arn, body.Tags)
    return {}


@tags_router.delete("/{arn:path}")
def untag_resource(arn: str, p: PlatformDep, tagKeys: Annotated[list[str], Query()]) -> dict[str, Any]:
    """UntagResource."""
    models.untag_model(p, arn, tagKeys)
    return {}
