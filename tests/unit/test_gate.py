"""The socket gate: tabs join only what they may, and leave it within one re-check when access changes."""

import asyncio
from collections.abc import Sequence

from postboard import names
from postboard.live.channels import Viewer
from postboard.users.models import Role
from postboard.users.service import token_hash
from postboard.web.gate import Gate, Tab
from tests.unit.twins import MemoryRooms


class Sessions:
    """The sessions table as the gate reads it: token hash -> (user id, role)."""

    def __init__(self) -> None:
        self.live: dict[str, tuple[int, Role]] = {}
        self.reads = 0

    def add(self, token: str, user_id: int, role: Role) -> Viewer:
        self.live[token_hash(token)] = (user_id, role)
        return Viewer(user_id, role)

    def read(self, hashes: Sequence[str]) -> dict[str, tuple[int, Role]]:
        self.reads += 1
        return {h: self.live[h] for h in hashes if h in self.live}


def _gate() -> tuple[Gate, MemoryRooms, Sessions]:
    rooms, sessions = MemoryRooms(), Sessions()
    return Gate(rooms, read=sessions.read, clock=lambda: 100.0), rooms, sessions


async def test_admit_puts_a_tab_in_its_session_channels_only() -> None:
    gate, rooms, sessions = _gate()
    await gate.admit("a", token="ta", viewer=sessions.add("ta", 1, Role.ADMIN))
    await gate.admit("m", token="tm", viewer=sessions.add("tm", 3, Role.MEMBER))
    assert set(rooms.rooms_of("a")) == {names.SIGNED_IN_ROOM, "user.1", names.ADMINS_ROOM}
    assert set(rooms.rooms_of("m")) == {names.SIGNED_IN_ROOM, "user.3"}


async def test_a_page_channel_is_entered_only_when_allowed_and_left_at_the_next_page_load() -> None:
    gate, rooms, sessions = _gate()
    member = sessions.add("tm", 3, Role.MEMBER)
    await gate.admit("m", token="tm", viewer=member)
    assert not await gate.enter("m", names.QUEUES_ROOM)
    assert not await gate.enter("m", names.post_room(5), post_author=2)
    assert not await gate.enter("m", "user.4")
    assert await gate.enter("m", names.watch_room("posts", "feed_state"))
    assert names.QUEUES_ROOM not in rooms.rooms_of("m")
    await gate.admit("m", token="tm", viewer=member)
    assert set(rooms.rooms_of("m")) == {names.SIGNED_IN_ROOM, "user.3"}


async def test_a_tab_not_admitted_enters_nothing() -> None:
    gate, rooms, _ = _gate()
    assert not await gate.enter("x", names.SIGNED_IN_ROOM)
    assert rooms.rooms_of("x") == []


async def test_a_demoted_admin_leaves_admin_channels_at_the_next_recheck_and_is_told() -> None:
    gate, rooms, sessions = _gate()
    await gate.admit("a", token="ta", viewer=sessions.add("ta", 1, Role.ADMIN))
    await gate.enter("a", names.QUEUES_ROOM)
    await gate.enter("a", names.post_room(5), post_author=2)
    await gate.enter("a", names.watch_room("rules", "rules_state"))
    await gate.enter("a", names.watch_room("posts", "feed_state"))
    assert await gate.recheck() == 0
    assert rooms.sent == []

    sessions.add("ta", 1, Role.MEMBER)
    assert await gate.recheck() == 1
    assert set(rooms.rooms_of("a")) == {names.SIGNED_IN_ROOM, "user.1", names.watch_room("posts", "feed_state")}
    assert [room for room, _ in rooms.sent] == ["a"]


async def test_a_promoted_member_joins_admins_at_the_next_recheck() -> None:
    gate, rooms, sessions = _gate()
    await gate.admit("m", token="tm", viewer=sessions.add("tm", 3, Role.MEMBER))
    sessions.add("tm", 3, Role.ADMIN)
    assert await gate.recheck() == 1
    assert names.ADMINS_ROOM in rooms.rooms_of("m")


async def test_a_signed_out_or_expired_session_leaves_every_channel() -> None:
    gate, rooms, sessions = _gate()
    await gate.admit("a", token="ta", viewer=sessions.add("ta", 1, Role.ADMIN))
    await gate.admit("b", token="ta", viewer=Viewer(1, Role.ADMIN))  # a second tab of the same session
    await gate.admit("m", token="tm", viewer=sessions.add("tm", 3, Role.MEMBER))
    await gate.enter("a", names.QUEUES_ROOM)
    del sessions.live[token_hash("ta")]
    assert await gate.recheck() == 2
    assert rooms.rooms_of("a") == rooms.rooms_of("b") == []
    assert set(rooms.rooms_of("m")) == {names.SIGNED_IN_ROOM, "user.3"}
    assert set(gate.tabs) == {"m"}


