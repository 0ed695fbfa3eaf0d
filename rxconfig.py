"""Reflex configuration: the app lives in `postboard/postboard.py`."""

import os
from typing import TypedDict

import reflex as rx
from reflex.plugins.sitemap import SitemapPlugin

_backend_port = os.environ.get("BACKEND_PORT", "8000")


class _Ports(TypedDict, total=False):
    frontend_port: int


# Set the frontend port only when asked: `reflex run --backend-only` refuses one.
_ports: _Ports = {"frontend_port": int(os.environ["FRONTEND_PORT"])} if os.environ.get("FRONTEND_PORT") else {}

config = rx.Config(
    **_ports,
    app_name="postboard",
    backend_port=int(_backend_port),
    api_url=os.environ.get("API_URL", f"http://localhost:{_backend_port}"),
    backend_host="127.0.0.1",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    disable_plugins=[SitemapPlugin],
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="indigo", gray_color="slate", radius="medium"))],
)
