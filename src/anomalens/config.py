"""Process configuration: one pydantic-settings class, read once at the composition root.

Every variable is ``ANOMALENS_<NAME>``; the README's configuration table mirrors this class.
Nothing reads the environment at import time: ``Settings()`` is built by the CLI (``serve``,
``worker``, ``demo``) and passed down.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Server and worker settings (env vars ``ANOMALENS_*``)."""

    model_config = SettingsConfigDict(env_prefix="ANOMALENS_", extra="ignore")

    home: Path = Field(default=Path("~/.anomalens"), description="Data directory of the embedded default.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in HOME.")
    storage_url: str | None = Field(default=None, description="fsspec URI for blobs; default HOME/blobs.")
    host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    port: int = Field(default=8470, description="Port the API listens on.")
    api_key: str | None = Field(default=None, description="Required bearer key; mandatory off loopback.")
    job_workers: int = Field(default=1, ge=0, description="Job worker threads inside `serve`.")
    lease_seconds: float = Field(default=30.0, gt=0, description="Job lease; a dead worker's job restarts after it.")
    max_inference_units: int = Field(default=8, ge=1, description="Ceiling for Min/MaxInferenceUnits.")
    inference_threads: int = Field(default=1, ge=1, description="ONNX Runtime threads per inference unit.")
    allow_private_urls: bool = Field(
        default=False, description="Let staging fetch URLs on private, loopback or link-local addresses."
    )
    webhook_secret: str | None = Field(
        default=None, description="Bearer token sent with webhooks; default: generated once into HOME/webhook-secret."
    )
    webhook_retry_base_seconds: float = Field(default=2.0, gt=0, description="First webhook retry delay (doubles).")
    staging_ttl_days: float = Field(default=7.0, gt=0, description="Days before a staging batch expires.")
    staging_sweep_seconds: float = Field(
        default=300.0, gt=0, description="How often expired staging batches (files and blobs) are deleted."
    )
    allowed_import_roots: str | None = Field(
        default=None, description="os.pathsep-separated folders that local imports may read; default: any."
    )

    @model_validator(mode="after")
    def _resolve(self) -> Settings:
        self.home = self.home.expanduser().resolve()
        if self.database_url is None:
            self.database_url = f"sqlite:///{self.home / 'anomalens.db'}"
        if self.storage_url is None:
            self.storage_url = str(self.home / "blobs")
        if not self.is_loopback and not self.api_key:
            msg = f"ANOMALENS_API_KEY is required when listening on {self.host} (beyond loopback)."
            raise ValueError(msg)
        return self

    @property
    def is_loopback(self) -> bool:
        """True when the API is reachable only from this machine."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def db_url(self) -> str:
        """The resolved database URL (never None after validation)."""
        assert self.database_url is not None
        return self.database_url

    @property
    def blob_url(self) -> str:
        """The resolved storage URL (never None after validation)."""
        assert self.storage_url is not None
        return self.storage_url
