"""Pages keep themselves current when someone else changes what they show (one resource-changed event per kind)."""

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.app import PASSWORD, App, api, sign_in

pytestmark = pytest.mark.e2e
ADMIN = "live-resources-admin@example.com"


def test_admin_pages_follow_changes_made_elsewhere_without_a_reload(app: App, browser: Browser) -> None:
    app.cli("users", "create", "--email", ADMIN, "--name", "Liv Resources", "--password", PASSWORD, "--role", "admin")
    token = app.cli("tokens", "create", "--name", "live resources", "--scope", "admin").strip().splitlines()[-1]
    context = browser.new_context()
    page = context.new_page()
    try:
        sign_in(page, app, ADMIN)
        page.evaluate("window.__same_page = true")

        # Event sources: one created through the API appears in the open list.
        page.goto(f"{app.url}/event-sources")
        page.evaluate("window.__same_page = true")
        expect(page.get_by_text("invoice_paid_live")).to_have_count(0)
        source = api(app, token, "/api/event-sources", {"name": "invoice_paid_live"})
        expect(page.get_by_text("invoice_paid_live").first).to_be_visible(timeout=10_000)

        # Rules: the same for a rule, while the page stays the same page.
        page.goto(f"{app.url}/rules")
        page.evaluate("window.__same_page = true")
        template = api(
            app,
            token,
            "/api/templates",
            {"name": "live tpl", "channel": "in_app", "subject": "Paid {{ n }}", "body": "Thanks."},
        )
        expect(page.get_by_text("tell the payer live")).to_have_count(0)
        body = {"source_id": source["id"], "template_id": template["id"], "recipient_kind": "all_users"}
        api(app, token, "/api/rules", {**body, "name": "tell the payer live"})
        expect(page.get_by_text("tell the payer live").first).to_be_visible(timeout=10_000)
        assert page.evaluate("window.__same_page === true"), "the page reloaded"

        # Users: an account made elsewhere shows up in the filtered list.
        page.goto(f"{app.url}/users")
        page.get_by_label("Search users").fill("newcomer-live")
        expect(page.get_by_text("newcomer-live@example.com")).to_have_count(0)
        app.cli(
            "users", "create", "--email", "newcomer-live@example.com", "--name", "Nia Newcomer", "--password", PASSWORD
        )
        expect(page.get_by_text("newcomer-live@example.com")).to_be_visible(timeout=10_000)

        # Deliveries: an event's rows appear in the open log, filtered to it.
        page.goto(f"{app.url}/deliveries?event=invoice_paid_live")
        expect(page.get_by_text("No deliveries match.")).to_be_visible(timeout=10_000)
        api(app, token, "/api/events", {"event": "invoice_paid_live", "payload": {"n": 1}})
        expect(page.get_by_text("No deliveries match.")).to_have_count(0, timeout=15_000)
        expect(page.get_by_text(re.compile(r"^1–\d+ of \d+$"))).to_be_visible()
    finally:
        context.close()
