"""Naming and value rules from the Lookout for Vision API model (spec §2.2).

Each validator returns the normalised value or raises :class:`InvalidInput` naming the field
and the rule, so the same wording reaches API, CLI and SDK users.
"""

from __future__ import annotations

import re

from anomalens.domain.errors import InvalidInput

PROJECT_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_\-]*")
MODEL_VERSION = re.compile(r"[1-9][0-9]*|latest")
CLIENT_TOKEN = re.compile(r"[a-zA-Z0-9-]+")
DESCRIPTION = re.compile(r"[0-9A-Za-z.\-_ ]*")
TAG_TEXT = re.compile(r"[\w\s.:/=+\-@]*")
DATASET_TYPES = ("train", "test")
MAX_RESULTS_LIMIT = 100


def _check(value: str, pattern: re.Pattern[str], field: str, rule: str, max_len: int) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{field} is required ({rule}).", field=field)
    if len(value) > max_len:
        raise InvalidInput(f"{field} must have at most {max_len} characters (got {len(value)}).", field=field)
    if not pattern.fullmatch(value):
        raise InvalidInput(f"{field} {value!r} is invalid: {rule}.", field=field)
    return value


def project_name(value: str) -> str:
    """Validate a project name: 1-255 chars of a-z A-Z 0-9 - _, starting alphanumeric."""
    rule = "use 1-255 characters a-z, A-Z, 0-9, '-' and '_', starting with a letter or digit"
    return _check(value, PROJECT_NAME, "ProjectName", rule, 255)


def dataset_type(value: str) -> str:
    """Validate a dataset type (``train`` or ``test``)."""
    if value not in DATASET_TYPES:
        raise InvalidInput(f"DatasetType must be 'train' or 'test' (got {value!r}).", field="DatasetType")
    return value


def model_version(value: str, *, allow_latest: bool = True) -> str:
    """Validate a model version: a positive integer, or ``latest`` where allowed."""
    rule = "a positive integer" + (" or 'latest'" if allow_latest else " ('latest' is not allowed here)")
    checked = _check(str(value), MODEL_VERSION, "ModelVersion", rule, 10)
    if checked == "latest" and not allow_latest:
        raise InvalidInput(f"ModelVersion must be {rule}.", field="ModelVersion")
    return checked


def client_token(value: str | None) -> str | None:
    """Validate an idempotency token (1-64 chars of letters, digits, '-')."""
    if value is None:
        return None
    return _check(value, CLIENT_TOKEN, "ClientToken", "use 1-64 characters a-z, A-Z, 0-9 and '-'", 64)


def description(value: str | None) -> str | None:
    """Validate a model description (at most 500 chars of letters, digits, '.', '-', '_', space)."""
    if value is None or value == "":
        return None
    rule = "use letters, digits, spaces, '.', '-' and '_'"
    return _check(value, DESCRIPTION, "Description", rule, 500)


def max_results(value: int | None) -> int:
    """Validate a page size: 1-100, default 100."""
    if value is None:
        return MAX_RESULTS_LIMIT
    if not 1 <= value <= MAX_RESULTS_LIMIT:
        raise InvalidInput(f"MaxResults must be between 1 and {MAX_RESULTS_LIMIT} (got {value}).", field="MaxResults")
    return value


def tags(value: dict[str, str]) -> dict[str, str]:
    """Validate model tags: at most 200; keys 1-128 chars, values 0-256 chars."""
    if len(value) > 200:
        raise InvalidInput(f"Tags may hold at most 200 tags (got {len(value)}).", field="Tags")
    for key, val in value.items():
        _check(key, TAG_TEXT, "Tags.Key", "letters, digits, spaces and _ . : / = + - @", 128)
        if len(val) > 256 or not TAG_TEXT.fullmatch(val):
            raise InvalidInput(
                f"Tag value for {key!r} must be at most 256 characters of letters, digits, spaces and _ . : / = + - @.",
                field="Tags.Value",
            )
    return value


def inference_units(min_units: int, max_units: int | None, *, ceiling: int) -> tuple[int, int | None]:
    """Validate MinInferenceUnits/MaxInferenceUnits against each other and the configured ceiling."""
    if min_units < 1:
        raise InvalidInput(f"MinInferenceUnits must be at least 1 (got {min_units}).", field="MinInferenceUnits")
    if min_units > ceiling:
        raise InvalidInput(
            f"MinInferenceUnits must be at most {ceiling} on this server (got {min_units}).", field="MinInferenceUnits"
        )
    if max_units is not None:
        if max_units < min_units:
            raise InvalidInput(
                f"MaxInferenceUnits ({max_units}) must be >= MinInferenceUnits ({min_units}).",
                field="MaxInferenceUnits",
            )
        if max_units > ceiling:
            raise InvalidInput(
                f"MaxInferenceUnits must be at most {ceiling} on this server (got {max_units}).",
                field="MaxInferenceUnits",
            )
    return min_units, max_units
