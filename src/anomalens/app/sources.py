"""Reading user-supplied image sources: manifests, labelled folders and MVTec AD folders.

Each source becomes a list of :class:`SourceItem` (manifest entry + where its bytes are), so
the import job treats all three the same way. Relative ``source-ref`` values in a manifest
resolve against the manifest's own folder.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Literal

from fsspec import AbstractFileSystem

from anomalens.domain import manifest
from anomalens.domain.errors import InvalidInput
from anomalens.domain.manifest import ManifestEntry
from anomalens.storage.blobs import open_source

Layout = Literal["manifest", "labeled-folders", "mvtec"]
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_MANIFEST_BYTES = 1024**3
ANOMALY_COLORS = ("#23a436", "#1f77b4", "#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


@dataclass(frozen=True)
class SourceItem:
    """One image to import: its manifest entry and the resolved URIs of image and mask."""

    entry: ManifestEntry
    line_no: int | None
    image_uri: str
    mask_uri: str | None
    binary_mask: bool = False  # MVTec masks: black background, any non-black pixel is anomalous


def _join(base: str, ref: str) -> str:
    """Resolve a manifest reference against the manifest's folder (absolute refs pass through)."""
    if "://" in ref or ref.startswith("/"):
        return ref
    if "://" in base:
        scheme, rest = base.split("://", 1)
        return f"{scheme}://{posixpath.normpath(posixpath.join(rest, ref))}"
    return posixpath.normpath(posixpath.join(base, ref))


def read_manifest_text(uri: str) -> str:
    """Read a manifest (at most 1 GB) as UTF-8 text."""
    try:
        fs, path = open_source(uri)
        if not fs.exists(path) or fs.isdir(path):
            raise InvalidInput(f"Manifest {uri!r} does not exist or is not a file.", field="Source.Manifest")
        if fs.size(path) > MAX_MANIFEST_BYTES:
            raise InvalidInput(f"Manifest {uri!r} is larger than 1 GB.", field="Source.Manifest")
        return bytes(fs.cat_file(path)).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"Manifest {uri!r} is not UTF-8 text.", field="Source.Manifest") from None
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"Manifest {uri!r} cannot be read: {exc}", field="Source.Manifest") from None


def manifest_items(uri: str, text: str | None = None) -> list[SourceItem]:
    """Items of a Ground Truth manifest (validated line by line)."""
    entries = manifest.parse_manifest(text if text is not None else read_manifest_text(uri))
    base = posixpath.dirname(uri.rstrip("/"))
    lines = _line_numbers(text if text is not None else read_manifest_text(uri))
    return [
        SourceItem(
            e, lines.get(e.source_ref), _join(base, e.source_ref), _join(base, e.mask_ref) if e.mask_ref else None
        )
        for e in entries
    ]


def _line_numbers(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for no, raw in enumerate(text.splitlines(), start=1):
        if raw.strip():
            out.setdefault(manifest.parse_line(raw.strip(), no).source_ref, no)
    return out


def _images_under(fs: AbstractFileSystem, folder: str) -> list[str]:
    found = fs.find(folder) if fs.exists(folder) else []
    return sorted(f for f in found if f.lower().endswith(IMAGE_SUFFIXES) and not posixpath.basename(f).startswith("."))


def _uri(root_uri: str, fs_root: str, path: str) -> str:
    """Rebuild a user-facing URI for a found path (keeps the scheme of the source)."""
    if "://" in root_uri:
        scheme = root_uri.split("://", 1)[0]
        return f"{scheme}://{path}"
    return path


def _check_folder(uri: str) -> tuple[AbstractFileSystem, str]:
    fs, root = open_source(uri)
    if not fs.exists(root) or not fs.isdir(root):
        raise InvalidInput(f"Folder {uri!r} does not exist.", field="Source.Folder")
    return fs, root.rstrip("/")


def labeled_folder_items(uri: str) -> list[SourceItem]:
    """Images of ``normal/`` and ``anomaly/`` (immediate subfolders; deeper names unused, spec §3.8)."""
    fs, root = _check_folder(uri)
    items: list[SourceItem] = []
    for label in ("normal", "anomaly"):
        for path in _images_under(fs, f"{root}/{label}"):
            ref = _uri(uri, root, path)
            items.append(
                SourceItem(
                    manifest.classification_line(ref, label, job_name="labeling-job/folder-import"), None, ref, None
                )
            )
    if not items:
        raise InvalidInput(
            f"Folder {uri!r} has no PNG/JPEG images in 'normal/' or 'anomaly/' subfolders.", field="Source.Folder"
        )
    return items


def mvtec_items(uri: str, dataset_type: str) -> list[SourceItem]:
    """MVTec AD layout: train <- ``train/good``; test <- ``test/good`` + ``test/<type>`` with masks."""
    fs, root = _check_folder(uri)
    items: list[SourceItem] = []
    if dataset_type == "train":
        for path in _images_under(fs, f"{root}/train/good"):
            ref = _uri(uri, root, path)
            items.append(
                SourceItem(
                    manifest.classification_line(ref, "normal", job_name="labeling-job/mvtec-import"), None, ref, None
                )
            )
    else:
        types = (
            sorted(posixpath.basename(d.rstrip("/")) for d in fs.ls(f"{root}/test", detail=False) if fs.isdir(d))
            if fs.exists(f"{root}/test")
            else []
        )
        anomaly_types = [t for t in types if t != "good"]
        for kind in ["good", *anomaly_types]:
            for path in _images_under(fs, f"{root}/test/{kind}"):
                items.append(_mvtec_test_item(fs, uri, root, path, kind, anomaly_types))
    if not items:
        want = "train/good" if dataset_type == "train" else "test/<type>"
        raise InvalidInput(f"Folder {uri!r} is not in MVTec AD layout (no images in {want}).", field="Source.Folder")
    return items


def _mvtec_test_item(fs: AbstractFileSystem, uri: str, root: str, path: str, kind: str, types: list[str]) -> SourceItem:
    ref = _uri(uri, root, path)
    label = "normal" if kind == "good" else "anomaly"
    entry = manifest.classification_line(ref, label, job_name="labeling-job/mvtec-import")
    mask_uri = None
    if label == "anomaly":
        stem = posixpath.splitext(posixpath.basename(path))[0]
        mask_path = f"{root}/ground_truth/{kind}/{stem}_mask.png"
        if fs.exists(mask_path):
            mask_uri = _uri(uri, root, mask_path)
            class_name = "".join(ch for ch in kind if ch.isalnum()) or "anomaly"
            color = ANOMALY_COLORS[types.index(kind) % len(ANOMALY_COLORS)]
            entry = manifest.with_mask(entry, mask_uri, class_name, color)
    return SourceItem(entry, None, ref, mask_uri, binary_mask=True)


def read_bytes(uri: str) -> bytes:
    """Bytes of one image or mask (local path or any fsspec URI)."""
    fs, path = open_source(uri)
    return bytes(fs.cat_file(path))
