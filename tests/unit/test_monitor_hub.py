"""The monitor hub sends each watched room its own figures, once per change or new tab."""

from typing import Any

import pytest

from postboard import names
from postboard.monitor.store import JobStore
from postboard.web import monitor_hub
from postboard.web.monitor_hub import MonitorHub
from tests.unit.twins import MemoryRooms

QUEUES_STATE, POST_STATE = "root.queues_state", "root.post_state"


def _values(update: Any, state: str) -> dict[str, Any]:
    return {key.removesuffix("_rx_state_"): value for key, value in update.delta[state].items()}


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The figures the hub reads, changeable by the test (no Redis, no database)."""
    current: dict[str, Any] = {"queues": [{"name": "emails", "depth": 3}], "progress": {7: {"emailed": 10}}}

    async def snapshot(_store: JobStore) -> dict[str, Any]:
        return {"queues": current["queues"]}

    monkeypatch.setattr(monitor_hub, "queue_snapshot", snapshot)
    monkeypatch.setattr(monitor_hub, "read_progress", lambda post_id: current["progress"].get(post_id))
    return current


async def test_tick_sends_each_of_two_rooms_its_figures_and_only_changes_after(figures: dict[str, Any]) -> None:
    rooms = MemoryRooms()
    hub = MonitorHub(rooms, JobStore.from_url("redis://127.0.0.1:1"), queues_state=QUEUES_STATE, post_state=POST_STATE)
    await rooms.join("tab-a", names.QUEUES_ROOM)
    await rooms.join("tab-b", names.post_room(7))
    await rooms.join("tab-c", names.SIGNED_IN_ROOM)

    await hub.tick()
    sent = dict(rooms.sent)
    assert set(sent) == {names.QUEUES_ROOM, names.post_room(7)}
    assert _values(sent[names.QUEUES_ROOM], QUEUES_STATE) == {"queues": [{"name": "emails", "depth": 3}]}
    assert _values(sent[names.post_room(7)], POST_STATE) == {"progress": {"emailed": 10}}

    rooms.sent.clear()
    await hub.tick()
    assert rooms.sent == []

    figures["progress"][7] = {"emailed": 25}
    await hub.tick()
    assert [(room, _values(u, POST_STATE)) for room, u in rooms.sent] == [
        (names.post_room(7), {"progress": {"emailed": 25}})
    ]


async def test_a_tab_joining_a_room_gets_the_unchanged_figures(figures: dict[str, Any]) -> None:
    rooms = MemoryRooms()
    hub = MonitorHub(rooms, JobStore.from_url("redis://127.0.0.1:1"), queues_state=QUEUES_STATE, post_state=POST_STATE)
    await rooms.join("tab-a", names.QUEUES_ROOM)
    await hub.tick()
    await rooms.join("tab-b", names.QUEUES_ROOM)
    rooms.sent.clear()
    await hub.tick()
    assert [room for room, _ in rooms.sent] == [names.QUEUES_ROOM]


async def test_a_deleted_post_and_an_empty_room_get_nothing(figures: dict[str, Any]) -> None:
    rooms = MemoryRooms()
    hub = MonitorHub(rooms, JobStore.from_url("redis://127.0.0.1:1"), queues_state=QUEUES_STATE, post_state=POST_STATE)
    await rooms.join("tab-a", names.post_room(99))
    await rooms.join("tab-b", names.post_room(7))
    await rooms.leave("tab-b", names.POST_ROOM_PREFIX)
    await hub.tick()
    assert rooms.sent == []


async def test_a_tab_that_left_and_came_back_is_sent_the_figures_again(figures: dict[str, Any]) -> None:
    rooms = MemoryRooms()
    hub = MonitorHub(rooms, JobStore.from_url("redis://127.0.0.1:1"), queues_state=QUEUES_STATE, post_state=POST_STATE)
    await rooms.join("tab-a", names.post_room(7))
    await hub.tick()
    await rooms.leave("tab-a", names.POST_ROOM_PREFIX)
    await hub.tick()
    await rooms.join("tab-a", names.post_room(7))
    rooms.sent.clear()
    await hub.tick()
    assert [room for room, _ in rooms.sent] == [names.post_room(7)]
