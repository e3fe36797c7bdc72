"""Durable job queue (rows in the metadata database) and the worker loop that runs them."""
