"""Two people, two browsers: the author edits and deletes a post; the reader's feed, post page and inbox follow live."""

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from postboard.mailbox.service import list_messages
from tests.e2e.app import PASSWORD, App, bell, sign_in
from tests.support import wait_until

pytestmark = pytest.mark.e2e

AUTHOR = "ann.edits@example.com"
READER = "bob.edits@example.com"
SHOTS = Path("/tmp/ui-shots")  # outside the checkout, like test_event_platform


@pytest.fixture(scope="module")
def people(app: App) -> tuple[str, str]:
    """An editor who writes the post and a member who reads it, made with the CLI."""
    for email, name, role in ((AUTHOR, "Ann Author", "editor"), (READER, "Bob Reader", "member")):
        app.cli("users", "create", "--email", email, "--name", name, "--password", PASSWORD, "--role", role)
    return AUTHOR, READER


def _mails_about(app: App, title: str) -> int:
    return sum(1 for m in list_messages(app.mailbox, limit=100_000) if m.subject == f"New post: {title}")


def _publish(page: Page, title: str, content: str) -> None:
    page.get_by_label("Title").fill(title)
    page.get_by_label("Content").fill(content)
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_test_id("feed").get_by_text(title)).to_be_visible()


def _emailed_everyone(author: Page) -> int:
    """Wait on the author's post page until every recipient was emailed; return how many."""
    progress = author.get_by_test_id("fanout-progress")
    expect(progress).to_contain_text("complete", timeout=60_000)
    words = progress.inner_text().split(" emailed")[0].split()
    assert words[-3] == words[-1], f"not everyone was emailed: {words}"
    return int(words[-1])


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, label in ((1400, "wide"), (390, "phone")):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"post-edits-{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 720})


