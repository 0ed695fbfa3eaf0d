"""The queue monitor and the author's progress bar, live in Chromium: figures, jobs, retry and discard."""

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from postboard.settings import ROOT
from tests.e2e.app import PASSWORD, App, sign_in
from tests.support import wait_until

pytestmark = pytest.mark.e2e
ADMIN = "queue-admin@example.com"
EMAILED = re.compile(r"(\d+) of (\d+) emailed")
# Members the watched fan-out emails. Measured on the 2-core box: about 450 mails/s, so about
# 18 s of fan-out, while the post page shows its first count 0.4-1.1 s after Publish.
FANOUT_MEMBERS = 8_000
MISSING_POST = 10**9
POISON = (
    "import asyncio\nfrom tasks.posts import send_post_notification\n"
    f"asyncio.run(send_post_notification.kiq({MISSING_POST}))"
)


@pytest.fixture(scope="module")
def admin(app: App) -> str:
    """An admin, and 100 members to email."""
    app.cli("users", "create", "--email", ADMIN, "--name", "Quinn Queue", "--password", PASSWORD, "--role", "admin")
    app.cli("users", "seed", "100")
    return ADMIN


def test_monitor_shows_jobs_and_progress_live(app: App, browser: Browser, admin: str, tmp_path: Path) -> None:
    # Two contexts (two windows): a background tab of one window would not repaint.
    monitor_ctx, author_ctx = (browser.new_context(viewport={"width": 1360, "height": 1000}) for _ in range(2))
    monitor, author = monitor_ctx.new_page(), author_ctx.new_page()
    sign_in(monitor, app, admin)
    sign_in(author, app, admin)
    monitor.goto(f"{app.url}/queues")
    emails = monitor.get_by_test_id("queue-emails")
    # `make dev` runs emails with two worker processes (WORKER_PROCESSES_BY_QUEUE), the others with one.
    expect(emails).to_contain_text("2 worker(s)", timeout=15_000)
    expect(monitor.get_by_test_id("queue-notifications")).to_contain_text("1 worker(s)")
    expect(monitor.get_by_test_id("queue-notifications")).to_contain_text("Waiting")

    author.get_by_label("Title").fill("Monitor me")
    author.get_by_label("Content").fill("One hundred emails.")
    author.get_by_role("button", name="Publish").click()
    expect(author.get_by_text("Published.")).to_be_visible(timeout=10_000)

    # Pushed into the open monitor, no reload.
    recent = monitor.get_by_role("row").filter(has_text="send_post_email_chunk")
    expect(recent.first).to_contain_text("succeeded", timeout=30_000)

    author.get_by_role("link", name="Monitor me").first.click()
    progress = author.get_by_test_id("fanout-progress")
    expect(progress).to_contain_text("complete", timeout=120_000)
    emailed = re.search(r"(\d+) of (\d+) emailed", progress.inner_text())
    assert emailed is not None
    assert emailed.group(1) == emailed.group(2)
    assert int(emailed.group(2)) >= 100
    monitor.screenshot(path=str(tmp_path / "queues.png"), full_page=True)
    author.screenshot(path=str(tmp_path / "post.png"), full_page=True)
    print(f"\nscreenshots: {tmp_path}")
    monitor_ctx.close()
    author_ctx.close()


@pytest.mark.expected_traceback(
    rf"postboard\.errors\.NotFound: Post {MISSING_POST} does not exist",
    why="the poison job names a post that does not exist: each run, and each run after Retry, raises",
)
def test_poison_job_lands_in_failed_and_can_be_retried_or_discarded(app: App, browser: Browser, admin: str) -> None:
    page = browser.new_page(viewport={"width": 1360, "height": 1000})
    sign_in(page, app, admin)
    page.goto(f"{app.url}/queues")
    expect(page.get_by_text("No failed jobs.")).to_be_visible(timeout=15_000)
    subprocess.run([sys.executable, "-c", POISON], cwd=ROOT, env=app.env, check=True, timeout=60)

    failed = page.get_by_role("row").filter(has_text="send_post_notification").filter(has_text="failed")
    expect(failed.first).to_contain_text("3 of 3", timeout=30_000)
    expect(failed.first).to_contain_text("NotFound")
    failed.first.get_by_role("button", name="Retry").click()
    expect(page.get_by_text("Job sent again.")).to_be_visible(timeout=10_000)
    # It fails again through all its attempts, then comes back to the list.
    expect(failed.first).to_be_visible(timeout=30_000)
    failed.first.get_by_role("button", name="Discard").click()
    expect(page.get_by_text("No failed jobs.")).to_be_visible(timeout=10_000)
    page.close()


def test_author_watches_the_progress_bar_rise_while_the_fanout_runs(app: App, browser: Browser, admin: str) -> None:
    # The page must open mid fan-out: a bar that is never pushed (tick once dropped every push
    # on a TypeError) still shows the right figures when it opens after the fan-out is done.
    # Last in the module: the members it adds would slow every later publish down.
    app.cli("users", "seed", str(FANOUT_MEMBERS))
    context = browser.new_context(viewport={"width": 1360, "height": 1000})
    author = context.new_page()
    sign_in(author, app, admin)
    author.get_by_label("Title").fill("Watch it go")
    author.get_by_label("Content").fill("Thousands of emails.")
    published = time.monotonic()
    author.get_by_role("button", name="Publish").click()
    expect(author.get_by_text("Published.")).to_be_visible(timeout=10_000)
    author.get_by_role("link", name="Watch it go").first.click()
    progress = author.get_by_test_id("fanout-progress")
    seen: list[tuple[float, int, int]] = []  # (seconds since Publish, emailed, audience)

    def complete() -> bool:
        text = progress.inner_text()
        if (found := EMAILED.search(text)) and (not seen or int(found[1]) != seen[-1][1]):
            seen.append((round(time.monotonic() - published, 1), int(found[1]), int(found[2])))
        return "complete" in text

    done = wait_until(complete, within=120, interval=0.2)
    print(f"\nprogress seen (s since Publish, emailed, audience): {seen}")
    context.close()
    assert seen, "the progress bar never showed an 'N of M emailed' count"
    _, first, audience = seen[0]
    assert first < audience, (
        f"the fan-out had finished ({first} of {audience}) before the post page opened, so this test proves "
        f"nothing about live updates: seed more than FANOUT_MEMBERS={FANOUT_MEMBERS} members"
    )
    emailed = [n for _, n, _ in seen]
    assert done, f"the bar never reached complete without a reload; it showed {emailed} of {audience}"
    assert emailed == sorted(emailed), f"the count went back: {emailed}"
    assert len(emailed) >= 3, f"the count rose fewer than twice while watched: {emailed}"
    assert emailed[-1] == audience
