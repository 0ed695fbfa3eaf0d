"""LIVE_ENABLED=false: inbox rows are still written, but nothing is published and nothing is pushed."""

from typing import Any

import pytest
from sqlmodel import Session, func, select

from postboard import names
from postboard.deliveries.models import Channel, DeliveryAttempt
from postboard.events.delivery import InAppSender, send_event_deliveries
from postboard.events.engine import receive
from postboard.events.models import RecipientKind
from postboard.events.service import RuleIn, SourceIn, TemplateIn, save_rule, save_source, save_template
from postboard.flows import notify_post
from postboard.live.bus import MemoryBus, open_bus
from postboard.monitor.store import JobStore
from postboard.notifications.models import Notification
from postboard.settings import Settings
from postboard.web import monitor_hub
from postboard.web.monitor_hub import MonitorHub
from tests.factories import make_audience, make_post
from tests.unit.twins import MemoryRooms

SETTINGS = Settings(app_url="http://postboard.test")


def _inbox_rows(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Notification)).one()


@pytest.mark.parametrize("enabled", [False, True])
async def test_a_post_reaches_every_inbox_and_is_announced_only_while_live(session: Session, enabled: bool) -> None:
    post = make_post(session, members=30)
    twin = MemoryBus()
    async with open_bus(enabled=enabled, url="redis://unused", connect=lambda _url: twin) as bus:
        await notify_post(session, post_id=post.id or 0, bus=bus, settings=SETTINGS)
    assert _inbox_rows(session) == 31
    assert [channel for channel, _ in twin.published] == ([names.LIVE_CHANNEL] if enabled else [])


@pytest.mark.parametrize("enabled", [False, True])
async def test_an_in_app_event_reaches_every_inbox_and_is_pushed_only_while_live(
    session: Session, enabled: bool
) -> None:
    make_audience(session, members=4)
    source = save_source(session, SourceIn(name="order_created"))
    template = save_template(
        session, TemplateIn(name="order", channel=Channel.IN_APP, subject="Order {{ order_id }}", body="ok")
    )
    save_rule(
        session,
        RuleIn(
            name="all", source_id=source.id or 0, template_id=template.id or 0, recipient_kind=RecipientKind.ALL_USERS
        ),
    )
    receipt, _ = receive(session, source_name="order_created", payload={"order_id": 7}, settings=SETTINGS)
    twin = MemoryBus()
    async with open_bus(enabled=enabled, url="redis://unused", connect=lambda _url: twin) as bus:
        result = await send_event_deliveries(
            session,
            event_id=receipt.event_id,
            channel=Channel.IN_APP,
            sender=InAppSender(session, bus),
            settings=SETTINGS,
        )
    assert result.sent == 4
    assert _inbox_rows(session) == 4
    assert len(twin.published) == (4 if enabled else 0)
    # The delivery log does not claim a push that never happened.
    details = set(session.exec(select(DeliveryAttempt.detail)).all())
    assert details == ({"in inbox, pushed live"} if enabled else {"in inbox"})


class _Stop(BaseException):
    """Ends the monitor loop after its first round (the loop survives any Exception)."""


@pytest.mark.parametrize("push", [False, True])
async def test_the_monitor_pushes_only_while_live_and_always_watches_and_reports(
    monkeypatch: pytest.MonkeyPatch, push: bool
) -> None:
    async def snapshot(_store: JobStore) -> dict[str, Any]:
        return {"queues": [{"name": "emails", "depth": 3}]}

    monkeypatch.setattr(monitor_hub, "queue_snapshot", snapshot)
    rooms = MemoryRooms()
    await rooms.join("admin-tab", names.QUEUES_ROOM)
    hub = MonitorHub(rooms, JobStore.from_url("redis://127.0.0.1:1"), queues_state="q", post_state="p", push=push)
    ran: list[str] = []

    async def watch_queues() -> None:
        ran.append("long-wait watch")

    async def report_tabs() -> None:
        ran.append("tab report")
        raise _Stop

    monkeypatch.setattr(hub, "watch_queues", watch_queues)
    monkeypatch.setattr(hub, "report_tabs", report_tabs)
    with pytest.raises(_Stop):
        await hub.run()
    assert ran == ["long-wait watch", "tab report"]
    assert [room for room, _ in rooms.sent] == ([names.QUEUES_ROOM] if push else [])
