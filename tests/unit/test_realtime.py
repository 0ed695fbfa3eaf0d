"""The one hand-built Reflex update matches what Reflex itself sends, on the pinned Reflex version."""

import gc
import re
import tomllib
from importlib.metadata import version

import reflex as rx
from reflex.state import State
from reflex.utils.format import json_dumps
from socketio import AsyncManager, AsyncServer

from postboard import names
from postboard.settings import ROOT
from postboard.web.realtime import IndexedManager, Rooms, state_update
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
    assert isinstance(sio.manager, IndexedManager)
    tabs = [await sio.manager.connect(f"eio-{n}", "/_event") for n in range(3)]
    for n, sid in enumerate(tabs):
        await rooms.join(sid, names.SIGNED_IN_ROOM, names.user_room(n))
    await rooms.join(tabs[0], names.QUEUES_ROOM)
    assert sorted(rooms.rooms_of(tabs[0])) == sorted([names.SIGNED_IN_ROOM, names.user_room(0), names.QUEUES_ROOM])
    await rooms.leave(tabs[0], *names.PAGE_ROOMS)
    assert sorted(rooms.rooms_of(tabs[0])) == sorted([names.SIGNED_IN_ROOM, names.user_room(0)])
    await sio.manager.disconnect(tabs[1], "/_event")
    assert rooms.rooms_of(tabs[1]) == []
    await rooms.leave(tabs[2], *names.SESSION_ROOMS)
    assert rooms.rooms_of(tabs[2]) == []
    assert rooms.members(names.SIGNED_IN_ROOM) == {tabs[0]}
    # Nothing is kept for a tab that has gone.
    assert ("/_event", tabs[1]) not in sio.manager.rooms_by_sid


async def _script(manager: AsyncManager) -> str:
    """Connect, join, leave, close a room and disconnect on a manager; return what it answered and holds."""
    sio = AsyncServer(async_mode="asgi", client_manager=manager)
    seen: list[object] = []
    sids = [await manager.connect(f"eio-{n}", "/_event") for n in range(4)]
    pending = await manager.pre_connect("eio-9", "/_event")
    for n, sid in enumerate(sids):
        await sio.enter_room(sid, "all", namespace="/_event")
        await sio.enter_room(sid, f"user.{n % 2}", namespace="/_event")
    await sio.leave_room(sids[0], "user.0", namespace="/_event")
    await sio.close_room("user.1", namespace="/_event")
    manager._generate_ack_id(sids[2], print)  # an emit waiting for the tab's answer
    manager.pre_disconnect(sids[2], "/_event")
    await manager.disconnect(sids[2], "/_event")
    await manager.disconnect(pending, "/_event")
    # Ids are random per server: name them in the order they were made.
    name = {sid: f"tab{n}" for n, sid in enumerate([*sids, pending])}
    for sid in sids:
        seen.append(sorted(str(name.get(room, room)) for room in manager.get_rooms(sid, "/_event")))
        seen.append(manager.is_connected(sid, "/_event"))
    held = {
        ns: {str(name.get(r, r)): sorted(map(name.get, m)) for r, m in named.items()}
        for ns, named in manager.rooms.items()
    }
    seen += [held, manager.pending_connect, manager.pending_disconnect, manager.callbacks]
    return repr(seen)


async def test_rooms_tell_the_client_token_a_socket_connected_with() -> None:
    sio = AsyncServer(async_mode="asgi")
    rooms = Rooms()
    rooms.attach(sio, "/_event")
    sid = await sio.manager.connect("eio-1", "/_event")
    assert rooms.came_with(sid) == ""  # no environ known
    sio.environ["eio-1"] = {"QUERY_STRING": "token=tab-1&EIO=4&transport=websocket"}
    assert rooms.came_with(sid) == "tab-1"
    assert rooms.came_with("nobody") == ""


async def test_the_indexed_manager_answers_and_holds_what_socketios_own_does() -> None:
    ours, stock = await _script(IndexedManager()), await _script(AsyncManager())
    assert "tab1" in ours
    assert "'all'" in ours
    assert ours == stock


async def test_an_emit_keeps_the_collector_out_and_the_rooms_unquiet_until_it_ends() -> None:
    seen: list[tuple[bool, bool]] = []

    class Server:
        async def emit(self, *_args: object, **_kwargs: object) -> None:
            seen.append((gc.isenabled(), rooms.quiet.is_set()))

    rooms = Rooms()
    rooms.sio = Server()  # type: ignore[assignment]
    await rooms.emit("signed-in", state_update())
    assert seen == [(False, False)]
    assert gc.isenabled()
    assert rooms.quiet.is_set()
