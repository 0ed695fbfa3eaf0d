"""The Reflex app: wires pages, the realtime hubs and the HTTP API; nothing else lives here."""

import asyncio
import logging

import reflex as rx

from postboard.db import session_scope
from postboard.live import model_events
from postboard.live.messages import LivePost
from postboard.live.presence import Presence
from postboard.live.seen import RedisSeen
from postboard.posts.service import latest_posts, posts_by_ids
from postboard.settings import get_settings
from postboard.web import deps, routes
from postboard.web.api import create_api
from postboard.web.collector import Collector
from postboard.web.components.bell_state import BellState
from postboard.web.dashboard_hub import DashboardHub
from postboard.web.gate import gate
from postboard.web.live_hub import LiveHub
from postboard.web.monitor_hub import MonitorHub
from postboard.web.pages.auth import AuthFormState, login_page, register_page
from postboard.web.pages.dashboard import FeedState, dashboard_page
from postboard.web.pages.dashboard_state import DashboardState
from postboard.web.pages.deliveries import deliveries_page
from postboard.web.pages.deliveries_state import DeliveriesState
from postboard.web.pages.event_sources import event_sources_page
from postboard.web.pages.event_sources_state import SourcesState
from postboard.web.pages.event_tester import event_tester_page
from postboard.web.pages.event_tester_state import EventTesterState
from postboard.web.pages.mailbox import MailboxState, mailbox_page
from postboard.web.pages.notifications import InboxState, notifications_page
from postboard.web.pages.post import PostState, post_page
from postboard.web.pages.queues import QueuesState, queues_page
from postboard.web.pages.rules import rules_page
from postboard.web.pages.rules_state import RulesState
from postboard.web.pages.smsbox import SmsBoxState, smsbox_page
from postboard.web.pages.templates import templates_page
from postboard.web.pages.templates_state import TemplatesState
from postboard.web.pages.tokens import TokensState, tokens_page
from postboard.web.pages.users import UsersState, users_page
from postboard.web.realtime import rooms, state_update
from postboard.web.state import AppState
from postboard.web.watchers import Watchers, reread_all

log = logging.getLogger(__name__)

app = rx.App(
    api_transformer=create_api(),
    toaster=rx.toast.provider(position="bottom-right", rich_colors=True),
)


def read_live_posts(ids: list[int]) -> dict[int, LivePost]:
    """Re-read posts of the live buffer (a missing id was deleted)."""
    with session_scope() as session:
        return {i: LivePost.from_post(p) for i, p in posts_by_ids(session, ids=ids).items()}


def page_watchers() -> Watchers:
    """Which page re-reads what when rows of a kind change (seed 004's global subscriber)."""
    watchers = Watchers()
    watchers.page("posts", FeedState.get_name(), lambda ids: FeedState.refresh_posts(ids))
    watchers.page("posts", PostState.get_name(), lambda ids: PostState.refresh_posts(ids))
    watchers.page("posts", InboxState.get_name(), lambda ids: InboxState.refresh_posts(ids))
    watchers.page("posts", BellState.get_name(), reread_all(BellState.reload))
    for kind, state in (
        ("rules", RulesState),
        ("templates", TemplatesState),
        ("sources", SourcesState),
        ("users", UsersState),
        ("tokens", TokensState),
        ("deliveries", DeliveriesState),
    ):
        watchers.page(kind, state.get_name(), reread_all(state.reread))
    watchers.user("notifications", InboxState.reread, BellState.reload)
    return watchers


