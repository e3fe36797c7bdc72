"""Ground Truth manifest lines (spec §3.2-3.3)."""

from __future__ import annotations

import json

import pytest

from anomalens.domain import manifest
from anomalens.domain.errors import InvalidInput

CLS = {
    "source-ref": "s3://b/a.png",
    "anomaly-label": 1,
    "anomaly-label-metadata": {
        "confidence": 1,
        "job-name": "j",
        "class-name": "anomaly",
        "human-annotated": "yes",
        "creation-date": "2020-11-10T03:37:09.600",
        "type": "groundtruth/image-classification",
    },
}


def test_classification_line_label_comes_from_class_name() -> None:
    line = dict(CLS, **{"anomaly-label": "0"})
    entry = manifest.parse_line(json.dumps(line), 1)
    assert entry.label == "anomaly"
    assert entry.data["anomaly-label"] == 1  # normalised


def test_custom_label_attribute_and_unknown_class_is_unlabeled() -> None:
    meta = dict(CLS["anomaly-label-metadata"], **{"class-name": "maybe"})
    line = {"source-ref": "x.png", "my-label": 3, "my-label-metadata": meta}
    entry = manifest.parse_line(json.dumps(line), 1)
    assert entry.label is None
    assert entry.label_key == "my-label"


def test_segmentation_line() -> None:
    line = dict(
        CLS,
        **{
            "anomaly-mask-ref": "s3://b/m.png",
            "anomaly-mask-ref-metadata": {
                "type": "groundtruth/semantic-segmentation",
                "human-annotated": "yes",
                "internal-color-map": {
                    "0": {"class-name": "BACKGROUND", "hex-color": "#ffffff", "confidence": 0},
                    "1": {"class-name": "scratch", "hex-color": "#2ca02c", "confidence": 0},
                },
            },
        },
    )
    entry = manifest.parse_line(json.dumps(line), 1)
    assert entry.mask_ref == "s3://b/m.png"
    assert entry.anomaly_classes == ["scratch"]


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"anomaly-label": 1}', "'source-ref' is required"),
    ],
)
def test_broken_line_names_line_number(text: str, rule: str) -> None:
    good = json.dumps(CLS)
    with pytest.raises(InvalidInput) as info:
        manifest.parse_manifest(f"{good}\n\n{text}\n")
    assert "manifest line 3" in info.value.message
    assert rule in info.value.message
    assert info.value.field == "manifest[3]"


def test_duplicates_and_empty_manifest_refused() -> None:
    good = json.dumps(CLS)
    with pytest.raises(InvalidInput, match="repeats line 1"):
        manifest.parse_manifest(f"{good}\n{good}\n")
    with pytest.raises(InvalidInput, match="no entries"):
        manifest.parse_manifest("\n\n")


def test_mask_needs_background_first() -> None:
    line = dict(
        CLS,
        **{
            "anomaly-mask-ref": "m.png",
            "anomaly-mask-ref-metadata": {
                "type": "groundtruth/semantic-segmentation",
                "internal-color-map": {"0": {"class-name": "scratch", "hex-color": "#2ca02c"}},
            },
        },
    )
    with pytest.raises(InvalidInput, match="BACKGROUND"):
        manifest.parse_line(json.dumps(line), 7)


def test_generated_line_round_trips() -> None:
    entry = manifest.classification_line("/data/n.png", "normal", job_name="labeling-job/x")
    again = manifest.parse_line(entry.to_line(), 1)
    assert (again.source_ref, again.label) == ("/data/n.png", "normal")
