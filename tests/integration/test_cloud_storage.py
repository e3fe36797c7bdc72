"""Cloud storage sources against a real S3-compatible server (SeaweedFS, signatures checked):
the server lists a glob and reads objects with its own credentials, and the real rf-cloud client
presigns a bucket listing (``--data-source cloud-storage``) that the server then downloads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from anomalens import samples
from helpers.batch import wait_shards
from helpers.emulators import azurite, fake_gcs
from helpers.images import TEN_BYTES
from helpers.seaweed import S3Server, seaweedfs
from helpers.server import ServerProcess, free_port
from helpers.videos import video_bytes


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with seaweedfs(tmp_path_factory.mktemp("seaweed")) as server:
        fs = server.filesystem()
        fs.mkdir("photos")
        for i in range(3):
            fs.pipe(f"photos/line1/2026-01/part_{i}.png", samples.make_image(300 + i))
        fs.pipe("photos/line1/2026-02/part_0.png", samples.make_image(310))  # same name, other folder
        fs.pipe("photos/line1/2026-02/broken.png", TEN_BYTES)
        fs.pipe("photos/line1/readme.txt", b"not an image")
        fs.pipe("photos/line2/other.png", samples.make_image(320))
        fs.pipe("photos/clips/belt.mp4", video_bytes(frames=10))
        yield server


@pytest.fixture(scope="module")
def cloud_server(tmp_path_factory: pytest.TempPathFactory, s3: S3Server) -> Iterator[ServerProcess]:
    """A server whose environment holds the S3 credentials and endpoint (as an operator sets them)."""
    srv = ServerProcess(tmp_path_factory.mktemp("cloud"), free_port(), env=s3.env()).start()
    yield srv
    srv.stop()


def test_server_lists_a_glob_and_reads_objects_with_its_credentials(cloud_server: ServerProcess) -> None:
    api = httpx.Client(base_url=cloud_server.url, timeout=60)
    answer = api.post("/v1/batches/from-s3/references", json={"SourceUri": "s3://photos/line1/**/*.png"})
    assert answer.status_code == 202, answer.text
    batch = wait_shards(api, "from-s3")
    names = sorted(f["Name"] for f in api.get("/v1/batches/from-s3/files").json()["Files"])
    assert names == ["2026-01__part_0.png", "2026-01__part_1.png", "2026-01__part_2.png", "2026-02__part_0.png"]
    assert [(r["file"], r["reason"]) for r in batch["Shards"][0]["Rejected"]] == [
        ("2026-02__broken.png", "unsupported-file-type")
    ]
    first = api.get("/v1/batches/from-s3/files").json()["Files"][0]
    assert api.get(first["DownloadUrl"]).content == samples.make_image(300)

    videos = api.post(
        "/v1/batches/s3-clips/references", json={"SourceUri": "s3://photos/clips/", "ContentType": "videos"}
    )
    assert videos.status_code == 202
    assert wait_shards(api, "s3-clips")["FilesCount"] == 1


@pytest.mark.parametrize(
    ("uri", "needle"),
    [
        ("ftp://photos/x/*.png", "must start with s3://"),
        ("s3://no-such-bucket/x/*.png", "no-such-bucket"),
        ("s3://", "names no bucket"),
        ("az://container/x/*.png", "connection_string or account_name"),  # no Azure credentials on this server
    ],
)
def test_bad_cloud_sources_are_refused_at_once(cloud_server: ServerProcess, uri: str, needle: str) -> None:
    answer = httpx.post(f"{cloud_server.url}/v1/batches/bad-s3/references", json={"SourceUri": uri}, timeout=60)
    assert answer.status_code == 400 and answer.json()["field"] == "SourceUri" and needle in answer.json()["message"]


def test_a_glob_that_matches_nothing_is_reported_on_the_batch(cloud_server: ServerProcess) -> None:
    api = httpx.Client(base_url=cloud_server.url, timeout=60)
    assert api.post("/v1/batches/empty-s3/references", json={"SourceUri": "s3://photos/line2/*.jpg"}).status_code == 202
    shard = wait_shards(api, "empty-s3")["Shards"][0]
    assert shard["Status"] == "FAILED" and shard["Rejected"][0]["reason"] == "no-files-matched"


def test_wrong_server_credentials_are_refused_by_the_bucket(
    tmp_path_factory: pytest.TempPathFactory, s3: S3Server
) -> None:
    env = s3.env() | {"AWS_SECRET_ACCESS_KEY": "wrong-secret"}
    srv = ServerProcess(tmp_path_factory.mktemp("badcreds"), free_port(), env=env).start()
    try:
        answer = httpx.post(f"{srv.url}/v1/batches/x/references", json={"SourceUri": "s3://photos/line1/*.png"})
        assert answer.status_code == 400 and "PermissionError" in answer.json()["message"]
    finally:
        srv.stop()


def test_real_client_cloud_storage_source(
    rf_cloud: Callable[..., str], staging_server: ServerProcess, s3: S3Server, tmp_path: Path
) -> None:
    rf_cloud(
        "data-staging",
        "create-batch-of-images",
        "--data-source",
        "cloud-storage",
        "--bucket-path",
        "s3://photos/line1/2026-01/*.png",
        "--batch-id",
        "cli-s3",
        extra_env=s3.env(),
    )
    api = httpx.Client(base_url=staging_server.url, timeout=60)
    batch = wait_shards(api, "cli-s3")
    assert batch["FilesCount"] == 3
    assert "COMPLETED" in rf_cloud("data-staging", "list-ingest-details", "--batch-id", "cli-s3")
    out = tmp_path / "export"
    rf_cloud("data-staging", "export-batch", "--batch-id", "cli-s3", "--target-dir", str(out))
    assert (next(out.rglob("part_1.png"))).read_bytes() == samples.make_image(301)
    rf_cloud(
        "data-staging",
        "create-batch-of-videos",
        "--data-source",
        "cloud-storage",
        "--bucket-path",
        "s3://photos/clips/*.mp4",
        "--batch-id",
        "cli-s3-videos",
        extra_env=s3.env(),
    )
    videos = wait_shards(api, "cli-s3-videos")
    assert (videos["ContentType"], videos["FilesCount"]) == ("videos", 1)


@pytest.mark.parametrize("kind", ["gs", "az"])
def test_gcs_and_azure_sources(tmp_path_factory: pytest.TempPathFactory, kind: str) -> None:
    data = tmp_path_factory.mktemp(f"emulator-{kind}")
    with fake_gcs(data) if kind == "gs" else azurite(data) as emulator:
        fs = emulator.filesystem()
        fs.mkdir("plant")
        for i in range(2):
            fs.pipe(f"plant/cam/{i}.png", samples.make_image(400 + i))
        fs.pipe("plant/cam/skip.jpg", TEN_BYTES)
        srv = ServerProcess(tmp_path_factory.mktemp(f"srv-{kind}"), free_port(), env=emulator.env).start()
        try:
            api = httpx.Client(base_url=srv.url, timeout=60)
            answer = api.post("/v1/batches/emu/references", json={"SourceUri": f"{kind}://plant/cam/*.png"})
            assert answer.status_code == 202, answer.text
            batch = wait_shards(api, "emu")
            assert batch["FilesCount"] == 2 and batch["Shards"][0]["Status"] == "COMPLETED"
            files = api.get("/v1/batches/emu/files").json()["Files"]
            assert api.get(files[1]["DownloadUrl"]).content == samples.make_image(401)
        finally:
            srv.stop()
