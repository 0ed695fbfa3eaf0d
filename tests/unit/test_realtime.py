"""The one hand-built Reflex update matches what Reflex itself sends, on the pinned Reflex version."""

import re
import tomllib
from importlib.metadata import version

import reflex as rx
from reflex.state import State
from reflex.utils.format import json_dumps

from postboard.settings import ROOT
from postboard.web.realtime import state_update
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
