"""Opaque page tokens (spec §2.0: ``[a-zA-Z0-9/+=]{0,2048}``) that encode an offset."""

from __future__ import annotations

import base64
import binascii

from anomalens.domain.errors import InvalidInput


def encode(offset: int) -> str:
    """Token for the page starting at ``offset``."""
    return base64.b64encode(f"o:{offset}".encode()).decode()


def decode(token: str | None) -> int:
    """Offset of a token (0 when absent); InvalidInput for a token we did not issue."""
    if not token:
        return 0
    try:
        kind, _, value = base64.b64decode(token, validate=True).decode().partition(":")
        if kind == "o" and value.isdigit():
            return int(value)
    except (binascii.Error, UnicodeDecodeError):
        pass
    raise InvalidInput("NextToken is not a token this server issued.", field="NextToken")


def next_token(offset: int, got: int, limit: int) -> str | None:
    """Token for the following page when this page was full (callers fetch ``limit + 1`` rows)."""
    return encode(offset + limit) if got > limit else None
