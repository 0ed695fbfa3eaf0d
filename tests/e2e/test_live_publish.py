"""Two people, two browsers: A publishes, B sees it live, gets the email, and nothing runs from a title."""

import time

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.app import PASSWORD, App, badge, expect_unread, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def people(app: App) -> tuple[str, str]:
    """An admin who publishes and a member who watches, made with the CLI."""
    app.cli(
        "users",
        "create",
        "--email",
        "ada@example.com",
        "--name",
        "Ada Admin",
        "--password",
        PASSWORD,
        "--role",
        "admin",
    )
    app.cli(
        "users",
        "create",
        "--email",
        "bob@example.com",
        "--name",
        "Bob Member",
        "--password",
        PASSWORD,
        "--role",
        "member",
    )
    return "ada@example.com", "bob@example.com"


def test_publish_reaches_the_other_browser_live(app: App, browser: Browser, people: tuple[str, str]) -> None:
    ada_ctx, bob_ctx = browser.new_context(), browser.new_context()
    ada, bob = ada_ctx.new_page(), bob_ctx.new_page()
    sign_in(ada, app, people[0])
    sign_in(bob, app, people[1])
    expect(bob.get_by_label("Title")).to_have_count(0)  # members do not publish
    before = badge(bob)
    bob.evaluate("window.__xss = 0")

    title = 'Hello <img src=x onerror="window.__xss=1">'
    ada.get_by_label("Title").fill(title)
    ada.get_by_label("Content").fill("Launch notes: everything shipped on time.")
    started = time.perf_counter()
    ada.get_by_role("button", name="Publish").click()

    toast = bob.locator("[data-sonner-toast]").filter(has_text=title)
    expect(toast).to_be_visible(timeout=2_000)
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(f"\nPublish click → toast in the other browser: {elapsed_ms:.0f} ms")
    expect(toast).to_contain_text("Ada Admin")
    expect(toast).to_contain_text("Launch notes")
    expect_unread(bob, before + 1, timeout=2_000)
    expect(bob.get_by_test_id("feed").get_by_text(title)).to_be_visible()
    assert bob.evaluate("window.__xss") == 0
    assert bob.url.rstrip("/") == app.url  # no reload, no navigation

    ada.goto(f"{app.url}/mailbox")
    row = ada.get_by_test_id("mail-row").filter(has_text="bob@example.com").filter(has_text=title)
    expect(row).to_be_visible(timeout=15_000)
    row.get_by_role("link").click()
    expect(ada.get_by_title("Rendered message")).to_be_visible()
    assert ada.evaluate("window.__xss") is None
    ada_ctx.close()
    bob_ctx.close()


def test_inbox_counts_are_exact_after_reload_and_for_late_tabs(
    app: App, browser: Browser, people: tuple[str, str]
) -> None:
    ada_ctx = browser.new_context()
    ada = ada_ctx.new_page()
    sign_in(ada, app, people[0])
    for n in (1, 2):
        ada.get_by_label("Title").fill(f"While Bob was away {n}")
        ada.get_by_label("Content").fill("He will see this later.")
        ada.get_by_role("button", name="Publish").click()
        expect(ada.get_by_test_id("feed").get_by_text(f"While Bob was away {n}")).to_be_visible()
    bob_ctx = browser.new_context()
    bob = bob_ctx.new_page()
    sign_in(bob, app, people[1])
    bob.goto(f"{app.url}/notifications")
    unread = bob.get_by_test_id("notification-unread")
    expect(unread.first).to_be_visible(timeout=15_000)
    count = unread.count()
    assert count >= 3
    assert badge(bob) == count
    expect(unread.first).to_contain_text("While Bob was away 2")  # newest first

    unread.first.get_by_role("button", name="Mark as read").click()
    expect(bob.get_by_test_id("notification-unread")).to_have_count(count - 1)
    bob.reload()
    expect_unread(bob, count - 1)
    bob.get_by_role("button", name="Mark all as read").click()
    expect(bob.get_by_test_id("notification-unread")).to_have_count(0)
    expect_unread(bob, 0)
    bob.reload()
    expect(bob.get_by_test_id("notification-read").first).to_be_visible()
    assert badge(bob) == 0
    ada_ctx.close()
    bob_ctx.close()
