"""Signed URLs for the upload and download links the server hands out.

The rf-cloud client PUTs shards and videos to the ``uploadURL`` it is given and GETs files from
each ``downloadURL`` without adding its API key, as it would with cloud-storage presigned URLs.
When the server has an API key, those links carry an expiry and an HMAC of (method, path,
expiry) keyed by a key derived from the API key, so they work on their own, for that one path
and method, until they expire, and stop working when the API key is rotated. Without an API
key nothing is checked, so links are left unsigned.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from urllib.parse import urlencode

EXPIRES = "X-Anomalens-Expires"
SIGNATURE = "X-Anomalens-Signature"
DEFAULT_TTL_S = 24 * 3600  # as the seed's presigned URLs


def _key(api_key: str) -> bytes:
    return hmac.new(api_key.encode(), b"anomalens-url-signing-v1", hashlib.sha256).digest()


def _mac(api_key: str, method: str, path: str, expires: int) -> str:
    message = f"{method.upper()}\n{path}\n{expires}".encode()
    return hmac.new(_key(api_key), message, hashlib.sha256).hexdigest()


def sign(api_key: str | None, method: str, url: str, path: str, ttl_s: float = DEFAULT_TTL_S) -> str:
    """``url`` with an expiry and signature for ``method`` on ``path`` (unchanged without a key)."""
    if not api_key:
        return url
    expires = int(time.time() + ttl_s)
    query = urlencode({EXPIRES: expires, SIGNATURE: _mac(api_key, method, path, expires)})
    return f"{url}{'&' if '?' in url else '?'}{query}"


def verify(api_key: str, method: str, path: str, query: Mapping[str, str]) -> bool:
    """True when ``query`` holds an unexpired, valid signature for ``method`` on ``path``."""
    try:
        expires = int(query.get(EXPIRES, ""))
    except ValueError:
        return False
    if expires < time.time():
        return False
    return hmac.compare_digest(query.get(SIGNATURE, ""), _mac(api_key, method, path, expires))
