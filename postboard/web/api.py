"""The HTTP API mounted into Reflex through `api_transformer`."""

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.exc import DataError

from postboard import names
from postboard.db import get_engine
from postboard.errors import NotFound, ValidationFailed
from postboard.web.config_api import router as config_router
from postboard.web.deps import job_store
from postboard.web.events_api import router as events_router
from postboard.web.metrics import render_metrics
from postboard.web.realtime import rooms


def _brief(error: Mapping[str, Any]) -> dict[str, Any]:
    # The offending input is left out: it may be huge, secret, or not JSON at all (NaN).
    return {"loc": [str(p) for p in error.get("loc", ())], "msg": str(error.get("msg", "")), "type": error.get("type")}


def create_api() -> FastAPI:
    """Build the FastAPI app serving `/api/...`."""
    api = FastAPI(
        title="Postboard API",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )

    api.include_router(events_router)
    api.include_router(config_router)

    @api.exception_handler(ValidationFailed)
    async def _invalid(_request: Request, exc: ValidationFailed) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "errors": exc.errors}, status_code=422)

    @api.exception_handler(NotFound)
    async def _missing(_request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @api.exception_handler(RequestValidationError)
    async def _malformed(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # One readable sentence first; the structured list stays for programs.
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"]) or "request"
        return JSONResponse(
            {"detail": f"{where}: {first['msg']}", "errors": [_brief(e) for e in exc.errors()]}, status_code=422
        )

    @api.exception_handler(DataError)
    async def _unstorable(_request: Request, exc: DataError) -> JSONResponse:
        # PostgreSQL refuses what SQLite stores: NUL in text, integers past 32 bits.
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "invalid value"
        if "NUL" in reason:
            reason = "text may not contain a NUL character (\\u0000)"
        return JSONResponse({"detail": f"a value the database cannot store: {reason}"}, status_code=422)

    @api.get("/api/health", tags=["ops"])
    def health() -> dict[str, object]:
        """Say whether the database answers, and how many live tabs this process serves."""
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "live_tabs": rooms.count(names.SIGNED_IN_ROOM)}

    @api.get("/metrics", tags=["ops"], response_class=Response)
    async def metrics() -> Response:
        """Prometheus metrics: queues, jobs (from every worker, via Redis), deliveries, tabs."""
        return Response(await render_metrics(job_store()), media_type=CONTENT_TYPE_LATEST)

    return api
