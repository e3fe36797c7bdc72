"""The blob store on a local folder and on a non-local fsspec filesystem (memory://)."""

from __future__ import annotations

from pathlib import Path

import pytest

from anomalens.domain.errors import InvalidInput
from anomalens.storage.blobs import BlobStore


@pytest.mark.parametrize("kind", ["local", "memory"])
def test_put_get_dirs_and_delete(kind: str, tmp_path: Path) -> None:
    store = BlobStore(str(tmp_path / "blobs") if kind == "local" else f"memory://anomalens-{tmp_path.name}")
    store.put_bytes("a/b/c.bin", b"123")
    assert store.get_bytes("a/b/c.bin") == b"123" and store.exists("a/b/c.bin")
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "x.txt").write_text("x")
    store.put_dir(src, "models/1")
    out = store.get_dir("models/1", tmp_path / "out")
    assert (out / "sub" / "x.txt").read_text() == "x"
    store.delete_prefix("models")
    assert not store.exists("models/1/sub/x.txt")
    assert store.uri("a/b/c.bin").endswith("a/b/c.bin")
    with pytest.raises(InvalidInput, match=r"\.\."):
        store.put_bytes("../escape", b"")
