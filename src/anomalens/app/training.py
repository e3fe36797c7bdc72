"""Training use case (CreateModel, spec §2.3.10) and the durable training job.

``create_model`` checks the preconditions at once (datasets complete, §3.6 minimums), honours
the ClientToken (a repeated call replays the first answer and never trains twice) and queues
the job. The job splits the data (``domain.training``), calls the vision engine, evaluates on
the test part, writes the artifact and the evaluation files, and commits the model as TRAINED
together with the job's completion. A retried attempt writes under its own prefix; only the
committed one is ever referenced.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from anomalens import vision
from anomalens.app import evaluation_files
from anomalens.app.context import Platform
from anomalens.domain import names, training
from anomalens.domain.entities import Entry, Model
from anomalens.domain.errors import Conflict, InvalidInput, NotFound
from anomalens.domain.statuses import USABLE_DATASET, DatasetStatus, ModelStatus, model_transition
from anomalens.jobs import queue
from anomalens.jobs.worker import JobContext
from anomalens.store.idempotency import IdempotencyRepository
from anomalens.store.models import ModelRepository
from anomalens.store.projects import ProjectRepository

TRAIN_JOB = "train-model"
DEFAULT_BACKBONE = vision.TrainConfig().backbone


def _usable_entries(repo: ProjectRepository, project: str, dataset_type: str) -> list[Entry] | None:
    try:
        row = repo.dataset_row(project, dataset_type)
    except NotFound:
        return None
    if DatasetStatus(row.status) not in USABLE_DATASET:
        raise Conflict(f"The {dataset_type} dataset is {row.status}; it must be complete before training.")
    return list(repo.list_entries(row))


def _check_ready(repo: ProjectRepository, project: str) -> tuple[list[Entry], list[Entry] | None]:
    train = _usable_entries(repo, project, "train")
    if train is None:
        raise Conflict(f"Project {project!r} has no train dataset; create one before training.")
    test = _usable_entries(repo, project, "test")
    training.check_minimums(training.count_labels(train), training.count_labels(test) if test is not None else None)
    return train, test


def create_model(
    p: Platform,
    project: str,
    *,
    description: str | None = None,
    tags: dict[str, str] | None = None,
    client_token: str | None = None,
    algorithm: str = "auto",
    backbone: str | None = None,
    training_options: dict[str, Any] | None = None,
    output_prefix: str | None = None,
) -> tuple[Model, int]:
    """Start training a new model version (idempotent per ClientToken); returns it and its job id."""
    names.project_name(project)
    names.description(description)
    names.client_token(client_token)
    names.tags(tags or {})
    backbone = DEFAULT_BACKBONE if backbone is None else backbone
    options = _checked_options(algorithm, backbone, training_options or {})
    params: dict[str, Any] = {
        "project": project,
        "description": description,
        "tags": tags or {},
        "algorithm": algorithm,
        "output_prefix": output_prefix,
    }
    # only when set, so a retry of a request made before these fields existed still replays
    params |= {"backbone": backbone} if backbone != DEFAULT_BACKBONE else {}
    params |= {"training_options": options} if options else {}
    with p.db.unit_of_work() as s:
        idem = IdempotencyRepository(s)
        if client_token and (replay := idem.replay("CreateModel", client_token, params)) is not None:
            return _model(s, project, int(replay["version"])), int(replay["job_id"])
        repo = ProjectRepository(s)
        prow = repo.project_row(project, lock=True)
        _check_ready(repo, project)
        models = ModelRepository(s)
        prefix = output_prefix or f"projects/{project}/models/{{version}}/output"
        details = {"algorithm": algorithm, "backbone": backbone, "training_options": options}
        row = models.add(prow, description=description, output_prefix=prefix, details=details)
        models.set_tags(row, tags or {})
        job_id = queue.enqueue(s, TRAIN_JOB, {"project": project, "version": row.version} | details)
        if client_token:
            idem.remember("CreateModel", client_token, params, {"version": row.version, "job_id": job_id})
        return models.to_model(row, project), job_id


def _sentence(exc: Exception) -> str:
    text = str(exc)
    return f"{text[:1].upper()}{text[1:]}."


#: The request field behind each part of a training configuration the engine can refuse.
_CONFIG_FIELDS = {"algorithm": "Algorithm", "seed": "Seed", "backbone": "Backbone", "option": "TrainingOptions"}


def _checked_options(algorithm: str, backbone: str, training_options: dict[str, Any]) -> dict[str, Any]:
    """The engine's own checks, each reported against the request field it concerns; the options as checked.

    A backbone with a weights path (``name:/path``) is the engine's way to load a user's file on
    the machine that trains; over the API that would let a caller probe the server's files, so
    only registry names are accepted here.
    """
    if ":" in backbone:
        raise InvalidInput(
            f"Backbone must be a registry name, not a weights path (got {backbone!r}).", field="Backbone"
        )
    config = vision.TrainConfig(algorithm=algorithm, backbone=backbone, extra=training_options)
    try:
        resolved = vision.check_config(config)
    except vision.ConfigError as exc:
        raise InvalidInput(_sentence(exc), field=_CONFIG_FIELDS[exc.part]) from None
    return {name: resolved[name] for name in training_options}  # 512.0 -> 512, as the engine reads it


def _model(s: Session, project: str, version: int) -> Model:
    repo = ModelRepository(s)
    return repo.to_model(repo.row(ProjectRepository(s).project_row(project), version), project)


def _calibration_source(meta: dict[str, Any]) -> str:
    """Which images set the threshold, in words (from the engine's ``model.json``)."""
    counts = meta.get("training") or {}
    normals = []
    if counts.get("validation_normals"):
        normals.append(f"{counts['validation_normals']} validation normals")
    if counts.get("cross_fit_folds"):
        chosen_on = f" (the blend chosen on {counts['cross_fit_folds']} folds)" if meta.get("blend") else ""
        normals.append(f"{counts['images']} training normals, each scored by the model without it{chosen_on}")
    if counts.get("held_out_normals"):
        normals.append(f"{counts['held_out_normals']} held-out training normals")
    source = " and ".join(normals) or "no normal images"
    if (meta.get("calibration") or {}).get("rule") == "f1-optimal-validation":
        return f"F1-optimal on {counts.get('validation_anomalous', 0)} anomalous validation images against {source}"
    return f"low false-positive rule on {source}"


def _labeled(p: Platform, entry: Entry) -> vision.LabeledImage:
    image = vision.decode_image(p.blobs.get_bytes(entry.blob_key))
    mask = (
        vision.decode_mask(p.blobs.get_bytes(entry.mask_key), (image.shape[1], image.shape[0]))
        if entry.mask_key
        else None
    )
    return vision.LabeledImage(image, entry.label == "anomaly", mask, key=entry.source_ref)


class TrainingHandler:
    """Runs ``train-model`` jobs."""

    kind = TRAIN_JOB

    def __init__(self, platform: Platform) -> None:
        self.p = platform

    def _load(self, payload: dict[str, Any]) -> tuple[training.Split[Entry], int]:
        with self.p.db.unit_of_work() as s:
            repo = ProjectRepository(s)
            row = ModelRepository(s).row(repo.project_row(payload["project"]), payload["version"])
            if ModelStatus(row.status) is not ModelStatus.TRAINING:
                raise Conflict(f"Model version {payload['version']} is {row.status}, not TRAINING.")
            row.status_message = "Training in progress."
            train, test = _check_ready(repo, payload["project"])
        split = training.split_single(train) if test is None else training.split_separate(train, test)
        return split, len(split.train)

    def run(self, ctx: JobContext) -> None:
        """Split, fit, evaluate, store, commit."""
        payload = ctx.payload
        project, version = payload["project"], int(payload["version"])
        started = time.time()
        split, n_train = self._load(payload)
        ctx.progress(0.02, f"Loading {n_train} training images.")
        train_images = [vision.decode_image(self.p.blobs.get_bytes(e.blob_key)) for e in split.train]
        val = [_labeled(self.p, e) for e in split.validation]
        test = [_labeled(self.p, e) for e in split.test]
        config = vision.TrainConfig(
            algorithm=payload.get("algorithm", "auto"),
            backbone=payload.get("backbone") or DEFAULT_BACKBONE,
            seed=0,
            extra=payload.get("training_options") or {},
        )
        with tempfile.TemporaryDirectory(dir=self.p.cache_dir) as tmp:
            artifact = vision.fit(
                train_images, val, config, Path(tmp) / "model", progress=lambda f, m: ctx.progress(0.05 + 0.75 * f, m)
            )
            ctx.progress(0.82, f"Evaluating on {len(test)} test images.")
            evaluation = vision.evaluate(vision.load(artifact.path, threads=2), test)
            ctx.progress(0.95, "Writing the artifact and evaluation files.")
            prefix = f"projects/{project}/models/{version}/artifact-{ctx.job.attempts}"
            self.p.blobs.put_dir(artifact.path, prefix)
            meta = artifact.meta
        self._commit(ctx, project, version, prefix, evaluation, meta, split, time.time() - started)

    def _commit(
        self,
        ctx: JobContext,
        project: str,
        version: int,
        prefix: str,
        evaluation: vision.Evaluation,
        meta: dict[str, Any],
        split: training.Split[Entry],
        seconds: float,
    ) -> None:
        now = time.time()
        with self.p.db.unit_of_work() as s:
            models = ModelRepository(s)
            row = models.row(ProjectRepository(s).project_row(project), version)
            out = row.output_prefix
            manifest_key = f"{out}/EvaluationManifest-{project}-{version}.json"
            result_key = f"{out}/EvaluationResult-{project}-{version}.json"
            entries = {e.source_ref: e for e in split.test}
            self.p.blobs.put_bytes(
                manifest_key, evaluation_files.manifest_lines(project, version, evaluation, entries, now).encode()
            )
            self.p.blobs.put_bytes(
                result_key,
                json.dumps(
                    evaluation_files.result_document(project, version, evaluation, len(split.train), now), indent=2
                ).encode(),
            )
            model_transition(ModelStatus(row.status), ModelStatus.TRAINED, what=f"Model version {version}")
            models.set_status(row, ModelStatus.TRAINED, "Training completed successfully.")
            row.performance = {"f1": evaluation.f1, "precision": evaluation.precision, "recall": evaluation.recall}
            row.artifact_key, row.evaluation_manifest_key, row.evaluation_result_key = prefix, manifest_key, result_key
            row.evaluation_end = now
            row.details = dict(row.details) | {
                "algorithm": meta.get("algorithm"),
                "blend": meta.get("blend"),
                "backbone": meta.get("backbone"),
                "input_size": [meta["input"]["height"], meta["input"]["width"]],
                "threshold": evaluation.threshold,
                "threshold_calibration": _calibration_source(meta),
                "image_auroc": evaluation.image_auroc,
                "pixel_auroc": evaluation.pixel_auroc,
                "aupro": evaluation.aupro,
                "training_seconds": round(seconds, 2),
                "training_images": len(split.train),
                "validation_images": len(split.validation),
                "test_images": len(split.test),
            }
            ctx.finish(s, {"project": project, "version": version}, "Training completed successfully.")
        for attempt in range(1, ctx.job.attempts):
            self.p.blobs.delete_prefix(f"projects/{project}/models/{version}/artifact-{attempt}")

    def give_up(self, session: Session, payload: dict[str, Any], message: str) -> None:
        """Mark the model TRAINING_FAILED with the reason."""
        try:
            row = ModelRepository(session).row(
                ProjectRepository(session).project_row(payload["project"]), payload["version"]
            )
        except NotFound:
            return
        if ModelStatus(row.status) is ModelStatus.TRAINING:
            ModelRepository.set_status(row, ModelStatus.TRAINING_FAILED, message)
