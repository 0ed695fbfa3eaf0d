"""The live hub builds one update for every tab: the recent posts and a toast, no per-tab state."""

import json

from reflex.constants.state import FIELD_MARKER
from reflex.event import EventCallback
from reflex.utils.format import json_dumps

from postboard import names
from postboard.live.messages import Envelope, LiveNotice, LivePost
from postboard.web.live_hub import LiveHub
from postboard.web.state import AppState
from postboard.web.watchers import Watchers
from tests.unit.twins import MemoryRooms


def _post(n: int, title: str = "Hello") -> LivePost:
    return LivePost(
        id=n,
        title=f"{title} {n}",
        author="Ada",
        excerpt="Short",
        created_at="2026-11-22T10:00:00+00:00",
        url=f"http://x/posts/{n}",
    )


def test_update_carries_recent_posts_newest_first_and_a_toast() -> None:
    hub = LiveHub(MemoryRooms(), state="root.app_state", refresh_unread=AppState.refresh_unread)
    hub.build_update(_post(1))
    update = hub.build_update(_post(2, title="<img src=x onerror=alert(1)>"))
    posts = update.delta["root.app_state"][f"live_posts{FIELD_MARKER}"]
    assert [p["id"] for p in posts] == [2, 1]
    [toast] = update.events
    encoded = json_dumps(toast)
    call = json.loads(encoded)["payload"]["function"]
    assert "__toast" in call
    # The title reaches the browser as a JSON string literal passed to the toast call, never as markup.
    assert json.dumps("<img src=x onerror=alert(1)> 2") in call


def test_repeated_message_is_not_listed_twice_and_buffer_is_bounded() -> None:
    hub = LiveHub(MemoryRooms(), state="s", refresh_unread=AppState.refresh_unread)
    for n in range(1, 60):
        hub.build_update(_post(n))
    update = hub.build_update(_post(59))
    posts = update.delta["s"][f"live_posts{FIELD_MARKER}"]
    assert [p["id"] for p in posts][:2] == [59, 58]
    assert len(posts) == len({p["id"] for p in posts}) == hub.recent.maxlen


def _envelope(type: str, to: list[str], data: dict[str, object]) -> str:
    return Envelope(type=type, to=to, data=data).model_dump_json()


async def test_each_envelope_goes_only_to_the_channels_it_names() -> None:
    rooms = MemoryRooms()
    hub = LiveHub(rooms, state="s", refresh_unread=AppState.refresh_unread)
    await hub.handle(_envelope(names.POST_CREATED, [names.SIGNED_IN_ROOM], _post(1).model_dump()))
    notice = LiveNotice(title="Queue backed up", body="b", url="/queues").model_dump()
    await hub.handle(_envelope(names.NOTIFICATION_CREATED, [names.ADMINS_ROOM], notice))
    await hub.handle(_envelope(names.NOTIFICATION_CREATED, ["user.7"], notice))
    await hub.handle(_envelope("something.new", ["user.7"], {}))
    await hub.handle("not json")
    assert [room for room, _ in rooms.sent] == [names.SIGNED_IN_ROOM, names.ADMINS_ROOM, "user.7"]


async def test_changes_are_coalesced_to_one_push_a_second_per_channel_with_the_ids_joined() -> None:
    rooms = MemoryRooms()
    watchers = Watchers()
    asked: list[list[int]] = []

    def reload(ids: list[int]) -> EventCallback[()]:
        asked.append(ids)
        return AppState.refresh_unread

    watchers.page("rules", "rules_state", reload)
    hub = LiveHub(rooms, state="s", refresh_unread=AppState.refresh_unread, watchers=watchers)
    await rooms.join("admin-tab", names.watch_room("rules", "rules_state"))
    await rooms.join("admin-tab-2", names.watch_room("rules", "other_page"))
    change = {"kind": "rules", "ids": [3], "actions": ["updated"]}
    await hub.handle(_envelope(names.RESOURCE_CHANGED, ["watch.rules"], change))
    assert await hub.flush(now=100.0) == 1
    assert asked == [[3]]
    for ids in ([4], [5, 4]):
        await hub.handle(_envelope(names.RESOURCE_CHANGED, ["watch.rules"], {**change, "ids": ids}))
    assert await hub.flush(now=100.5) == 0  # pushed less than a second ago
    assert await hub.flush(now=101.0) == 1
    assert asked == [[3], [4, 5]]
    # Only the page that registered a reload gets a push; the other tab in a rules room gets none.
    assert {room for room, _ in rooms.sent} == {names.watch_room("rules", "rules_state")}
    await hub.handle(_envelope(names.RESOURCE_CHANGED, ["watch.rules"], {**change, "ids": []}))
    await hub.flush(now=103.0)
    assert asked[-1] == []


async def test_a_change_to_a_users_rows_makes_their_tabs_reread_the_unread_count() -> None:
    rooms = MemoryRooms()
    hub = LiveHub(rooms, state="s", refresh_unread=AppState.refresh_unread)
    change = {"kind": "notifications", "ids": [], "actions": ["read"]}
    await hub.handle(_envelope(names.RESOURCE_CHANGED, ["user.3", "user.4"], change))
    await hub.flush(now=10.0)
    assert sorted(room for room, _ in rooms.sent) == ["user.3", "user.4"]
    assert all(update.events for _, update in rooms.sent)


async def test_edited_and_deleted_posts_are_replaced_or_dropped_in_the_live_buffer() -> None:
    rooms = MemoryRooms()
    edited = _post(2, title="Edited")
    hub = LiveHub(rooms, state="s", refresh_unread=AppState.refresh_unread, read_posts=lambda ids: {2: edited})
    for n in (1, 2, 3):
        await hub.handle(_envelope(names.POST_CREATED, [names.SIGNED_IN_ROOM], _post(n).model_dump()))
    rooms.sent.clear()
    change = {"kind": "posts", "ids": [2, 3], "actions": ["updated", "deleted"]}
    await hub.handle(_envelope(names.RESOURCE_CHANGED, ["watch.posts"], change))
    await hub.flush(now=50.0)
    [(room, update)] = rooms.sent
    assert room == names.SIGNED_IN_ROOM
    posts = update.delta["s"][f"live_posts{FIELD_MARKER}"]
    assert [(p["id"], p["title"]) for p in posts] == [(2, "Edited 2"), (1, "Hello 1")]
