"""Workflow registry: stored, versioned definitions (a new version on each save)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, select

from anomalens.app.context import Platform
from anomalens.domain import names, workflows
from anomalens.domain.errors import NotFound
from anomalens.store.batch_rows import WorkflowRow


def save_workflow(p: Platform, workflow_id: str, definition: dict[str, Any]) -> WorkflowRow:
    """Validate and store a definition as the workflow's next version."""
    workflows.workflow_id(workflow_id)
    workflows.validate(definition)
    for step in definition["steps"]:
        if step["type"] == "anomalens/detect_anomalies":
            names.project_name(str(step["project"]))
            names.model_version(str(step["model_version"]))
    with p.db.unit_of_work() as s:
        latest = s.scalar(select(func.max(WorkflowRow.version)).where(WorkflowRow.workflow_id == workflow_id)) or 0
        row = WorkflowRow(workflow_id=workflow_id, version=latest + 1, definition=definition, created_at=time.time())
        s.add(row)
        s.flush()
        return row


def get_workflow(p: Platform, workflow_id: str, version: int | None = None) -> WorkflowRow:
    """A workflow's newest (or given) version."""
    workflows.workflow_id(workflow_id)
    with p.db.unit_of_work() as s:
        stmt = select(WorkflowRow).where(WorkflowRow.workflow_id == workflow_id)
        stmt = stmt.where(WorkflowRow.version == version) if version else stmt.order_by(WorkflowRow.version.desc())
        row = s.scalars(stmt.limit(1)).first()
    if row is None:
        raise NotFound(f"Workflow {workflow_id!r} does not exist.", field="workflowId")
    return row


def list_workflows(p: Platform) -> list[WorkflowRow]:
    """The newest version of every workflow."""
    with p.db.unit_of_work() as s:
        newest = (
            select(WorkflowRow.workflow_id, func.max(WorkflowRow.version).label("v"))
            .group_by(WorkflowRow.workflow_id)
            .subquery()
        )
        stmt = (
            select(WorkflowRow)
            .join(newest, (WorkflowRow.workflow_id == newest.c.workflow_id) & (WorkflowRow.version == newest.c.v))
            .order_by(WorkflowRow.workflow_id)
        )
        return list(s.scalars(stmt))
