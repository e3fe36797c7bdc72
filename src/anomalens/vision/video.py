"""Video frames for batch processing, decoded with PyAV (FFmpeg).

Works on a binary file object (a local file or a storage stream) so the caller decides where
bytes live. Frames are sampled by their presentation time, not their index: a variable frame
rate video sampled at ``max_fps`` yields at most one frame per ``1 / max_fps`` seconds, and the
timestamps reported are the frames' own, so results line up with the video a user plays back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

import av
import numpy as np


class VideoDecodeError(ValueError):
    """The bytes are not a video FFmpeg can decode."""


@dataclass(frozen=True)
class VideoInfo:
    """What a video holds, read from its container and first frame."""

    width: int
    height: int
    fps: float
    duration_s: float | None
    codec: str


@dataclass(frozen=True)
class Frame:
    """One decoded frame: its index in the stream, its time in seconds and its RGB pixels."""

    index: int
    timestamp_s: float
    image: np.ndarray


def probe_video(source: IO[bytes]) -> VideoInfo:
    """Check that ``source`` is a decodable video and describe it (decodes one frame)."""
    try:
        with av.open(source, mode="r") as container:
            if not container.streams.video:
                raise VideoDecodeError("the file has no video stream")
            stream = container.streams.video[0]
            first = next(container.decode(stream), None)
            if first is None:
                raise VideoDecodeError("the video stream holds no decodable frame")
            duration = None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000
            rate = stream.average_rate or stream.guessed_rate
            return VideoInfo(
                first.width, first.height, float(rate) if rate else 0.0, duration, stream.codec_context.name
            )
    except VideoDecodeError:
        raise
    except (av.FFmpegError, StopIteration, ValueError, OSError) as exc:
        raise VideoDecodeError(f"not a decodable video ({exc})") from None


def sample_frames(source: IO[bytes], max_fps: float | None = None) -> Iterator[Frame]:
    """Decode frames, keeping at most ``max_fps`` per second of video time (all frames without it).

    A frame is kept when its timestamp reaches the next sampling time; the next sampling time
    then moves one period on from that frame, so gaps in the stream do not cause bursts.
    """
    if max_fps is not None and max_fps <= 0:
        raise ValueError("max_fps must be positive")
    period = 1.0 / max_fps if max_fps else 0.0
    try:
        with av.open(source, mode="r") as container:
            if not container.streams.video:
                raise VideoDecodeError("the file has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            next_time = -1.0
            for index, frame in enumerate(container.decode(stream)):
                t = float(frame.time) if frame.time is not None else index / float(stream.average_rate or 1)
                if period and t + 1e-6 < next_time:
                    continue
                next_time = t + period
                yield Frame(index, round(t, 6), frame.to_ndarray(format="rgb24"))
    except VideoDecodeError:
        raise
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise VideoDecodeError(f"video decoding failed ({exc})") from None
