"""An event's in-app message reaches only its recipients' open tabs, live: a toast and the exact badge."""

import time

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.app import PASSWORD, App, api, badge, expect_unread, sign_in

pytestmark = pytest.mark.e2e


def test_in_app_event_message_is_pushed_to_its_recipients_only(app: App, browser: Browser) -> None:
    for email, name, role in (("cy@example.com", "Cy Member", "member"), ("dee@example.com", "Dee Admin", "admin")):
        app.cli("users", "create", "--email", email, "--name", name, "--password", PASSWORD, "--role", role)
    token = app.cli("tokens", "create", "--name", "e2e live", "--scope", "admin").strip().splitlines()[-1]
    source = api(app, token, "/api/event-sources", {"name": "shipment_delayed"})
    template = api(
        app,
        token,
        "/api/templates",
        {
            "name": "delay notice",
            "channel": "in_app",
            "subject": "Order {{ order }} is late",
            "body": "New date: {{ eta }}",
        },
    )
    api(
        app,
        token,
        "/api/rules",
        {
            "name": "tell members",
            "source_id": source["id"],
            "template_id": template["id"],
            "recipient_kind": "role",
            "recipient_value": "member",
        },
    )
    member_ctx, admin_ctx = browser.new_context(), browser.new_context()
    member, admin = member_ctx.new_page(), admin_ctx.new_page()
    try:
        sign_in(member, app, "cy@example.com")
        sign_in(admin, app, "dee@example.com")
        before_member, before_admin = badge(member), badge(admin)
        started = time.monotonic()
        api(app, token, "/api/events", {"event": "shipment_delayed", "payload": {"order": 4711, "eta": "Friday"}})
        expect(member.get_by_text("Order 4711 is late").first).to_be_visible(timeout=15_000)
        pushed_in = time.monotonic() - started
        expect_unread(member, before_member + 1)
        # The admin is not a member: nothing arrives, and the badge stays.
        admin.wait_for_timeout(2000)
        expect(admin.get_by_text("Order 4711 is late")).to_have_count(0)
        assert badge(admin) == before_admin
        assert pushed_in < 10, f"the toast took {pushed_in:.1f} s"
    finally:
        member_ctx.close()
        admin_ctx.close()
