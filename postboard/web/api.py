"""The HTTP API mounted into Reflex through `api_transformer`."""

from fastapi import FastAPI
from sqlalchemy import text

from postboard.db import get_engine
from postboard.web.live_hub import hub


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

    return api
