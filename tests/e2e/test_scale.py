"""Production mode behind nginx: 2 backend processes × 2 Granian workers, tabs on all 4, nothing lost or doubled.

Runs last (marker `scale`): it stops the dev stack of the other e2e tests and starts its own
with `postboard.dev.prod.start_prod`, as `postboard serve` does.
"""

import os
import re
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, WebSocket, expect
from redis import Redis

from postboard import names
from postboard.dev.prod import start_prod
from postboard.dev.proxy import find_nginx
from postboard.dev.runner import Stack
from postboard.dev.services import free_port
from postboard.live.seen import LINKED
from postboard.settings import Settings
from tests.app_logs import LogWatch
from tests.e2e.app import PASSWORD, expect_unread
from tests.e2e.conftest import stop_dev_stack
from tests.support import BIN, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.scale, pytest.mark.timeout(900)]

# Every toast the page shows, recorded as it appears (sonner removes them after a few seconds).
RECORD_TOASTS = """
window.__toasts = [];
new MutationObserver((changes) => {
  for (const change of changes) for (const node of change.addedNodes) {
    if (node.nodeType !== 1) continue;
    if (node.matches('[data-sonner-toast]')) window.__toasts.push(node);
    window.__toasts.push(...node.querySelectorAll('[data-sonner-toast]'));
  }
}).observe(document, {childList: true, subtree: true});
"""


@dataclass
class Prod:
    """The production stack, its URL, its Redis and its database."""

    url: str
    env: dict[str, str]
    stack: Stack
    redis: Redis
    db: Path

    def cli(self, *args: str) -> str:
        """Run the `postboard` command against this stack's database."""
        done = subprocess.run([str(BIN / "postboard"), *args], env=self.env, capture_output=True, text=True, check=True)
        return done.stdout

    def create(self, email: str, name: str, role: str = "member") -> int:
        """Create an account; return its id."""
        out = self.cli("users", "create", "--email", email, "--name", name, "--password", PASSWORD, "--role", role)
        found = re.search(r"\(id (\d+)\)", out)
        assert found, out
        return int(found.group(1))

    def newest_post(self) -> int:
        """The id of the newest post."""
        with sqlite3.connect(self.db) as conn:
            return int(conn.execute("SELECT coalesce(max(id), 0) FROM post").fetchone()[0])

    def seen(self, client: str) -> int | None:
        """The newest post a browser tab was there for, as the other backend would read it (`live.seen`)."""
        found = cast(bytes | None, self.redis.get(names.seen_key(client)))
        if found is not None and found.startswith(LINKED.encode()):
            # Still connected: its record names its process, which records its own newest post.
            found = cast(bytes | None, self.redis.get(names.seen_process_key(found[len(LINKED) :].decode())))
        return None if found is None else int(found)

    def process_of(self, user_id: int) -> str | None:
        """The live backend worker process (host:pid) whose presence lists this user, if exactly one does."""
        backends = [b.decode() for b in self.redis.zrange(names.PRESENCE_BACKENDS, 0, -1)]
        # A killed process's presence stays in Redis until readers age it out (10 s): not where a tab is.
        holding = [b for b in backends if self.redis.hexists(names.presence_key(b), str(user_id)) and _alive(b)]
        return holding[0] if len(holding) == 1 else None

    def backend_of(self, process: str) -> str:
        """The plan's name (web-1, web-2) of the backend a Granian worker (host:pid) belongs to."""
        group = os.getpgid(int(process.rsplit(":", 1)[1]))
        return next(name for name, proc in self.stack.procs.items() if proc.pid == group)


