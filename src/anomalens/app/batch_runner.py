"""The batch-processing runner: a durable job that streams a staging batch through a workflow.

Tasks are the input batch's shards. Each task streams its files page by page into a process
pool of model workers (one ONNX Runtime thread each, as many workers as cores by default), so
memory stays bounded whatever the batch size. A task's results file and its ``done`` mark are
committed together, so after a crash the retried job skips finished tasks and never writes an
output line twice. Abort, the processing timeout and the maximum image failure rate are checked
between pages.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from anomalens import vision
from anomalens.app import notifications, workflow_exec
from anomalens.app.artifacts import trained_artifact
from anomalens.app.batch_jobs import RUN_JOB, TERMINAL, VIDEO_JOB, find_job, log
from anomalens.app.context import Platform
from anomalens.app.staged_files import file_row
from anomalens.app.staging_sources import batch_ttl
from anomalens.domain import staging
from anomalens.jobs.worker import JobContext
from anomalens.store.batch_rows import BatchJobRow, WorkflowRow
from anomalens.store.staging import StagingRepository
from anomalens.store.staging_rows import StagingFileRow

PAGE = 64
#: Decoded video frames waiting for or in the pool; a 1080p RGB frame is 6 MB, so this bounds
#: the runner's frame memory to about 100 MB whatever the video's length or resolution.
FRAMES_IN_FLIGHT = 16


class JobStopped(Exception):
    """The job was aborted, timed out or exceeded its failure rate."""


def _aggregate(rows: list[dict[str, Any]], fmt: str) -> bytes:
    if fmt == "csv":
        columns = sorted({k for r in rows for k in r} - {"file_name"})
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["file_name", *columns])
        for r in rows:
            writer.writerow(
                [
                    r["file_name"],
                    *(json.dumps(r[c]) if isinstance(r.get(c), dict | list) else r.get(c) for c in columns),
                ]
            )
        return out.getvalue().encode()
    return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows).encode()


class BatchRunHandler:
    """Runs ``batch-process`` jobs."""

    kind = RUN_JOB

    def __init__(self, platform: Platform) -> None:
        self.p = platform

    def _setup(self, job_id: str) -> tuple[BatchJobRow, dict[str, Any], dict[str, str]]:
        with self.p.db.unit_of_work() as s:
            job = find_job(s, job_id)
            workflow = s.scalars(
                select(WorkflowRow).where(
                    WorkflowRow.workflow_id == job.workflow_id, WorkflowRow.version == job.workflow_version
                )
            ).one()
            definition = workflow.definition
        artifacts = {}
        for step in definition["steps"]:
            if step["type"] == "anomalens/detect_anomalies":
                _, path = trained_artifact(self.p, str(step["project"]), str(step["model_version"]))
                artifacts[workflow_exec.WorkflowRunner.model_key(step)] = str(path)
        return job, definition, artifacts

    def _pages(self, batch_id: str, shard_id: str) -> Iterator[list[StagingFileRow]]:
        offset = 0
        while True:
            with self.p.db.unit_of_work() as s:
                repo = StagingRepository(s)
                batch = repo.batch(batch_id)
                rows = list(
                    s.scalars(
                        select(StagingFileRow)
                        .where(StagingFileRow.batch_pk == batch.id, StagingFileRow.shard_id == shard_id)
                        .order_by(StagingFileRow.id)
                        .offset(offset)
                        .limit(PAGE)
                    )
                )
            if not rows:
                return
            yield rows
            offset += len(rows)

    def run(self, ctx: JobContext) -> None:
        """Process every unfinished task, then mark the job finished."""
        job, definition, artifacts = self._setup(ctx.payload["job_id"])
        if job.status in TERMINAL:
            with self.p.db.unit_of_work() as s:
                ctx.finish(s, {"status": job.status}, f"Job already {job.status}.")
            return
        spec = job.definition.get("processingSpecification") or {}
        workers = int(
            (job.definition.get("computeConfiguration") or {}).get("workersPerMachine") or os.cpu_count() or 1
        )
        with self.p.db.unit_of_work() as s:
            shards = [sh.shard_id for sh in StagingRepository(s).shards(StagingRepository(s).batch(job.input_batch))]
        pool = ProcessPoolExecutor(
            max(1, workers),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=workflow_exec.init_worker,
            initargs=(definition, artifacts, spec.get("workflowParameters") or {}),
        )
        try:
            for n, shard_id in enumerate(shards, start=1):
                if job.tasks.get(shard_id, {}).get("status") == "success":
                    continue
                self._task(ctx, job.job_id, shard_id, pool, spec)
                ctx.progress(n / max(1, len(shards)), f"Finished task {n} of {len(shards)}.")
        except JobStopped as stop:
            with self.p.db.unit_of_work() as s:
                ctx.finish(s, {"status": "stopped"}, str(stop))
            return
        finally:
            pool.shutdown(cancel_futures=True)
        with self.p.db.unit_of_work() as s:
            row = find_job(s, job.job_id, lock=True)
            if row.status == "RUNNING":
                row.status, row.stage, row.updated_at = "SUCCEEDED", "finished", time.time()
                row.notification = {"message": "job finished", "outputBatch": row.output_batch}
                log(s, row, "info", "job-finished", {"outputBatch": row.output_batch})
                notifications.job_done(s, row.definition.get("notificationsURL"), row.job_id, success=True)
            ctx.finish(s, {"status": row.status, "output_batch": row.output_batch}, f"Job {row.status}.")

    def _check(self, job_id: str, processed: int, failed: int) -> None:
        with self.p.db.unit_of_work() as s:
            row = find_job(s, job_id, lock=True)
            if row.status != "RUNNING":
                raise JobStopped(f"job is {row.status}")
            timeout = row.definition.get("processingTimeoutSeconds")
            rate = row.definition.get("maxImageFailureRate")
            reason = None
            if timeout is not None and time.time() - row.started_at > float(timeout):
                reason = f"processing timeout of {timeout} s exceeded"
            elif rate is not None and processed and failed / processed > float(rate):
                reason = f"image failure rate {failed}/{processed} exceeds maxImageFailureRate {rate}"
            if reason:
                row.status, row.error, row.updated_at = "FAILED", True, time.time()
                row.notification = {"message": reason}
                log(s, row, "error", "job-failed", {"reason": reason})
                notifications.job_done(s, row.definition.get("notificationsURL"), row.job_id, success=False)
        if reason:
            raise JobStopped(reason)

    def _task(
        self, ctx: JobContext, job_id: str, shard_id: str, pool: ProcessPoolExecutor, spec: dict[str, Any]
    ) -> None:
        with self.p.db.unit_of_work() as s:
            job = find_job(s, job_id)
            before = [t for t in job.tasks.values() if t.get("status") == "success"]
            processed = sum(t["processed"] for t in before)
            failed_total = sum(t["failed"] for t in before)
            videos = job.definition.get("type") == VIDEO_JOB
        results: list[dict[str, Any]] = []
        images: list[tuple[str, bytes]] = []
        failures: list[dict[str, str]] = []
        image_input = spec.get("imageInputName") or "image"
        persist = bool(spec.get("persistImagesOutputs"))
        wanted = spec.get("imagesOutputsToBePersisted")
        outcomes = (
            self._frame_outcomes(job.input_batch, shard_id, pool, image_input, spec.get("maxVideoFPS"))
            if videos
            else self._image_outcomes(job.input_batch, shard_id, pool, image_input)
        )
        for n, (record, (_, values, outs, error)) in enumerate(outcomes, start=1):
            if values is None:
                failures.append(record | {"error": error})
            else:
                results.append(record | values)
                if persist:
                    stem = PurePosixPath(record["file_name"]).stem
                    if "frame_number" in record:
                        stem = f"{stem}-{record['frame_number']:06d}"
                    images.extend(
                        (f"{stem}-{out}.png", data) for out, data in outs.items() if not wanted or out in wanted
                    )
            if n % PAGE == 0:
                self._check(job_id, processed + n, failed_total + len(failures))
                ctx.progress(0.0, f"Task {shard_id}: {len(results)} done, {len(failures)} failed.")
        self._check(job_id, processed + len(results) + len(failures), failed_total + len(failures))
        self._commit(job_id, shard_id, results, images, failures, spec.get("aggregationFormat") or "jsonl")

    def _image_outcomes(
        self, batch_id: str, shard_id: str, pool: ProcessPoolExecutor, image_input: str
    ) -> Iterator[tuple[dict[str, Any], workflow_exec.Outcome]]:
        """Outcomes of a shard's images, in order; one page of files in flight at a time."""
        for page in self._pages(batch_id, shard_id):
            futures = [
                (f.name, pool.submit(workflow_exec.process, f.name, self.p.blobs.get_bytes(f.blob_key), image_input))
                for f in page
            ]
            for name, future in futures:
                yield {"file_name": name}, future.result()

    def _frame_outcomes(
        self, batch_id: str, shard_id: str, pool: ProcessPoolExecutor, image_input: str, max_fps: Any
    ) -> Iterator[tuple[dict[str, Any], workflow_exec.Outcome]]:
        """Outcomes of every sampled frame of a shard's videos, in order.

        Frames are decoded here while the pool works on earlier ones; at most
        ``FRAMES_IN_FLIGHT`` frames are in flight, so memory stays bounded however long the
        video. A video that cannot be decoded is one failure, named after the file.
        """
        fps = staging.max_video_fps(max_fps)
        for page in self._pages(batch_id, shard_id):
            for f in page:
                yield from self._video_outcomes(f, pool, image_input, fps)

    def _video_outcomes(
        self, f: StagingFileRow, pool: ProcessPoolExecutor, image_input: str, fps: float | None
    ) -> Iterator[tuple[dict[str, Any], workflow_exec.Outcome]]:
        """Outcomes of one video's sampled frames, in order, with a bounded window in the pool."""
        pending: deque[tuple[dict[str, Any], Future[workflow_exec.Outcome]]] = deque()
        try:
            with self.p.blobs.open(f.blob_key) as handle:
                for frame in vision.sample_frames(handle, fps):
                    record = {"file_name": f.name, "frame_number": frame.index, "frame_timestamp": frame.timestamp_s}
                    pending.append((record, pool.submit(workflow_exec.process_frame, f.name, frame.image, image_input)))
                    if len(pending) >= FRAMES_IN_FLIGHT:
                        record, future = pending.popleft()
                        yield record, future.result()
        except vision.VideoDecodeError as exc:
            yield from ((r, fut.result()) for r, fut in pending)
            yield {"file_name": f.name}, (f.name, None, {}, f"VideoDecodeError: {exc}")
            return
        yield from ((r, fut.result()) for r, fut in pending)

    def _commit(
        self,
        job_id: str,
        shard_id: str,
        results: list[dict[str, Any]],
        images: list[tuple[str, bytes]],
        failures: list[dict[str, str]],
        fmt: str,
    ) -> None:
        name = f"results-{shard_id}.{fmt}"
        with self.p.db.unit_of_work() as s:
            job = find_job(s, job_id, lock=True)
            files = [
                self._store(
                    job.output_batch,
                    name,
                    _aggregate(results, fmt),
                    "text/csv" if fmt == "csv" else "application/jsonl",
                )
            ]
            files += [self._store(job.output_batch, n, data, "image/png") for n, data in images]
            self._add_output(s, job, shard_id, files)
            job.tasks = dict(job.tasks) | {
                shard_id: {
                    "status": "success",
                    "processed": len(results) + len(failures),
                    "failed": len(failures),
                    "at": time.time(),
                }
            }
            job.updated_at = time.time()
            for failure in failures[:100]:
                log(s, job, "error", "image-failed", failure, task_id=shard_id)
            log(s, job, "info", "task-finished", {"processed": len(results), "failed": len(failures)}, task_id=shard_id)

    def _store(self, batch_id: str, name: str, data: bytes, content_type: str) -> dict[str, Any]:
        key = f"staging/{batch_id}/outputs/{name}"
        self.p.blobs.put_bytes(key, data)
        return file_row(name, key, content_type, len(data))

    def _add_output(self, s: Session, job: BatchJobRow, shard_id: str, files: list[dict[str, Any]]) -> None:
        repo = StagingRepository(s)
        batch = repo.ensure_batch(
            job.output_batch,
            f"Output of {job.job_id}",
            "results",
            "simple-batch",
            batch_ttl(self.p),
        )
        existing = repo.existing_names(batch, [f["name"] for f in files])
        repo.add_files(batch, [f | {"shard_id": shard_id} for f in files if f["name"] not in existing])

    def give_up(self, session: Session, payload: dict[str, Any], message: str) -> None:
        """Mark the batch job FAILED with the reason."""
        row = session.scalars(select(BatchJobRow).where(BatchJobRow.job_id == payload["job_id"])).one_or_none()
        if row is not None and row.status == "RUNNING":
            row.status, row.error, row.updated_at = "FAILED", True, time.time()
            row.notification = {"message": message}
            log(session, row, "error", "job-failed", {"reason": message})
            notifications.job_done(session, row.definition.get("notificationsURL"), row.job_id, success=False)