def test_edit_and_delete_follow_live_in_the_other_browser(app: App, browser: Browser, people: tuple[str, str]) -> None:
    ann_ctx, bob_ctx = browser.new_context(), browser.new_context()
    ann = ann_ctx.new_page()
    bob_feed, bob_post, bob_inbox = bob_ctx.new_page(), bob_ctx.new_page(), bob_ctx.new_page()
    sign_in(ann, app, people[0])
    sign_in(bob_feed, app, people[1])
    bob_inbox.goto(f"{app.url}/notifications")
    expect(bob_inbox.get_by_text("Newest first.")).to_be_visible()

    _publish(ann, "Launch plan", "We ship on Monday.")
    bob_row = bob_feed.get_by_test_id("feed-item").filter(has_text="Launch plan")
    expect(bob_row).to_be_visible(timeout=15_000)
    href = bob_row.get_by_role("link").get_attribute("href") or ""
    bob_post.goto(f"{app.url}{href}")
    expect(bob_post.get_by_role("heading", name="Launch plan")).to_be_visible()
    # A member reads it but cannot change it.
    expect(bob_post.get_by_role("button", name="Edit")).to_have_count(0)
    expect(bob_post.get_by_role("button", name="Delete")).to_have_count(0)
    bob_inbox.get_by_role("button", name="Show them").click()
    bob_entry = bob_inbox.get_by_test_id("notification-unread").first
    expect(bob_entry).to_contain_text("Launch plan")

    ann.get_by_test_id("feed").get_by_role("link", name="Launch plan").click()
    audience = _emailed_everyone(ann)
    assert wait_until(lambda: _mails_about(app, "Launch plan") == audience, within=30)
    ann.get_by_role("button", name="Edit").click()
    ann.get_by_label("Title").fill("   ")
    ann.get_by_role("button", name="Save").click()
    expect(ann.get_by_role("alert").filter(has_text="Title is required")).to_be_visible()
    _shot(ann, "form-error")
    ann.get_by_label("Title").fill("Launch plan, revised")
    ann.get_by_label("Content").fill("We ship on Tuesday instead.")
    ann.get_by_role("button", name="Save").click()
    expect(ann.get_by_role("heading", name="Launch plan, revised")).to_be_visible()

    # Bob's three tabs change while he does nothing.
    expect(bob_row.get_by_role("heading")).to_have_text("Launch plan, revised")
    expect(bob_row).to_contain_text("We ship on Tuesday instead.")
    expect(bob_post.get_by_role("heading", name="Launch plan, revised")).to_be_visible()
    expect(bob_post.get_by_test_id("post-content")).to_have_text("We ship on Tuesday instead.")
    expect(bob_entry).to_contain_text("Launch plan, revised")
    expect(bob_entry).to_contain_text("Ann Author: We ship on Tuesday instead.")
    _shot(ann, "edited")

    ann.get_by_role("button", name="Delete").click()
    dialog = ann.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Delete this post?")
    _shot(ann, "confirm")
    dialog.get_by_role("button", name="Delete").click()
    expect(ann.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(ann.locator("[data-sonner-toast]").filter(has_text="Post deleted.")).to_be_visible()
    expect(ann.get_by_test_id("feed").get_by_text("Launch plan, revised")).to_have_count(0)

    expect(bob_feed.get_by_test_id("feed-item").filter(has_text="Launch plan")).to_have_count(0)
    expect(bob_post.get_by_text("This post was deleted.")).to_be_visible()
    expect(bob_entry).to_contain_text("This post was deleted")
    expect(bob_entry.get_by_role("link")).to_have_count(0)
    _shot(bob_inbox, "inbox-deleted")
    bell(bob_inbox).click()
    panel = bob_inbox.get_by_role("dialog", name="Notifications")
    bell_entry = panel.get_by_role("listitem").filter(has_text="Launch plan, revised")
    expect(bell_entry).to_contain_text("This post was deleted")
    expect(bell_entry.get_by_role("link")).to_have_count(0)
    _shot(bob_inbox, "bell-deleted")
    bob_inbox.keyboard.press("Escape")

    # Neither the edit nor the delete sent mail: once a later post's emails are all in,
    # the first post still has exactly one email per recipient.
    _publish(ann, "Marker after edits", "Sent after the edit and the delete.")
    ann.get_by_test_id("feed").get_by_role("link", name="Marker after edits").click()
    assert _emailed_everyone(ann) == audience
    assert wait_until(lambda: _mails_about(app, "Marker after edits") == audience, within=30)
    assert _mails_about(app, "Launch plan") == audience
    assert _mails_about(app, "Launch plan, revised") == 0
    ann_ctx.close()
    bob_ctx.close()


def test_loaded_feed_rows_follow_an_edit_and_delete(app: App, browser: Browser, people: tuple[str, str]) -> None:
    ann_ctx, bob_ctx = browser.new_context(), browser.new_context()
    ann, bob = ann_ctx.new_page(), bob_ctx.new_page()
    sign_in(ann, app, people[0])
    _publish(ann, "Read only for Bob", "Members read posts.")
    ann.get_by_test_id("feed").get_by_role("link", name="Read only for Bob").click()
    expect(ann.get_by_role("button", name="Edit")).to_be_visible()
    # Bob signs in afterwards: his row is loaded from the database, not pushed live.
    sign_in(bob, app, people[1])
    bob_row = bob.get_by_test_id("feed-item").filter(has_text="Read only for Bob")
    expect(bob_row).to_be_visible()
    bob_post = bob_ctx.new_page()
    bob_post.goto(ann.url)
    expect(bob_post.get_by_role("heading", name="Read only for Bob")).to_be_visible()
    expect(bob_post.get_by_role("button", name="Edit")).to_have_count(0)
    expect(bob_post.get_by_role("button", name="Delete")).to_have_count(0)

    ann.get_by_role("button", name="Edit").click()
    ann.get_by_label("Content").fill("")
    ann.get_by_role("button", name="Save").click()
    expect(ann.get_by_role("alert").filter(has_text="Content is required")).to_be_visible()
    ann.get_by_role("button", name="Cancel").click()
    expect(ann.get_by_test_id("post-content")).to_have_text("Members read posts.")
    ann.get_by_role("button", name="Edit").click()
    ann.get_by_label("Content").fill("Members read posts, and only read them.")
    ann.get_by_role("button", name="Save").click()
    expect(bob_row).to_contain_text("Members read posts, and only read them.")
    expect(bob_post.get_by_test_id("post-edited")).to_be_visible()

    ann.get_by_role("button", name="Delete").click()
    ann.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
    expect(bob_row).to_have_count(0)
    expect(bob_post.get_by_text("This post was deleted.")).to_be_visible()
    _shot(bob_post, "post-deleted")
    ann_ctx.close()
    bob_ctx.close()
