"""Named FastAPI dependencies: the platform, the host manager and the API-key check."""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import unquote

from fastapi import Depends, Header, HTTPException, Request

from anomalens.app import signed_urls
from anomalens.app.context import Platform
from anomalens.app.hosting import HostManager


def get_platform(request: Request) -> Platform:
    """The platform built by the app factory."""
    platform: Platform = request.app.state.platform
    return platform


def get_host(request: Request) -> HostManager:
    """The host manager of this process."""
    host: HostManager = request.app.state.host
    return host


def require_api_key(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """Check ``Authorization: Bearer <key>`` when the server has an API key configured."""
    expected = request.app.state.platform.settings.api_key
    if not expected:
        return
    # Bearer header for our clients; the rf-cloud client sends ``api_key`` as a query parameter.
    given = (authorization or "").removeprefix("Bearer ").strip() or request.query_params.get("api_key", "")
    if not given and signed_urls.verify(expected, request.method, request.url.path, request.query_params):
        return  # a link the server signed (upload/download URLs handed to clients)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(
            status_code=401,
            detail="Missing or wrong API key (Authorization: Bearer <key>).",
            headers={"WWW-Authenticate": "Bearer"},
        )


def signed(request: Request, method: str, path: str) -> str:
    """Absolute URL of ``path`` on this server, signed for ``method`` when an API key is set."""
    url = str(request.base_url).rstrip("/") + path
    # the signature covers the decoded path, which is what the server sees when it checks
    return signed_urls.sign(request.app.state.platform.settings.api_key, method, url, unquote(path))


PlatformDep = Annotated[Platform, Depends(get_platform)]
HostDep = Annotated[HostManager, Depends(get_host)]
ClientToken = Annotated[str | None, Header(alias="X-Amzn-Client-Token")]
