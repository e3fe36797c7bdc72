"""The services' shared dependencies, built once at the composition root (``serve``, ``worker``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from anomalens.config import Settings
from anomalens.domain.errors import InvalidInput
from anomalens.storage.blobs import BlobStore
from anomalens.store.db import Database


@dataclass
class Platform:
    """Database, blob store and settings, passed to every use case."""

    settings: Settings
    db: Database
    blobs: BlobStore
    cache_dir: Path = field(init=False)

    def __post_init__(self) -> None:
        self.cache_dir = self.settings.home / "cache"
        self.cache_dir.mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_settings(cls, settings: Settings) -> Platform:
        """Connect to the configured database and storage."""
        settings.home.mkdir(parents=True, exist_ok=True)
        return cls(settings, Database(settings.db_url), BlobStore(settings.blob_url))

    def check_local_source(self, location: str) -> None:
        """Refuse local paths outside ``ANOMALENS_ALLOWED_IMPORT_ROOTS`` when that is set."""
        roots = self.settings.allowed_import_roots
        if not roots or "://" in location:
            return
        path = Path(location).expanduser().resolve()
        allowed = [Path(r).expanduser().resolve() for r in roots.split(":") if r]
        if not any(path == r or r in path.parents for r in allowed):
            raise InvalidInput(
                f"Source {location!r} is outside the folders this server may import from.", field="Source"
            )
