"""The dashboard hub: presence written every tick, figures read once per tick and pushed only when changed."""

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from postboard import names
from postboard.live.channels import Viewer
from postboard.live.presence import Presence
from postboard.monitor.store import JobStore
from postboard.users.models import Role
from postboard.web import dashboard_hub
from postboard.web.dashboard_hub import DashboardHub
from postboard.web.gate import Gate
from tests.unit.twins import MemoryRooms

STATE = "root.dashboard_state"


def _values(update: Any) -> dict[str, Any]:
    return {key.removesuffix("_rx_state_"): value for key, value in update.delta[STATE].items()}


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    """A scratch database of the session's Redis."""
    client = Redis.from_url(os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/8", decode_responses=True)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[dict[int, float], bool]]:
    """Record each read of the figures (who was online, whether system figures were asked) instead of a database."""
    seen: list[tuple[dict[int, float], bool]] = []

    def read(online: dict[int, float], *, queues: list[Any] | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
        seen.append((online, queues is not None))
        public = {"users_online": len(online), "posts_today": 4}
        return public, None if queues is None else {"workers": 2}

    async def no_queues(_store: JobStore) -> list[Any]:
        return []

    monkeypatch.setattr(dashboard_hub, "read_figures", read)
    monkeypatch.setattr(dashboard_hub, "read_queues", no_queues)
    return seen


async def _tab(gate: Gate, sid: str, user: int, role: Role = Role.MEMBER) -> None:
    await gate.admit(sid, token=f"token-{sid}", viewer=Viewer(user, role))


async def test_one_read_per_tick_for_every_tab_and_pushes_only_on_change(
    redis: Redis, reads: list[tuple[dict[int, float], bool]]
) -> None:
    rooms = MemoryRooms()
    gate = Gate(rooms, clock=lambda: 100.0)
    hub = DashboardHub(rooms, gate, Presence(redis, backend="web-1"), JobStore(redis), state=STATE)
    for sid, user in (("a", 1), ("b", 2), ("c", 2)):
        await _tab(gate, sid, user)
        await gate.enter(sid, names.DASHBOARD_ROOM)

    await hub.tick()
    assert reads == [({1: 100.0, 2: 100.0}, False)]
    assert [(room, _values(u)) for room, u in rooms.sent] == [
        (names.DASHBOARD_ROOM, {"users_online": 2, "posts_today": 4})
    ]

    rooms.sent.clear()
    await hub.tick()
    assert rooms.sent == []

    rooms.gone |= {"b", "c"}  # user 2 closed both tabs
    await hub.tick()
    assert [_values(u)["users_online"] for _, u in rooms.sent] == [1]


async def test_the_system_figures_go_to_the_admin_channel_only_and_members_are_not_let_in(
    redis: Redis, reads: list[tuple[dict[int, float], bool]]
) -> None:
    rooms = MemoryRooms()
    gate = Gate(rooms)
    hub = DashboardHub(rooms, gate, Presence(redis, backend="web-1"), JobStore(redis), state=STATE)
    await _tab(gate, "admin", 1, Role.ADMIN)
    await _tab(gate, "member", 2)
    for sid in ("admin", "member"):
        await gate.enter(sid, names.DASHBOARD_ROOM)
    assert await gate.enter("admin", names.DASHBOARD_ADMIN_ROOM)
    assert not await gate.enter("member", names.DASHBOARD_ADMIN_ROOM)

    await hub.tick()
    sent = dict(rooms.sent)
    assert set(sent) == {names.DASHBOARD_ROOM, names.DASHBOARD_ADMIN_ROOM}
    assert _values(sent[names.DASHBOARD_ADMIN_ROOM]) == {"workers": 2}
    assert rooms.members(names.DASHBOARD_ADMIN_ROOM) == {"admin"}


async def test_with_no_dashboard_tab_presence_is_still_written_but_nothing_is_read(
    redis: Redis, reads: list[tuple[dict[int, float], bool]]
) -> None:
    rooms = MemoryRooms()
    gate = Gate(rooms, clock=lambda: 50.0)
    here, there = Presence(redis, backend="web-1"), Presence(redis, backend="web-2")
    await _tab(gate, "a", 5)  # on another page
    await DashboardHub(rooms, gate, here, JobStore(redis), state=STATE).tick()
    assert reads == []
    assert rooms.sent == []
    assert await there.online() == {5: 50.0}


async def test_a_page_load_reuses_the_last_tick_and_reads_itself_when_there_is_none(
    redis: Redis, reads: list[tuple[dict[int, float], bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboard_hub, "latest", dashboard_hub.Latest())
    await Presence(redis, backend="web-2").publish({1: 40.0, 9: 10.0})
    public, system = await dashboard_hub.load_figures(
        Presence(redis, backend="web-1"), JobStore(redis), here=lambda: {1: 20.0}, admin=True
    )
    assert reads == [({1: 20.0, 9: 10.0}, True)]
    assert (public["users_online"], system) == (2, {"workers": 2})

    rooms = MemoryRooms()
    gate = Gate(rooms)
    await _tab(gate, "a", 1)
    await gate.enter("a", names.DASHBOARD_ROOM)
    await DashboardHub(rooms, gate, Presence(redis, backend="web-1"), JobStore(redis), state=STATE).tick()
    reads.clear()
    member_view = await dashboard_hub.load_figures(
        Presence(redis, backend="web-1"), JobStore(redis), here=dict, admin=False
    )
    assert reads == []  # the tick's figures, not a read of its own
    assert member_view == ({"users_online": 2, "posts_today": 4}, None)


async def test_a_page_load_without_redis_still_counts_this_process_tabs(
    reads: list[tuple[dict[int, float], bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboard_hub, "latest", dashboard_hub.Latest())
    down = Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.5)
    public, _ = await dashboard_hub.load_figures(Presence(down), JobStore(down), here=lambda: {3: 5.0}, admin=False)
    assert public["users_online"] == 1
    await down.aclose()
