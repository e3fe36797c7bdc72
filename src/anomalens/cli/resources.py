"""Resource commands: projects, datasets, models, jobs. All go through the HTTP API (the SDK)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from anomalens.cli.output import emit, errors, progress_bar, state, when
from anomalens.sdk import Client

projects = typer.Typer(help="Create, list, describe and delete projects.", no_args_is_help=True)
datasets = typer.Typer(help="Import, inspect, update, export and delete datasets.", no_args_is_help=True)
models = typer.Typer(help="Train, describe, host, stop and query model versions.", no_args_is_help=True)
jobs = typer.Typer(help="Follow background jobs (imports, training).", no_args_is_help=True)

Wait = Annotated[bool, typer.Option("--wait", help="Wait for the background job, with a progress bar.")]


def client() -> Client:
    """An SDK client for the configured server."""
    return Client(state.url, api_key=state.api_key)


def _wait_job(c: Client, job_id: int, what: str) -> dict[str, Any]:
    bar, update = progress_bar(what)
    with bar:
        job = c.wait_job(job_id, on_progress=update)
    return job


# -- projects -------------------------------------------------------------------------------
@projects.command("create")
def project_create(name: str) -> None:
    """Create a project."""
    with errors(), client() as c:
        emit(c.create_project(name))


@projects.command("list")
def project_list() -> None:
    """List projects."""
    with errors(), client() as c:
        rows = [{"Project": p["ProjectName"], "Created": when(p["CreationTimestamp"])} for p in c.list_projects()]
        emit(rows, ["Project", "Created"], title="Projects")


@projects.command("describe")
def project_describe(name: str) -> None:
    """Show a project and its datasets."""
    with errors(), client() as c:
        desc = c.describe_project(name)
        if state.json:
            emit(desc)
            return
        emit({"Project": desc["ProjectName"], "ARN": desc["ProjectArn"], "Created": when(desc["CreationTimestamp"])})
        emit(
            [
                {"Dataset": d["DatasetType"], "Status": d["Status"], "Message": d["StatusMessage"]}
                for d in desc["Datasets"]
            ],
            ["Dataset", "Status", "Message"],
            title="Datasets",
        )


@projects.command("delete")
def project_delete(name: str) -> None:
    """Delete a project (its models and datasets must be deleted first)."""
    with errors(), client() as c:
        emit(c.delete_project(name))


# -- datasets -------------------------------------------------------------------------------
def _create_and_wait(
    c: Client, project: str, dataset_type: str, layout: str | None, location: str | None, wait: bool
) -> dict[str, Any]:
    created = c.create_dataset(project, dataset_type, layout=layout, location=location)
    if wait and created.get("JobId"):
        _wait_job(c, created["JobId"], f"Importing {dataset_type}")
        return c.describe_dataset(project, dataset_type)
    return dict(created["DatasetMetadata"])


def _dataset_row(d: dict[str, Any]) -> dict[str, Any]:
    stats = d.get("ImageStats", {})
    return {
        "Dataset": d["DatasetType"],
        "Status": d["Status"],
        "Images": stats.get("Total"),
        "Normal": stats.get("Normal"),
        "Anomaly": stats.get("Anomaly"),
        "Message": d.get("StatusMessage"),
    }


@datasets.command("create")
def dataset_create(
    project: str,
    dataset_type: Annotated[str, typer.Option("--type", help="train or test")] = "train",
    manifest: Annotated[str | None, typer.Option(help="Ground Truth manifest (path or URI).")] = None,
    folder: Annotated[str | None, typer.Option(help="Folder with normal/ and anomaly/ subfolders.")] = None,
    mvtec: Annotated[str | None, typer.Option(help="Folder in MVTec AD layout.")] = None,
    wait: Wait = False,
) -> None:
    """Create a dataset: empty, or imported from a manifest, a labelled folder or an MVTec folder."""
    given = [(k, v) for k, v in (("manifest", manifest), ("labeled-folders", folder), ("mvtec", mvtec)) if v]
    if len(given) > 1:
        raise typer.BadParameter("give at most one of --manifest, --folder, --mvtec")
    layout, location = given[0] if given else (None, None)
    if location and "://" not in location:
        location = str(Path(location).expanduser().resolve())
    with errors(), client() as c:
        emit(_create_and_wait(c, project, dataset_type, layout, location, wait))


@datasets.command("import-mvtec")
def dataset_import_mvtec(project: str, folder: Path, wait: Wait = False) -> None:
    """Fill the train (train/good) and test (test/*) datasets from an MVTec AD category folder."""
    location = str(folder.expanduser().resolve())
    with errors(), client() as c:
        rows = [
            _dataset_row(_create_and_wait(c, project, t, "mvtec", location, wait))
            if wait
            else _create_and_wait(c, project, t, "mvtec", location, wait)
            for t in ("train", "test")
        ]
        emit(rows, list(rows[0].keys()), title="Datasets")


@datasets.command("describe")
def dataset_describe(project: str, dataset_type: Annotated[str, typer.Argument(help="train or test")]) -> None:
    """Show a dataset's status and image counts."""
    with errors(), client() as c:
        desc = c.describe_dataset(project, dataset_type)
        emit(desc if state.json else _dataset_row(desc))


@datasets.command("entries")
def dataset_entries(
    project: str,
    dataset_type: str,
    labeled: Annotated[bool | None, typer.Option("--labeled/--unlabeled", help="Filter by labelled state.")] = None,
    anomaly_class: Annotated[str | None, typer.Option(help="normal or anomaly")] = None,
    contains: Annotated[str | None, typer.Option(help="Substring of source-ref.")] = None,
) -> None:
    """Print the dataset's manifest lines (JSON Lines)."""
    with errors(), client() as c:
        for line in c.list_dataset_entries(
            project, dataset_type, labeled=labeled, anomalyClass=anomaly_class, sourceRefContains=contains
        ):
            typer.echo(line)


@datasets.command("update")
def dataset_update(project: str, dataset_type: str, changes: Path, wait: Wait = False) -> None:
    """Add or replace entries from a manifest file (rolled back as a whole on any bad line or file)."""
    with errors(), client() as c:
        answer = c.update_dataset_entries(project, dataset_type, changes.read_bytes())
        if wait:
            _wait_job(c, answer["JobId"], f"Updating {dataset_type}")
            answer = _dataset_row(c.describe_dataset(project, dataset_type))
        emit(answer)


@datasets.command("export")
def dataset_export(
    project: str, dataset_type: str, output: Annotated[Path | None, typer.Option("-o", help="Write to a file.")] = None
) -> None:
    """Export the dataset as a Ground Truth manifest."""
    with errors(), client() as c:
        text = c.export_dataset(project, dataset_type)
    if output:
        output.write_text(text)
    else:
        typer.echo(text, nl=False)


@datasets.command("delete")
def dataset_delete(project: str, dataset_type: str) -> None:
    """Delete a dataset (the original images are not touched)."""
    with errors(), client() as c:
        c.delete_dataset(project, dataset_type)
        emit({"Deleted": f"{project}/{dataset_type}"})
