"""Project routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from anomalens.api import schemas
from anomalens.api.deps import PlatformDep
from anomalens.app import projects

router = APIRouter(prefix="/v1/projects", tags=["projects"])


@router.post("", status_code=200)
def create_project(body: schemas.ProjectCreate, p: PlatformDep) -> dict[str, Any]:
    """CreateProject."""
    return {"ProjectMetadata": schemas.project_metadata(projects.create_project(p, body.ProjectName))}


@router.get("")
def list_projects(p: PlatformDep, maxResults: int | None = None, nextToken: str | None = None) -> dict[str, Any]:
    """ListProjects."""
    page = projects.list_projects(p, maxResults, nextToken)
    out: dict[str, Any] = {"Projects": [schemas.project_metadata(x) for x in page.projects]}
    if page.next_token:
        out["NextToken"] = page.next_token
    return out


@router.get("/{project}")
def describe_project(project: str, p: PlatformDep) -> dict[str, Any]:
    """DescribeProject."""
    proj, datasets = projects.describe_project(p, project)
    return {
        "ProjectDescription": schemas.project_metadata(proj)
        | {"Datasets": [schemas.dataset_metadata(d) for d in datasets]}
    }


@router.delete("/{project}")
def delete_project(project: str, p: PlatformDep) -> dict[str, Any]:
    """DeleteProject."""
    return {"ProjectArn": schemas.project_metadata(projects.delete_project(p, project))["ProjectArn"]}
