"""ClientToken bookkeeping (spec §10.3): same token + same request replays the first response.

The (operation, token) primary key makes a concurrent duplicate fail at insert time, so two
retried CreateModel calls can never both start a training run.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from anomalens.domain.errors import Conflict
from anomalens.store.rows import IdempotencyRow

TOKEN_LIFETIME_S = 8 * 3600


def request_hash(params: dict[str, Any]) -> str:
    """A stable hash of a call's parameters."""
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()


class IdempotencyRepository:
    """Claims tokens and stores the responses they replay."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def replay(self, operation: str, token: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The stored response of an earlier identical call, or None if this call is new.

        Raises Conflict when the token was used with different parameters.
        """
        self.s.execute(delete(IdempotencyRow).where(IdempotencyRow.created_at < time.time() - TOKEN_LIFETIME_S))
        row = self.s.scalars(
            select(IdempotencyRow).where(IdempotencyRow.operation == operation, IdempotencyRow.token == token)
        ).one_or_none()
        if row is None:
            return None
        if row.request_hash != request_hash(params):
            raise Conflict(
                f"ClientToken {token!r} was already used for a different {operation} request.", field="ClientToken"
            )
        return row.response

    def remember(self, operation: str, token: str, params: dict[str, Any], response: dict[str, Any]) -> None:
        """Store the response in the caller's transaction; a racing duplicate fails here."""
        try:
            with self.s.begin_nested():
                self.s.add(
                    IdempotencyRow(
                        operation=operation,
                        token=token,
                        request_hash=request_hash(params),
                        response=response,
                        created_at=time.time(),
                    )
                )
                self.s.flush()
        except IntegrityError:
            raise Conflict(
                f"A {operation} request with ClientToken {token!r} is already in progress; retry.", field="ClientToken"
            ) from None
