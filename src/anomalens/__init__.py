"""Anomalens: self-hosted visual inspection (train anomaly detectors on a CPU, host them, run them in batch)."""

__version__ = "0.1.0"
