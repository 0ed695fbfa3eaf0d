"""The notification platform in Chromium: source, template and rule made in the UI, simulated, sent, mailed."""

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.app import PASSWORD, App, sign_in
from tests.support import wait_until

pytestmark = pytest.mark.e2e
ADMIN = "platform-admin@example.com"
SHOTS = Path("/tmp/ui-shots")
SCHEMA = {
    "type": "object",
    "properties": {
        "order_id": {"type": "integer"},
        "customer_name": {"type": "string"},
        "customer_email": {"type": "string", "format": "email"},
        "total": {"type": "number"},
    },
    "required": ["order_id", "customer_email", "total"],
}
SAMPLE = {"order_id": 1042, "customer_name": "Grace", "customer_email": "grace@example.com", "total": 150}
SUBJECT = "Order 1042 confirmed"


@pytest.fixture(autouse=True)
def patient_expect() -> Iterator[None]:
    """Every step waits on a server round trip: allow for a loaded 2-core machine."""
    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture(scope="module")
def admin(app: App) -> str:
    """An admin made with the CLI."""
    app.cli("users", "create", "--email", ADMIN, "--name", "Pat Platform", "--password", PASSWORD, "--role", "admin")
    return ADMIN


def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def choose(page: Page, label: str, option: str) -> None:
    """Pick an option of a select found by its label."""
    trigger = page.get_by_label(label, exact=True)
    trigger.click()
    page.get_by_role("option", name=option, exact=True).click()
    expect(trigger).to_contain_text(option)


def create_source(page: Page, url: str) -> None:
    """Make `order_created` with a schema and a sample; bad JSON is refused inline first."""
    page.goto(f"{url}/event-sources")
    page.get_by_role("button", name="New event source").click()
    page.get_by_label("Name", exact=True).fill("order_created")
    page.get_by_label("Description").fill("A customer placed an order")
    page.get_by_label("JSON Schema (optional)").fill(json.dumps(SCHEMA, indent=2))
    page.get_by_label("Sample payload").fill('{"order_id": 1042,')
    page.get_by_role("button", name="Save event source").click()
    expect(page.get_by_role("alert").filter(has_text="not valid JSON")).to_be_visible()
    page.get_by_label("Sample payload").fill(json.dumps(SAMPLE, indent=2))
    shot(page, "event-sources-form")
    page.get_by_role("button", name="Save event source").click()
    row = page.get_by_test_id("source-row").filter(has_text="order_created")
    expect(row).to_contain_text("A customer placed an order")
    expect(row).to_contain_text("schema")
    shot(page, "event-sources")


def create_template(page: Page, url: str) -> None:
    """Make an email template; the preview follows the typing, a broken tag is shown with its line."""
    page.goto(f"{url}/templates")
    page.get_by_role("button", name="New template").click()
    # Other tests' sources may sort first: preview with this one's sample.
    choose(page, "Sample from event source", "order_created")
    page.get_by_label("Name", exact=True).fill("Order confirmation")
    page.get_by_label("Subject").fill("Order {{ order_id }} confirmed")
    page.get_by_label("Body").fill("Hi {{ customer_name }},\nthanks for your order of {{ total }} EUR.\n{{ oops ")
    problem = page.get_by_test_id("template-problem")
    expect(problem).to_contain_text("line 3")
    shot(page, "templates-problem")
    page.get_by_label("Body").fill("Hi {{ customer_name }},\nthanks for your order of {{ total }} EUR.")
    preview = page.get_by_test_id("template-preview")
    expect(preview).to_contain_text(SUBJECT)
    expect(preview).to_contain_text("Hi Grace,")
    expect(page.get_by_test_id("template-variables")).to_contain_text("customer_name")
    shot(page, "templates-editor")
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_test_id("template-row").filter(has_text="Order confirmation")).to_contain_text("Email")
    shot(page, "templates")


def create_rule(page: Page, url: str) -> None:
    """Email the order's customer when total > 100; a condition without a number is refused inline first."""
    page.goto(f"{url}/rules")
    page.get_by_role("button", name="New rule").click()
    page.get_by_label("Name", exact=True).fill("Big order confirmation")
    choose(page, "Event source", "order_created")
    choose(page, "Template", "Order confirmation · Email")
    choose(page, "Recipients", "Payload field")
    page.get_by_label("Recipient", exact=True).fill("customer_email")
    page.get_by_role("button", name="Add condition").click()
    page.get_by_label("Condition 1 field").fill("total")
    choose(page, "Condition 1 operator", ">")
    page.get_by_label("Condition 1 value").fill("lots")
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_role("alert").filter(has_text="needs a number")).to_be_visible()
    page.get_by_label("Condition 1 value").fill("100")
    shot(page, "rules-form")
    page.get_by_role("button", name="Save rule").click()
    row = page.get_by_test_id("rule-row").filter(has_text="Big order confirmation")
    expect(row).to_contain_text("total > 100")
    expect(row).to_contain_text("payload field customer_email")
    expect(row.get_by_role("switch")).to_be_checked()
    shot(page, "rules")


def simulate(page: Page, total: int) -> None:
    """Simulate order_created with this total."""
    page.get_by_label("Payload").fill(json.dumps({**SAMPLE, "total": total}, indent=2))
    page.get_by_role("button", name="Simulate").click()


