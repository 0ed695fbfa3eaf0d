"""The frame on a phone: nothing wider than the screen, and the Menu button carries the navigation."""

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from postboard.web import routes
from tests.e2e.app import PASSWORD, App, badge, bell, sign_in

pytestmark = pytest.mark.e2e
ADMIN = "phone-admin@example.com"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def admin(app: App) -> str:
    """An admin, who sees every page in the navigation."""
    app.cli("users", "create", "--email", ADMIN, "--name", "Pat Phone", "--password", PASSWORD, "--role", "admin")
    return ADMIN


def test_an_admin_on_a_phone_reaches_pages_from_the_menu_button(
    app: App, browser: Browser, admin: str, tmp_path: Path
) -> None:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    sign_in(page, app, admin)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The row of links is hidden on a phone; the bell still says how many are unread.
    expect(page.get_by_role("link", name="Queues")).to_be_hidden()
    assert badge(page) >= 0
    expect(bell(page)).to_have_attribute("aria-label", f"Notifications, {badge(page)} unread")

    page.get_by_role("button", name="Menu").click()
    page.get_by_role("menuitem", name="Queues").click()
    # The URL, not a heading: the admin's dashboard has a "Queues" panel too. A check that passed
    # before the page changed let the next Menu open while the navigation was still on its way,
    # and the navigation then tore that menu down under the click (CI, stop 18).
    expect(page).to_have_url(f"{app.url}{routes.QUEUES}", timeout=15_000)
    expect(page.get_by_role("heading", name="Queues", exact=True)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("menuitem", name="Deliveries")).to_be_visible()
    page.screenshot(path=str(tmp_path / "phone-menu.png"))
    print(f"\nscreenshot: {tmp_path / 'phone-menu.png'}")
    page.get_by_role("menuitem", name="Deliveries").click()
    expect(page).to_have_url(f"{app.url}{routes.DELIVERIES}", timeout=15_000)
    expect(page.get_by_role("heading", name="Deliveries", exact=True)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    context.close()


def test_on_a_wide_screen_the_links_show_and_the_account_menu_holds_only_the_account(
    app: App, browser: Browser, admin: str
) -> None:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    sign_in(page, app, admin)
    expect(page.get_by_role("link", name="Queues")).to_be_visible()
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    page.get_by_role("button", name="Pat Phone").click()
    expect(page.get_by_role("menuitem", name="Sign out")).to_be_visible()
    expect(page.get_by_role("menuitem", name="Queues")).to_be_hidden()
    context.close()
