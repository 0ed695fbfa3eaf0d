"""Paging: the notification list walks to older pages and back, the feed loads older posts below."""

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.app import PASSWORD, App, badge, expect_unread, sign_in
from tests.support import wait_until

pytestmark = pytest.mark.e2e
EDITOR = "pia-pager@example.com"
READER = "rui-reader@example.com"
POSTS = 31  # one more than the feed's first page (30), six more than the inbox's (25)
WIDE = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}


def _title(n: int) -> str:
    # Zero-padded, so "Paging post 01" is never a substring of another title.
    return f"Paging post {n:02d}"


def _publish(page: Page, title: str) -> None:
    page.get_by_label("Title").fill(title)
    page.get_by_label("Content").fill("One of many, to need a second page.")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_test_id("feed").get_by_role("link", name=title)).to_be_visible(timeout=15_000)


@pytest.fixture(scope="module")
def posted(app: App, browser: Browser) -> int:
    """A reader made first, then POSTS posts by an editor; returns the reader's inbox size once delivered."""
    app.cli("users", "create", "--email", READER, "--name", "Rui Reader", "--password", PASSWORD, "--role", "member")
    app.cli("users", "create", "--email", EDITOR, "--name", "Pia Pager", "--password", PASSWORD, "--role", "editor")
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, app, EDITOR)
    for n in range(1, POSTS + 1):
        _publish(page, _title(n))
    context.close()
    return POSTS


def _open_inbox(page: Page, app: App, total: int) -> None:
    # The notifications worker writes the inbox rows shortly after publishing.
    def shows_all() -> bool:
        page.goto(f"{app.url}/notifications")
        label = page.get_by_role("navigation", name="Notification pages")
        label.wait_for(timeout=15_000)
        return f"of {total}" in label.inner_text()

    assert wait_until(shows_all, within=60, interval=1), f"the inbox never held {total} notifications"


def _shoot(page: Page, folder: Path, name: str) -> None:
    # The window at the top and at the end of the list, as a person scrolls it.
    for where, script in (("top", "window.scrollTo(0, 0)"), ("end", "window.scrollTo(0, document.body.scrollHeight)")):
        page.evaluate(script)
        path = folder / f"{name}-{where}.png"
        page.screenshot(path=str(path))
        print(f"\nscreenshot: {path}")


def test_inbox_walks_to_the_older_page_and_back(app: App, browser: Browser, posted: int, tmp_path: Path) -> None:
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    sign_in(page, app, READER)
    _open_inbox(page, app, posted)
    pager = page.get_by_role("navigation", name="Notification pages")
    expect(pager).to_contain_text(f"1–25 of {posted}")
    expect(page.get_by_role("link", name=_title(POSTS))).to_be_visible()
    expect(page.get_by_role("link", name=_title(POSTS - 24))).to_be_visible()
    expect(page.get_by_role("link", name=_title(POSTS - 25))).to_have_count(0)
    expect(pager.get_by_role("button", name="Newer")).to_be_disabled()
    assert badge(page) == posted

    page.get_by_test_id("notification-unread").filter(has_text=_title(POSTS)).get_by_role(
        "button", name="Mark as read"
    ).click()
    expect_unread(page, posted - 1)

    pager.get_by_role("button", name="Older").click()
    expect(pager).to_contain_text(f"26–{posted} of {posted}")
    expect(page.get_by_role("link", name=_title(1))).to_be_visible()
    expect(page.get_by_role("link", name=_title(POSTS))).to_have_count(0)
    expect(page.get_by_test_id("notification-unread")).to_have_count(posted - 25)
    expect(pager.get_by_role("button", name="Older")).to_be_disabled()
    _shoot(page, tmp_path, "inbox-older-wide")

    # Marking read on an older page keeps that page open and the count exact.
    page.get_by_test_id("notification-unread").filter(has_text=_title(1)).get_by_role(
        "button", name="Mark as read"
    ).click()
    expect(page.get_by_test_id("notification-unread")).to_have_count(posted - 26)
    expect(pager).to_contain_text(f"26–{posted} of {posted}")
    expect_unread(page, posted - 2)
    page.get_by_role("button", name="Mark all as read").click()
    expect(page.get_by_test_id("notification-unread")).to_have_count(0)
    expect(pager).to_contain_text(f"26–{posted} of {posted}")
    assert badge(page) == 0

    pager.get_by_role("button", name="Newer").click()
    expect(pager).to_contain_text(f"1–25 of {posted}")
    expect(page.get_by_role("link", name=_title(POSTS))).to_be_visible()
    expect(page.get_by_test_id("notification-read")).to_have_count(25)

    # The first page still takes in a post published while it is open.
    editor_ctx = browser.new_context()
    editor = editor_ctx.new_page()
    sign_in(editor, app, EDITOR)
    _publish(editor, "Paging live one")
    expect(page.get_by_text("New notifications arrived.")).to_be_visible(timeout=5_000)
    expect_unread(page, 1, timeout=5_000)
    assert badge(page) == 1
    page.get_by_role("button", name="Show them").click()
    expect(page.get_by_test_id("notification-unread").first).to_contain_text("Paging live one")
    expect(pager).to_contain_text(f"1–25 of {posted + 1}")
    _shoot(page, tmp_path, "inbox-first-wide")
    editor_ctx.close()
    context.close()


def test_feed_loads_older_posts_below_and_live_posts_on_top(
    app: App, browser: Browser, posted: int, tmp_path: Path
) -> None:
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    sign_in(page, app, READER)
    feed = page.get_by_test_id("feed")
    # The first page holds the 30 newest posts: this module's newest, not its first.
    expect(feed.get_by_role("link", name=_title(POSTS))).to_be_visible()
    expect(feed.get_by_role("link", name=_title(1))).to_have_count(0)
    shown = page.get_by_test_id("feed-item").count()

    page.get_by_role("button", name="Older posts").click()
    expect(feed.get_by_role("link", name=_title(1))).to_be_visible()
    assert page.get_by_test_id("feed-item").count() > shown
    expect(feed.get_by_role("link", name=_title(POSTS))).to_be_visible()

    editor_ctx = browser.new_context()
    editor = editor_ctx.new_page()
    sign_in(editor, app, EDITOR)
    _publish(editor, "Paging live two")
    expect(page.get_by_test_id("feed-item").first).to_contain_text("Paging live two", timeout=5_000)
    expect(feed.get_by_role("link", name=_title(1))).to_be_visible()  # the older page stays loaded
    _shoot(page, tmp_path, "feed-older-wide")
    editor_ctx.close()
    context.close()


def test_paged_lists_fit_a_phone(app: App, browser: Browser, posted: int, tmp_path: Path) -> None:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    sign_in(page, app, READER)
    page.get_by_role("button", name="Older posts").click()
    expect(page.get_by_test_id("feed").get_by_role("link", name=_title(1))).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _shoot(page, tmp_path, "feed-older-phone")

    page.goto(f"{app.url}/notifications")
    pager = page.get_by_role("navigation", name="Notification pages")
    pager.get_by_role("button", name="Older").click()
    expect(page.get_by_role("link", name=_title(1))).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _shoot(page, tmp_path, "inbox-older-phone")
    context.close()