def simulate_and_send(page: Page, url: str) -> str:
    """150 matches and 50 does not, with the reason; then 150 is really sent. Returns the event id."""
    page.goto(f"{url}/test-event")
    # Other tests' sources may sort first.
    choose(page, "Event source", "order_created")
    outcome = page.get_by_test_id("rule-outcome").filter(has_text="Big order confirmation")

    simulate(page, 150)
    expect(page.get_by_test_id("simulation-summary")).to_contain_text("nothing was sent")
    expect(outcome).to_contain_text("matches")
    expect(outcome).to_contain_text("150 > 100")
    expect(outcome).to_contain_text("grace@example.com")
    expect(outcome.get_by_test_id("rendered-message")).to_contain_text(SUBJECT)
    shot(page, "test-event-match")

    simulate(page, 50)
    expect(outcome).to_contain_text("no match")
    expect(outcome).to_contain_text("total is 50, not > 100")
    shot(page, "test-event-no-match")

    page.get_by_label("Payload").fill('{"order_id": 1042, "total": "lots"}')
    page.get_by_role("button", name="Simulate").click()
    expect(page.get_by_role("alert").filter(has_text="rejected")).to_contain_text("customer_email")

    page.get_by_label("Payload").fill(json.dumps(SAMPLE))
    page.get_by_role("button", name="Send", exact=True).click()
    page.get_by_role("button", name="Send event").click()
    result = page.get_by_test_id("send-result")
    expect(result).to_contain_text("1 delivery planned (Email)")
    shot(page, "test-event-sent")
    found = re.search(r"Event (\w+) received", result.inner_text())
    assert found is not None
    return found.group(1)


def check_delivery(page: Page, url: str) -> None:
    """The log, reached from the panel, shows the delivery sent with its attempt."""
    page.get_by_role("link", name="See its deliveries in the log").click()
    row = page.get_by_test_id("delivery-row").first
    expect(row).to_contain_text("grace@example.com")

    def sent() -> bool:
        # The log is not pushed live: look again after a reload.
        if "sent" in row.inner_text():
            return True
        page.reload()
        return False

    wait_until(sent, within=30, interval=1)
    expect(row).to_contain_text("sent")
    row.get_by_role("button", name=SUBJECT).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Hi Grace,")
    expect(dialog.get_by_role("row").filter(has_text="sent")).to_have_count(1)
    page.wait_for_timeout(300)  # the dialog's opening animation
    shot(page, "deliveries-detail")
    dialog.get_by_role("button", name="Close").click()
    shot(page, "deliveries")


def check_mailbox(page: Page, url: str) -> None:
    """The email landed with the interpolated subject."""
    page.goto(f"{url}/mailbox")
    mail = page.get_by_test_id("mail-row").filter(has_text=SUBJECT).first
    expect(mail).to_contain_text("grace@example.com", timeout=30_000)
    mail.get_by_role("link", name=SUBJECT).click()
    expect(page.get_by_role("heading", name=SUBJECT)).to_be_visible()
    # A plain-text email is shown as its text, with no empty HTML frame.
    expect(page.get_by_test_id("mail-text")).to_contain_text("thanks for your order of 150 EUR.")
    shot(page, "mailbox")


def switch_rule_off(page: Page, url: str) -> None:
    """A rule switched off on /rules simulates as switched off, with its conditions still checked."""
    page.goto(f"{url}/rules")
    switch = page.get_by_role("switch", name="Rule Big order confirmation on")
    switch.click()
    expect(switch).not_to_be_checked()
    page.goto(f"{url}/test-event")
    # Other tests' sources may sort first.
    choose(page, "Event source", "order_created")
    simulate(page, 150)
    outcome = page.get_by_test_id("rule-outcome").filter(has_text="Big order confirmation")
    expect(outcome).to_contain_text("Switched off: it would send otherwise")
    expect(outcome).to_contain_text("150 > 100")
    shot(page, "test-event-switched-off")


def check_tokens(page: Page, url: str) -> None:
    """A new token's secret is shown once; revoking asks first."""
    page.goto(f"{url}/tokens")
    page.get_by_label("Name", exact=True).fill("shop backend")
    page.get_by_role("checkbox", name="admin").click()
    expect(page.get_by_role("checkbox", name="admin")).to_be_checked()
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_test_id("token-secret")).to_contain_text("pb_")
    shot(page, "tokens-secret")
    page.get_by_role("button", name="I have copied it").click()
    expect(page.get_by_test_id("token-secret")).to_have_count(0)
    row = page.get_by_test_id("token-row").filter(has_text="shop backend")
    expect(row).to_contain_text("admin")
    row.get_by_role("button", name="Revoke").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Revoke").click()
    expect(row).to_contain_text("revoked")
    shot(page, "tokens")


def test_source_template_rule_simulate_send_and_mailbox(app: App, browser: Browser, admin: str) -> None:
    page = browser.new_page(viewport={"width": 1360, "height": 1000})
    sign_in(page, app, admin)
    create_source(page, app.url)
    create_template(page, app.url)
    create_rule(page, app.url)
    simulate_and_send(page, app.url)
    check_delivery(page, app.url)
    check_mailbox(page, app.url)
    switch_rule_off(page, app.url)
    check_tokens(page, app.url)
    page.goto(f"{app.url}/smsbox")
    expect(page.get_by_role("heading", name="SMS box")).to_be_visible()
    shot(page, "smsbox")
    page.close()
