"""ORM rows. Only the store package sees these; services get entities from the repositories.

Timestamps are UNIX epoch seconds (float), which is also the wire format of the spec.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of all rows."""


class ProjectRow(Base):
    """A project (name is the natural key)."""

    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[float] = mapped_column(Float)
    next_model_version: Mapped[int] = mapped_column(Integer, default=1)


class DatasetRow(Base):
    """The train or test dataset of a project."""

    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("project_id", "dataset_type"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    dataset_type: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(40))
    status_message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class EntryRow(Base):
    """One image of a dataset."""

    __tablename__ = "dataset_entries"
    __table_args__ = (UniqueConstraint("dataset_id", "source_ref"), Index("ix_entries_dataset_id", "dataset_id", "id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    source_ref: Mapped[str] = mapped_column(String(2048))
    label: Mapped[str | None] = mapped_column(String(16), nullable=True)
    line: Mapped[str] = mapped_column(Text)
    blob_key: Mapped[str] = mapped_column(String(512))
    mask_key: Mapped[str | None] = mapped_column(String(512), nullable=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)


class ModelRow(Base):
    """A model version."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("project_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(40))
    status_message: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    performance: Mapped[dict[str, float] | None] = mapped_column(JSON, nullable=True)
    output_prefix: Mapped[str] = mapped_column(String(1024))
    artifact_key: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    evaluation_manifest_key: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    evaluation_result_key: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    evaluation_end: Mapped[float | None] = mapped_column(Float, nullable=True)
    min_inference_units: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_inference_units: Mapped[int | None] = mapped_column(Integer, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TagRow(Base):
    """A key/value tag on a model version."""

    __tablename__ = "model_tags"
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class JobRow(Base):
    """A durable job: the row is the truth about its state."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_claim", "status", "run_after"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    lease_owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_expires: Mapped[float | None] = mapped_column(Float, nullable=True)
    run_after: Mapped[float] = mapped_column(Float)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class IdempotencyRow(Base):
    """A remembered (operation, ClientToken) -> response, kept 8 hours (spec §10.3)."""

    __tablename__ = "idempotency_keys"
    operation: Mapped[str] = mapped_column(String(64), primary_key=True)
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
