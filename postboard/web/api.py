"""The HTTP API mounted into Reflex through `api_transformer`."""

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from postboard.db import get_engine
from postboard.web.live_hub import hub
from postboard.web.metrics import render_metrics
from postboard.web.monitor_hub import monitor


def create_api() -> FastAPI:
    """Build the FastAPI app serving `/api/...`."""
    api = FastAPI(
        title="Postboard API",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )

    @api.get("/api/health", tags=["ops"])
    def health() -> dict[str, object]:
        """Say whether the database answers, and how many live tabs this process serves."""
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "live_tabs": hub.tab_count()}

    @api.get("/metrics", tags=["ops"], response_class=Response)
    async def metrics() -> Response:
        """Prometheus metrics: queues, jobs (from every worker, via Redis), deliveries, tabs."""
        return Response(await render_metrics(monitor.store), media_type=CONTENT_TYPE_LATEST)

    return api
