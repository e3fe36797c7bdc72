"""The FastAPI application factory (OpenAPI at ``/docs``)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI

from anomalens import __version__
from anomalens.api import errors
from anomalens.api.compat import roboflow
from anomalens.api.deps import require_api_key
from anomalens.api.routes import batch, datasets, jobs, models, projects, staging
from anomalens.app.context import Platform
from anomalens.app.hosting import HostManager


def _operation_id(route: Any) -> str:
    return f"{route.tags[0]}-{route.name}" if route.tags else str(route.name)


def create_app(platform: Platform, host: HostManager) -> FastAPI:
    """Build the API around an already-connected platform and host manager."""
    app = FastAPI(
        title="Anomalens",
        version=__version__,
        generate_unique_id_function=_operation_id,
        description="Self-hosted visual inspection: projects, datasets, models, hosting, detection.",
    )
    app.state.platform = platform
    app.state.host = host
    errors.install(app)
    secured = [Depends(require_api_key)]
    for module in (projects, datasets, models, jobs, staging, batch, roboflow):
        app.include_router(module.router, dependencies=secured)
    app.include_router(models.tags_router, dependencies=secured)
    app.include_router(staging.uploads, dependencies=secured)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers and the database is reachable."""
        platform.db.verify_schema()
        return {"status": "ok", "version": __version__}

    return app
