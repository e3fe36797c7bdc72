"""Fixtures shared by the batch-processing tests: a staging server, a trained model and its
workflow, a loopback file server, and the real ``inference rf-cloud`` client in its own venv."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from anomalens import samples
from helpers.batch import WORKFLOW
from helpers.images import TEN_BYTES
from helpers.rf_cli import install_cli
from helpers.server import ServerProcess, free_port


@pytest.fixture(scope="session")
def staging_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server that may fetch loopback URLs (the test's own file server)."""
    srv = ServerProcess(
        tmp_path_factory.mktemp("staging"), free_port(), env={"ANOMALENS_ALLOW_PRIVATE_URLS": "true"}
    ).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def files_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A plain HTTP server on loopback serving generated images (stands in for signed URLs)."""
    root = tmp_path_factory.mktemp("www")
    for i in range(5):
        (root / f"img_{i}.png").write_bytes(samples.make_image(700 + i))
    (root / "broken.png").write_bytes(TEN_BYTES)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()


@pytest.fixture(scope="session")
def rf_cloud(staging_server: ServerProcess) -> Callable[..., str]:
    binary = install_cli()
    env = dict(os.environ, API_BASE_URL=f"{staging_server.url}/roboflow", ROBOFLOW_API_KEY="local-key")

    def run(*args: str, extra_env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            [str(binary), "rf-cloud", *args], capture_output=True, text=True, env=env | (extra_env or {}), timeout=600
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    return run


@pytest.fixture(scope="session")
def workflow(staging_server: ServerProcess, sample_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The inspection workflow over a model that is the same in every run.

    Separate train and test datasets: a single dataset is split by each image's source-ref, which
    holds this run's temporary path, so its model (and the frames near its threshold) would change
    from run to run.
    """
    from anomalens.sdk import Client

    test_folder = samples.write_labeled_folder(tmp_path_factory.mktemp("batch-test"), 10, 10, seed=1)
    with Client(staging_server.url) as c:
        c.create_project("batchproj")
        for kind, folder in (("train", sample_folder), ("test", test_folder)):
            c.wait_job(c.create_dataset("batchproj", kind, layout="labeled-folders", location=folder)["JobId"])
        assert c.wait_job(c.create_model("batchproj")["JobId"], timeout=600)["Status"] == "SUCCEEDED"
    api = httpx.Client(base_url=staging_server.url, timeout=30)
    assert api.put("/v1/workflows/inspect", json=WORKFLOW).json()["Workflow"]["Version"] == 1
    files = [("files", (f"n{i}.png", samples.make_image(5000 + i), "image/png")) for i in range(6)]
    files += [("files", (f"d{i}.png", samples.make_image(6000 + i, "scratch"), "image/png")) for i in range(3)]
    assert len(api.post("/v1/batches/to-inspect/images", files=files).json()["Accepted"]) == 9
    return "inspect"
