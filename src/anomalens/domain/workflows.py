"""Workflow definitions, shaped like Roboflow Workflows JSON with Anomalens step types.

A definition has ``version``, ``inputs`` (one image input), ``steps`` and ``outputs`` whose
``selector`` values point at ``$inputs.<name>`` or ``$steps.<step>.<field>``. Validation names
the step and the field that break a rule.
"""

from __future__ import annotations

import re
from typing import Any

from anomalens.domain.errors import InvalidInput

WORKFLOW_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
JOB_ID = re.compile(r"[a-z0-9_-]{1,20}")
SELECTOR = re.compile(r"\$(inputs)\.([A-Za-z0-9_]+)|\$steps\.([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)")

#: step type -> (required parameters, the fields it outputs)
STEP_TYPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "anomalens/detect_anomalies": (
        ("image", "project", "model_version"),
        ("is_anomalous", "confidence", "score", "predictions"),
    ),
    "anomalens/threshold_filter": (("predictions",), ("passed",)),
    "anomalens/anomaly_overlay": (("image", "predictions"), ("image",)),
}


def workflow_id(value: str) -> str:
    """Lowercase letters, digits, '-' and '_', starting alphanumeric, at most 64 characters."""
    if not isinstance(value, str) or not WORKFLOW_ID.fullmatch(value):
        raise InvalidInput(
            f"workflow id {value!r} is invalid: use 1-64 lowercase letters, digits, '-' and '_'.", field="workflowId"
        )
    return value


def job_id(value: str) -> str:
    """Batch job ids: lowercase letters, digits, '-' and '_', at most 20 characters."""
    if not isinstance(value, str) or not JOB_ID.fullmatch(value):
        raise InvalidInput(
            f"job id {value!r} is invalid: use 1-20 lowercase letters, digits, '-' and '_'.", field="jobId"
        )
    return value


def _selector(value: Any, where: str, inputs: set[str], outputs: dict[str, tuple[str, ...]]) -> None:
    match = SELECTOR.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidInput(
            f"{where} must be a selector like $inputs.image or $steps.<step>.<field> (got {value!r}).", field=where
        )
    if match.group(1) and match.group(2) not in inputs:
        raise InvalidInput(f"{where} refers to unknown input {match.group(2)!r}.", field=where)
    if match.group(3):
        step, out = match.group(3), match.group(4)
        if step not in outputs:
            raise InvalidInput(f"{where} refers to step {step!r}, which is not defined before it.", field=where)
        if out not in outputs[step]:
            raise InvalidInput(
                f"{where}: step {step!r} has no output {out!r} (it has {', '.join(outputs[step])}).", field=where
            )


def validate(definition: dict[str, Any]) -> dict[str, Any]:
    """Check a definition; returns it unchanged or raises InvalidInput naming step and field."""
    if not isinstance(definition, dict):
        raise InvalidInput("the workflow definition must be a JSON object.", field="definition")
    inputs = definition.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise InvalidInput("definition.inputs must list at least one image input.", field="inputs")
    input_names = {str(i.get("name")) for i in inputs if isinstance(i, dict)}
    steps = definition.get("steps")
    if not isinstance(steps, list) or not steps:
        raise InvalidInput("definition.steps must list at least one step.", field="steps")
    outputs: dict[str, tuple[str, ...]] = {}
    for n, step in enumerate(steps):
        where = f"steps[{n}]"
        if not isinstance(step, dict) or not isinstance(step.get("name"), str) or not step["name"]:
            raise InvalidInput(f"{where} needs a name.", field=f"{where}.name")
        kind = step.get("type")
        if kind not in STEP_TYPES:
            raise InvalidInput(
                f"{where} ({step['name']}): unknown type {kind!r}; use one of {', '.join(STEP_TYPES)}.",
                field=f"{where}.type",
            )
        required, produced = STEP_TYPES[kind]
        for param in required:
            if param not in step:
                raise InvalidInput(f"{where} ({step['name']}): '{param}' is required.", field=f"{where}.{param}")
        for param in ("image", "predictions"):
            if param in step:
                _selector(step[param], f"{where}.{param}", input_names, outputs)
        outputs[step["name"]] = produced
    for n, out in enumerate(definition.get("outputs") or []):
        if not isinstance(out, dict) or not out.get("name"):
            raise InvalidInput(f"outputs[{n}] needs a name.", field=f"outputs[{n}].name")
        _selector(out.get("selector"), f"outputs[{n}].selector", input_names, outputs)
    return definition
