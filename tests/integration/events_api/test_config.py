"""Event sources, templates and rules through the admin API: create, change, delete, 404 and refused templates."""

from typing import Any

import httpx
import pytest

from tests.integration.events_api.api_calls import MISSING_ID, assert_error, make_rule, unique

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/event-sources/{id}", None),
        ("PUT", "/api/event-sources/{id}", {"name": "renamed"}),
        ("DELETE", "/api/event-sources/{id}", None),
        ("GET", "/api/templates/{id}", None),
        ("PUT", "/api/templates/{id}", {"name": "t", "channel": "webhook", "body": "b"}),
        ("DELETE", "/api/templates/{id}", None),
        ("GET", "/api/rules/{id}", None),
        ("DELETE", "/api/rules/{id}", None),
        ("GET", "/api/deliveries/{id}", None),
        ("POST", "/api/deliveries/{id}/retry", None),
    ],
)
async def test_unknown_ids_are_404(
    api: httpx.AsyncClient, admin: dict[str, str], method: str, path: str, body: dict[str, Any] | None
) -> None:
    answer = await api.request(method, path.format(id=MISSING_ID), json=body, headers=admin)
    assert_error(answer, 404, str(MISSING_ID))


async def test_template_syntax_error_is_refused_with_its_line(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    name = unique("broken")
    template = {"name": name, "channel": "email", "subject": "Hi", "body": "Hello\nthere\n{{ name }"}
    answer = await api.post("/api/templates", json=template, headers=admin)
    assert_error(answer, 422, "line 3")
    assert "line 3" in answer.json()["errors"]["body"]
    hostile = {**template, "body": "{{ ''.__class__.__mro__ }}"}
    assert_error(await api.post("/api/templates", json=hostile, headers=admin), 422, "not allowed")
    listed = (await api.get("/api/templates", headers=admin)).json()
    assert name not in {t["name"] for t in listed}


async def test_crud_round_trip(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    name = unique("crud")
    made = await api.post("/api/event-sources", json={"name": name, "description": "first"}, headers=admin)
    assert made.status_code == 201, made.text
    source_id = made.json()["id"]
    assert_error(await api.post("/api/event-sources", json={"name": name}, headers=admin), 422, "already exists")
    second = {"name": name, "description": "second"}
    changed = await api.put(f"/api/event-sources/{source_id}", json=second, headers=admin)
    assert changed.json()["description"] == "second"
    assert (await api.get(f"/api/event-sources/{source_id}", headers=admin)).json()["description"] == "second"
    rule_id = await _webhook_rule(api, admin, name)
    rule = (await api.get(f"/api/rules/{rule_id}", headers=admin)).json()
    switched = await api.put(f"/api/rules/{rule_id}", json={**rule, "active": False}, headers=admin)
    assert switched.json()["active"] is False
    assert [r["id"] for r in (await api.get("/api/rules", params={"source_id": source_id}, headers=admin)).json()] == [
        rule_id
    ]
    template_id = rule["template_id"]
    assert_error(await api.delete(f"/api/templates/{template_id}", headers=admin), 422, "rule")
    assert (await api.delete(f"/api/rules/{rule_id}", headers=admin)).status_code == 204
    assert (await api.delete(f"/api/templates/{template_id}", headers=admin)).status_code == 204
    assert (await api.delete(f"/api/event-sources/{source_id}", headers=admin)).status_code == 204
    for path in (f"/api/rules/{rule_id}", f"/api/templates/{template_id}", f"/api/event-sources/{source_id}"):
        assert (await api.get(path, headers=admin)).status_code == 404


async def _webhook_rule(api: httpx.AsyncClient, admin: dict[str, str], source: str) -> int:
    _, rule_id = await make_rule(
        api,
        admin,
        channel="webhook",
        body="-",
        recipient_kind="url",
        recipient_value="http://127.0.0.1:9/x",
        source=source,
    )
    return rule_id


async def test_deleting_a_source_deletes_its_rules(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    name = unique("doomed")
    assert (await api.post("/api/event-sources", json={"name": name}, headers=admin)).status_code == 201
    rule_id = await _webhook_rule(api, admin, name)
    source_id = (await api.get(f"/api/rules/{rule_id}", headers=admin)).json()["source_id"]
    assert (await api.delete(f"/api/event-sources/{source_id}", headers=admin)).status_code == 204
    assert (await api.get(f"/api/rules/{rule_id}", headers=admin)).status_code == 404
