"""Python SDK for the Anomalens API.

>>> from anomalens.sdk import Client
>>> client = Client("http://127.0.0.1:8470")
>>> client.create_project("pcb")  # doctest: +SKIP
"""

from anomalens.sdk._client import Client
from anomalens.sdk._errors import (
    AnomalensError,
    Conflict,
    ConnectionFailed,
    InternalError,
    InvalidInput,
    NotFound,
    QuotaExceeded,
    Unauthorized,
    Unavailable,
    WaitTimeout,
)

__all__ = [
    "AnomalensError",
    "Client",
    "Conflict",
    "ConnectionFailed",
    "InternalError",
    "InvalidInput",
    "NotFound",
    "QuotaExceeded",
    "Unauthorized",
    "Unavailable",
    "WaitTimeout",
]
