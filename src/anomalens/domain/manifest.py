"""SageMaker Ground Truth manifest lines (spec §3): parsing, validation and normalised output.

A manifest is JSON Lines. Each line names an image (``source-ref``), an image-level label
attribute with its ``-metadata`` object (``class-name`` ``normal``/``anomaly``; anything else
leaves the image unlabeled) and, for segmentation, a ``*-ref`` mask with ``*-ref-metadata``.
Errors name the line number so a user can fix the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from anomalens.domain.errors import InvalidInput

CLASSIFICATION_TYPE = "groundtruth/image-classification"
SEGMENTATION_TYPE = "groundtruth/semantic-segmentation"
MAX_LINE_CHARS = 8192
MAX_CHANGES_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class ManifestEntry:
    """One parsed manifest line.

    ``label`` is ``"normal"``, ``"anomaly"`` or ``None`` (unlabeled). ``data`` is the line with
    the label attribute normalised to 1/0, ready to be listed or exported again.
    """

    source_ref: str
    label: str | None
    label_key: str | None
    mask_ref: str | None
    color_map: dict[str, dict[str, Any]] | None
    data: dict[str, Any] = field(hash=False)

    @property
    def anomaly_classes(self) -> list[str]:
        """Anomaly type names of the mask's colour map (BACKGROUND excluded)."""
        if not self.color_map:
            return []
        return [str(v["class-name"]) for k, v in sorted(self.color_map.items()) if k != "0"]

    def to_line(self) -> str:
        """Serialise back to one compact JSON line."""
        return json.dumps(self.data, separators=(",", ":"), ensure_ascii=False)


def _fail(line_no: int, rule: str) -> InvalidInput:
    return InvalidInput(f"manifest line {line_no}: {rule}", field=f"manifest[{line_no}]")


def _label_attribute(obj: dict[str, Any], line_no: int) -> tuple[str | None, str | None]:
    """Find the image-level label attribute: a key with a classification ``<key>-metadata``."""
    for key, meta in obj.items():
        if not key.endswith("-metadata") or not isinstance(meta, dict):
            continue
        if meta.get("type") != CLASSIFICATION_TYPE:
            continue
        base = key[: -len("-metadata")]
        if base not in obj:
            raise _fail(line_no, f"'{key}' has no matching label attribute '{base}'")
        class_name = str(meta.get("class-name", "")).lower()
        return base, class_name if class_name in ("normal", "anomaly") else None
    return None, None


def _mask_attribute(obj: dict[str, Any], line_no: int) -> tuple[str | None, dict[str, dict[str, Any]] | None]:
    """Find the segmentation mask: a ``*-ref`` key (not source-ref) with ``*-ref-metadata``."""
    for key, value in obj.items():
        if not key.endswith("-ref") or key == "source-ref":
            continue
        meta = obj.get(f"{key}-metadata")
        if not isinstance(meta, dict):
            raise _fail(line_no, f"mask '{key}' needs a '{key}-metadata' object")
        if meta.get("type") != SEGMENTATION_TYPE:
            raise _fail(line_no, f"'{key}-metadata.type' must be '{SEGMENTATION_TYPE}'")
        cmap = meta.get("internal-color-map")
        if not isinstance(cmap, dict) or "0" not in cmap:
            raise _fail(line_no, f"'{key}-metadata.internal-color-map' must map '0' to BACKGROUND")
        if str(cmap["0"].get("class-name", "")).upper() != "BACKGROUND":
            raise _fail(line_no, "internal-color-map entry '0' must have class-name BACKGROUND")
        for idx, item in cmap.items():
            color = str(item.get("hex-color", ""))
            if len(color) != 7 or not color.startswith("#"):
                raise _fail(line_no, f"internal-color-map['{idx}'].hex-color must look like #2ca02c")
        if not isinstance(value, str) or not value:
            raise _fail(line_no, f"'{key}' must be a non-empty image URI")
        return value, cmap
    return None, None


def parse_line(text: str, line_no: int) -> ManifestEntry:
    """Parse and validate one manifest line; raise InvalidInput naming the line and the rule."""
    if len(text) > MAX_LINE_CHARS:
        raise _fail(line_no, f"a line may have at most {MAX_LINE_CHARS} characters (got {len(text)})")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(line_no, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise _fail(line_no, "each line must be a JSON object")
    source_ref = obj.get("source-ref")
    if not isinstance(source_ref, str) or not source_ref.strip():
        raise _fail(line_no, "'source-ref' is required and must be an image URI or path")
    label_key, label = _label_attribute(obj, line_no)
    mask_ref, cmap = _mask_attribute(obj, line_no)
    if mask_ref and label == "normal":
        raise _fail(line_no, "a normal image must not carry an anomaly mask")
    data = dict(obj)
    if label_key and label:
        data[label_key] = 1 if label == "anomaly" else 0
    return ManifestEntry(source_ref.strip(), label, label_key, mask_ref, cmap, data)


def parse_manifest(text: str) -> list[ManifestEntry]:
    """Parse a whole manifest; blank lines are skipped; duplicate source-refs are refused."""
    entries: list[ManifestEntry] = []
    seen: dict[str, int] = {}
    for line_no, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        entry = parse_line(raw.strip(), line_no)
        if entry.source_ref in seen:
            raise _fail(line_no, f"source-ref {entry.source_ref!r} repeats line {seen[entry.source_ref]}")
        seen[entry.source_ref] = line_no
        entries.append(entry)
    if not entries:
        raise InvalidInput("the manifest holds no entries.", field="manifest")
    return entries


def classification_line(source_ref: str, label: str, *, job_name: str, now: datetime | None = None) -> ManifestEntry:
    """Build the manifest line for an auto-labelled image (folder imports)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")
    data: dict[str, Any] = {
        "source-ref": source_ref,
        "anomaly-label": 1 if label == "anomaly" else 0,
        "anomaly-label-metadata": {
            "confidence": 1,
            "job-name": job_name,
            "class-name": label,
            "human-annotated": "yes",
            "creation-date": stamp,
            "type": CLASSIFICATION_TYPE,
        },
    }
    return ManifestEntry(source_ref, label, "anomaly-label", None, None, data)


def with_mask(entry: ManifestEntry, mask_ref: str, class_name: str, color: str) -> ManifestEntry:
    """Attach a single-class segmentation mask to an anomalous classification line."""
    cmap = {
        "0": {"class-name": "BACKGROUND", "hex-color": "#ffffff", "confidence": 0.0},
        "1": {"class-name": class_name, "hex-color": color, "confidence": 0.0},
    }
    data = dict(entry.data)
    data["anomaly-mask-ref"] = mask_ref
    data["anomaly-mask-ref-metadata"] = {
        "internal-color-map": cmap,
        "type": SEGMENTATION_TYPE,
        "human-annotated": "yes",
        "creation-date": data["anomaly-label-metadata"]["creation-date"],
        "job-name": "labeling-job/import",
    }
    return ManifestEntry(entry.source_ref, entry.label, entry.label_key, mask_ref, cmap, data)
