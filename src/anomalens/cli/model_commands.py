"""Model and job commands."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from anomalens.cli.output import emit, errors, state, when
from anomalens.cli.resources import Wait, _wait_job, client, jobs, models


def _perf(m: dict[str, Any]) -> dict[str, Any]:
    perf = m.get("Performance") or {}
    return {
        "Version": m["ModelVersion"],
        "Status": m["Status"],
        "F1": perf.get("F1Score"),
        "Precision": perf.get("Precision"),
        "Recall": perf.get("Recall"),
        "Created": when(m["CreationTimestamp"]),
        "Message": m.get("StatusMessage"),
    }


def _parse_tags(tags: list[str]) -> dict[str, str]:
    out = {}
    for item in tags:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"tag {item!r} must look like key=value")
        out[key] = value
    return out


def _parse_options(items: list[str]) -> dict[str, int | float]:
    """``name=number`` pairs; the server checks names and ranges, this only reads numbers."""
    out: dict[str, int | float] = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            number = int(value) if value.strip().lstrip("-").isdigit() else float(value)
        except ValueError:
            number = math.nan
        if not sep or not key or not math.isfinite(number):
            raise typer.BadParameter(f"option {item!r} must look like name=number (a finite number)")
        out[key] = number
    return out


@models.command("train")
def model_train(
    project: str,
    description: Annotated[str | None, typer.Option(help="Free text (letters, digits, . - _ space).")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="key=value, repeatable.")] = None,
    client_token: Annotated[str | None, typer.Option(help="Idempotency token: a retry never trains twice.")] = None,
    algorithm: Annotated[str, typer.Option(help="auto (= ensemble) | patchcore | padim")] = "auto",
    backbone: Annotated[
        str | None, typer.Option(help="efficientnet-lite0 (default) | efficientnet-lite1 | efficientnet-lite2")
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(help="Training option NAME=NUMBER, repeatable (e.g. long_side=512 for small defects)."),
    ] = None,
    wait: Wait = False,
) -> None:
    """Train a new model version from the project's datasets."""
    with errors(), client() as c:
        answer = c.create_model(
            project,
            description=description,
            tags=_parse_tags(tag or []),
            client_token=client_token,
            algorithm=algorithm,
            backbone=backbone,
            training_options=_parse_options(option or []) or None,
        )
        meta = answer["ModelMetadata"]
        if wait:
            _wait_job(c, answer["JobId"], f"Training v{meta['ModelVersion']}")
            meta = c.describe_model(project, meta["ModelVersion"])
        emit(meta if state.json else _perf(meta))


@models.command("list")
def model_list(project: str) -> None:
    """List model versions with their metrics."""
    with errors(), client() as c:
        emit(
            [_perf(m) for m in c.list_models(project)],
            ["Version", "Status", "F1", "Precision", "Recall", "Created"],
            title=f"Models of {project}",
        )


@models.command("describe")
def model_describe(project: str, version: Annotated[str, typer.Argument()] = "latest") -> None:
    """Show a model version: status, metrics, evaluation files, hosting."""
    with errors(), client() as c:
        desc = c.describe_model(project, version)
        if state.json:
            emit(desc)
            return
        details = desc.get("Details", {})
        row = _perf(desc) | {
            "Algorithm": details.get("algorithm"),
            "Backbone": details.get("backbone"),
            "InputSize": "x".join(str(n) for n in details.get("input_size") or []) or None,
            "TrainingOptions": details.get("training_options") or None,
            "ThresholdCalibration": details.get("threshold_calibration"),
            "ImageAUROC": details.get("image_auroc"),
            "PixelAUROC": details.get("pixel_auroc"),
            "TrainingSeconds": details.get("training_seconds"),
            "TestImages": details.get("test_images"),
            "EvaluationManifest": (desc.get("EvaluationManifest") or {}).get("Uri"),
            "EvaluationResult": (desc.get("EvaluationResult") or {}).get("Uri"),
            "InferenceUnits": f"{desc.get('InServiceInferenceUnits', '-')} in service / "
            f"{desc.get('DesiredInferenceUnits', '-')} desired "
            f"(min {desc.get('MinInferenceUnits', '-')}, max {desc.get('MaxInferenceUnits', '-')})",
            "Tags": desc.get("Tags"),
        }
        emit(row)


@models.command("start")
def model_start(
    project: str,
    version: str,
    min_units: Annotated[int, typer.Option("--min-units")] = 1,
    max_units: Annotated[int | None, typer.Option("--max-units")] = None,
    wait: Wait = False,
) -> None:
    """Host a model version on inference units."""
    with errors(), client() as c:
        status = c.start_model(project, version, min_units, max_units)
        if wait:
            status = c.wait_model(project, version, until={"HOSTED", "HOSTING_FAILED"}, timeout=600)["Status"]
        emit({"Status": status})
        if status == "HOSTING_FAILED":
            raise typer.Exit(1)


@models.command("stop")
def model_stop(project: str, version: str, wait: Wait = False) -> None:
    """Stop hosting a model version."""
    with errors(), client() as c:
        status = c.stop_model(project, version)
        if wait:
            status = c.wait_model(project, version, until={"TRAINED"}, timeout=600)["Status"]
        emit({"Status": status})


@models.command("detect")
def model_detect(project: str, version: str, images: list[Path]) -> None:
    """Run DetectAnomalies on one or more PNG/JPEG files (each reported on its own)."""
    failed = False
    results = []
    with client() as c:
        for path in images:
            with errors():
                try:
                    res = c.detect_anomalies(project, version, path.read_bytes())
                    results.append(
                        {
                            "Image": str(path),
                            "IsAnomalous": res["IsAnomalous"],
                            "Confidence": res["Confidence"],
                            "Result": res,
                        }
                    )
                except OSError as exc:
                    results.append({"Image": str(path), "Error": str(exc)})
                    failed = True
    if state.json:
        emit(results)
    else:
        emit([{k: v for k, v in r.items() if k != "Result"} for r in results], title="DetectAnomalies")
    if failed:
        raise typer.Exit(1)


@models.command("delete")
def model_delete(project: str, version: str) -> None:
    """Delete a model version (not while training or hosted)."""
    with errors(), client() as c:
        emit(c.delete_model(project, version))


@models.command("tag")
def model_tag(project: str, version: str, tag: list[str]) -> None:
    """Add or overwrite tags (key=value)."""
    with errors(), client() as c:
        arn = c.describe_model(project, version)["ModelArn"]
        c.tag_model(arn, _parse_tags(tag))
        emit(c.list_tags(arn))


@models.command("untag")
def model_untag(project: str, version: str, key: list[str]) -> None:
    """Remove tags by key."""
    with errors(), client() as c:
        arn = c.describe_model(project, version)["ModelArn"]
        c.untag_model(arn, key)
        emit(c.list_tags(arn))


@jobs.command("list")
def job_list() -> None:
    """Recent background jobs."""
    with errors(), client() as c:
        emit(
            [
                {
                    "Job": j["JobId"],
                    "Kind": j["Kind"],
                    "Status": j["Status"],
                    "Progress": j["Progress"],
                    "Message": j["Message"],
                }
                for j in c.list_jobs()
            ],
            title="Jobs",
        )


@jobs.command("show")
def job_show(job_id: int, wait: Wait = False) -> None:
    """Show one job (optionally wait for it with a progress bar)."""
    with errors(), client() as c:
        emit(_wait_job(c, job_id, f"Job {job_id}") if wait else c.get_job(job_id))