async def test_recheck_reads_every_session_in_one_query_and_forgets_closed_tabs() -> None:
    gate, rooms, sessions = _gate()
    for n in range(50):
        await gate.admit(f"t{n}", token=f"tok{n}", viewer=sessions.add(f"tok{n}", n + 1, Role.MEMBER))
    rooms.gone.update({"t0", "t1"})
    await gate.recheck()
    assert sessions.reads == 1
    assert len(gate.tabs) == 48


async def test_online_here_counts_a_user_once_with_their_first_tab() -> None:
    rooms, sessions = MemoryRooms(), Sessions()
    times = iter([10.0, 20.0, 30.0])
    gate = Gate(rooms, read=sessions.read, clock=lambda: next(times))
    viewer = sessions.add("t", 7, Role.MEMBER)
    await gate.admit("a", token="t", viewer=viewer)
    await gate.admit("b", token="t", viewer=viewer)
    await gate.admit("c", token="u", viewer=sessions.add("u", 8, Role.MEMBER))
    assert gate.online_here() == {7: 10.0, 8: 30.0}
    await gate.drop("a")
    assert gate.online_here() == {7: 20.0, 8: 30.0}


async def test_a_tab_back_on_a_new_socket_is_told_the_newest_post_it_saw_before() -> None:
    gate, rooms, sessions = _gate()
    viewer = sessions.add("t", 7, Role.MEMBER)
    gate.note_post(10)
    await gate.admit("old", token="t", viewer=viewer, client="tab-1")
    await gate.admit("other", token="t", viewer=viewer, client="tab-2")
    gate.note_post(11)
    await gate.recheck()
    # The socket closes; posts 12 and 13 go out while the tab is away.
    rooms.gone.add("old")
    await gate.recheck()
    gate.note_post(13)
    await gate.recheck()
    await gate.admit("new", token="t", viewer=viewer, client="tab-1")
    assert gate.missed_since("new") == 11
    assert gate.missed_since("new") is None  # told once
    # A page load on a socket that never left is no return.
    await gate.admit("other", token="t", viewer=viewer, client="tab-2")
    assert gate.missed_since("other") is None


async def test_a_silently_cut_off_tab_stops_counting_posts_as_seen() -> None:
    gate, rooms, sessions = _gate()
    viewer = sessions.add("t", 7, Role.MEMBER)
    gate.note_post(5)
    await gate.admit("old", token="t", viewer=viewer, client="tab-1")
    rooms.silent.add("old")  # its ping went unanswered; the server has not closed it yet
    gate.note_post(6)
    await gate.recheck()
    # The browser tab comes back before the server noticed the old socket was dead.
    await gate.admit("new", token="t", viewer=viewer, client="tab-1")
    assert gate.missed_since("new") == 5


async def test_a_tab_admitted_while_the_sessions_are_read_is_not_taken_for_signed_out() -> None:
    rooms, sessions = MemoryRooms(), Sessions()
    gate: Gate

    def slow_read(hashes: Sequence[str]) -> dict[str, tuple[int, Role]]:
        # Another tab loads a page while this read is in flight (the gate reads in a thread).
        gate.tabs["late"] = Tab(token_hash("late"), sessions.add("late", 9, Role.MEMBER), 0.0)
        return sessions.read(hashes)

    gate = Gate(rooms, read=slow_read, clock=lambda: 1.0)
    await gate.admit("early", token="e", viewer=sessions.add("e", 8, Role.MEMBER))
    assert await gate.recheck() == 0
    assert set(gate.tabs) == {"early", "late"}


async def test_with_live_push_off_closed_tabs_are_still_forgotten() -> None:
    gate, rooms, sessions = _gate()
    await gate.admit("a", token="t", viewer=sessions.add("t", 7, Role.MEMBER))
    await gate.admit("b", token="u", viewer=sessions.add("u", 8, Role.MEMBER))
    rooms.gone.add("a")
    task = asyncio.create_task(gate.prune_forever(interval=0.001))
    for _ in range(1000):
        if "a" not in gate.tabs:
            break
        await asyncio.sleep(0.001)
    task.cancel()
    assert set(gate.tabs) == {"b"}
    assert sessions.reads == 0  # nothing re-checked: no channels to leave


async def test_a_closed_panel_leaves_its_watch_channel_and_keeps_the_pages() -> None:
    gate, rooms, sessions = _gate()
    await gate.admit("m", token="tm", viewer=sessions.add("tm", 3, Role.MEMBER))
    bell, feed = names.watch_room("posts", "bell_state"), names.watch_room("posts", "feed_state")
    assert await gate.enter("m", bell)
    assert await gate.enter("m", feed)
    await gate.leave("m", bell)
    assert set(rooms.rooms_of("m")) == {names.SIGNED_IN_ROOM, "user.3", feed}
    assert set(gate.tabs["m"].page) == {feed}
    await gate.leave("m", bell)  # already out: nothing happens
    assert set(rooms.rooms_of("m")) == {names.SIGNED_IN_ROOM, "user.3", feed}
