"""Repository of staging batches, shards and files."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from anomalens.domain.errors import Conflict, NotFound
from anomalens.store.staging_rows import StagingBatchRow, StagingFileRow, StagingShardRow


class StagingRepository:
    """Reads and writes staging rows inside the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def batch(self, batch_id: str, *, lock: bool = False) -> StagingBatchRow:
        """A live (unexpired) batch, or NotFound."""
        stmt = select(StagingBatchRow).where(StagingBatchRow.batch_id == batch_id)
        if lock:
            stmt = stmt.with_for_update()
        row = self.s.scalars(stmt).one_or_none()
        if row is None or row.expires_at < time.time():
            raise NotFound(f"Staging batch {batch_id!r} does not exist (or has expired).", field="batchId")
        return row

    def ensure_batch(
        self, batch_id: str, display_name: str, content_type: str, batch_type: str, ttl_s: float
    ) -> StagingBatchRow:
        """The batch, created on first use; a batch of other content is a Conflict."""
        row = self.s.scalars(select(StagingBatchRow).where(StagingBatchRow.batch_id == batch_id)).one_or_none()
        if row is not None and row.expires_at >= time.time():
            if row.content_type != content_type:
                raise Conflict(f"Batch {batch_id!r} holds {row.content_type}, not {content_type}.", field="batchId")
            return row
        if row is not None:  # expired: its data is deleted by the sweep before the id is free again
            raise Conflict(
                f"Batch {batch_id!r} expired and its data is being deleted; use another batch id or retry later.",
                field="batchId",
            )
        now = time.time()
        row = StagingBatchRow(
            batch_id=batch_id,
            display_name=display_name,
            content_type=content_type,
            batch_type=batch_type,
            created_at=now,
            expires_at=now + ttl_s,
        )
        try:
            with self.s.begin_nested():
                self.s.add(row)
                self.s.flush()
        except IntegrityError:
            raise Conflict(f"Batch {batch_id!r} is being created by another request; retry.", field="batchId") from None
        return row

    def expired(self, now: float, limit: int = 100) -> list[StagingBatchRow]:
        """Batches whose expiry has passed, oldest expiry first."""
        stmt = (
            select(StagingBatchRow)
            .where(StagingBatchRow.expires_at < now)
            .order_by(StagingBatchRow.expires_at)
            .limit(limit)
        )
        return list(self.s.scalars(stmt))

    def delete(self, batch: StagingBatchRow) -> None:
        """Remove a batch's rows (shards and files go with it)."""
        self.s.execute(delete(StagingFileRow).where(StagingFileRow.batch_pk == batch.id))
        self.s.execute(delete(StagingShardRow).where(StagingShardRow.batch_pk == batch.id))
        self.s.delete(batch)

    def list_batches(self, offset: int, limit: int) -> list[StagingBatchRow]:
        """Live batches, newest first."""
        stmt = (
            select(StagingBatchRow)
            .where(StagingBatchRow.expires_at >= time.time())
            .order_by(StagingBatchRow.created_at.desc(), StagingBatchRow.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return list(self.s.scalars(stmt))

    def add_shard(
        self, batch: StagingBatchRow, shard_id: str, ingest_id: str, status: str, source_key: str | None = None
    ) -> StagingShardRow:
        """A new shard of a batch."""
        row = StagingShardRow(
            batch_pk=batch.id,
            shard_id=shard_id,
            ingest_id=ingest_id,
            status=status,
            objects_count=0,
            rejected=[],
            source_key=source_key,
            updated_at=time.time(),
        )
        self.s.add(row)
        self.s.flush()
        return row

    def shard(self, batch: StagingBatchRow, shard_id: str) -> StagingShardRow:
        """A shard by id, or NotFound."""
        row = self.s.scalars(
            select(StagingShardRow).where(StagingShardRow.batch_pk == batch.id, StagingShardRow.shard_id == shard_id)
        ).one_or_none()
        if row is None:
            raise NotFound(f"Batch {batch.batch_id!r} has no shard {shard_id!r}.", field="shardId")
        return row

    def shard_by_id(self, shard_id: str) -> tuple[StagingBatchRow, StagingShardRow]:
        """(batch, shard) of a shard id (upload tokens are shard ids)."""
        got = self.s.execute(
            select(StagingBatchRow, StagingShardRow)
            .join(StagingShardRow, StagingShardRow.batch_pk == StagingBatchRow.id)
            .where(StagingShardRow.shard_id == shard_id)
        ).first()
        if got is None:
            raise NotFound(f"Upload {shard_id!r} does not exist.", field="shardId")
        return got[0], got[1]

    def shards(self, batch: StagingBatchRow) -> list[StagingShardRow]:
        """Every shard of a batch, oldest first."""
        return list(
            self.s.scalars(
                select(StagingShardRow).where(StagingShardRow.batch_pk == batch.id).order_by(StagingShardRow.id)
            )
        )

    def existing_names(self, batch: StagingBatchRow, names: list[str]) -> set[str]:
        """Which of ``names`` the batch already holds."""
        found: set[str] = set()
        for start in range(0, len(names), 500):
            found |= set(
                self.s.scalars(
                    select(StagingFileRow.name).where(
                        StagingFileRow.batch_pk == batch.id, StagingFileRow.name.in_(names[start : start + 500])
                    )
                )
            )
        return found

    def add_files(self, batch: StagingBatchRow, files: list[dict[str, Any]]) -> None:
        """Insert file rows (callers removed duplicates)."""
        self.s.add_all(StagingFileRow(batch_pk=batch.id, **f) for f in files)
        self.s.flush()

    def count(self, batch: StagingBatchRow) -> int:
        """Number of files in a batch."""
        return int(self.s.scalar(select(func.count()).where(StagingFileRow.batch_pk == batch.id)) or 0)

    def files(self, batch: StagingBatchRow, offset: int, limit: int) -> list[StagingFileRow]:
        """Files in insertion order."""
        return list(
            self.s.scalars(
                select(StagingFileRow)
                .where(StagingFileRow.batch_pk == batch.id)
                .order_by(StagingFileRow.id)
                .offset(offset)
                .limit(limit)
            )
        )

    def file(self, batch: StagingBatchRow, name: str) -> StagingFileRow:
        """A file by name, or NotFound."""
        row = self.s.scalars(
            select(StagingFileRow).where(StagingFileRow.batch_pk == batch.id, StagingFileRow.name == name)
        ).one_or_none()
        if row is None:
            raise NotFound(f"Batch {batch.batch_id!r} has no file {name!r}.", field="fileName")
        return row