async def realtime(app: rx.App) -> None:
    """For the life of the process: attach the rooms to the socket server, run the gate and the hubs."""
    from rxconfig import config

    rooms.attach(app.sio, config.get_event_namespace())
    settings = get_settings()
    model_events.install_redis(enabled=settings.live_enabled, url=settings.redis_url)
    monitor = MonitorHub(
        rooms,
        deps.job_store(),
        queues_state=QueuesState.get_full_name(),
        post_state=PostState.get_full_name(),
        push=settings.live_enabled,
    )
    if not settings.live_enabled:
        log.info("live push is off (LIVE_ENABLED=false): nothing is pushed to tabs; pages show new data on reload")
        await asyncio.gather(monitor.run(), gate.prune_forever())
        return
    gate.changed = state_update(events=[AppState.access_changed])
    # Shared by every backend: a tab whose socket comes back on another one is still told what it missed.
    gate.seen = RedisSeen(deps.job_store().redis)
    with session_scope() as session:
        # What a tab admitted now has seen, until the next post goes out.
        gate.note_post(max((p.id for p in latest_posts(session, limit=1)), default=0))
    live = LiveHub(
        rooms,
        state=AppState.get_full_name(),
        refresh_unread=AppState.refresh_unread,
        watchers=page_watchers(),
        read_posts=read_live_posts,
        on_post=gate.note_post,
    )
    store = deps.job_store()
    dashboard = DashboardHub(rooms, gate, Presence(store.redis), store, state=DashboardState.get_full_name())
    loops = [live.run(), monitor.run(), gate.run(), dashboard.run()]
    if settings.gc_freeze:
        loops.append(Collector(quiet=rooms.quiet).run())
    await asyncio.gather(*loops)


app.register_lifespan_task(realtime)

app.add_page(
    dashboard_page,
    route=routes.HOME,
    title="Postboard",
    on_load=[AppState.require_user, FeedState.load, DashboardState.load],
)
app.add_page(
    login_page,
    route=routes.LOGIN,
    title="Sign in · Postboard",
    on_load=[AuthFormState.clear_errors, AppState.redirect_if_signed_in],
)
app.add_page(
    register_page,
    route=routes.REGISTER,
    title="Create account · Postboard",
    on_load=[AuthFormState.clear_errors, AppState.redirect_if_signed_in],
)
app.add_page(
    notifications_page,
    route=routes.NOTIFICATIONS,
    title="Notifications · Postboard",
    on_load=[AppState.require_user, InboxState.load],
)
app.add_page(
    post_page,
    route=routes.POST,
    title="Post · Postboard",
    on_load=[AppState.require_user, PostState.load],
)
app.add_page(
    mailbox_page,
    route=routes.MAILBOX,
    title="Mailbox · Postboard",
    on_load=[AppState.require_admin, MailboxState.load],
)
app.add_page(
    users_page,
    route=routes.USERS,
    title="Users · Postboard",
    on_load=[AppState.require_admin, UsersState.load],
)
app.add_page(
    queues_page,
    route=routes.QUEUES,
    title="Queues · Postboard",
    on_load=[AppState.require_admin, QueuesState.load],
)
app.add_page(
    event_sources_page,
    route=routes.EVENT_SOURCES,
    title="Event sources · Postboard",
    on_load=[AppState.require_admin, SourcesState.load],
)
app.add_page(
    templates_page,
    route=routes.TEMPLATES,
    title="Templates · Postboard",
    on_load=[AppState.require_admin, TemplatesState.load],
)
app.add_page(
    rules_page,
    route=routes.RULES,
    title="Rules · Postboard",
    on_load=[AppState.require_admin, RulesState.load],
)
app.add_page(
    event_tester_page,
    route=routes.TEST_EVENT,
    title="Test event · Postboard",
    on_load=[AppState.require_admin, EventTesterState.load],
)
app.add_page(
    deliveries_page,
    route=routes.DELIVERIES,
    title="Deliveries · Postboard",
    on_load=[AppState.require_admin, DeliveriesState.load],
)
app.add_page(
    tokens_page,
    route=routes.TOKENS,
    title="API tokens · Postboard",
    on_load=[AppState.require_admin, TokensState.load],
)
app.add_page(
    smsbox_page,
    route=routes.SMSBOX,
    title="SMS box · Postboard",
    on_load=[AppState.require_admin, SmsBoxState.load],
)
