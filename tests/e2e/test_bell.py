"""The bell: its panel follows live posts while open, marks read, and a second tab of the same user follows."""

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from postboard.web.components.platform import PLATFORM_PAGES
from tests.e2e.app import PASSWORD, App, badge, bell, expect_unread, sign_in

pytestmark = pytest.mark.e2e
AUTHOR = "bell-author@example.com"
READER = "bell-reader@example.com"
ADMIN = "bell-admin@example.com"
WIDE = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def people(app: App) -> None:
    """An editor who publishes, a member who reads, an admin who sees every page."""
    for email, name, role in (
        (AUTHOR, "Bea Author", "editor"),
        (READER, "Rae Reader", "member"),
        (ADMIN, "Abe Admin", "admin"),
    ):
        app.cli("users", "create", "--email", email, "--name", name, "--password", PASSWORD, "--role", role)


def _publish(page: Page, title: str) -> None:
    page.get_by_label("Title").fill(title)
    page.get_by_label("Content").fill("Something the bell should say.")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_test_id("feed").get_by_role("link", name=title)).to_be_visible(timeout=15_000)


def _open_panel(page: Page) -> Locator:
    bell(page).click()
    panel = page.get_by_role("dialog", name="Notifications")
    expect(panel).to_be_visible()
    return panel


def _item(panel: Locator, title: str) -> Locator:
    return panel.get_by_role("listitem").filter(has=panel.page.get_by_role("link", name=title))


def test_the_open_panel_follows_live_posts_and_both_tabs_follow_marking(
    app: App, browser: Browser, people: None
) -> None:
    author_ctx, reader_ctx = browser.new_context(viewport=WIDE), browser.new_context(viewport=WIDE)
    author, tab_a = author_ctx.new_page(), reader_ctx.new_page()
    sign_in(author, app, AUTHOR)
    sign_in(tab_a, app, READER)
    tab_b = reader_ctx.new_page()  # the same user's second tab (same cookie)
    tab_b.goto(app.url)
    expect(tab_b.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=30_000)
    before = badge(tab_a)
    panel_a, panel_b = _open_panel(tab_a), _open_panel(tab_b)

    _publish(author, "Bell first")
    expect(_item(panel_a, "Bell first")).to_have_attribute("data-testid", "bell-unread")
    expect(_item(panel_b, "Bell first")).to_be_visible()
    _publish(author, "Bell second")
    expect(_item(panel_a, "Bell second")).to_be_visible()
    expect(panel_a.get_by_role("listitem").first).to_contain_text("Bell second")  # newest unread on top
    expect_unread(tab_a, before + 2)
    expect(_item(panel_a, "Bell first")).to_contain_text("ago")  # a relative time
    post_href = author.get_by_test_id("feed").get_by_role("link", name="Bell first").get_attribute("href")
    assert post_href
    expect(_item(panel_a, "Bell first").get_by_role("link")).to_have_attribute("href", post_href)

    _item(panel_a, "Bell first").get_by_role("button", name="Mark as read").click()
    expect(_item(panel_a, "Bell first")).to_have_attribute("data-testid", "bell-read")
    expect_unread(tab_a, before + 1)
    expect_unread(tab_b, before + 1)
    expect(_item(panel_b, "Bell first")).to_have_attribute("data-testid", "bell-read")
    expect(_item(panel_b, "Bell second")).to_have_attribute("data-testid", "bell-unread")
    expect(panel_a.get_by_role("listitem").last).to_contain_text("Bell first")  # read ones go below

    panel_a.get_by_role("button", name="Mark all as read").click()
    expect_unread(tab_a, 0)
    expect_unread(tab_b, 0)
    expect(panel_b.get_by_test_id("bell-unread")).to_have_count(0)
    expect(panel_a.get_by_role("button", name="Mark all as read")).to_be_disabled()

    panel_a.get_by_role("link", name="See all").click()
    expect(tab_a.get_by_role("heading", name="Notifications")).to_be_visible(timeout=15_000)
    expect(tab_a.get_by_test_id("notification-read").first).to_be_visible()
    author_ctx.close()
    reader_ctx.close()


def test_the_panel_works_from_the_keyboard(app: App, browser: Browser, people: None) -> None:
    author_ctx, reader_ctx = browser.new_context(viewport=WIDE), browser.new_context(viewport=WIDE)
    author, reader = author_ctx.new_page(), reader_ctx.new_page()
    sign_in(author, app, AUTHOR)
    _publish(author, "Bell by keyboard")
    sign_in(reader, app, READER)
    expect(bell(reader)).to_have_attribute("aria-label", f"Notifications, {badge(reader)} unread")

    bell(reader).focus()
    reader.keyboard.press("Enter")
    panel = reader.get_by_role("dialog", name="Notifications")
    expect(_item(panel, "Bell by keyboard")).to_be_visible()
    # Focus moves into the panel (onto it: nothing there could take it before the items were read).
    expect(panel).to_be_focused()
    reader.keyboard.press("Tab")
    expect(panel.get_by_role("button", name="Mark all as read")).to_be_focused()
    reader.keyboard.press("Tab")
    expect(_item(panel, "Bell by keyboard").get_by_role("link")).to_be_focused()
    reader.keyboard.press("Tab")
    expect(_item(panel, "Bell by keyboard").get_by_role("button", name="Mark as read")).to_be_focused()
    reader.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(bell(reader)).to_be_focused()
    author_ctx.close()
    reader_ctx.close()


def _inside(target: Locator) -> None:
    box = target.bounding_box()
    assert box is not None, "not laid out"
    assert box["x"] >= 0, f"left edge at {box['x']}"
    assert box["x"] + box["width"] <= PHONE["width"], f"right edge {box['x'] + box['width']} past {PHONE['width']}"


def _wide_pages(browser: Browser, app: App) -> list[str]:
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    sign_in(page, app, ADMIN)
    header = page.get_by_role("banner")
    links = [name for name in ("Feed", "Mailbox", "Users", "Queues") if header.get_by_role("link", name=name).count()]
    header.get_by_role("button", name="Platform").click()
    platform = page.get_by_role("menuitem").all_inner_texts()
    context.close()
    return links + [text.strip() for text in platform]


def test_on_a_phone_the_menu_reaches_every_page_and_the_header_fits(app: App, browser: Browser, people: None) -> None:
    wide = _wide_pages(browser, app)
    assert wide == ["Feed", "Mailbox", "Users", "Queues", *(label for label, _, _ in PLATFORM_PAGES)]
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    sign_in(page, app, ADMIN)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for control in (bell(page), page.get_by_role("button", name="Menu"), page.get_by_role("button", name="Abe Admin")):
        expect(control).to_be_visible()
        _inside(control)

    page.get_by_role("button", name="Menu").click()
    items = page.get_by_role("menuitem")
    expect(items).to_have_count(len(wide))
    assert [text.strip() for text in items.all_inner_texts()] == wide
    for item in items.all():
        _inside(item)
    page.get_by_role("menuitem", name="SMS box").click()
    expect(page.get_by_role("heading", name="SMS box")).to_be_visible(timeout=15_000)

    panel = _open_panel(page)
    _inside(panel)
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Abe Admin").click()
    expect(page.get_by_role("menuitem", name="Sign out")).to_be_visible()
    _inside(page.get_by_role("menuitem", name="Sign out"))
    context.close()


def test_a_member_on_a_phone_sees_only_the_feed_in_the_menu(app: App, browser: Browser, people: None) -> None:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    sign_in(page, app, READER)
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("menuitem")).to_have_text(["Feed"])
    context.close()
