"""CLI output: Rich tables by default, JSON with ``--json``, progress bars for waits, clean errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from anomalens.domain.errors import AnomalensError

console = Console()
err_console = Console(stderr=True)


class State:
    """Options shared by every command (set by the root callback)."""

    url: str = "http://127.0.0.1:8470"
    api_key: str | None = None
    json: bool = False


state = State()


def when(ts: float | None) -> str:
    """Epoch seconds as a short UTC time."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S") if ts else ""


def emit(data: Any, columns: Sequence[str] | None = None, title: str | None = None) -> None:
    """Print ``data`` as JSON (``--json``), as a table (list of dicts) or as key/value rows."""
    if state.json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return
    if isinstance(data, list):
        table = Table(title=title)
        cols = list(columns or (data[0].keys() if data else []))
        for col in cols:
            table.add_column(col)
        for row in data:
            table.add_row(*(_cell(row.get(c)) for c in cols))
        console.print(table)
        return
    table = Table(show_header=False, title=title)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in data.items():
        table.add_row(key, _cell(value))
    console.print(table)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return "" if value is None else str(value)


@contextmanager
def errors() -> Iterator[None]:
    """Turn Anomalens errors into a red message and exit code 1."""
    try:
        yield
    except AnomalensError as exc:
        where = f" [{exc.field}]" if exc.field else ""
        err_console.print(f"[red]error{where}:[/red] {exc.message}")
        raise typer.Exit(1) from None


def progress_bar(description: str) -> tuple[Progress, Callable[[dict[str, Any]], None]]:
    """A Rich progress bar and the callback that feeds it from a job's state."""
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[message]}"),
        TimeElapsedColumn(),
        console=err_console,
        disable=state.json,
    )
    task = bar.add_task(description, total=1.0, message="")

    def update(job: dict[str, Any]) -> None:
        bar.update(task, completed=job.get("Progress", 0.0), message=job.get("Message", ""))

    return bar, update
