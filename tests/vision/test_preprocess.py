"""Input handling: how images are shrunk is part of the artifact, and old artifacts keep theirs."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest
from PIL import Image

from anomalens.vision import preprocess
from anomalens.vision.preprocess import (
    REDUCING_GAP,
    InputSize,
    Placement,
    choose_input_size,
    fit_to_input,
    to_batch,
    unbox_map,
)


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


def test_batches_resized_on_threads_equal_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    images = [_camera_frame(512 + 32 * i, 640) for i in range(5)]
    size = InputSize(192, 256, REDUCING_GAP)
    monkeypatch.setattr(preprocess, "RESIZE_THREADS", 2)
    threaded, places = to_batch(images, size, threads=2)
    one_by_one, places_one = to_batch(images, size, threads=1)
    assert np.array_equal(threaded, one_by_one) and places == places_one  # same order, same pixels


def _resize_in_child(queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    batch, _ = to_batch([_camera_frame(256, 256)] * 3, InputSize(128, 128), threads=2)
    queue.put(batch.shape)


def test_a_forked_process_gets_its_own_resize_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool's threads do not survive a fork; a child using the parent's pool would wait forever."""
    monkeypatch.setattr(preprocess, "RESIZE_THREADS", 2)
    to_batch([_camera_frame(256, 256)] * 2, InputSize(128, 128), threads=2)  # the parent's pool now exists
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_resize_in_child, args=(queue,))
    child.start()
    child.join(timeout=30)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive and queue.get(timeout=5) == (3, 3, 128, 128)


@pytest.mark.parametrize("rotated", [False, True])
def test_a_large_map_made_in_strips_equals_one_resize(rotated: bool) -> None:
    amap = np.random.default_rng(1).random((192, 256)).astype(np.float32) * 3
    place = Placement(0, 0, 192, 256, rotated)
    shape = (2000, 1501) if rotated else (1501, 2000)  # over STRIP_MIN_PIXELS, odd row count
    whole = unbox_map(amap, place, shape, scale=0.4, threads=1)
    strips = unbox_map(amap, place, shape, scale=0.4, threads=2)
    crop = np.rot90(amap, k=-1) if rotated else amap
    plain = np.asarray(Image.fromarray(crop, mode="F").resize(shape[::-1], Image.Resampling.BILINEAR))
    assert whole.shape == strips.shape == shape
    assert np.array_equal(whole, np.clip(plain * np.float32(0.4), 0, 1))  # one strip: exactly the plain resize
    assert np.abs(strips - whole).max() < 1e-6 and 0 < strips.mean() < 1
