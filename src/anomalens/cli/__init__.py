"""The ``anomalens`` command line (Typer + Rich)."""
