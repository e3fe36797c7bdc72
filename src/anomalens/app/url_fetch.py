"""Fetching user-supplied URLs safely: no private, loopback or link-local targets unless allowed.

The host is resolved first and every address it resolves to is checked, and redirects are not
followed (a redirect could point inside the network), so a reference list cannot be used to
probe the server's own network.
"""

from __future__ import annotations

import io
import ipaddress
import socket
from typing import IO
from urllib.parse import urlsplit

import httpx

from anomalens.domain.staging import MAX_FILE_BYTES, FileRejected, Rejection


def check_url(url: str, *, allow_private: bool) -> None:
    """Raise FileRejected(unsafe-url-detected) for non-HTTP(S) URLs or internal addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FileRejected(Rejection.UNSAFE_URL_DETECTED, f"only http(s) URLs can be fetched: {url}")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        raise FileRejected(Rejection.DOWNLOAD_FAILED, f"host {parts.hostname} cannot be resolved") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_private or address.is_loopback or address.is_link_local or address.is_reserved:
            raise FileRejected(Rejection.UNSAFE_URL_DETECTED, f"{url} resolves to a non-public address ({address})")


def fetch(url: str, *, allow_private: bool, client: httpx.Client, limit: int = MAX_FILE_BYTES) -> bytes:
    """Download at most ``limit`` bytes from a checked URL."""
    data = io.BytesIO()
    fetch_into(url, data, allow_private=allow_private, client=client, limit=limit)
    return data.getvalue()


def fetch_into(url: str, target: IO[bytes], *, allow_private: bool, client: httpx.Client, limit: int) -> int:
    """Stream at most ``limit`` bytes from a checked URL into ``target`` (videos: a temp file)."""
    check_url(url, allow_private=allow_private)
    size = 0
    try:
        with client.stream("GET", url, follow_redirects=False) as response:
            if response.status_code != 200:
                raise FileRejected(Rejection.DOWNLOAD_FAILED, f"{url} answered HTTP {response.status_code}")
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise FileRejected(Rejection.FILE_SIZE_LIMIT_EXCEEDED, f"{url} is larger than {limit} bytes")
                target.write(chunk)
            return size
    except httpx.HTTPError as exc:
        raise FileRejected(Rejection.DOWNLOAD_FAILED, f"{url}: {type(exc).__name__}") from None
