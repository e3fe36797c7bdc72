"""DetectAnomalies (spec §4): check the image, run it on a hosted model, shape the result."""

from __future__ import annotations

from typing import Any

from anomalens import vision
from anomalens.app.context import Platform
from anomalens.app.hosting import HostManager
from anomalens.domain import images, names
from anomalens.domain.errors import Conflict, InvalidInput, Unavailable
from anomalens.domain.statuses import ModelStatus
from anomalens.store.models import ModelRepository
from anomalens.store.projects import ProjectRepository


def _hosted_version(p: Platform, project: str, version: str) -> int:
    with p.db.unit_of_work() as s:
        row = ModelRepository(s).row(ProjectRepository(s).project_row(project), version)
        if ModelStatus(row.status) is not ModelStatus.HOSTED:
            raise Conflict(
                f"Model version {row.version} of {project!r} is {row.status}; DetectAnomalies needs a "
                "HOSTED model (start it with StartModel and wait for HOSTED).",
                field="ModelVersion",
            )
        return row.version


def check_image(body: bytes, content_type: str | None) -> vision.ImageInfo:
    """Size, format, declared type and dimensions, all from the header (no decode yet)."""
    images.check_file_size(len(body), field="Body")
    try:
        info = vision.probe_image(body)
    except vision.ImageDecodeError as exc:
        raise InvalidInput(f"Body is not a PNG or JPEG image: {exc}", field="Body") from None
    images.check_content_type(content_type, info.format)
    images.check_dimensions(info.format, info.width, info.height, field="Body")
    return info


def detect_anomalies(
    p: Platform, host: HostManager, project: str, version: str, body: bytes, content_type: str | None
) -> dict[str, Any]:
    """The DetectAnomalyResult of one image."""
    names.project_name(project)
    names.model_version(version)
    number = _hosted_version(p, project, version)
    check_image(body, content_type)
    try:
        image = vision.decode_image(body)
    except vision.ImageDecodeError as exc:
        raise InvalidInput(f"Body cannot be decoded: {exc}", field="Body") from None
    pool = host.pool(project, number)
    if pool is None:
        raise Unavailable(f"Model version {number} is HOSTED but not loaded in this server yet; retry shortly.")
    result = pool.predict(image)
    return {
        "Source": {"Type": "direct"},
        "IsAnomalous": bool(result.is_anomalous),
        "Confidence": float(result.confidence),
    }
