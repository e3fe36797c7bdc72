"""Database engine, unit of work and schema management.

Each use case runs in one :meth:`Database.unit_of_work`: it commits on success and rolls back
on any exception, and repositories only flush, so use cases compose into one transaction.
SQLite runs in WAL mode with a busy timeout so the API and the job workers can share it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from anomalens.domain.errors import Unavailable

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")


def _normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin (savepoints work).
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock up front: a read-then-write transaction can then never fail
    # with "database is locked" half-way; waiting writers queue on the busy timeout instead.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout."""
    url = _normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


class Database:
    """Owns the engine and hands out transactional sessions."""

    def __init__(self, url: str) -> None:
        self.url = _normalise_url(url)
        self.engine = make_engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded default."""
        return self.url.startswith("sqlite")

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: commit on success, roll back on any exception."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def _alembic_config(self) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        cfg.attributes["engine"] = self.engine
        return cfg

    def upgrade(self) -> None:
        """Bring the schema to the newest revision (creates it on an empty database)."""
        command.upgrade(self._alembic_config(), "head")

    def current_revision(self) -> str | None:
        """The revision the database is at, or None when empty."""
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        """The newest revision this code knows."""
        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    def verify_schema(self) -> None:
        """Refuse to run on an out-of-date schema, printing the upgrade command."""
        current, head = self.current_revision(), self.head_revision()
        if current != head:
            msg = (
                f"The database is at schema revision {current}, this Anomalens needs {head}. "
                "Run `anomalens db upgrade` first."
            )
            raise Unavailable(msg)

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()
