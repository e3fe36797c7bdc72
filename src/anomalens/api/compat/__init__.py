"""Adapters that speak existing clients' wire formats and call the same services as /v1."""
