"""Staging, workflow and batch-job commands (Anomalens' own names for the batch features)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from anomalens.cli.output import emit, errors, state, when
from anomalens.cli.resources import client
from anomalens.domain.staging import IMAGE_SUFFIXES, VIDEO_SUFFIXES

batches = typer.Typer(help="Stage images for batch processing (create, list, show, export).", no_args_is_help=True)
workflows = typer.Typer(help="Store and inspect workflow definitions.", no_args_is_help=True)
batch_jobs = typer.Typer(help="Run workflows over staged batches.", no_args_is_help=True)


@batches.command("create")
def batch_create(
    batch_id: str,
    images_dir: Annotated[Path | None, typer.Option(help="Folder of images to upload.")] = None,
    videos_dir: Annotated[Path | None, typer.Option(help="Folder of videos to upload.")] = None,
    references: Annotated[str | None, typer.Option(help="JSONL of {name, url} lines (path or URL).")] = None,
    source: Annotated[
        str | None, typer.Option(help="Cloud URI with optional glob, read by the server: s3://b/data/**/*.jpg")
    ] = None,
    videos: Annotated[bool, typer.Option("--videos", help="References or --source are videos.")] = False,
    notifications_url: Annotated[str | None, typer.Option(help="Webhook for ingest notifications.")] = None,
) -> None:
    """Create or extend a batch from a folder or a references file; rejected files are listed."""
    if sum(x is not None for x in (images_dir, videos_dir, references, source)) != 1:
        raise typer.BadParameter("give exactly one of --images-dir, --videos-dir, --references or --source")
    with errors(), client() as c:
        if images_dir is not None:
            paths = sorted(p for p in images_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            answer = c.upload_images(batch_id, paths)
            emit({"Accepted": len(answer["Accepted"]), "Rejected": answer["Rejected"]})
        elif videos_dir is not None:
            paths = sorted(p for p in videos_dir.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
            answer = c.upload_videos(batch_id, paths)
            emit({"Accepted": len(answer["Accepted"]), "Rejected": answer["Rejected"]})
        elif source is not None:
            emit(c.ingest_cloud(batch_id, source, content="videos" if videos else "images"))
        else:
            location = str(references) if "://" in str(references) else str(Path(str(references)).resolve())
            emit(c.ingest_references(batch_id, location, notifications_url, content="videos" if videos else "images"))


@batches.command("list")
def batch_list() -> None:
    """Live batches."""
    with errors(), client() as c:
        emit(
            [
                {
                    "Batch": b["BatchId"],
                    "Content": b["ContentType"],
                    "Type": b["BatchType"],
                    "Created": when(b["CreationTimestamp"]),
                    "Expires": when(b["ExpiryTimestamp"]),
                }
                for b in c.list_batches()
            ],
            title="Staging batches",
        )


@batches.command("delete")
def batch_delete(batch_id: str) -> None:
    """Delete a batch with its files (refused while a running job uses it)."""
    with errors(), client() as c:
        c.delete_batch(batch_id)
        emit({"Deleted": batch_id})


@batches.command("show")
def batch_show(batch_id: str) -> None:
    """A batch's counts and shards (with rejected files)."""
    with errors(), client() as c:
        batch = c.describe_batch(batch_id)
        if state.json:
            emit(batch)
            return
        emit({k: v for k, v in batch.items() if k != "Shards"})
        emit(
            [
                {
                    "Shard": s["ShardId"],
                    "Status": s["Status"],
                    "Files": s["ObjectsCount"],
                    "Rejected": len(s["Rejected"]),
                }
                for s in batch["Shards"]
            ],
            title="Shards",
        )


@batches.command("export")
def batch_export(batch_id: str, target_dir: Path) -> None:
    """Download every file of a batch (e.g. a job's output batch)."""
    with errors(), client() as c:
        emit({"Exported": c.export_batch(batch_id, target_dir), "To": str(target_dir)})


@workflows.command("save")
def workflow_save(workflow_id: str, definition: Path) -> None:
    """Store a workflow definition (JSON file) as a new version."""
    with errors(), client() as c:
        saved = c.save_workflow(workflow_id, json.loads(definition.read_text()))
        emit({"Workflow": saved["WorkflowId"], "Version": saved["Version"]})


