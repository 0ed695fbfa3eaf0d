"""Reflex configuration: the app lives in `postboard/postboard.py`."""

import os
from typing import TypedDict

import reflex as rx
from reflex.constants import StateManagerMode
from reflex.plugins.sitemap import SitemapPlugin

_backend_port = os.environ.get("BACKEND_PORT", "8000")


class _Ports(TypedDict, total=False):
    frontend_port: int


# Set the frontend port only when asked: `reflex run --backend-only` refuses one.
_ports: _Ports = {"frontend_port": int(os.environ["FRONTEND_PORT"])} if os.environ.get("FRONTEND_PORT") else {}


class _Production(TypedDict, total=False):
    redis_url: str
    state_manager_mode: StateManagerMode
    cors_allowed_origins: list[str]


# `postboard serve` sets POSTBOARD_MODE=prod: tab state lives in Redis so every backend process
# (and every Granian worker) can load any tab's state, e.g. after its socket moved to another backend.
_production: _Production = {}
_redis = os.environ.get("REFLEX_REDIS_URL") or os.environ.get("REDIS_URL")
if os.environ.get("POSTBOARD_MODE") == "prod" and _redis:
    _production["redis_url"], _production["state_manager_mode"] = _redis, StateManagerMode.REDIS
if os.environ.get("ALLOWED_ORIGINS"):
    _production["cors_allowed_origins"] = [o.strip() for o in os.environ["ALLOWED_ORIGINS"].split(",") if o.strip()]

config = rx.Config(
    **_ports,
    **_production,
    app_name="postboard",
    backend_port=int(_backend_port),
    api_url=os.environ.get("API_URL", f"http://localhost:{_backend_port}"),
    backend_host="127.0.0.1",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    disable_plugins=[SitemapPlugin],
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="indigo", gray_color="slate", radius="medium"))],
)
