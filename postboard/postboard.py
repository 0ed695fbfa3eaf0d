"""The Reflex app: wires pages, the realtime hubs and the HTTP API; nothing else lives here."""

import asyncio
import logging

import reflex as rx

from postboard.settings import get_settings
from postboard.web import deps, routes
from postboard.web.api import create_api
from postboard.web.live_hub import LiveHub
from postboard.web.monitor_hub import MonitorHub
from postboard.web.pages.auth import AuthFormState, login_page, register_page
from postboard.web.pages.dashboard import FeedState, dashboard_page
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
from postboard.web.realtime import rooms
from postboard.web.state import AppState

log = logging.getLogger(__name__)

app = rx.App(
    api_transformer=create_api(),
    toaster=rx.toast.provider(position="bottom-right", rich_colors=True),
)


async def realtime(app: rx.App) -> None:
    """For the life of the process: attach the rooms to the socket server, run the live and monitor hubs."""
    from rxconfig import config

    rooms.attach(app.sio, config.get_event_namespace())
    enabled = get_settings().live_enabled
    monitor = MonitorHub(
        rooms,
        deps.job_store(),
        queues_state=QueuesState.get_full_name(),
        post_state=PostState.get_full_name(),
        push=enabled,
    )
    if not enabled:
        log.info("live push is off (LIVE_ENABLED=false): nothing is pushed to tabs; pages show new data on reload")
        await monitor.run()
        return
    live = LiveHub(rooms, state=AppState.get_full_name(), refresh_unread=AppState.refresh_unread)
    await asyncio.gather(live.run(), monitor.run())


app.register_lifespan_task(realtime)

app.add_page(
    dashboard_page,
    route=routes.HOME,
    title="Postboard",
    on_load=[AppState.require_user, FeedState.load],
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
