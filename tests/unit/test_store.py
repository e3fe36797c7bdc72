"""Store, idempotency and job-queue behaviour on a real database (SQLite file and PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from anomalens.domain.entities import Entry
from anomalens.domain.errors import Conflict
from anomalens.domain.statuses import DatasetStatus, JobStatus
from anomalens.jobs import queue
from anomalens.store.db import Database
from anomalens.store.idempotency import IdempotencyRepository
from anomalens.store.models import ModelRepository
from anomalens.store.projects import ProjectRepository


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    database.upgrade()
    yield database
    database.dispose()


def test_migrations_from_empty_reach_head(db: Database) -> None:
    assert db.current_revision() == db.head_revision() == "0004_events"
    db.verify_schema()


def test_duplicate_project_is_conflict_and_keeps_the_first(db: Database) -> None:
    with db.unit_of_work() as s:
        ProjectRepository(s).add_project("p1")
    with pytest.raises(Conflict, match="already exists"), db.unit_of_work() as s:
        ProjectRepository(s).add_project("p1")
    with db.unit_of_work() as s:
        assert [p.name for p in ProjectRepository(s).list_projects(0, 10)] == ["p1"]


def test_failed_unit_of_work_rolls_back(db: Database) -> None:
    with pytest.raises(RuntimeError), db.unit_of_work() as s:
        ProjectRepository(s).add_project("ghost")
        raise RuntimeError("boom")
    with db.unit_of_work() as s:
        assert ProjectRepository(s).list_projects(0, 10) == []


def _entry(ref: str, label: str | None) -> Entry:
    return Entry(ref, label, f'{{"source-ref":"{ref}"}}', f"k/{ref}", None, 64, 64, time.time())


def test_entries_upsert_replaces_and_filters(db: Database) -> None:
    with db.unit_of_work() as s:
        repo = ProjectRepository(s)
        repo.add_project("p")
        repo.add_dataset("p", "train", DatasetStatus.CREATE_COMPLETE)
        row = repo.dataset_row("p", "train")
        repo.upsert_entries(row, [_entry("a_IMG_17.png", "normal"), _entry("b.png", "anomaly"), _entry("c.png", None)])
        repo.upsert_entries(row, [_entry("b.png", "normal")])
    with db.unit_of_work() as s:
        repo = ProjectRepository(s)
        row = repo.dataset_row("p", "train")
        assert repo.get_dataset("p", "train").stats.normal == 2
        assert [e.source_ref for e in repo.list_entries(row, labeled=False)] == ["c.png"]
        assert [e.source_ref for e in repo.list_entries(row, source_ref_contains="IMG_17")] == ["a_IMG_17.png"]
        assert [e.source_ref for e in repo.list_entries(row, anomaly_class="anomaly")] == []


def test_model_versions_are_never_reused(db: Database) -> None:
    with db.unit_of_work() as s:
        prow = ProjectRepository(s).add_project("p") and ProjectRepository(s).project_row("p")
        models = ModelRepository(s)
        v1 = models.add(prow, description=None, output_prefix="o/{version}", details={})
        v2 = models.add(prow, description=None, output_prefix="o/{version}", details={})
        assert (v1.version, v2.version, v2.output_prefix) == (1, 2, "o/2")
        models.delete(v2)
    with db.unit_of_work() as s:
        prow = ProjectRepository(s).project_row("p")
        assert ModelRepository(s).add(prow, description=None, output_prefix="o", details={}).version == 3


def test_client_token_replays_and_refuses_other_parameters(db: Database) -> None:
    with db.unit_of_work() as s:
        idem = IdempotencyRepository(s)
        assert idem.replay("CreateModel", "tok-1", {"a": 1}) is None
        idem.remember("CreateModel", "tok-1", {"a": 1}, {"version": 1})
    with db.unit_of_work() as s:
        assert IdempotencyRepository(s).replay("CreateModel", "tok-1", {"a": 1}) == {"version": 1}
        with pytest.raises(Conflict, match="different"):
            IdempotencyRepository(s).replay("CreateModel", "tok-1", {"a": 2})


def test_job_claim_lease_expiry_and_guarded_finish(db: Database) -> None:
    with db.unit_of_work() as s:
        job_id = queue.enqueue(s, "k", {"x": 1})
    first = queue.claim(db, "w1", lease_s=0.3)
    assert first is not None and first.id == job_id and first.attempts == 1
    assert queue.claim(db, "w2", lease_s=0.3) is None  # leased
    time.sleep(0.5)
    second = queue.claim(db, "w2", lease_s=30)  # the first worker "died"
    assert second is not None and second.attempts == 2
    with pytest.raises(queue.LeaseLost), db.unit_of_work() as s:
        queue.finish(s, first, {"by": "w1"})  # the stale worker cannot commit
    with db.unit_of_work() as s:
        queue.finish(s, second, {"by": "w2"})
    with db.unit_of_work() as s:
        job = queue.get(s, job_id)
    assert (job.status, job.result) == (JobStatus.SUCCEEDED, {"by": "w2"})


def test_failed_job_requeues_then_fails(db: Database) -> None:
    with db.unit_of_work() as s:
        job_id = queue.enqueue(s, "k", {}, max_attempts=2)
    job = queue.claim(db, "w", 30)
    assert job is not None
    assert queue.fail(db, job, "oops", retry_in=0) is True
    job = queue.claim(db, "w", 30)
    assert job is not None and job.attempts == 2
    queue.fail(db, job, "oops again", retry_in=None)
    with db.unit_of_work() as s:
        assert queue.get(s, job_id).status is JobStatus.FAILED
