"""Rows of data staging: batches, their shards and their files."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from anomalens.store.rows import Base


class StagingBatchRow(Base):
    """A staging batch (images or videos) with an expiry."""

    __tablename__ = "staging_batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(16))
    batch_type: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)


class StagingShardRow(Base):
    """One shard of a batch: an upload or a slice of up to 20,000 references."""

    __tablename__ = "staging_shards"
    __table_args__ = (UniqueConstraint("batch_pk", "shard_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_pk: Mapped[int] = mapped_column(ForeignKey("staging_batches.id", ondelete="CASCADE"))
    shard_id: Mapped[str] = mapped_column(String(64))
    ingest_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    objects_count: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    source_key: Mapped[str | None] = mapped_column(String(512), nullable=True)
    updated_at: Mapped[float] = mapped_column(Float)


class StagingFileRow(Base):
    """A file ingested into a batch."""

    __tablename__ = "staging_files"
    __table_args__ = (UniqueConstraint("batch_pk", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_pk: Mapped[int] = mapped_column(ForeignKey("staging_batches.id", ondelete="CASCADE"))
    shard_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    blob_key: Mapped[str] = mapped_column(String(512))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)
