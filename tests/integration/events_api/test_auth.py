"""The API refuses a missing, unknown or revoked token (401) and a token without the scope (403)."""

import httpx
import pytest

from postboard.tokens.service import create_token
from tests.integration.events_api.api_calls import MISSING_ID, assert_error, fire, unique
from tests.integration.pipeline import Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token pb_abc", "Bearer pb_not-a-real-token"],
)
async def test_missing_or_unknown_token_is_401(api: httpx.AsyncClient, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = await api.post("/api/events", json={"event": "anything", "payload": {}}, headers=headers)
    assert_error(answer, 401, "token")
    assert answer.headers["www-authenticate"] == "Bearer"
    assert_error(await api.get("/api/rules", headers=headers), 401, "token")


async def test_revoked_token_is_401(api: httpx.AsyncClient, stack: Pipeline) -> None:
    from postboard.tokens.service import revoke_token

    with stack.session() as session:
        issued = create_token(session, name="soon revoked")
        revoke_token(session, token_id=issued.token.id or 0)
    answer = await fire(api, {"Authorization": f"Bearer {issued.secret}"}, "anything", {})
    assert_error(answer, 401, "revoked")


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/event-sources"), ("GET", "/api/templates"), ("GET", "/api/rules"), ("GET", "/api/deliveries")],
)
async def test_events_write_token_cannot_use_admin_endpoints(
    api: httpx.AsyncClient, writer: dict[str, str], method: str, path: str
) -> None:
    assert_error(await api.request(method, path, headers=writer), 403, "admin")


async def test_events_write_token_cannot_create_or_retry(api: httpx.AsyncClient, writer: dict[str, str]) -> None:
    answer = await api.post("/api/event-sources", json={"name": "sneaky"}, headers=writer)
    assert_error(answer, 403, "admin")
    assert_error(await api.post(f"/api/deliveries/{MISSING_ID}/retry", headers=writer), 403, "admin")


async def test_admin_token_may_post_events(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    name = unique("ping")
    assert (await api.post("/api/event-sources", json={"name": name}, headers=admin)).status_code == 201
    answer = await fire(api, admin, name, {"n": 1})
    assert answer.status_code == 202, answer.text
    assert answer.json()["deliveries_planned"] == 0
