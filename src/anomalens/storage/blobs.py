"""The service's own blob store (image copies, model artifacts, evaluation files).

Keys are ``/``-separated paths under the configured root URI. Writes go to a temporary key
first and are then moved into place, so a reader never sees half a file, even after a crash.
"""

from __future__ import annotations

import io
import posixpath
import uuid
from pathlib import Path
from typing import IO

import fsspec
from fsspec.core import url_to_fs

from anomalens.domain.errors import InvalidInput
from anomalens.storage.cloud import protocol_of, storage_options


def _clean_key(key: str) -> str:
    parts = [p for p in key.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise InvalidInput(f"storage key {key!r} must not contain '..'.", field="key")
    return "/".join(parts)


class BlobStore:
    """Byte storage rooted at one fsspec URI."""

    def __init__(self, root_url: str) -> None:
        self.root_url = root_url.rstrip("/")
        self.fs, root = url_to_fs(self.root_url, **storage_options(protocol_of(self.root_url)))
        self.root = root.rstrip("/")
        self.is_local = "file" in (self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,))
        if self.is_local:
            self.fs.makedirs(self.root, exist_ok=True)

    def path(self, key: str) -> str:
        """Filesystem path (inside fsspec's namespace) of a key."""
        return posixpath.join(self.root, _clean_key(key))

    def uri(self, key: str) -> str:
        """Full URI of a key, as shown to users (DescribeModel locations)."""
        return f"{self.root_url}/{_clean_key(key)}"

    def put_bytes(self, key: str, data: bytes) -> None:
        """Write atomically: temp key, then move into place."""
        self.put_file(key, io.BytesIO(data))

    def put_file(self, key: str, source: IO[bytes], chunk: int = 8 * 1024 * 1024) -> None:
        """Stream a file object into a blob atomically: temp key, then move into place."""
        final = self.path(key)
        tmp = posixpath.join(posixpath.dirname(final), f".tmp-{uuid.uuid4().hex}")
        self.fs.makedirs(posixpath.dirname(final), exist_ok=True)
        with self.fs.open(tmp, "wb") as fh:
            while block := source.read(chunk):
                fh.write(block)
        self.fs.mv(tmp, final)

    def open(self, key: str) -> IO[bytes]:
        """A seekable read handle on a blob (video decoding reads it in place)."""
        handle: IO[bytes] = self.fs.open(self.path(key), "rb")
        return handle

    def get_bytes(self, key: str) -> bytes:
        """Read a blob."""
        data: bytes = self.fs.cat_file(self.path(key))
        return data

    def exists(self, key: str) -> bool:
        """True if the key holds a blob."""
        return bool(self.fs.exists(self.path(key)))

    def put_dir(self, local_dir: Path, prefix: str) -> None:
        """Upload every file of a local directory under ``prefix`` (each file atomically)."""
        for file in sorted(p for p in local_dir.rglob("*") if p.is_file()):
            self.put_bytes(f"{prefix}/{file.relative_to(local_dir).as_posix()}", file.read_bytes())

    def get_dir(self, prefix: str, local_dir: Path) -> Path:
        """Download every blob under ``prefix`` into ``local_dir``."""
        base = self.path(prefix)
        for remote in self.fs.find(base):
            rel = posixpath.relpath(remote, base)
            if rel.split("/")[-1].startswith(".tmp-"):
                continue
            target = local_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.fs.cat_file(remote))
        return local_dir

    def delete_prefix(self, prefix: str) -> None:
        """Remove every blob under ``prefix`` (missing is fine)."""
        path = self.path(prefix)
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)


def open_source(uri: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """Filesystem and path of a user-supplied location (local path or any fsspec URI)."""
    fs, path = url_to_fs(uri, **storage_options(protocol_of(uri)))
    return fs, path
