"""One place that turns errors into HTTP responses ``{code, message, field?}``."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from anomalens.domain.errors import AnomalensError

log = logging.getLogger(__name__)

STATUS_BY_CODE = {
    "invalid_input": 400,
    "not_found": 404,
    "conflict": 409,
    "quota_exceeded": 402,
    "unavailable": 503,
    "internal_error": 500,
}


def _field_of(loc: tuple[object, ...]) -> str:
    return ".".join(str(part) for part in loc if part not in ("body", "query", "path", "header"))


def install(app: FastAPI) -> None:
    """Register the exception handlers."""

    @app.exception_handler(AnomalensError)
    async def _domain(_: Request, exc: AnomalensError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=STATUS_BY_CODE.get(exc.code, 500))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        field = _field_of(tuple(first.get("loc", ())))
        message = f"{field or 'request'}: {first.get('msg', 'invalid value')}"
        return JSONResponse({"code": "invalid_input", "message": message, "field": field}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = "not_found" if exc.status_code == 404 else "unauthorized" if exc.status_code == 401 else "http_error"
        return JSONResponse(
            {"code": code, "message": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        request_id = uuid.uuid4().hex[:12]
        log.error("unhandled error (request %s)", request_id, exc_info=exc)
        return JSONResponse(
            {"code": "internal_error", "message": f"Internal error (request id {request_id})."}, status_code=500
        )
