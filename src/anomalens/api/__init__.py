"""HTTP interface: the native ``/v1`` API (and, later, compat adapters for existing clients)."""
