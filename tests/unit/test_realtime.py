"""The one hand-built Reflex update matches what Reflex itself sends, on the pinned Reflex version."""

import re
import tomllib
from importlib.metadata import version

import reflex as rx
from reflex.state import State
from reflex.utils.format import json_dumps
from socketio import AsyncServer

from postboard import names
from postboard.settings import ROOT
from postboard.web.realtime import Rooms, state_update
from postboard.web.state import AppState


def test_reflex_is_the_version_state_update_was_written_for() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    [pin] = [d for d in deps if re.match(r"reflex\s*==", d)]
    # state_update builds Reflex's delta by hand: re-check it (and this test) when the pin moves.
    assert version("reflex") == pin.split("==")[1] == "0.10.1"


def test_state_update_delta_is_the_delta_reflex_computes() -> None:
    root = State(_reflex_internal_init=True)
    app_state = root.get_substate(AppState.get_full_name().split(".")[1:])
    app_state.unread_count = 5
    app_state.live_posts = [{"id": 1, "title": "Hello"}]
    ours = state_update(AppState.get_full_name(), {"unread_count": 5, "live_posts": [{"id": 1, "title": "Hello"}]})
    assert ours.delta == root.get_delta()


def test_state_update_carries_events_and_no_delta_when_only_events() -> None:
    update = state_update(events=[rx.toast.info("Hi"), AppState.refresh_unread])
    encoded = json_dumps(update)
    assert update.delta == {}
    assert [e.name for e in update.events] == ["_call_function", f"{AppState.get_full_name()}.refresh_unread"]
    assert "Hi" in encoded


async def test_rooms_know_a_tabs_rooms_without_walking_every_room() -> None:
    sio = AsyncServer(async_mode="asgi")
    rooms = Rooms()
    rooms.attach(sio, "/_event")
    tabs = [await sio.manager.connect(f"eio-{n}", "/_event") for n in range(3)]
    for n, sid in enumerate(tabs):
        await rooms.join(sid, names.SIGNED_IN_ROOM, names.user_room(n))
    await rooms.join(tabs[0], names.QUEUES_ROOM)
    assert sorted(rooms.rooms_of(tabs[0])) == sorted([names.SIGNED_IN_ROOM, names.user_room(0), names.QUEUES_ROOM])
    await rooms.leave(tabs[0], *names.PAGE_ROOMS)
    assert sorted(rooms.rooms_of(tabs[0])) == sorted([names.SIGNED_IN_ROOM, names.user_room(0)])
    # socket.io takes a gone tab out of its rooms: those are no longer reported, then forgotten.
    await sio.manager.disconnect(tabs[1], "/_event")
    assert rooms.rooms_of(tabs[1]) == []
    rooms.forget(tabs[1])
    await rooms.leave(tabs[2], *names.SESSION_ROOMS)
    assert rooms.rooms_of(tabs[2]) == []
    assert rooms.members(names.SIGNED_IN_ROOM) == {tabs[0]}
    # Nothing is kept for tabs that are in no named room.
    assert set(rooms._joined) == {tabs[0]}
