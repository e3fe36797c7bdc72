"""Webhooks: seed-shaped notifications, Authorization header, retries with backoff, recorded deliveries."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from anomalens import samples
from helpers.images import TEN_BYTES
from helpers.server import ServerProcess, free_port
from helpers.webhooks import Receiver


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(
        tmp_path / "home",
        free_port(),
        env={
            "ANOMALENS_ALLOW_PRIVATE_URLS": "true",
            "ANOMALENS_WEBHOOK_SECRET": "hook-secret",
            "ANOMALENS_WEBHOOK_RETRY_BASE_SECONDS": "0.2",
        },
    ).start()
    yield srv
    srv.stop()


def _wait(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_ingest_notifications_are_retried_and_recorded(server: ServerProcess, tmp_path: Path) -> None:
    www = tmp_path / "www"
    www.mkdir()
    (www / "a.png").write_bytes(samples.make_image(1))
    (www / "bad.png").write_bytes(TEN_BYTES)
    from functools import partial
    from http.server import SimpleHTTPRequestHandler

    files = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(www)))
    threading.Thread(target=files.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{files.server_address[1]}"
    receiver = Receiver(fail_first=1)
    api = httpx.Client(base_url=server.url, timeout=30)
    refs = [{"name": "a.png", "url": f"{base}/a.png"}, {"name": "bad.png", "url": f"{base}/bad.png"}]
    answer = api.post(
        "/v1/batches/hooked/references",
        json={
            "References": refs,
            "NotificationsUrl": receiver.url,
            "NotificationCategories": ["ingest-status", "files-status"],
        },
    ).json()
    _wait(
        lambda: (
            {b["notification"]["type"] for b, _ in receiver.calls[1:]}
            >= {"ingest-status-notification-v1", "ingest-files-status-notification-v1"}
        )
    )
    bodies = [b for b, _ in receiver.calls]
    assert all(auth == "Bearer hook-secret" for _, auth in receiver.calls)
    assert all(
        b["type"] == "roboflow-data-staging-notification-v1"
        and b["batch_id"] == "hooked"
        and b["ingest_id"] == answer["IngestId"]
        and b["shard_id"] == answer["ShardIds"][0]
        for b in bodies
    )
    files_note = next(b for b in bodies if b["notification"]["type"] == "ingest-files-status-notification-v1")
    assert files_note["notification"]["ingested_files"] == ["a.png"]
    assert files_note["notification"]["failed_files"][0]["file_name"] == "bad.png"
    retried = [b for b in bodies if b["event_id"] == bodies[0]["event_id"]]
    assert [b["delivery_attempt"] for b in retried] == [1, 2]  # same event id, attempt counted
    events = api.get("/v1/events").json()["Events"]
    first = next(e for e in events if e["EventId"] == bodies[0]["event_id"])
    assert first["Status"] == "DELIVERED" and [d["StatusCode"] for d in first["Deliveries"]] == [500, 200]
