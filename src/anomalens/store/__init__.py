"""Metadata store: SQLAlchemy 2 rows, repositories and Alembic migrations (SQLite or PostgreSQL)."""
