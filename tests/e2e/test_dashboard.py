"""The live dashboard in three browsers: figures, tables and who is online change while a member watches."""

import contextlib
import time

import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.app import PASSWORD, App, sign_in

pytestmark = pytest.mark.e2e
ADMIN, MEMBER, OTHER = "dash-admin@example.com", "dash-mia@example.com", "dash-ben@example.com"


@pytest.fixture(scope="module")
def people(app: App) -> None:
    """An admin who publishes, a member who watches, and a member who comes and goes."""
    for email, name, role in (
        (ADMIN, "Dana Admin", "admin"),
        (MEMBER, "Mia Member", "member"),
        (OTHER, "Ben Member", "member"),
    ):
        app.cli("users", "create", "--email", email, "--name", name, "--password", PASSWORD, "--role", role)


def stat(page: Page, label: str) -> int:
    """The number a stat card shows."""
    return int(page.get_by_role("group", name=label).get_by_test_id("stat-value").inner_text())


def expect_stat(page: Page, label: str, value: int) -> None:
    """Wait for a stat card to show `value` (pushed, never reloaded)."""
    expect(page.get_by_role("group", name=label).get_by_test_id("stat-value")).to_have_text(str(value), timeout=15_000)


def test_posts_and_presence_reach_a_watching_member_live(app: App, browser: Browser, people: None) -> None:
    admin_ctx, mia_ctx = browser.new_context(), browser.new_context()
    admin, mia = admin_ctx.new_page(), mia_ctx.new_page()
    sign_in(mia, app, MEMBER)
    sign_in(admin, app, ADMIN)
    expect(mia.get_by_role("group", name="Posts today")).to_be_visible()
    # Mia's own tab and the admin's are online by the time the figures settle.
    online = mia.get_by_role("list", name="Online now")
    expect(online.get_by_text("Dana Admin")).to_be_visible(timeout=15_000)
    expect(online.get_by_text("Mia Member")).to_be_visible()
    posts_before, online_before = stat(mia, "Posts today"), stat(mia, "Users online")

    title = f"Widget news {time.time_ns()}"
    admin.get_by_label("Title").fill(title)
    admin.get_by_label("Content").fill("The figures should move.")
    admin.get_by_role("button", name="Publish").click()
    expect_stat(mia, "Posts today", posts_before + 1)
    recent = mia.get_by_role("region", name="Recent posts")
    expect(recent.get_by_role("row").filter(has_text=title)).to_contain_text("Dana Admin", timeout=15_000)

    ben_ctx = browser.new_context()
    ben = ben_ctx.new_page()
    sign_in(ben, app, OTHER)
    expect_stat(mia, "Users online", online_before + 1)
    expect(online.get_by_text("Ben Member")).to_be_visible()

    # A second tab of Ben's counts once; closing one keeps him online, closing the last takes him off.
    ben_two = ben_ctx.new_page()
    ben_two.goto(app.url)
    expect(ben_two.get_by_role("group", name="Users online")).to_be_visible(timeout=30_000)
    ben.close()
    expect_stat(ben_two, "Users online", online_before + 1)
    closed = time.perf_counter()
    ben_ctx.close()
    expect(online.get_by_text("Ben Member")).to_have_count(0, timeout=15_000)
    print(f"\nLast tab closed → gone from Online now in {time.perf_counter() - closed:.1f} s")
    expect_stat(mia, "Users online", online_before)

    # A tab that crashes says no goodbye: its socket closing is what takes Ben off.
    crash_ctx = browser.new_context()
    crashing = crash_ctx.new_page()
    sign_in(crashing, app, OTHER)
    expect(online.get_by_text("Ben Member")).to_be_visible(timeout=15_000)
    cdp = crash_ctx.new_cdp_session(crashing)
    # The renderer dies without answering the command.
    with crashing.expect_event("crash", timeout=15_000), contextlib.suppress(PlaywrightError):
        cdp.send("Page.crash", timeout=1_000)
    expect(online.get_by_text("Ben Member")).to_have_count(0, timeout=30_000)
    expect_stat(mia, "Users online", online_before)
    crash_ctx.close()
    assert mia.url.rstrip("/") == app.url  # no reload, no navigation
    admin_ctx.close()
    mia_ctx.close()


def test_admins_see_the_system_figures_and_members_do_not(app: App, browser: Browser, people: None) -> None:
    admin_ctx, mia_ctx = browser.new_context(), browser.new_context()
    admin, mia = admin_ctx.new_page(), mia_ctx.new_page()
    sign_in(admin, app, ADMIN)
    sign_in(mia, app, MEMBER)
    expect(mia.get_by_role("group", name="Users online")).to_be_visible()
    for absent in ("Live workers", "Failure rate, last 15 min"):
        expect(mia.get_by_role("group", name=absent)).to_have_count(0)
    expect(mia.get_by_test_id("system-widgets")).to_have_count(0)
    expect(mia.get_by_role("region", name="Latest deliveries")).to_have_count(0)

    expect(admin.get_by_role("group", name="Live workers")).to_be_visible()
    queues = admin.get_by_role("region", name="Queues")
    expect(queues.get_by_role("row").filter(has_text="emails")).to_be_visible(timeout=15_000)
    expect(admin.get_by_role("group", name="Live workers").get_by_test_id("stat-value")).not_to_have_text(
        "0", timeout=15_000
    )

    title = f"Deliveries to watch {time.time_ns()}"
    admin.get_by_label("Title").fill(title)
    admin.get_by_label("Content").fill("Each recipient's row turns sent in place.")
    admin.get_by_role("button", name="Publish").click()
    deliveries = admin.get_by_role("region", name="Latest deliveries")
    row = deliveries.get_by_role("row").filter(has_text=MEMBER).first
    expect(row).to_contain_text("sent", timeout=30_000)
    expect(mia.get_by_role("region", name="Latest deliveries")).to_have_count(0)
    admin_ctx.close()
    mia_ctx.close()
