"""Input handling: how images are shrunk is part of the artifact, and old artifacts keep theirs."""

from __future__ import annotations

import numpy as np
from PIL import Image

from anomalens.vision.preprocess import REDUCING_GAP, InputSize, choose_input_size, fit_to_input


def _camera_frame(h: int, w: int) -> np.ndarray:
    """Smooth random content at camera resolution (noise enlarged, like a defocused texture)."""
    small = np.random.default_rng(0).integers(0, 256, (h // 16, w // 16, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC))


def test_large_frames_are_box_reduced_first_and_stay_close_to_the_exact_resize() -> None:
    frame = _camera_frame(2048, 2448)  # 9.6x the input: box-reduce by 3, then bilinear
    fast, place = fit_to_input(frame, InputSize(224, 256, REDUCING_GAP))
    exact, _ = fit_to_input(frame, InputSize(224, 256))
    assert fast.shape == exact.shape == (224, 256, 3) and not place.rotated
    diff = np.abs(fast.astype(np.int16) - exact)
    assert diff.max() > 0  # a different filter did run
    assert diff.mean() < 1.5  # yet the same picture to within about a grey level


def test_images_under_twice_the_gap_are_resized_exactly_as_before() -> None:
    image = _camera_frame(512, 512)  # 2x the input, like every image in ../shared/data
    fast, _ = fit_to_input(image, InputSize(256, 256, REDUCING_GAP))
    exact, _ = fit_to_input(image, InputSize(256, 256))
    assert np.array_equal(fast, exact)


def test_model_json_round_trip_and_old_artifacts() -> None:
    size = choose_input_size([(500, 1250)] * 3, 256)
    assert size == InputSize(96, 256, REDUCING_GAP)  # new trainings use the gap
    assert InputSize.from_json(size.to_json()) == size
    # model.json written before the option existed: the plain resize the model was trained with
    assert InputSize.from_json({"height": 96, "width": 256}) == InputSize(96, 256, None)
