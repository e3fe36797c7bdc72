"""Generated test videos (PyAV, MPEG-4 Part 2 in MP4): textured frames, some with a scratch."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np

from anomalens import samples, vision


def make_video(path: Path, frames: int = 40, fps: int = 10, defective: range = range(20, 30), seed: int = 0) -> Path:
    """Write an MP4 whose frames ``defective`` show a scratch; the rest are clean surfaces."""
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        first = vision.decode_image(samples.make_image(seed))
        stream.width, stream.height = first.shape[1], first.shape[0]
        stream.pix_fmt, stream.bit_rate = "yuv420p", 8_000_000
        for i in range(frames):
            data = samples.make_image(seed + 100 + i, "scratch" if i in defective else None)
            frame = av.VideoFrame.from_ndarray(vision.decode_image(data), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def video_bytes(**kwargs: object) -> bytes:
    """The bytes of ``make_video`` (written through a temporary buffer)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return make_video(Path(tmp) / "v.mp4", **kwargs).read_bytes()  # type: ignore[arg-type]


def not_a_video() -> io.BytesIO:
    """Bytes named like a video that FFmpeg cannot decode."""
    return io.BytesIO(np.random.default_rng(0).bytes(4096))
