"""Writing events: in the same transaction as the state change they announce.

The body carries a stable ``event_id`` so receivers can drop duplicates; ``delivery_attempt``
is added per attempt by the delivery worker.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy.orm import Session

from anomalens.store.event_rows import EventRow


def emit(session: Session, url: str, category: str, body: dict[str, Any]) -> str:
    """Queue ``body`` for delivery to ``url``; returns its event id."""
    event_id = str(uuid.uuid4())
    now = time.time()
    session.add(
        EventRow(
            event_id=event_id,
            category=category,
            url=url,
            body={"event_id": event_id} | body,
            status="PENDING",
            attempts=0,
            next_attempt_at=now,
            last_error="",
            created_at=now,
        )
    )
    return event_id
