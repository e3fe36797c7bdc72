"""Rows of workflows, batch-processing jobs and their logs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from anomalens.store.rows import Base


class WorkflowRow(Base):
    """One version of a stored workflow definition."""

    __tablename__ = "workflows"
    __table_args__ = (UniqueConstraint("workflow_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Float)


class BatchJobRow(Base):
    """A batch-processing job: a workflow run over a staging batch."""

    __tablename__ = "batch_jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    workflow_id: Mapped[str] = mapped_column(String(64))
    workflow_version: Mapped[int] = mapped_column(Integer)
    input_batch: Mapped[str] = mapped_column(String(64))
    output_batch: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(32))
    error: Mapped[bool] = mapped_column(Boolean, default=False)
    notification: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    overrides: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    tasks: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[float] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class BatchJobLogRow(Base):
    """One log entry of a batch job."""

    __tablename__ = "batch_job_logs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_pk: Mapped[int] = mapped_column(ForeignKey("batch_jobs.id", ondelete="CASCADE"))
    created_at: Mapped[float] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(16))
    task_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    log_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
