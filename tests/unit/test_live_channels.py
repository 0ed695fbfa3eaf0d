"""Who may receive which live channel: the one authorization rule, and the channels a session is in."""

from pathlib import Path

import pytest

from postboard import names
from postboard.live.channels import CHANNELS, Viewer, markdown_table, may_receive, session_channels
from postboard.users.models import Role

ADMIN = Viewer(1, Role.ADMIN)
EDITOR = Viewer(2, Role.EDITOR)
MEMBER = Viewer(3, Role.MEMBER)


def test_a_session_is_in_the_signed_in_channel_its_own_user_channel_and_admins_only_if_admin() -> None:
    assert session_channels(MEMBER) == {names.SIGNED_IN_ROOM, "user.3"}
    assert session_channels(EDITOR) == {names.SIGNED_IN_ROOM, "user.2"}
    assert session_channels(ADMIN) == {names.SIGNED_IN_ROOM, "user.1", names.ADMINS_ROOM}


@pytest.mark.parametrize(
    ("channel", "admin", "editor", "member"),
    [
        (names.SIGNED_IN_ROOM, True, True, True),
        (names.DASHBOARD_ROOM, True, True, True),
        (names.ADMINS_ROOM, True, False, False),
        (names.DASHBOARD_ADMIN_ROOM, True, False, False),
        (names.QUEUES_ROOM, True, False, False),
        ("user.3", False, False, True),
        ("user.30", False, False, False),
        ("user.", False, False, False),
        ("user.3x", False, False, False),
        (names.watch_room("posts", "feed_state"), True, True, True),
        (names.watch_room("rules", "rules_state"), True, False, False),
        (names.watch_room("tokens", "tokens_state"), True, False, False),
        (names.watch_room("notifications", "inbox_state"), False, False, False),
        (names.watch_room("nonsense", "x"), False, False, False),
        ("somewhere-else", False, False, False),
    ],
)
def test_may_receive(channel: str, admin: bool, editor: bool, member: bool) -> None:
    assert [may_receive(v, channel) for v in (ADMIN, EDITOR, MEMBER)] == [admin, editor, member]


def test_nobody_signed_in_receives_nothing() -> None:
    assert not any(may_receive(None, c) for c in (names.SIGNED_IN_ROOM, names.DASHBOARD_ROOM, "user.3"))


def test_a_post_progress_channel_is_for_its_author_and_admins() -> None:
    room = names.post_room(9)
    assert may_receive(EDITOR, room, post_author=EDITOR.user_id)
    assert may_receive(ADMIN, room, post_author=EDITOR.user_id)
    assert not may_receive(MEMBER, room, post_author=EDITOR.user_id)
    # Without knowing the author, only admins.
    assert not may_receive(EDITOR, room)
    assert may_receive(ADMIN, room)


def test_every_channel_of_the_registry_says_who_may_receive_it() -> None:
    assert len({c.name for c in CHANNELS}) == len(CHANNELS)
    assert all(c.events and c.payload and c.audience for c in CHANNELS)


def test_the_readme_table_is_the_registry() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert markdown_table() in readme
