"""The running app as the end-to-end tests see it, and what a person does first in it: sign in, read the badge."""

import json
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

from postboard.dev.runner import Stack
from tests.support import BIN

PASSWORD = "password123"


@dataclass
class App:
    """A running Postboard and how to reach it."""

    url: str
    env: dict[str, str]
    mailbox: Path
    stack: Stack

    def cli(self, *args: str) -> str:
        """Run the `postboard` command against this app's database."""
        done = subprocess.run([str(BIN / "postboard"), *args], env=self.env, capture_output=True, text=True, check=True)
        return done.stdout


def sign_in(page: Page, app: App, email: str) -> None:
    """Sign in through the form."""
    page.goto(f"{app.url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=30_000)


def bell(page: Page) -> Locator:
    """The header's bell button; its label and badge carry the unread count."""
    return page.get_by_role("button", name="Notifications,")


def badge(page: Page) -> int:
    """The number shown on the header's bell."""
    return int(page.get_by_test_id("unread-count").inner_text())


def expect_unread(page: Page, count: int, timeout: float | None = None) -> None:
    """Wait until the bell's badge and its label both say `count` unread."""
    expect(page.get_by_test_id("unread-count")).to_have_text(str(count), timeout=timeout)
    expect(bell(page)).to_have_attribute("aria-label", f"Notifications, {count} unread", timeout=timeout)


def api(app: App, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST JSON to the app's API with a bearer token; return the answer's JSON."""
    request = urllib.request.Request(
        f"{app.env['API_URL']}{path}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return dict(json.load(answer))
