"""The live hub builds one update for every tab: the recent posts and a toast, no per-tab state."""

import json

from reflex.constants.state import FIELD_MARKER
from reflex.utils.format import json_dumps

from postboard.live.messages import LivePost
from postboard.web.live_hub import LiveHub
from postboard.web.state import AppState
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