@workflows.command("list")
def workflow_list() -> None:
    """Stored workflows (newest versions)."""
    with errors(), client() as c:
        emit(
            [
                {"Workflow": w["WorkflowId"], "Version": w["Version"], "Steps": len(w["Definition"]["steps"])}
                for w in c.list_workflows()
            ],
            title="Workflows",
        )


@batch_jobs.command("start")
def job_start(
    batch_id: str,
    workflow_id: str,
    job_id: Annotated[str | None, typer.Option(help="1-20 lowercase letters, digits, - and _.")] = None,
    aggregation: Annotated[str, typer.Option(help="jsonl or csv")] = "jsonl",
    save_images: Annotated[bool, typer.Option(help="Persist image outputs (overlays).")] = False,
    machine_type: Annotated[str, typer.Option(help="cpu (gpu needs a GPU on the server)")] = "cpu",
    max_failure_rate: Annotated[float | None, typer.Option(help="Fail the job above this image failure rate.")] = None,
    timeout: Annotated[int | None, typer.Option(help="Processing timeout in seconds.")] = None,
    notifications_url: Annotated[str | None, typer.Option(help="Webhook for the completion notification.")] = None,
    max_video_fps: Annotated[
        float | None, typer.Option(help="Videos: frames sampled per second (all without).")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until the job ends.")] = False,
) -> None:
    """Run a workflow over a staged batch (of images, or of videos frame by frame)."""
    definition = {
        "jobInput": {"type": "staging-batch-input-v1", "batchId": batch_id},
        "computeConfiguration": {"type": "compute-configuration-v2", "machineType": machine_type},
        "processingSpecification": {
            "type": "workflows-processing-specification-v1",
            "workspace": "anomalens",
            "workflowId": workflow_id,
            "aggregationFormat": aggregation,
            "persistImagesOutputs": save_images,
            "maxVideoFPS": max_video_fps,
        },
        "maxImageFailureRate": max_failure_rate,
        "processingTimeoutSeconds": timeout,
        "notificationsURL": notifications_url,
    }
    with errors(), client() as c:
        job = c.start_batch_job({k: v for k, v in definition.items() if v is not None}, job_id)
        if wait:
            job = c.wait_batch_job(job["JobId"])
        emit({k: job[k] for k in ("JobId", "Status", "InputBatch", "OutputBatch", "Notification")})


@batch_jobs.command("list")
def job_list() -> None:
    """Batch jobs."""
    with errors(), client() as c:
        emit(
            [
                {
                    "Job": j["JobId"],
                    "Status": j["Status"],
                    "Input": j["InputBatch"],
                    "Output": j["OutputBatch"],
                    "Tasks done": len(j["Tasks"]),
                }
                for j in c.list_batch_jobs()
            ],
            title="Batch jobs",
        )


@batch_jobs.command("show")
def job_show(job_id: str) -> None:
    """One batch job."""
    with errors(), client() as c:
        emit(c.get_batch_job(job_id))


@batch_jobs.command("abort")
def job_abort(job_id: str) -> None:
    """Abort a running job."""
    with errors(), client() as c:
        emit({"Status": c.abort_batch_job(job_id)["Status"]})


@batch_jobs.command("restart")
def job_restart(
    job_id: str,
    max_failure_rate: Annotated[float | None, typer.Option()] = None,
    timeout: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Restart a failed or aborted job (finished tasks are kept)."""
    overrides = {"maxImageFailureRate": max_failure_rate, "processingTimeoutSeconds": timeout}
    with errors(), client() as c:
        emit({"Status": c.restart_batch_job(job_id, **{k: v for k, v in overrides.items() if v is not None})["Status"]})


@batch_jobs.command("logs")
def job_logs(job_id: str) -> None:
    """A job's log entries."""
    with errors(), client() as c:
        emit(
            [
                {
                    "At": when(e["Timestamp"]),
                    "Severity": e["Severity"],
                    "Task": e["TaskId"],
                    "Type": e["Type"],
                    "Payload": e["Payload"],
                }
                for e in c.batch_job_logs(job_id)
            ],
            title=f"Logs of {job_id}",
        )
