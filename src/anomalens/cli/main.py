"""Root of the ``anomalens`` command: global options, server commands and resource groups."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from anomalens.cli import model_commands as _model_commands  # noqa: F401  (registers commands)
from anomalens.cli.batch_commands import batch_jobs, batches, workflows
from anomalens.cli.output import state
from anomalens.cli.resources import datasets, jobs, models, projects
from anomalens.config import Settings

app = typer.Typer(
    help="Anomalens: self-hosted visual inspection.", no_args_is_help=True, pretty_exceptions_enable=False
)
db = typer.Typer(help="Database schema commands.", no_args_is_help=True)
app.add_typer(projects, name="projects")
app.add_typer(datasets, name="datasets")
app.add_typer(models, name="models")
app.add_typer(jobs, name="jobs")
app.add_typer(batches, name="batches")
app.add_typer(workflows, name="workflows")
app.add_typer(batch_jobs, name="batch-jobs")
app.add_typer(db, name="db")


@app.callback()
def main(
    url: Annotated[str, typer.Option(envvar="ANOMALENS_URL", help="Server URL.")] = "http://127.0.0.1:8470",
    api_key: Annotated[str | None, typer.Option(envvar="ANOMALENS_API_KEY", help="API key.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Global options."""
    state.url, state.api_key, state.json = url, api_key, json_output


def _settings(host: str | None, port: int | None, home: Path | None) -> Settings:
    overrides: dict[str, Any] = {k: v for k, v in (("host", host), ("port", port), ("home", home)) if v is not None}
    return Settings(**overrides)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address (ANOMALENS_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (ANOMALENS_PORT).")] = None,
    home: Annotated[Path | None, typer.Option(help="Data directory (ANOMALENS_HOME).")] = None,
) -> None:
    """Run the API, job workers and hosted models in one process."""
    from anomalens.runtime import serve as run

    run(_settings(host, port, home))


@app.command()
def worker(home: Annotated[Path | None, typer.Option(help="Data directory (ANOMALENS_HOME).")] = None) -> None:
    """Run job workers only (more workers on the same database and storage)."""
    from anomalens.runtime import work

    work(_settings(None, None, home))


@db.command("upgrade")
def db_upgrade(home: Annotated[Path | None, typer.Option(help="Data directory.")] = None) -> None:
    """Migrate the database schema to the newest revision."""
    from anomalens.store.db import Database

    settings = _settings(None, None, home)
    database = Database(settings.db_url)
    database.upgrade()
    typer.echo(f"Database at revision {database.current_revision()}.")


@app.command()
def demo(home: Annotated[Path | None, typer.Option(help="Keep the demo's data here.")] = None) -> None:
    """Generate a sample, then train, host and query a model against a local server."""
    from anomalens.cli.demo import run_demo

    run_demo(home)
