"""``anomalens demo``: the whole journey on a generated sample, against a real local server.

Starts ``anomalens serve`` in a child process (embedded SQLite + local storage), then uses the
SDK exactly as a user would: create a project, import a labelled folder, train, host, detect a
normal and a defective image, and stop.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from anomalens import samples
from anomalens.sdk import Client, ConnectionFailed

console = Console()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(client: Client, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited during start-up")
        try:
            client.list_jobs()
            return
        except ConnectionFailed:
            time.sleep(0.2)
    raise RuntimeError("the server did not answer in time")


def run_demo(home: Path | None = None) -> None:
    """Run the demo; the server's data goes to ``home`` (default: a fresh temporary folder)."""
    home = home or Path(tempfile.mkdtemp(prefix="anomalens-demo-"))
    sample = samples.write_labeled_folder(home / "sample")
    port = _free_port()
    env = dict(os.environ, ANOMALENS_HOME=str(home / "data"), ANOMALENS_PORT=str(port))
    console.print(f"[bold]1.[/bold] Starting anomalens serve on 127.0.0.1:{port} (data in {home / 'data'})")
    server = subprocess.Popen([sys.executable, "-m", "anomalens", "serve"], env=env)
    try:
        with Client(f"http://127.0.0.1:{port}") as client:
            _wait_ready(client, server)
            _journey(client, sample)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _journey(client: Client, sample: Path) -> None:
    console.print("[bold]2.[/bold] Creating project 'demo' and importing the generated sample")
    client.create_project("demo")
    job = client.create_dataset("demo", "train", layout="labeled-folders", location=sample)["JobId"]
    client.wait_job(job)
    stats = client.describe_dataset("demo", "train")["ImageStats"]
    console.print(f"   {stats['Normal']} normal + {stats['Anomaly']} anomalous images")
    console.print("[bold]3.[/bold] Training model version 1")
    answer = client.create_model("demo", description="demo model")
    client.wait_job(answer["JobId"])
    model = client.describe_model("demo", 1)
    if model["Status"] != "TRAINED":
        raise RuntimeError(f"training ended {model['Status']}: {model['StatusMessage']}")
    perf = model["Performance"]
    console.print(f"   F1 {perf['F1Score']:.3f}, precision {perf['Precision']:.3f}, recall {perf['Recall']:.3f}")
    console.print("[bold]4.[/bold] Hosting the model on 1 inference unit")
    client.start_model("demo", 1, min_units=1)
    client.wait_model("demo", 1, until={"HOSTED", "HOSTING_FAILED"}, timeout=300)
    console.print("[bold]5.[/bold] DetectAnomalies")
    for name, image in (("normal", samples.make_image(999_001)), ("defective", samples.make_image(999_002, "scratch"))):
        result = client.detect_anomalies("demo", 1, image)
        console.print(f"   {name:9s} image -> {result}")
    client.stop_model("demo", 1)
    client.wait_model("demo", 1, until={"TRAINED"}, timeout=120)
    console.print("[bold green]Done.[/bold green] The model answered and was stopped.")
