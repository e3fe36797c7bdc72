"""Training preconditions (spec §3.6 minimums) and the internal split of a single dataset.

A single-dataset project is split here, deterministically from each image's ``source-ref``,
so a retried training job sees exactly the same split. Anomalous images are shared between
validation (threshold calibration, model choice) and test (the reported metrics), so the
metrics are never computed on the images that chose the threshold.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from anomalens.domain.errors import Conflict

SINGLE_MIN_NORMAL = 20
SINGLE_MIN_ANOMALY = 10
SEPARATE_TRAIN_MIN_NORMAL = 10
SEPARATE_TEST_MIN_NORMAL = 10
SEPARATE_TEST_MIN_ANOMALY = 10


class Labeled(Protocol):
    """Anything with a source-ref and a label (``normal``, ``anomaly`` or None)."""

    @property
    def source_ref(self) -> str: ...

    @property
    def label(self) -> str | None: ...


@dataclass(frozen=True)
class LabelCounts:
    """How many labelled images a dataset holds."""

    normal: int
    anomaly: int


def count_labels(entries: Sequence[Labeled]) -> LabelCounts:
    """Count normal and anomalous images; unlabeled images are ignored in training."""
    normal = sum(1 for e in entries if e.label == "normal")
    anomaly = sum(1 for e in entries if e.label == "anomaly")
    return LabelCounts(normal, anomaly)


def _need(have: int, want: int, what: str) -> str | None:
    return f"{what}: {have} < {want}" if have < want else None


def check_minimums(train: LabelCounts, test: LabelCounts | None) -> None:
    """Raise Conflict listing every unmet minimum, e.g. 'train normal images: 4 < 10'."""
    if test is None:
        gaps = [
            _need(train.normal, SINGLE_MIN_NORMAL, "normal images"),
            _need(train.anomaly, SINGLE_MIN_ANOMALY, "anomalous images"),
        ]
        kind = "a single-dataset project"
    else:
        gaps = [
            _need(train.normal, SEPARATE_TRAIN_MIN_NORMAL, "train normal images"),
            _need(test.normal, SEPARATE_TEST_MIN_NORMAL, "test normal images"),
            _need(test.anomaly, SEPARATE_TEST_MIN_ANOMALY, "test anomalous images"),
        ]
        kind = "a project with separate train and test datasets"
    missing = [g for g in gaps if g]
    if missing:
        raise Conflict(f"Not enough labeled images to train {kind} ({'; '.join(missing)}).")


def _bucket(source_ref: str, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}:{source_ref}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


T = TypeVar("T", bound=Labeled)


@dataclass(frozen=True)
class Split(Generic[T]):
    """Train (normal only), validation and test parts of the labelled images."""

    train: list[T]
    validation: list[T]
    test: list[T]


def split_single(entries: Sequence[T], seed: int = 0) -> Split[T]:
    """Split a single dataset: normals 70/10/20, anomalies 50/50 between validation and test."""
    train: list[T] = []
    validation: list[T] = []
    test: list[T] = []
    for entry in sorted(entries, key=lambda e: e.source_ref):
        u = _bucket(entry.source_ref, seed)
        if entry.label == "normal":
            (train if u < 0.7 else validation if u < 0.8 else test).append(entry)
        elif entry.label == "anomaly":
            (validation if u < 0.5 else test).append(entry)
    return Split(train, validation, test)


def split_separate(train_entries: Sequence[T], test_entries: Sequence[T]) -> Split[T]:
    """Separate datasets: train normals fit the model, train anomalies calibrate, test evaluates."""
    train = [e for e in train_entries if e.label == "normal"]
    validation = [e for e in train_entries if e.label == "anomaly"]
    test = [e for e in test_entries if e.label in ("normal", "anomaly")]
    return Split(train, validation, test)
