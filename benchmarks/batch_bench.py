"""Batch-processing benchmark against a real `anomalens serve` on loopback.

    .venv/bin/python benchmarks/batch_bench.py [--sizes 5000,50000] [--loop 500]

For each size N it stages N generated 128x128 images (uploaded in chunks), runs a one-step
workflow (detect anomalies) over them as a batch job and prints images/s and the peak memory
(RSS of the server and its worker processes, sampled every 0.2 s while the job runs). In the
same run it measures a plain client loop calling DetectAnomalies over HTTP one image at a time
(first ``--loop`` images, model hosted on 1 inference unit), and prints the ratio.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from anomalens import samples
from anomalens.sdk import Client
from helpers.batch import detect_workflow
from helpers.server import ServerProcess, free_port

WORKFLOW = detect_workflow("bench", "is_anomalous", "confidence")


def _tree_rss_mb(pid: int) -> float:
    """RSS of a process and all its descendants (Linux /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(next(x for x in status.splitlines() if x.startswith("VmRSS")).split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return total / 1024


def _peak(pid: int, stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        out.append(_tree_rss_mb(pid))
        time.sleep(0.2)


def train_bench_model(c: Client, root: Path) -> None:
    """Project ``bench`` with model version 1 trained on a generated sample, and workflow ``bench-wf``."""
    sample = samples.write_labeled_folder(root / "sample", n_normal=60, n_anomaly=20)
    c.create_project("bench")
    c.wait_job(c.create_dataset("bench", "train", layout="labeled-folders", location=sample)["JobId"])
    c.wait_job(c.create_model("bench")["JobId"], timeout=1800)
    c.save_workflow("bench-wf", WORKFLOW)


@contextmanager
def trained_bench_server(root: Path, timeout: float) -> Iterator[tuple[Client, int]]:
    """A server under ``root/home`` with ``train_bench_model`` done: (client, server pid)."""
    srv = ServerProcess(root / "home", free_port()).start()
    assert srv.proc is not None
    try:
        with Client(srv.url, timeout=timeout) as c:
            train_bench_model(c, root)
            yield c, srv.proc.pid
    finally:
        srv.stop()


def timed_job(
    c: Client, server_pid: int, definition: dict[str, Any], job_id: str
) -> tuple[dict[str, Any], float, float]:
    """Run a batch job to success: (job, wall seconds, peak RSS MB of the server and its workers)."""
    stop, rss = threading.Event(), []
    sampler = threading.Thread(target=_peak, args=(server_pid, stop, rss))
    sampler.start()
    t0 = time.perf_counter()
    job = c.start_batch_job(definition, job_id)
    job = c.wait_batch_job(job["JobId"], timeout=7200, poll=0.5)
    seconds = time.perf_counter() - t0
    stop.set()
    sampler.join()
    assert job["Status"] == "SUCCEEDED", job
    return job, seconds, max(rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="5000,50000")
    parser.add_argument("--loop", type=int, default=500)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="anomalens-batch-bench-"))
    images = [samples.make_image(i, "scratch" if i % 10 == 0 else None) for i in range(256)]
    rows = []
    with trained_bench_server(root, timeout=120) as (c, pid):
        for size in (int(x) for x in args.sizes.split(",")):
            batch = f"bench-{size}"
            for start in range(0, size, 256):
                chunk = range(start, min(size, start + 256))
                files = [("files", (f"i{i:07d}.png", images[i % 256], "image/png")) for i in chunk]
                c._call("POST", f"/v1/batches/{batch}/images", files=files)
            definition = {
                "type": "simple-image-processing-v1",
                "jobInput": {"batchId": batch},
                "processingSpecification": {"workflowId": "bench-wf"},
            }
            _, seconds, peak = timed_job(c, pid, definition, f"bench-{size}")
            rows.append((size, size / seconds, peak))
        c.start_model("bench", 1, min_units=1)
        c.wait_model("bench", 1, until={"HOSTED"})
        t0 = time.perf_counter()
        for i in range(args.loop):
            c.detect_anomalies("bench", 1, images[i % 256])
        loop_rate = args.loop / (time.perf_counter() - t0)
    print("| staged images | batch job img/s | peak RSS server+workers MB |")
    print("|---|---|---|")
    for size, rate, peak in rows:
        print(f"| {size} | {rate:.1f} | {peak:.0f} |")
    print(f"plain HTTP loop (DetectAnomalies, 1 image per call, 1 unit): {loop_rate:.1f} img/s")
    print(f"batch job vs loop: {rows[0][1] / loop_rate:.2f}x")


if __name__ == "__main__":
    main()
