"""Project use cases: create, list, describe, delete (spec §2.3.1-2.3.4)."""

from __future__ import annotations

from dataclasses import dataclass

from anomalens.app import pagination
from anomalens.app.context import Platform
from anomalens.domain import names
from anomalens.domain.entities import Dataset, Project
from anomalens.domain.errors import Conflict
from anomalens.store.models import ModelRepository
from anomalens.store.projects import ProjectRepository


@dataclass(frozen=True)
class ProjectPage:
    """One page of projects."""

    projects: list[Project]
    next_token: str | None


def create_project(p: Platform, name: str) -> Project:
    """Create an empty project; names are unique."""
    names.project_name(name)
    with p.db.unit_of_work() as s:
        return ProjectRepository(s).add_project(name)


def list_projects(p: Platform, max_results: int | None = None, next_token: str | None = None) -> ProjectPage:
    """Projects sorted by name, paginated."""
    limit = names.max_results(max_results)
    offset = pagination.decode(next_token)
    with p.db.unit_of_work() as s:
        rows = ProjectRepository(s).list_projects(offset, limit + 1)
    return ProjectPage(rows[:limit], pagination.next_token(offset, len(rows), limit))


def describe_project(p: Platform, name: str) -> tuple[Project, list[Dataset]]:
    """A project with its datasets."""
    names.project_name(name)
    with p.db.unit_of_work() as s:
        repo = ProjectRepository(s)
        return repo.get_project(name), repo.list_datasets(name)


def delete_project(p: Platform, name: str) -> Project:
    """Delete a project once its models and datasets are gone (images stay where they were)."""
    names.project_name(name)
    with p.db.unit_of_work() as s:
        repo = ProjectRepository(s)
        row = repo.project_row(name, lock=True)
        models = ModelRepository(s).list_rows(row)
        datasets = repo.list_datasets(name)
        if models or datasets:
            parts = ([f"{len(models)} model version(s)"] if models else []) + (
                [f"dataset(s) {', '.join(d.dataset_type for d in datasets)}"] if datasets else []
            )
            raise Conflict(f"Project {name!r} still has {' and '.join(parts)}; delete them first.", field="ProjectName")
        project = repo.get_project(name)
        repo.delete_project(name)
    p.blobs.delete_prefix(f"projects/{name}")
    return project
