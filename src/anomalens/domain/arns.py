"""Resource names in the Lookout for Vision ARN form (spec §1.9), so ARNs round-trip with its clients."""

from __future__ import annotations

from anomalens.domain.errors import InvalidInput

REGION = "local"
ACCOUNT = "000000000000"
PREFIX = f"arn:aws:lookoutvision:{REGION}:{ACCOUNT}:"


def project_arn(project: str) -> str:
    """ARN of a project."""
    return f"{PREFIX}project/{project}"


def model_arn(project: str, version: int) -> str:
    """ARN of a model version."""
    return f"{PREFIX}model/{project}/{version}"


def parse_model_arn(arn: str) -> tuple[str, int]:
    """(project, version) of a model ARN; InvalidInput for anything else (only models carry tags)."""
    if arn.startswith(PREFIX + "model/"):
        project, _, version = arn[len(PREFIX) + len("model/") :].partition("/")
        if project and version.isdigit():
            return project, int(version)
    raise InvalidInput(
        f"ResourceArn {arn!r} is not a model ARN ({PREFIX}model/<project>/<version>).", field="ResourceArn"
    )
