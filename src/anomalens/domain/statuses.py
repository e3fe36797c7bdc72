"""Statuses of datasets, models and jobs, and the transitions each allows (spec §1.3.1, §1.5.1).

Every status change in the platform goes through :func:`transition`, so an illegal move
(for example hosting a model that is still training) is refused in one place.
"""

from __future__ import annotations

from enum import StrEnum

from anomalens.domain.errors import Conflict


class DatasetStatus(StrEnum):
    """Lookout for Vision ``DatasetStatus``."""

    CREATE_IN_PROGRESS = "CREATE_IN_PROGRESS"
    CREATE_COMPLETE = "CREATE_COMPLETE"
    CREATE_FAILED = "CREATE_FAILED"
    UPDATE_IN_PROGRESS = "UPDATE_IN_PROGRESS"
    UPDATE_COMPLETE = "UPDATE_COMPLETE"
    UPDATE_FAILED_ROLLBACK_IN_PROGRESS = "UPDATE_FAILED_ROLLBACK_IN_PROGRESS"
    UPDATE_FAILED_ROLLBACK_COMPLETE = "UPDATE_FAILED_ROLLBACK_COMPLETE"
    DELETE_IN_PROGRESS = "DELETE_IN_PROGRESS"
    DELETE_COMPLETE = "DELETE_COMPLETE"
    DELETE_FAILED = "DELETE_FAILED"


class ModelStatus(StrEnum):
    """Lookout for Vision ``ModelStatus``."""

    TRAINING = "TRAINING"
    TRAINED = "TRAINED"
    TRAINING_FAILED = "TRAINING_FAILED"
    STARTING_HOSTING = "STARTING_HOSTING"
    HOSTED = "HOSTED"
    HOSTING_FAILED = "HOSTING_FAILED"
    STOPPING_HOSTING = "STOPPING_HOSTING"
    SYSTEM_UPDATING = "SYSTEM_UPDATING"
    DELETING = "DELETING"


class JobStatus(StrEnum):
    """Lifecycle of a durable job row."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


D, M = DatasetStatus, ModelStatus

_DATASET_MOVES: dict[DatasetStatus, frozenset[DatasetStatus]] = {
    D.CREATE_IN_PROGRESS: frozenset({D.CREATE_COMPLETE, D.CREATE_FAILED}),
    D.CREATE_COMPLETE: frozenset({D.UPDATE_IN_PROGRESS, D.DELETE_IN_PROGRESS}),
    D.CREATE_FAILED: frozenset({D.DELETE_IN_PROGRESS}),
    D.UPDATE_IN_PROGRESS: frozenset({D.UPDATE_COMPLETE, D.UPDATE_FAILED_ROLLBACK_IN_PROGRESS}),
    D.UPDATE_COMPLETE: frozenset({D.UPDATE_IN_PROGRESS, D.DELETE_IN_PROGRESS}),
    D.UPDATE_FAILED_ROLLBACK_IN_PROGRESS: frozenset({D.UPDATE_FAILED_ROLLBACK_COMPLETE}),
    D.UPDATE_FAILED_ROLLBACK_COMPLETE: frozenset({D.UPDATE_IN_PROGRESS, D.DELETE_IN_PROGRESS}),
    D.DELETE_IN_PROGRESS: frozenset({D.DELETE_COMPLETE, D.DELETE_FAILED}),
    D.DELETE_FAILED: frozenset({D.DELETE_IN_PROGRESS}),
    D.DELETE_COMPLETE: frozenset(),
}

_MODEL_MOVES: dict[ModelStatus, frozenset[ModelStatus]] = {
    M.TRAINING: frozenset({M.TRAINED, M.TRAINING_FAILED}),
    M.TRAINED: frozenset({M.STARTING_HOSTING, M.DELETING}),
    M.TRAINING_FAILED: frozenset({M.DELETING}),
    M.STARTING_HOSTING: frozenset({M.HOSTED, M.HOSTING_FAILED, M.STOPPING_HOSTING}),
    M.HOSTED: frozenset({M.STOPPING_HOSTING, M.SYSTEM_UPDATING, M.HOSTING_FAILED}),
    M.SYSTEM_UPDATING: frozenset({M.HOSTED, M.HOSTING_FAILED}),
    M.HOSTING_FAILED: frozenset({M.STARTING_HOSTING, M.DELETING}),
    M.STOPPING_HOSTING: frozenset({M.TRAINED}),
    M.DELETING: frozenset(),
}

#: Datasets whose content may be used for training or export.
USABLE_DATASET = frozenset({D.CREATE_COMPLETE, D.UPDATE_COMPLETE, D.UPDATE_FAILED_ROLLBACK_COMPLETE})
#: Datasets that a background job is still changing.
BUSY_DATASET = frozenset(
    {D.CREATE_IN_PROGRESS, D.UPDATE_IN_PROGRESS, D.UPDATE_FAILED_ROLLBACK_IN_PROGRESS, D.DELETE_IN_PROGRESS}
)
#: Models that hold inference units (or are about to).
RUNNING_MODEL = frozenset({M.STARTING_HOSTING, M.HOSTED, M.STOPPING_HOSTING, M.SYSTEM_UPDATING})


def dataset_transition(current: DatasetStatus, target: DatasetStatus, *, what: str) -> DatasetStatus:
    """Return ``target`` if a dataset may move there from ``current``; else raise Conflict."""
    if target not in _DATASET_MOVES[current]:
        raise Conflict(f"{what} is {current.value}; it cannot become {target.value}.")
    return target


def model_transition(current: ModelStatus, target: ModelStatus, *, what: str) -> ModelStatus:
    """Return ``target`` if a model may move there from ``current``; else raise Conflict."""
    if target not in _MODEL_MOVES[current]:
        raise Conflict(f"{what} is {current.value}; it cannot become {target.value}.")
    return target