def _alive(process: str) -> bool:
    # A SIGKILLed Granian worker can linger as a zombie (nobody reaps it in a container), which
    # kill(pid, 0) still finds: read its state instead.
    try:
        stat = Path(f"/proc/{process.rsplit(':', 1)[1]}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


@dataclass
class Tab:
    """One signed-in browser (its own context, so its own routing cookie) and what its sockets received."""

    email: str
    user_id: int
    context: BrowserContext
    page: Page
    frames: list[str] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)
    process: str = ""

    def watch(self) -> None:
        """Record every socket's URL and every frame it receives."""

        def on_socket(socket: WebSocket) -> None:
            self.sockets.append(socket.url)
            socket.on("framereceived", lambda d: self.frames.append(d if isinstance(d, str) else d.decode()))

        self.page.on("websocket", on_socket)
        self.page.add_init_script(RECORD_TOASTS)

    def client_token(self) -> str:
        """Reflex's client token of this browser tab (the same on every socket)."""
        found = re.search(r"token=([^&]+)", self.sockets[-1])
        assert found, self.sockets
        return found.group(1)

    def toasts(self, text: str) -> int:
        """How many toasts carrying `text` the page has shown."""
        # Read when asked: a toast's text may fill in after it was added, and it is gone from the page by now.
        shown: list[str] = self.page.evaluate("[...new Set(window.__toasts)].map((t) => t.textContent)")
        return sum(text in t for t in shown)

    def texts_matching(self, pattern: str) -> list[str]:
        """The first group of `pattern` in each toast the page showed that matches it."""
        shown: list[str] = self.page.evaluate("[...new Set(window.__toasts)].map((t) => t.textContent)")
        return [m.group(1) for t in shown if (m := re.search(pattern, t))]

    def wait_for_frame(self, marker: str, *, within: float = 30) -> None:
        """Wait until a frame carrying `marker` has arrived (waiting in the page, so Playwright's events run)."""
        deadline = time.monotonic() + within
        while not self.frames_with(marker):
            assert time.monotonic() < deadline, f"{self.email} never received {marker!r}"
            self.page.wait_for_timeout(100)

    def frames_with(self, marker: str) -> int:
        """How many received frames carry `marker`."""
        return sum(marker in f for f in self.frames)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _ports(count: int) -> int:
    """The first of `count` consecutive free ports below the ephemeral range (where client sockets take theirs)."""
    port = 21000
    while not all(free_port(p) == p for p in range(port, port + count)):
        port += count
    return port


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prod]:
    """`postboard serve` with 2 backends × 2 Granian workers behind nginx, on free ports (Redis: the session's db 2)."""
    if find_nginx() is None:
        pytest.skip("nginx is not installed and could not be (make test installs Debian's nginx when run as root)")
    stop_dev_stack()
    root = tmp_path_factory.mktemp("scale")
    proxy = _ports(3)
    web = proxy + 1
    redis_url = os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/2"
    redis = Redis.from_url(redis_url)
    redis.flushdb()
    over = {
        "DATABASE_URL": f"sqlite:///{root / 'scale.db'}",
        "REDIS_URL": redis_url,
        "APP_URL": f"http://localhost:{proxy}",
        "PROXY_PORT": str(proxy),
        "WEB_PORT": str(web),
        "WEB_BACKENDS": "2",
        "WEB_WORKERS": "2",
        "MAILBOX_DIR": str(root / "mailbox"),
        "SMS_DIR": str(root / "sms"),
        "SCHEDULER_INTERVAL": "1",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "PYTEST_"))} | over
    settings = Settings(**{k.lower(): v for k, v in over.items()})  # type: ignore[arg-type]
    watch = LogWatch.folder(root)
    stack = start_prod(settings, env, root=root, logs=root)
    try:
        up = wait_until(
            lambda: _answers(f"{over['APP_URL']}/ping") and _answers(f"{over['APP_URL']}/login"), within=300, interval=1
        )
        assert up, f"production stack did not start; see logs in {root}"
        yield Prod(url=over["APP_URL"], env=stack.env, stack=stack, redis=redis, db=root / "scale.db")
    finally:
        stack.stop()
        redis.close()
    watch.check()


def _sign_in(prod: Prod, browser: Browser, email: str, user_id: int) -> Tab:
    context = browser.new_context()
    tab = Tab(email, user_id, context, context.new_page())
    tab.watch()
    tab.page.goto(f"{prod.url}/login")
    tab.page.get_by_label("Email").fill(email)
    tab.page.get_by_label("Password").fill(PASSWORD)
    tab.page.get_by_role("button", name="Sign in").click()
    expect(tab.page.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=30_000)
    assert wait_until(lambda: prod.process_of(user_id) is not None, within=15), f"{email} never showed as online"
    tab.process = prod.process_of(user_id) or ""
    return tab


def _publish(admin: Tab, title: str, body: str) -> None:
    admin.page.get_by_label("Title").fill(title)
    admin.page.get_by_label("Content").fill(body)
    admin.page.get_by_role("button", name="Publish").click()
    expect(admin.page.get_by_label("Title")).to_have_value("", timeout=15_000)


def _settle(prod: Prod, tabs: list[Tab], marker: str) -> None:
    """A private notice to each tab, sent last: once it is in, everything published before it was delivered."""
    from postboard.live.messages import Envelope, LiveNotice

    for tab in tabs:
        envelope = Envelope(
            type=names.NOTIFICATION_CREATED,
            to=[names.user_room(tab.user_id)],
            data=LiveNotice(title=f"{marker}-{tab.user_id}", body="b", url="/").model_dump(),
        )
        prod.redis.publish(names.LIVE_CHANNEL, envelope.model_dump_json())
    for tab in tabs:
        tab.wait_for_frame(f"{marker}-{tab.user_id}")


