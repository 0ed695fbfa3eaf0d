"""A tab whose socket drops reconnects by itself and is back in its push rooms, without a reload."""

import re

import pytest
from playwright.sync_api import Browser, WebSocketRoute, expect

from tests.e2e.app import PASSWORD, App, badge, expect_unread, sign_in

pytestmark = pytest.mark.e2e
ADMIN, MEMBER = "reconnect-admin@example.com", "reconnect-member@example.com"


@pytest.fixture(scope="module")
def people(app: App) -> tuple[str, str]:
    """An admin who publishes and a member whose socket drops."""
    app.cli("users", "create", "--email", ADMIN, "--name", "Rae Admin", "--password", PASSWORD, "--role", "admin")
    app.cli("users", "create", "--email", MEMBER, "--name", "Max Member", "--password", PASSWORD, "--role", "member")
    return ADMIN, MEMBER


def test_a_dropped_socket_reconnects_and_gets_the_next_post_live(
    app: App, browser: Browser, people: tuple[str, str]
) -> None:
    admin_ctx, member_ctx = browser.new_context(), browser.new_context()
    admin, member = admin_ctx.new_page(), member_ctx.new_page()
    sockets: list[WebSocketRoute] = []

    def relay(ws: WebSocketRoute) -> None:
        # The test sits between the tab and the backend, so it can cut the connection.
        ws.connect_to_server()
        sockets.append(ws)

    member.route_web_socket(re.compile(r".*/_event/.*"), relay)
    sign_in(admin, app, people[0])
    sign_in(member, app, people[1])
    member.evaluate("window.__same_page = true")
    assert len(sockets) == 1

    # Reflex reconnects on its own; the hydrate it sends runs the page's on_load again,
    # which puts the new socket into the signed-in and user rooms.
    with member.expect_websocket(timeout=15_000):
        sockets[0].close()
    admin.get_by_label("Title").fill("After the drop")
    admin.get_by_label("Content").fill("Sent once the member's socket was back.")
    admin.get_by_role("button", name="Publish").click()

    expect(member.locator("[data-sonner-toast]").filter(has_text="After the drop")).to_be_visible(timeout=10_000)
    expect(member.get_by_role("link", name="After the drop").first).to_be_visible()
    assert member.evaluate("window.__same_page === true"), "the tab reloaded"
    assert len(sockets) == 2
    admin_ctx.close()
    member_ctx.close()


def test_a_tab_cut_off_while_posts_go_out_catches_up_with_one_notice_and_the_exact_badge(
    app: App, browser: Browser, people: tuple[str, str]
) -> None:
    admin_ctx, member_ctx = browser.new_context(), browser.new_context()
    admin, member = admin_ctx.new_page(), member_ctx.new_page()
    links: list[tuple[WebSocketRoute, WebSocketRoute]] = []
    cut_off = [False]

    def relay(ws: WebSocketRoute) -> None:
        if cut_off[0]:
            ws.close()  # the network is down: every reconnect attempt fails
            return
        links.append((ws, ws.connect_to_server()))

    member.route_web_socket(re.compile(r".*/_event/.*"), relay)
    sign_in(admin, app, people[0])
    sign_in(member, app, people[1])
    member.evaluate("window.__same_page = true")
    before = badge(member)

    cut_off[0] = True
    page_side, server_side = links[0]
    server_side.close()
    page_side.close()
    titles = [f"Missed while away {n}" for n in range(1, 4)]
    for title in titles:
        admin.get_by_label("Title").fill(title)
        admin.get_by_label("Content").fill("Published while the member was offline.")
        admin.get_by_role("button", name="Publish").click()
        expect(admin.get_by_role("link", name=title).first).to_be_visible(timeout=15_000)
    expect(member.get_by_role("link", name=titles[0])).to_have_count(0)

    cut_off[0] = False
    # Back online: the rows arrive, one notice sums them up, and the badge counts all three.
    expect(member.locator("[data-sonner-toast]").filter(has_text="3 new posts while you were away")).to_be_visible(
        timeout=20_000
    )
    for title in titles:
        expect(member.get_by_role("link", name=title).first).to_be_visible()
    # One notice, not one toast per post (the notice names the newest).
    for title in titles[:-1]:
        expect(member.locator("[data-sonner-toast]").filter(has_text=title)).to_have_count(0)
    expect_unread(member, before + 3)
    assert member.evaluate("window.__same_page === true"), "the tab reloaded"
    admin_ctx.close()
    member_ctx.close()
