"""Video batch-processing benchmark against a real `anomalens serve` on loopback.

    .venv/bin/python benchmarks/video_bench.py [--seconds 60] [--fps-list 1,5,all]

It encodes one H.264 video (720x720, 30 fps, ``--seconds`` long, generated surfaces with a
scratch in every tenth second), stages it, and runs a one-step workflow (detect anomalies)
over it once per ``maxVideoFPS`` in ``--fps-list`` (``all`` = every frame). It prints, per
rate, the frames processed, frames/s, how many seconds of video one wall-clock second
covers, and the peak RSS of the server and its model workers.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from anomalens import samples, vision
from batch_bench import timed_job, trained_bench_server

FPS = 30
SIDE = 720


def encode(path: Path, seconds: int) -> Path:
    """An H.264 MP4 cycling through 30 generated surfaces; every tenth second shows a scratch."""
    clean = [vision.decode_image(samples.make_image(i, size=SIDE)) for i in range(30)]
    scratched = [vision.decode_image(samples.make_image(100 + i, "scratch", size=SIDE)) for i in range(30)]
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = SIDE, SIDE, "yuv420p"
        for i in range(seconds * FPS):
            pool = scratched if (i // FPS) % 10 == 9 else clean
            for packet in stream.encode(av.VideoFrame.from_ndarray(pool[i % 30], format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--fps-list", default="1,5,all")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="anomalens-video-bench-"))
    video = encode(root / "line.mp4", args.seconds)
    rows = []
    with trained_bench_server(root, timeout=600) as (c, pid):
        assert c.upload_videos("videos", [video])["Accepted"] == ["line.mp4"]
        for n, rate in enumerate(args.fps_list.split(",")):
            spec: dict[str, object] = {"workflowId": "bench-wf"}
            if rate != "all":
                spec["maxVideoFPS"] = float(rate)
            definition = {
                "type": "simple-video-processing-v1",
                "jobInput": {"batchId": "videos"},
                "processingSpecification": spec,
            }
            job, seconds, peak = timed_job(c, pid, definition, f"video-{n}")
            frames = sum(t["processed"] for t in job["Tasks"].values())
            rows.append((rate, frames, frames / seconds, args.seconds / seconds, peak))
    print(f"video: {args.seconds} s, {SIDE}x{SIDE}, {FPS} fps, H.264 ({video.stat().st_size / 1e6:.1f} MB)")
    print("| maxVideoFPS | frames processed | frames/s | video s per wall s | peak RSS server+workers MB |")
    print("|---|---|---|---|---|")
    for rate, frames, fps, realtime, peak in rows:
        print(f"| {rate} | {frames} | {fps:.1f} | {realtime:.1f} | {peak:.0f} |")


if __name__ == "__main__":
    main()