@pytest.fixture(scope="module")
def tabs(prod: Prod, browser: Browser) -> Iterator[dict[str, Tab]]:
    """An admin who publishes, and a member tab on each of the 4 Granian workers (new browsers until all 4 have one)."""
    opened: list[Tab] = []
    try:
        email = "ada-scale@example.com"
        admin = _sign_in(prod, browser, email, prod.create(email, "Ada Admin", "admin"))
        opened.append(admin)
        members: dict[str, Tab] = {}
        for n in range(40):
            email = f"member{n}-scale@example.com"
            tab = _sign_in(prod, browser, email, prod.create(email, f"Member {n}"))
            opened.append(tab)
            if tab.process in members:
                tab.context.close()  # that worker has a tab already: a new browser may land elsewhere
                opened.remove(tab)
                continue
            members[tab.process] = tab
            if len(members) == 4:
                break
        assert len(members) == 4, f"40 browsers reached only {len(members)} of the 4 workers"
        assert {prod.backend_of(p) for p in members} == {"web-1", "web-2"}
        yield {"admin": admin, **{f"m{i}": tab for i, tab in enumerate(members.values())}}
    finally:
        for tab in opened:
            tab.context.close()


def test_tabs_on_all_four_workers_get_every_post_once_and_agree_on_presence_and_the_badge(
    prod: Prod, tabs: dict[str, Tab]
) -> None:
    members = [t for k, t in tabs.items() if k != "admin"]
    everyone = list(tabs.values())
    # Presence is agreed across backends: every tab counts the same five people online.
    for tab in everyone:
        expect(tab.page.get_by_role("group", name="Users online").get_by_test_id("stat-value")).to_have_text(
            "5", timeout=20_000
        )
    bodies = [f"scale body {i} for every worker" for i in range(3)]
    for i, body in enumerate(bodies):
        _publish(tabs["admin"], f"Scale post {i}", body)
    _settle(prod, everyone, "settled")
    for tab in everyone:
        for i, body in enumerate(bodies):
            # The toast description ("author · excerpt", the dot escaped) is in the post's own update only.
            frames = tab.frames_with(f"u00b7 {body}")
            assert frames == 1, f"{tab.email} on {tab.process}: post {i} in {frames} frames"
            toasts = tab.toasts(f"Ada Admin · {body}")
            assert toasts == 1, f"{tab.email} on {tab.process}: post {i} toasted {toasts} times"
    for tab in members:
        expect_unread(tab.page, 3, timeout=20_000)


def test_a_killed_backends_tabs_reconnect_to_the_other_and_recover_what_they_missed(
    prod: Prod, tabs: dict[str, Tab]
) -> None:
    admin = tabs["admin"]
    victim = "web-2" if prod.backend_of(admin.process) == "web-1" else "web-1"
    moved = [t for k, t in tabs.items() if k != "admin" and prod.backend_of(t.process) == victim]
    assert len(moved) == 2  # one on each of its Granian workers
    newest = prod.newest_post()
    for tab in moved:
        # Recorded in Redis by the backend they are on, so the other backend can read it.
        assert wait_until(
            lambda t=tab: prod.seen(t.client_token()) == newest,  # type: ignore[misc]
            within=15,
        ), tab.email
        # Offline until the posts below are out, so they are missed for certain rather than maybe received live.
        tab.context.set_offline(True)
    os.killpg(prod.stack.procs[victim].pid, 9)
    prod.stack.procs[victim].wait()
    for i in (3, 4):
        _publish(admin, f"Scale post {i}", f"scale body {i} while a backend is down")
    survivors = [t for t in tabs.values() if t not in moved]
    _settle(prod, survivors, "after-kill")
    for tab in moved:
        sockets = len(tab.sockets)
        tab.context.set_offline(False)
        expect_unread(tab.page, 5, timeout=60_000)
        assert len(tab.sockets) > sockets, f"{tab.email} recovered without a new socket"
        assert wait_until(lambda t=tab: prod.process_of(t.user_id) is not None, within=30)
        process = prod.process_of(tab.user_id)
        assert process is not None
        assert prod.backend_of(process) != victim
        # Told of posts 3 and 4 exactly once each: live on the new socket, or in the one "N new posts" notice
        # (Chromium's offline mode may let the socket reconnect before the posts go out).
        live = [tab.toasts(f"Ada Admin · scale body {i} while") for i in (3, 4)]
        notices = tab.texts_matching(r"(\d+) new posts? while you were away")
        assert all(n <= 1 for n in live), f"{tab.email}: live toasts {live}"
        assert sum(live) + sum(int(n) for n in notices) == 2, f"{tab.email}: live {live}, notices {notices}"
