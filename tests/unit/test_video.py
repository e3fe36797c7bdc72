"""Frame sampling and video checks (PyAV) on generated videos."""

from __future__ import annotations

from pathlib import Path

import pytest

from anomalens import vision
from anomalens.domain import staging
from anomalens.domain.errors import InvalidInput
from helpers.videos import make_video, not_a_video


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("v") / "clip.mp4", frames=30, fps=10)


@pytest.mark.parametrize(
    ("fps", "expected"),
    [(None, list(range(30))), (100, list(range(30))), (2.5, [0, 4, 8, 12, 16, 20, 24, 28]), (1, [0, 10, 20])],
)
def test_sampling_keeps_at_most_max_fps_frames_per_second(clip: Path, fps: float | None, expected: list[int]) -> None:
    with clip.open("rb") as fh:
        frames = list(vision.sample_frames(fh, fps))
    assert [f.index for f in frames] == expected
    assert [f.timestamp_s for f in frames] == pytest.approx([i / 10 for i in expected])
    assert frames[0].image.shape == (128, 128, 3)


def test_probe_describes_a_video_and_refuses_other_bytes(clip: Path) -> None:
    with clip.open("rb") as fh:
        info = vision.probe_video(fh)
    assert (info.width, info.height, info.fps) == (128, 128, 10.0)
    assert info.duration_s == pytest.approx(3.0, abs=0.2)
    with pytest.raises(vision.VideoDecodeError):
        vision.probe_video(not_a_video())
    with pytest.raises(vision.VideoDecodeError):
        list(vision.sample_frames(not_a_video(), 1))


@pytest.mark.parametrize("bad", [0, -1, 241, "fast", [1]])
def test_max_video_fps_rule_names_the_field(bad: object) -> None:
    with pytest.raises(InvalidInput) as err:
        staging.max_video_fps(bad)
    assert err.value.field == "processingSpecification.maxVideoFPS"
    assert staging.max_video_fps(None) is None and staging.max_video_fps("2") == 2.0
