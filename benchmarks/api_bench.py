"""End-to-end platform benchmark on a generated sample, against a real `anomalens serve`.

Measures, in one run: import time, training wall time (job), and DetectAnomalies over HTTP —
p50/p95 latency with one client, and images/s with 1 vs 2 concurrent clients on a model hosted
with 1 and then 2 inference units (ratio side by side).

    .venv/bin/python benchmarks/api_bench.py [--images 200] [--requests 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from anomalens import samples
from anomalens.sdk import Client
from helpers.server import ServerProcess, free_port


def _throughput(url: str, images: list[bytes], clients: int, version: int) -> float:
    def run(chunk: list[bytes]) -> None:
        with Client(url) as c:
            for img in chunk:
                c.detect_anomalies("bench", version, img)

    chunks = [images[i::clients] for i in range(clients)]
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(run, chunks))
    return len(images) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=200, help="normal training images (size 256)")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="anomalens-bench-"))
    data = samples.write_labeled_folder(root / "sample", n_normal=args.images + 40, n_anomaly=30, size=256)
    srv = ServerProcess(root / "home", free_port(), env={"ANOMALENS_INFERENCE_THREADS": "1"}).start()
    try:
        with Client(srv.url) as c:
            c.create_project("bench")
            t0 = time.perf_counter()
            c.wait_job(c.create_dataset("bench", "train", layout="labeled-folders", location=data)["JobId"])
            t_import = time.perf_counter() - t0
            t0 = time.perf_counter()
            c.wait_job(c.create_model("bench")["JobId"], timeout=1800)
            t_train = time.perf_counter() - t0
            desc = c.describe_model("bench", 1)
            imgs = [samples.make_image(10_000_000 + i, None if i % 4 else "scratch", 256) for i in range(args.requests)]
            results = {}
            for units in (1, 2):
                c.start_model("bench", 1, min_units=units)
                c.wait_model("bench", 1, until={"HOSTED"})
                lat = []
                for img in imgs[:100]:
                    s = time.perf_counter()
                    c.detect_anomalies("bench", 1, img)
                    lat.append((time.perf_counter() - s) * 1000)
                results[units] = (
                    statistics.median(lat),
                    statistics.quantiles(lat, n=20)[18],
                    _throughput(srv.url, imgs, 1, 1),
                    _throughput(srv.url, imgs, 2, 1),
                )
                c.stop_model("bench", 1)
                c.wait_model("bench", 1, until={"TRAINED"})
    finally:
        srv.stop()
    print(f"machine: {os.cpu_count()} CPUs; training images: {desc['Details']['training_images']} (256x256, generated)")
    print(
        f"import {args.images + 70} images: {t_import:.1f} s; training job wall time: {t_train:.1f} s "
        f"(engine fit+eval {desc['Details']['training_seconds']} s); F1 {desc['Performance']['F1Score']:.3f}"
    )
    print("| inference units | p50 ms (1 client) | p95 ms | img/s, 1 client | img/s, 2 clients |")
    print("|---|---|---|---|---|")
    for units, (p50, p95, one, two) in results.items():
        print(f"| {units} | {p50:.1f} | {p95:.1f} | {one:.1f} | {two:.1f} |")
    print(f"2 units vs 1 unit with 2 clients: {results[2][3] / results[1][3]:.2f}x")
    subprocess.run(["rm", "-rf", str(root)], check=False)


if __name__ == "__main__":
    main()
