"""``python -m anomalens`` runs the CLI."""

from anomalens.cli.main import app

app()
