"""The same server on PostgreSQL, and API-key authentication."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from anomalens.config import Settings
from anomalens.sdk import Client, Conflict, Unauthorized
from helpers.server import ServerProcess, free_port


def test_server_on_postgresql(postgres_url: str, tmp_path: Path, sample_folder: Path) -> None:
    srv = ServerProcess(tmp_path / "home", free_port(), env={"ANOMALENS_DATABASE_URL": postgres_url}).start()
    try:
        with Client(srv.url) as c:
            c.create_project("on-pg")
            with pytest.raises(Conflict):
                c.create_project("on-pg")
            job = c.wait_job(
                c.create_dataset("on-pg", "train", layout="labeled-folders", location=sample_folder)["JobId"]
            )
            assert job["Status"] == "SUCCEEDED"
            assert c.describe_dataset("on-pg", "train")["ImageStats"]["Total"] == 56
            assert len(list(c.list_dataset_entries("on-pg", "train", anomalyClass="anomaly"))) == 16
    finally:
        srv.stop()
    assert not (tmp_path / "home" / "anomalens.db").exists()  # really used PostgreSQL


def test_api_key_is_required_off_loopback_and_enforced(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="ANOMALENS_API_KEY"):
        Settings(host="0.0.0.0", home=tmp_path)
    srv = ServerProcess(tmp_path / "home", free_port(), env={"ANOMALENS_API_KEY": "s3cret"}).start()
    try:
        with Client(srv.url) as anonymous, pytest.raises(Unauthorized):
            list(anonymous.list_projects())
        with Client(srv.url, api_key="wrong") as wrong, pytest.raises(Unauthorized):
            wrong.create_project("x")
        with Client(srv.url, api_key="s3cret") as c:
            c.create_project("keyed")
            assert [p["ProjectName"] for p in c.list_projects()] == ["keyed"]
    finally:
        srv.stop()
