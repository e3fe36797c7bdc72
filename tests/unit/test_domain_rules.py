"""Domain rules: names, state machines, minimum counts and the deterministic split."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from anomalens.app import pagination
from anomalens.domain import names, training
from anomalens.domain.errors import Conflict, InvalidInput
from anomalens.domain.statuses import DatasetStatus, ModelStatus, dataset_transition, model_transition


@pytest.mark.parametrize("good", ["a", "Pcb-1", "9_x", "A" * 255])
def test_project_names_accepted(good: str) -> None:
    assert names.project_name(good) == good


@pytest.mark.parametrize("bad", ["", "-lead", "_lead", "has space", "ünï", "A" * 256, "x/y"])
def test_project_names_refused_with_field(bad: str) -> None:
    with pytest.raises(InvalidInput) as info:
        names.project_name(bad)
    assert info.value.field == "ProjectName"


def test_model_version_latest_only_where_allowed() -> None:
    assert names.model_version("latest") == "latest"
    assert names.model_version("12") == "12"
    with pytest.raises(InvalidInput):
        names.model_version("latest", allow_latest=False)
    with pytest.raises(InvalidInput):
        names.model_version("0")


def test_inference_units_rules() -> None:
    assert names.inference_units(1, 3, ceiling=4) == (1, 3)
    for lo, hi in ((0, None), (3, 2), (5, None), (1, 9)):
        with pytest.raises(InvalidInput):
            names.inference_units(lo, hi, ceiling=4)


def test_max_results_bounds() -> None:
    assert names.max_results(None) == 100
    with pytest.raises(InvalidInput, match="MaxResults"):
        names.max_results(101)


def test_model_state_machine() -> None:
    assert model_transition(ModelStatus.TRAINED, ModelStatus.STARTING_HOSTING, what="m") is ModelStatus.STARTING_HOSTING
    with pytest.raises(Conflict, match="TRAINING"):
        model_transition(ModelStatus.TRAINING, ModelStatus.STARTING_HOSTING, what="m")
    with pytest.raises(Conflict):
        model_transition(ModelStatus.HOSTED, ModelStatus.DELETING, what="m")


def test_dataset_state_machine() -> None:
    dataset_transition(DatasetStatus.CREATE_COMPLETE, DatasetStatus.UPDATE_IN_PROGRESS, what="d")
    with pytest.raises(Conflict):
        dataset_transition(DatasetStatus.CREATE_IN_PROGRESS, DatasetStatus.UPDATE_IN_PROGRESS, what="d")


@dataclass(frozen=True)
class _E:
    source_ref: str
    label: str | None


def _entries(normal: int, anomaly: int, unlabeled: int = 0) -> list[_E]:
    return (
        [_E(f"n{i}", "normal") for i in range(normal)]
        + [_E(f"a{i}", "anomaly") for i in range(anomaly)]
        + [_E(f"u{i}", None) for i in range(unlabeled)]
    )


def test_minimums_single_and_separate() -> None:
    training.check_minimums(training.count_labels(_entries(20, 10)), None)
    with pytest.raises(Conflict, match="anomalous images: 9 < 10"):
        training.check_minimums(training.count_labels(_entries(20, 9)), None)
    training.check_minimums(training.count_labels(_entries(10, 0)), training.count_labels(_entries(10, 10)))
    with pytest.raises(Conflict, match="test anomalous images: 3 < 10"):
        training.check_minimums(training.count_labels(_entries(10, 0)), training.count_labels(_entries(10, 3)))


def test_single_split_is_deterministic_and_keeps_anomalies_out_of_training() -> None:
    entries = _entries(100, 40, unlabeled=5)
    a, b = training.split_single(entries), training.split_single(list(reversed(entries)))
    assert a == b
    assert all(e.label == "normal" for e in a.train)
    assert {e.label for e in a.validation} == {e.label for e in a.test} == {"normal", "anomaly"}
    assert len(a.train) + len(a.validation) + len(a.test) == 140
    assert not set(map(id, a.validation)) & set(map(id, a.test))


def test_pagination_tokens_round_trip_and_reject_garbage() -> None:
    assert pagination.decode(pagination.encode(300)) == 300
    assert pagination.next_token(0, 101, 100) == pagination.encode(100)
    assert pagination.next_token(0, 100, 100) is None
    with pytest.raises(InvalidInput, match="NextToken"):
        pagination.decode("bm9wZQ==")
