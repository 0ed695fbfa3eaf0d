"""The newest post each browser tab saw, in a real Redis: a tab back on another backend is told what it missed."""

import os
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from reflex.utils.token_manager import RedisTokenManager

from postboard import names
from postboard.live.channels import Viewer
from postboard.live.seen import RedisSeen
from postboard.users.models import Role
from postboard.web.gate import Gate
from tests.unit.test_gate import Sessions
from tests.unit.twins import MemoryRooms


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    """A scratch database of the session's Redis."""
    client = Redis.from_url(os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/9", decode_responses=True)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


def _backend(redis: Redis, sessions: Sessions) -> tuple[Gate, MemoryRooms]:
    rooms = MemoryRooms()
    return Gate(rooms, read=sessions.read, clock=lambda: 100.0, seen=RedisSeen(redis)), rooms


async def _tab_on_backend_one(redis: Redis) -> tuple[Gate, Gate, MemoryRooms, Viewer]:
    """Two backends that have both seen post 10, and a member's tab "tab-1" admitted on the first."""
    sessions = Sessions()
    viewer = sessions.add("t", 7, Role.MEMBER)
    one, _ = _backend(redis, sessions)
    two, rooms = _backend(redis, sessions)
    for gate in (one, two):
        gate.note_post(10)
    await one.admit("s1", token="t", viewer=viewer, client="tab-1")
    return one, two, rooms, viewer


async def test_a_tab_whose_backend_died_is_told_on_another_backend_what_it_missed(redis: Redis) -> None:
    one, two, _, viewer = await _tab_on_backend_one(redis)
    for gate in (one, two):
        gate.note_post(11)
    await one.recheck()
    # Backend one dies; posts 12 and 13 go out while the tab reconnects through the proxy to backend two.
    two.note_post(13)
    await two.admit("s2", token="t", viewer=viewer, client="tab-1")
    assert two.missed_since("s2") == 11
    assert await RedisSeen(redis).get("tab-1") == 13  # what it loads now shows everything so far


async def test_reflex_gives_a_killed_backends_tab_a_new_client_token_on_the_other_backend(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Why the gate also looks under the token a socket came with (Reflex's RedisTokenManager, pinned here).
    monkeypatch.setattr(RedisTokenManager, "_ensure_socket_record_task", lambda self: None)  # no CONFIG SET
    raw = Redis.from_url(os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/9")
    try:
        one, two = RedisTokenManager(raw), RedisTokenManager(raw)
        assert await one.link_token_to_sid("tab-1", "s1") is None
        # Backend one is SIGKILLed: it never disconnects its sockets, so their records stay in Redis.
        given = await two.link_token_to_sid("tab-1", "s2")
        assert given is not None
        assert given != "tab-1"
        assert two.sid_to_token["s2"] == given  # the tab's state and events now run under `given`
    finally:
        await raw.aclose()


async def test_a_tab_back_on_another_backend_under_a_new_client_token_is_told_what_it_missed(redis: Redis) -> None:
    one, two, rooms, viewer = await _tab_on_backend_one(redis)
    await one.recheck()
    # Backend one dies; post 11 goes out; the tab's socket comes to backend two with "tab-1",
    # which Reflex links as "tab-2".
    two.note_post(11)
    rooms.came["s2"] = "tab-1"
    await two.admit("s2", token="t", viewer=viewer, client="tab-2")
    assert two.missed_since("s2") == 10
    assert await RedisSeen(redis).get("tab-2") == 11
    # Its next socket comes with "tab-2", the token it was given.
    await two.drop("s2")
    await two.admit("s3", token="t", viewer=viewer, client="tab-2")
    assert two.missed_since("s3") == 11


async def test_a_tab_never_seen_is_no_return_and_a_post_costs_one_write_per_process(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = Sessions()
    viewers = [sessions.add(f"t{n}", n, Role.MEMBER) for n in range(3)]
    gate, rooms = _backend(redis, sessions)
    gate.note_post(4)
    for n, viewer in enumerate(viewers):
        await gate.admit(f"s{n}", token=f"t{n}", viewer=viewer, client=f"tab-{n}")
    assert gate.missed_since("s0") is None
    await gate.recheck()
    # Connected tabs name the process; a post is then one write, whatever the number of tabs.
    assert await redis.get(names.seen_key("tab-0")) == f"@{gate.process}"
    gate.note_post(5)
    sent = _count_pipelined(monkeypatch)
    await gate.recheck()
    assert sent == [1]  # the process's own record
    assert [await RedisSeen(redis).get(f"tab-{n}") for n in range(3)] == [5, 5, 5]
    assert 0 < await redis.ttl(names.seen_process_key(gate.process)) <= 7 * 24 * 3600
    # A tab that leaves is frozen at what the process had recorded; the others move on.
    rooms.gone.add("s1")
    gate.note_post(6)
    await gate.recheck()
    assert await redis.get(names.seen_key("tab-1")) == "5"
    assert [await RedisSeen(redis).get(f"tab-{n}") for n in range(3)] == [6, 5, 6]
    assert 0 < await redis.ttl(names.seen_key("tab-1")) <= 7 * 24 * 3600


def _count_pipelined(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Commands per pipeline sent from now on."""
    sent: list[int] = []
    execute = Pipeline.execute

    async def counted(self: Pipeline, raise_on_error: bool = True) -> list[object]:
        sent.append(len(self.command_stack))
        return await execute(self, raise_on_error)

    monkeypatch.setattr(Pipeline, "execute", counted)
    return sent
