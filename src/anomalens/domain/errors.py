"""The one error hierarchy of Anomalens.

Every failure a user can cause is an :class:`AnomalensError` with a stable ``code``. The API
maps codes to HTTP statuses in one table (``anomalens.api.errors``); the SDK rebuilds the same
class from the JSON body, so callers catch the same exceptions in-process and over HTTP::

    AnomalensError
     ├── InvalidInput        400  a field breaks a rule (``field`` names it)
     ├── NotFound            404
     ├── Conflict            409  the resource's state forbids the call
     ├── QuotaExceeded       402
     ├── Unavailable         503  try again later
     └── InternalError       500
"""

from __future__ import annotations


class AnomalensError(Exception):
    """Base of all expected errors; ``code`` is stable and machine-readable."""

    code = "internal_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, str]:
        """Wire form shared by the API and the SDK."""
        body = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


class InvalidInput(AnomalensError):
    """A request field breaks a rule; the message names the field and the rule."""

    code = "invalid_input"


class NotFound(AnomalensError):
    """The named resource does not exist."""

    code = "not_found"


class Conflict(AnomalensError):
    """The resource exists already, or its current status forbids the operation."""

    code = "conflict"


class QuotaExceeded(AnomalensError):
    """A configured limit (inference units, images per dataset, ...) would be exceeded."""

    code = "quota_exceeded"


class Unavailable(AnomalensError):
    """A transient condition; the same call may succeed later."""

    code = "unavailable"


class InternalError(AnomalensError):
    """An unexpected failure; details are logged server-side, not sent to clients."""

    code = "internal_error"


ERRORS_BY_CODE: dict[str, type[AnomalensError]] = {
    cls.code: cls for cls in (InvalidInput, NotFound, Conflict, QuotaExceeded, Unavailable, InternalError)
}
