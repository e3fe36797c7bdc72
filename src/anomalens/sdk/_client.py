"""The synchronous SDK client: one method per API operation, plus ``wait_*`` helpers.

Requests are built and parsed by small pure helpers so an async twin would be a thin shell.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from anomalens.sdk._errors import ConnectionFailed, WaitTimeout, from_response

DEFAULT_TIMEOUT = 30.0
Progress = Callable[[dict[str, Any]], None]


class Client:
    """Talks to one Anomalens server."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8470",
        *,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, headers=headers, transport=transport)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"Cannot reach Anomalens at {self._http.base_url}: {exc}") from exc
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"message": response.text}
            raise from_response(response.status_code, body)
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text

    # -- projects ---------------------------------------------------------------------------
    def create_project(self, name: str) -> dict[str, Any]:
        """Create a project."""
        return dict(self._call("POST", "/v1/projects", json={"ProjectName": name})["ProjectMetadata"])

    def list_projects(self) -> Iterator[dict[str, Any]]:
        """Every project (follows pagination)."""
        yield from self._paginate("/v1/projects", "Projects")

    def describe_project(self, name: str) -> dict[str, Any]:
        """A project with its datasets."""
        return dict(self._call("GET", f"/v1/projects/{name}")["ProjectDescription"])

    def delete_project(self, name: str) -> dict[str, Any]:
        """Delete an empty project."""
        return dict(self._call("DELETE", f"/v1/projects/{name}"))

    # -- datasets ---------------------------------------------------------------------------
    def create_dataset(
        self, project: str, dataset_type: str, *, layout: str | None = None, location: str | Path | None = None
    ) -> dict[str, Any]:
        """Create an empty dataset, or import one (layout: manifest | labeled-folders | mvtec)."""
        body: dict[str, Any] = {"DatasetType": dataset_type}
        if location is not None:
            body["Source"] = {"Layout": layout or "manifest", "Location": str(location)}
        return dict(self._call("POST", f"/v1/projects/{project}/datasets", json=body))

    def describe_dataset(self, project: str, dataset_type: str) -> dict[str, Any]:
        """Status and image counts of a dataset."""
        return dict(self._call("GET", f"/v1/projects/{project}/datasets/{dataset_type}")["DatasetDescription"])

    def list_dataset_entries(self, project: str, dataset_type: str, **filters: Any) -> Iterator[str]:
        """Manifest lines of a dataset (filters: labeled, anomalyClass, sourceRefContains, ...)."""
        yield from self._paginate(f"/v1/projects/{project}/datasets/{dataset_type}/entries", "DatasetEntries", filters)

    def update_dataset_entries(self, project: str, dataset_type: str, changes: str | bytes) -> dict[str, Any]:
        """Add or replace entries from manifest lines."""
        data = changes.encode() if isinstance(changes, str) else changes
        return dict(self._call("PATCH", f"/v1/projects/{project}/datasets/{dataset_type}/entries", content=data))

    def export_dataset(self, project: str, dataset_type: str) -> str:
        """The dataset as manifest text."""
        return str(self._call("GET", f"/v1/projects/{project}/datasets/{dataset_type}/manifest"))

    def delete_dataset(self, project: str, dataset_type: str) -> None:
        """Delete a dataset."""
        self._call("DELETE", f"/v1/projects/{project}/datasets/{dataset_type}")

    # -- models -----------------------------------------------------------------------------
    def create_model(
        self,
        project: str,
        *,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        client_token: str | None = None,
        algorithm: str = "auto",
        backbone: str | None = None,
        training_options: dict[str, int | float] | None = None,
    ) -> dict[str, Any]:
        """Start training a new model version; the answer carries ``ModelMetadata`` and ``JobId``.

        ``training_options`` overrides engine options such as ``{"long_side": 512}`` (for small
        defects on large parts); the server refuses unknown names and values out of range.
        """
        headers = {"X-Amzn-Client-Token": client_token} if client_token else {}
        body: dict[str, Any] = {"Description": description, "Tags": tags, "Algorithm": algorithm}
        if backbone is not None:
            body["Backbone"] = backbone
        if training_options is not None:
            body["TrainingOptions"] = training_options
        return dict(self._call("POST", f"/v1/projects/{project}/models", json=body, headers=headers))

    def describe_model(self, project: str, version: str | int = "latest") -> dict[str, Any]:
        """A model version with metrics, locations and hosting state."""
        return dict(self._call("GET", f"/v1/projects/{project}/models/{version}")["ModelDescription"])

    def list_models(self, project: str) -> Iterator[dict[str, Any]]:
        """Every model version of a project, newest first."""
        yield from self._paginate(f"/v1/projects/{project}/models", "Models")

    def delete_model(self, project: str, version: str | int) -> dict[str, Any]:
        """Delete a model version."""
        return dict(self._call("DELETE", f"/v1/projects/{project}/models/{version}"))

    def start_model(self, project: str, version: str | int, min_units: int = 1, max_units: int | None = None) -> str:
        """Start hosting; returns STARTING_HOSTING."""
        body = {"MinInferenceUnits": min_units, "MaxInferenceUnits": max_units}
        return str(self._call("POST", f"/v1/projects/{project}/models/{version}/start", json=body)["Status"])

    def stop_model(self, project: str, version: str | int) -> str:
        """Stop hosting; returns STOPPING_HOSTING."""
        return str(self._call("POST", f"/v1/projects/{project}/models/{version}/stop")["Status"])

    def detect_anomalies(
        self, project: str, version: str | int, image: bytes | Path, content_type: str | None = None
    ) -> dict[str, Any]:
        """DetectAnomalyResult of one PNG/JPEG image (bytes or a file path)."""
        data = Path(image).read_bytes() if isinstance(image, Path) else image
        ctype = content_type or ("image/png" if data[:4] == b"\x89PNG" else "image/jpeg")
        result = self._call(
            "POST", f"/v1/projects/{project}/models/{version}/detect", content=data, headers={"Content-Type": ctype}
        )
        return dict(result["DetectAnomalyResult"])

    def tag_model(self, model_arn: str, tags: dict[str, str]) -> None:
        """Add or overwrite tags."""
        self._call("POST", f"/v1/tags/{model_arn}", json={"Tags": tags})

    def untag_model(self, model_arn: str, keys: list[str]) -> None:
        """Remove tags."""
        self._call("DELETE", f"/v1/tags/{model_arn}", params={"tagKeys": keys})

    def list_tags(self, model_arn: str) -> dict[str, str]:
        """Tags of a model version."""
        return {t["Key"]: t["Value"] for t in self._call("GET", f"/v1/tags/{model_arn}")["Tags"]}

    # -- staging, workflows, batch jobs ---------------------------------------------------------
    def upload_images(self, batch_id: str, paths: list[Path], *, chunk: int = 32) -> dict[str, list[Any]]:
        """Upload image files to a staging batch; each rejected file is reported, the rest are stored."""
        accepted: list[Any] = []
        rejected: list[Any] = []
        for start in range(0, len(paths), chunk):
            files = [
                ("files", (p.name, p.read_bytes(), "application/octet-stream")) for p in paths[start : start + chunk]
            ]
            answer = self._call("POST", f"/v1/batches/{batch_id}/images", files=files)
            accepted += answer["Accepted"]
            rejected += answer["Rejected"]
        return {"Accepted": accepted, "Rejected": rejected}

    def upload_videos(self, batch_id: str, paths: list[Path]) -> dict[str, list[Any]]:
        """Upload video files (one per request, streamed from disk); rejected files are reported."""
        accepted: list[Any] = []
        rejected: list[Any] = []
        for path in paths:
            with path.open("rb") as fh:
                answer = self._call(
                    "POST", f"/v1/batches/{batch_id}/videos", files=[("files", (path.name, fh, "video/mp4"))]
                )
            accepted += answer["Accepted"]
            rejected += answer["Rejected"]
        return {"Accepted": accepted, "Rejected": rejected}

    def ingest_references(
        self,
        batch_id: str,
        references: list[dict[str, str]] | str,
        notifications_url: str | None = None,
        *,
        content: str = "images",
    ) -> dict[str, Any]:
        """Queue downloads of ``{name, url}`` references (a list, or the URL/path of a JSONL file).

        ``content`` is ``images`` or ``videos``: what the batch holds.
        """
        body: dict[str, Any] = {"NotificationsUrl": notifications_url, "ContentType": content}
        body["References" if isinstance(references, list) else "ReferencesUrl"] = references
        return dict(self._call("POST", f"/v1/batches/{batch_id}/references", json=body))

    def ingest_cloud(
        self, batch_id: str, source_uri: str, *, content: str = "images", notifications_url: str | None = None
    ) -> dict[str, Any]:
        """Stage every object under a cloud URI matching its glob (``s3://b/data/**/*.jpg``).

        The server lists and reads the bucket with its own credentials; shards appear once the
        listing job has run (``describe_batch``).
        """
        body = {"SourceUri": source_uri, "ContentType": content, "NotificationsUrl": notifications_url}
        return dict(self._call("POST", f"/v1/batches/{batch_id}/references", json=body))

    def list_batches(self) -> Iterator[dict[str, Any]]:
        """Live staging batches."""
        yield from self._paginate("/v1/batches", "Batches")

    def describe_batch(self, batch_id: str) -> dict[str, Any]:
        """A batch with counts and shards."""
        return dict(self._call("GET", f"/v1/batches/{batch_id}")["Batch"])

    def delete_batch(self, batch_id: str) -> None:
        """Delete a batch, its files and their stored bytes."""
        self._call("DELETE", f"/v1/batches/{batch_id}")

    def list_batch_files(self, batch_id: str) -> Iterator[dict[str, Any]]:
        """Files of a batch."""
        yield from self._paginate(f"/v1/batches/{batch_id}/files", "Files")

    def export_batch(self, batch_id: str, target: Path) -> int:
        """Download every file of a batch into ``target``; returns the count."""
        target.mkdir(parents=True, exist_ok=True)
        count = 0
        for f in self.list_batch_files(batch_id):
            response = self._http.get(f["DownloadUrl"])
            response.raise_for_status()
            (target / Path(f["Name"]).name).write_bytes(response.content)
            count += 1
        return count

    def save_workflow(self, workflow_id: str, definition: dict[str, Any]) -> dict[str, Any]:
        """Store a workflow definition as a new version."""
        return dict(self._call("PUT", f"/v1/workflows/{workflow_id}", json=definition)["Workflow"])

    def list_workflows(self) -> list[dict[str, Any]]:
        """Newest version of every workflow."""
        return list(self._call("GET", "/v1/workflows")["Workflows"])

    def start_batch_job(self, definition: dict[str, Any], job_id: str | None = None) -> dict[str, Any]:
        """Start a batch job (Roboflow job definition; without ``type`` it follows the batch's content)."""
        return dict(self._call("POST", "/v1/batch-jobs", json={"JobId": job_id, "Definition": definition})["Job"])

    def get_batch_job(self, job_id: str) -> dict[str, Any]:
        """A batch job with its tasks."""
        return dict(self._call("GET", f"/v1/batch-jobs/{job_id}")["Job"])

    def list_batch_jobs(self) -> Iterator[dict[str, Any]]:
        """Batch jobs, newest first."""
        yield from self._paginate("/v1/batch-jobs", "Jobs")

    def abort_batch_job(self, job_id: str) -> dict[str, Any]:
        """Abort a running batch job."""
        return dict(self._call("POST", f"/v1/batch-jobs/{job_id}/abort")["Job"])

    def restart_batch_job(self, job_id: str, **overrides: Any) -> dict[str, Any]:
        """Restart a failed/aborted batch job with overrides (maxImageFailureRate=..., ...)."""
        return dict(self._call("POST", f"/v1/batch-jobs/{job_id}/restart", json=overrides)["Job"])

    def batch_job_logs(self, job_id: str) -> list[dict[str, Any]]:
        """A batch job's log entries."""
        return list(self._call("GET", f"/v1/batch-jobs/{job_id}/logs")["Logs"])

    def wait_batch_job(self, job_id: str, *, timeout: float = 3600, poll: float = 0.5) -> dict[str, Any]:
        """Poll a batch job until it is no longer RUNNING."""
        return self._wait(
            lambda: self.get_batch_job(job_id), "Status", {"SUCCEEDED", "FAILED", "ABORTED"}, timeout, poll, None
        )

    # -- jobs and waiting -------------------------------------------------------------------
    def get_job(self, job_id: int) -> dict[str, Any]:
        """A background job with its progress."""
        return dict(self._call("GET", f"/v1/jobs/{job_id}")["Job"])

    def list_jobs(self) -> list[dict[str, Any]]:
        """Recent jobs."""
        return list(self._call("GET", "/v1/jobs")["Jobs"])

    def wait_job(
        self, job_id: int, *, timeout: float = 3600, poll: float = 0.5, on_progress: Progress | None = None
    ) -> dict[str, Any]:
        """Poll a job until it succeeds or fails."""
        return self._wait(lambda: self.get_job(job_id), "Status", {"SUCCEEDED", "FAILED"}, timeout, poll, on_progress)

    def wait_dataset(
        self, project: str, dataset_type: str, *, timeout: float = 3600, poll: float = 0.5
    ) -> dict[str, Any]:
        """Poll a dataset until it is no longer in progress."""
        return self._wait(
            lambda: self.describe_dataset(project, dataset_type),
            "Status",
            {"CREATE_COMPLETE", "CREATE_FAILED", "UPDATE_COMPLETE", "UPDATE_FAILED_ROLLBACK_COMPLETE"},
            timeout,
            poll,
            None,
        )

    def wait_model(
        self, project: str, version: str | int, *, until: set[str], timeout: float = 3600, poll: float = 0.5
    ) -> dict[str, Any]:
        """Poll a model until its status is one of ``until``."""
        return self._wait(lambda: self.describe_model(project, version), "Status", until, timeout, poll, None)

    @staticmethod
    def _wait(
        fetch: Callable[[], dict[str, Any]],
        key: str,
        done: set[str],
        timeout: float,
        poll: float,
        on_progress: Progress | None,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            state = fetch()
            if on_progress:
                on_progress(state)
            if state[key] in done:
                return state
            if time.monotonic() > deadline:
                raise WaitTimeout(f"Still {state[key]} after {timeout:.0f} s.")
            time.sleep(poll)

    def _paginate(self, path: str, key: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        while True:
            page = self._call("GET", path, params=query)
            yield from page[key]
            if not page.get("NextToken"):
                return
            query["nextToken"] = page["NextToken"]
