"""SDK errors: the server's error classes, rebuilt from ``{code, message, field}``, plus transport errors.

::

    AnomalensError
     ├── InvalidInput / NotFound / Conflict / QuotaExceeded / Unavailable / InternalError  (from the server)
     ├── Unauthorized        401: missing or wrong API key
     ├── ConnectionFailed    the server could not be reached
     └── WaitTimeout         a wait_* helper gave up
"""

from __future__ import annotations

from typing import Any

from anomalens.domain.errors import (
    ERRORS_BY_CODE,
    AnomalensError,
    Conflict,
    InternalError,
    InvalidInput,
    NotFound,
    QuotaExceeded,
    Unavailable,
)


class Unauthorized(AnomalensError):
    """The server wants a (different) API key."""

    code = "unauthorized"


class ConnectionFailed(AnomalensError):
    """The server could not be reached."""

    code = "connection_failed"


class WaitTimeout(AnomalensError):
    """A resource did not reach the awaited status in time."""

    code = "wait_timeout"


def from_response(status: int, body: Any) -> AnomalensError:
    """The exception matching an error response."""
    if not isinstance(body, dict):
        body = {"message": str(body)}
    code = str(body.get("code", ""))
    cls = Unauthorized if status == 401 else ERRORS_BY_CODE.get(code, InternalError)
    return cls(str(body.get("message", f"HTTP {status}")), field=body.get("field"))


__all__ = [
    "AnomalensError",
    "Conflict",
    "ConnectionFailed",
    "InternalError",
    "InvalidInput",
    "NotFound",
    "QuotaExceeded",
    "Unauthorized",
    "Unavailable",
    "WaitTimeout",
    "from_response",
]
