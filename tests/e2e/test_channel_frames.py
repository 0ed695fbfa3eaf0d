"""Channel authorization at the socket: four people, four browsers, every websocket frame read.

An admin, an editor and two members are signed in while admin alerts, a private
notification, post progress, queue figures and admin-only list changes go out. Each
browser's frames are captured as they arrive. A member's frames never carry another
user's or an admin's message, and an admin demoted mid-session stops getting admin
frames without reloading.
"""

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urljoin

import pytest
from playwright.sync_api import Browser, Page, WebSocket, expect
from redis import Redis

from postboard import names
from postboard.live.messages import Envelope, LiveNotice
from tests.e2e.app import PASSWORD, App, api, sign_in

pytestmark = pytest.mark.e2e


@dataclass
class Person:
    """One signed-in browser and every websocket frame it received, in order."""

    email: str
    user_id: int
    page: Page
    frames: list[str] = field(default_factory=list)

    def watch(self) -> None:
        """Record every frame the page's sockets receive from now on."""

        def on_socket(socket: WebSocket) -> None:
            socket.on(
                "framereceived", lambda data: self.frames.append(data if isinstance(data, str) else data.decode())
            )

        self.page.on("websocket", on_socket)

    def got(self, marker: str, since: int = 0) -> bool:
        """Whether a frame (from index `since` on) carried `marker`."""
        return any(marker in frame for frame in self.frames[since:])

    def wait_for(self, marker: str, *, within: float = 20) -> None:
        """Wait until a frame carrying `marker` has arrived."""
        deadline = time.monotonic() + within
        while not self.got(marker):
            assert time.monotonic() < deadline, f"{self.email} never received {marker!r}"
            self.page.wait_for_timeout(100)


def _create(app: App, email: str, name: str, role: str) -> int:
    out = app.cli("users", "create", "--email", email, "--name", name, "--password", PASSWORD, "--role", role)
    found = re.search(r"\(id (\d+)\)", out)
    assert found, out
    return int(found.group(1))


def _announce(app: App, *, to: list[str], title: str) -> None:
    """Send a notice on the live channel as the monitor does for an admin alert."""
    envelope = Envelope(
        type=names.NOTIFICATION_CREATED, to=to, data=LiveNotice(title=title, body="b", url="/").model_dump()
    )
    with Redis.from_url(app.env["REDIS_URL"]) as redis:
        redis.publish(names.LIVE_CHANNEL, envelope.model_dump_json())


def _settle(app: App, people: list["Person"], marker: str) -> None:
    """Send each person a private marker last; once it is in, everything announced before it was delivered."""
    for person in people:
        _announce(app, to=[names.user_room(person.user_id)], title=f"{marker}-{person.user_id}")
    for person in people:
        person.wait_for(f"{marker}-{person.user_id}")


@pytest.fixture
def four(app: App, browser: Browser) -> Iterator[dict[str, Person]]:
    """Ann (admin), Ed (editor), Mo and Mia (members), each signed in in a browser of their own."""
    people = {
        "ann": ("ann-frames@example.com", "Ann Admin", "admin"),
        "ed": ("ed-frames@example.com", "Ed Editor", "editor"),
        "mo": ("mo-frames@example.com", "Mo Member", "member"),
        "mia": ("mia-frames@example.com", "Mia Member", "member"),
    }
    # A second admin, so Ann is not the last one and can be demoted.
    _create(app, "zoe-frames@example.com", "Zoe Admin", "admin")
    contexts = []
    found: dict[str, Person] = {}
    try:
        for key, (email, name, role) in people.items():
            context = browser.new_context()
            contexts.append(context)
            person = Person(email, _create(app, email, name, role), context.new_page())
            person.watch()
            sign_in(person.page, app, email)
            found[key] = person
        yield found
    finally:
        for context in contexts:
            context.close()


def test_each_socket_receives_only_what_its_user_may_and_a_demoted_admin_stops(
    app: App, four: dict[str, Person]
) -> None:
    ann, ed, mo, mia = four["ann"], four["ed"], four["mo"], four["mia"]
    members = (mo, mia)
    token = app.cli("tokens", "create", "--name", "frames", "--scope", "admin").strip().splitlines()[-1]
    source = api(app, token, "/api/event-sources", {"name": "frames_private"})
    template = api(
        app,
        token,
        "/api/templates",
        {"name": "frames secret", "channel": "in_app", "subject": "Secret {{ n }}", "body": "Only for you."},
    )
    rule = {"source_id": source["id"], "template_id": template["id"], "recipient_kind": "user"}
    api(app, token, "/api/rules", {**rule, "name": "only mo", "recipient_value": str(mo.user_id)})

    # Pages with channels of their own: Ann watches the queues, Ed his post's progress, the members too.
    ed.page.get_by_label("Title").fill("Frames post")
    ed.page.get_by_label("Content").fill("Who gets the progress?")
    ed.page.get_by_role("button", name="Publish").click()
    link = mo.page.get_by_role("link", name="Frames post").first
    expect(link).to_be_visible(timeout=15_000)
    post_url = urljoin(app.url, str(link.get_attribute("href")))
    for member in members:
        member.page.goto(post_url)
        expect(member.page.get_by_role("heading", name="Frames post")).to_be_visible(timeout=15_000)
    ed.page.goto(post_url)
    expect(ed.page.get_by_role("heading", name="Frames post")).to_be_visible(timeout=15_000)
    ann.page.goto(f"{app.url}/queues")
    expect(ann.page.get_by_role("heading", name="Queues", exact=True)).to_be_visible(timeout=15_000)

    # Ed joining the post channel re-sends its progress to everyone in it: him, not the members.
    ed.wait_for("audience")
    ann.wait_for("queues_state")
    _announce(app, to=[names.ADMINS_ROOM], title="Admin alert one")
    api(app, token, "/api/events", {"event": "frames_private", "payload": {"n": "for Mo 8841"}})
    mo.wait_for("Secret for Mo 8841")
    ann.wait_for("Admin alert one")
    _settle(app, [ann, ed, mo, mia], "settled-one")

    assert not ed.got("Admin alert one")
    for person in (ann, ed, mia):
        assert not person.got("Secret for Mo 8841"), f"{person.email} got Mo's private notification"
    for member in members:
        assert not member.got("Admin alert one"), f"{member.email} got an admin alert"
        assert not member.got("audience"), f"{member.email} got the author's progress figures"
        assert not member.got("queues_state"), f"{member.email} got queue monitor figures"
        other = mia if member is mo else mo
        assert not member.got(f"settled-one-{other.user_id}"), f"{member.email} got {other.email}'s notice"

    # Ann is demoted while she watches the queues: her tab leaves the admin channels by itself.
    demoted_at = len(ann.frames)
    app.cli("users", "role", "--email", ann.email, "--role", "member")
    started = time.monotonic()
    expect(ann.page.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=10_000)
    print(f"demoted admin's tab left the admin pages in {time.monotonic() - started:.2f} s")
    at_home = len(ann.frames)
    _announce(app, to=[names.ADMINS_ROOM], title="Admin alert two")
    _settle(app, [ann, mo], "settled-two")
    assert not ann.got("Admin alert two", since=demoted_at)
    assert not ann.got("queues_state", since=at_home)
    assert not any(m.got("Admin alert two") for m in members)
