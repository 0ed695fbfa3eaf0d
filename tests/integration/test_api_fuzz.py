"""Schemathesis against `/api/openapi.json` of the real API served by Granian: no input gets a 5xx."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from postboard.db import make_engine
from postboard.dev.services import free_port
from postboard.events import service
from postboard.events.conditions import Conditions
from postboard.events.models import RecipientKind
from postboard.settings import ROOT
from postboard.tokens.models import Scope
from postboard.tokens.service import create_token
from tests.app_logs import LogWatch
from tests.databases import Databases
from tests.support import stop, wait_until

pytestmark = pytest.mark.integration

# Per operation; about 20 operations at a few ms each keeps the run well under a minute.
EXAMPLES = 40
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
SEEDED_EVENT = "order_created"


@dataclass(frozen=True)
class Served:
    """The API on a real server, and an admin token for it."""

    url: str
    headers: dict[str, str]


def _seed(database_url: str) -> str:
    """An admin token, and a source whose rules email and webhook on conditions, so fuzzed events reach them."""
    engine = make_engine(database_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            source = service.save_source(session, service.SourceIn(name=SEEDED_EVENT, description="fuzzed"))
            for channel, kind, value in (("email", RecipientKind.FIELD, "email"), ("webhook", RecipientKind.URL, "")):
                template = service.save_template(
                    session,
                    service.TemplateIn(
                        name=f"fuzz {channel}",
                        channel=channel,
                        subject="Order {{ order.id }}" if channel == "email" else None,
                        body="{{ name | upper }} paid {{ total }} for {% for l in lines %}{{ l.sku }} {% endfor %}",
                    ),
                )
                conditions = {"mode": "any", "items": [{"field": "total", "op": "gt", "value": 100}]}
                service.save_rule(
                    session,
                    service.RuleIn(
                        name=f"fuzz {channel}",
                        source_id=source.id or 0,
                        template_id=template.id or 0,
                        recipient_kind=kind,
                        recipient_value=value or f"http://127.0.0.1:{free_port()}/hook",
                        conditions=Conditions.model_validate(conditions),
                    ),
                )
            return create_token(session, name="fuzz", scopes=[Scope.ADMIN]).secret
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, redis_url: str, database: Databases) -> Iterator[Served]:
    """`create_api()` served by Granian (as Reflex serves it in production) on a migrated scratch database."""
    root = tmp_path_factory.mktemp("fuzz")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database.create(root),
        "REDIS_URL": redis_url,
        "API_RATE_LIMIT": "0",
        "PYTHONUNBUFFERED": "1",
    }
    secret = _seed(env["DATABASE_URL"])
    log = root / "server.log"
    cmd = [str(Path(sys.executable).parent / "granian"), "--interface", "asgi", "--factory", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--workers", "1", "--log-level", "warning", "postboard.web.api:create_api"]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    watch = LogWatch.folder(root)
    try:
        assert wait_until(lambda: _answers(f"{url}/api/health"), within=60), log.read_text()
        yield Served(url=url, headers={"Authorization": f"Bearer {secret}"})
    finally:
        stop(proc)
        database.drop(env["DATABASE_URL"])
    # What no answer shows (a background task that raised after a 202) fails the module too.
    watch.check()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=25,
)
# The fields the seeded rules read (conditions on `total`, recipients in `email`, the templates'
# variables), each sometimes well-formed and sometimes any JSON at all, plus unrelated fields.
KNOWN_FIELDS = st.fixed_dictionaries(
    {
        "total": st.integers(-10, 10_000) | st.floats(-10, 10_000) | st.sampled_from([101, 100.5, "150", None]) | JSON,
        "email": st.emails() | st.lists(st.emails(), max_size=3) | JSON,
        "name": st.text(max_size=10) | JSON,
        "lines": st.lists(st.fixed_dictionaries({"sku": JSON}), max_size=3) | JSON,
        "order": st.fixed_dictionaries({"id": JSON}) | JSON,
    },
)
PAYLOADS = st.tuples(st.dictionaries(st.text(max_size=10), JSON, max_size=3), KNOWN_FIELDS).map(
    lambda parts: {**parts[0], **parts[1]}
)


# Runs before the schemathesis operations below, which may delete the seeded source.
@FUZZ_SETTINGS
@given(payload=PAYLOADS)
def test_any_payload_of_a_known_event_is_simulated_and_accepted(served: Served, payload: dict[str, Any]) -> None:
    body = {"event": SEEDED_EVENT, "payload": payload}
    with httpx.Client(base_url=served.url, headers=served.headers, timeout=15) as client:
        simulated = client.post("/api/events/simulate", json=body)
        accepted = client.post("/api/events", json=body)
    if "\\u0000" in json.dumps(body):
        # No text column holds NUL on PostgreSQL: refused with the reason, on either database.
        assert (simulated.status_code, accepted.status_code) == (422, 422), accepted.text
        assert "NUL" in accepted.json()["detail"]
        return
    assert simulated.status_code == 200, simulated.text
    assert accepted.status_code == 202, accepted.text
    # The simulation tells the truth: the event plans exactly the deliveries it predicted.
    assert accepted.json()["deliveries_planned"] == simulated.json()["deliveries"]


def _document() -> dict[str, Any]:
    """The app's OpenAPI document, with the seeded event name offered next to random ones."""
    from postboard.web.api import create_api

    document = create_api().openapi()
    for path in ("/api/events", "/api/events/simulate"):
        body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        body["properties"]["event"] = {"anyOf": [{"enum": [SEEDED_EVENT]}, body["properties"]["event"]]}
    return document


schema = schemathesis.openapi.from_dict(_document())


@schema.parametrize()
@FUZZ_SETTINGS
def test_no_input_gets_a_server_error(case: schemathesis.Case, served: Served) -> None:
    # Every request carries the admin token, so the generated input reaches the handlers.
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.headers.update(served.headers)
    response = case.call(base_url=served.url, timeout=15)
    assert response.status_code < 500, f"{case.as_curl_command()}\n-> {response.status_code} {response.text[:500]}"
