"""The Test event panel at /test-event (admins): Simulate shows every rule and why; Send really sends."""

import reflex as rx
from reflex.vars import ObjectVar

from postboard.web import routes
from postboard.web.components.form import code_area, field_label
from postboard.web.components.layout import field_error, page
from postboard.web.components.platform import channel_badge, confirm, platform_tabs, select_content
from postboard.web.pages.event_tester_state import CheckView, EventTesterState, OutcomeView

VERDICT_COLORS = (("sends", "grass"), ("empty", "amber"), ("error", "red"), ("off", "gray"), "gray")
VERDICT_LABELS = (
    ("sends", "matches"),
    ("empty", "no recipients"),
    ("error", "error"),
    ("off", "switched off"),
    "no match",
)


def _payload_panel() -> rx.Component:
    return rx.card(
        rx.vstack(
            field_label("Event source", html_for="test-source"),
            rx.select.root(
                rx.select.trigger(id="test-source", width="100%"),
                select_content(rx.foreach(EventTesterState.sources, lambda s: rx.select.item(s, value=s))),
                value=EventTesterState.source,
                on_change=EventTesterState.choose_source,
            ),
            rx.cond(
                EventTesterState.description != "",
                rx.text(EventTesterState.description, size="1", color_scheme="gray"),
            ),
            rx.hstack(
                field_label("Payload", html_for="test-payload"),
                rx.button(
                    rx.icon("rotate-ccw", size=12),
                    "Sample",
                    size="1",
                    variant="ghost",
                    on_click=EventTesterState.reset_payload,
                    title="Put the source's sample payload back",
                ),
                justify="between",
                align="center",
                width="100%",
                margin_top="0.5em",
            ),
            code_area(
                id="test-payload",
                value=EventTesterState.payload_text,
                on_change=EventTesterState.set_payload_text,
                rows="16",
                width="100%",
            ),
            field_error(EventTesterState.payload_error),
            rx.hstack(
                rx.button(rx.icon("flask-conical", size=16), "Simulate", on_click=EventTesterState.run_simulation),
                confirm(
                    rx.button(rx.icon("send", size=16), "Send", variant="outline"),
                    title="Send this event for real?",
                    description="Every matching rule sends real messages to real recipients.",
                    action="Send event",
                    on_confirm=EventTesterState.send,
                ),
                spacing="3",
            ),
            rx.text(
                "Simulate sends nothing; Send records the event and queues its deliveries.",
                size="1",
                color_scheme="gray",
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def _rejected() -> rx.Component:
    return rx.callout.root(
        rx.callout.icon(rx.icon("circle-x", size=16)),
        rx.vstack(
            rx.text(
                "The payload does not fit ",
                rx.code(EventTesterState.source),
                "'s schema; it would be rejected:",
                size="2",
            ),
            rx.el.ul(rx.foreach(EventTesterState.rejected, lambda e: rx.el.li(rx.text(e, size="2")))),
            spacing="1",
        ),
        color_scheme="red",
        role="alert",
        width="100%",
    )


def _sent() -> rx.Component:
    return rx.callout.root(
        rx.callout.icon(rx.icon("circle-check", size=16)),
        rx.vstack(
            rx.text(
                "Event ",
                rx.code(EventTesterState.sent_event_id),
                " received. ",
                EventTesterState.sent_summary,
                size="2",
            ),
            rx.cond(
                ~EventTesterState.sent_queued,
                rx.text("The job queue is unreachable right now: they go out as soon as it is back.", size="2"),
            ),
            rx.link(
                "See its deliveries in the log →", href=routes.DELIVERIES + "?event=" + EventTesterState.sent_event_id
            ),
            spacing="1",
        ),
        color_scheme="grass",
        role="status",
        width="100%",
        data_testid="send-result",
    )


def _check(check: ObjectVar[CheckView]) -> rx.Component:
    return rx.hstack(
        rx.cond(
            check.matched,
            rx.icon("circle-check", size=16, color=rx.color("grass", 9), flex_shrink="0"),
            rx.icon("circle-x", size=16, color=rx.color("red", 9), flex_shrink="0"),
        ),
        rx.code(check.condition, size="1", variant="soft", color_scheme=rx.cond(check.matched, "grass", "red")),
        rx.text(check.reason, size="2"),
        spacing="2",
        align="center",
        wrap="wrap",
    )


def _recipients(o: ObjectVar[OutcomeView]) -> rx.Component:
    more = o.recipients - o.first_recipients.length()
    return rx.hstack(
        rx.text(o.recipients.to(str), " recipient(s):", size="2", weight="medium"),
        rx.foreach(o.first_recipients, lambda r: rx.code(r, size="1", variant="ghost")),
        rx.cond(more > 0, rx.text("… and ", more.to(str), " more", size="2", color_scheme="gray")),
        spacing="2",
        wrap="wrap",
        align="center",
    )


def _rendered(o: ObjectVar[OutcomeView]) -> rx.Component:
    return rx.box(
        rx.cond(o.subject != "", rx.text(o.subject, weight="bold", size="2", margin_bottom="0.4em")),
        rx.text(o.body, size="2", white_space="pre-wrap"),
        padding="0.8em",
        border=f"1px solid {rx.color('gray', 5)}",
        border_radius="8px",
        background=rx.color("gray", 1),
        width="100%",
        max_height="14rem",
        overflow_y="auto",
        data_testid="rendered-message",
    )


def _outcome(o: ObjectVar[OutcomeView]) -> rx.Component:
    color = rx.match(o.verdict, *VERDICT_COLORS)
    accent = rx.match(o.verdict, *((v, f"var(--{c}-9)") for v, c in VERDICT_COLORS[:-1]), "var(--gray-8)")
    ink = rx.match(o.verdict, *((v, f"var(--{c}-11)") for v, c in VERDICT_COLORS[:-1]), "var(--gray-11)")
    return rx.card(
        rx.vstack(
            rx.hstack(
                channel_badge(o.channel, o.channel_label),
                rx.text(o.rule, weight="bold", size="3"),
                rx.spacer(),
                rx.badge(rx.match(o.verdict, *VERDICT_LABELS), color_scheme=color, variant="solid", size="2"),
                align="center",
                width="100%",
            ),
            rx.text(o.headline, size="2", weight="medium", color=ink),
            rx.text("Template: ", o.template, size="1", color_scheme="gray"),
            rx.text(o.rule_logic, size="2", color_scheme="gray"),
            rx.foreach(o.checks, _check),
            rx.cond(
                o.error != "", rx.callout(o.error, icon="triangle-alert", color_scheme="red", size="1", width="100%")
            ),
            rx.cond(o.verdict == "sends", rx.vstack(_recipients(o), _rendered(o), spacing="2", width="100%")),
            spacing="2",
            align="start",
            width="100%",
        ),
        width="100%",
        style={"borderLeft": "4px solid", "borderLeftColor": accent},
        data_testid="rule-outcome",
    )


def _results() -> rx.Component:
    return rx.vstack(
        rx.cond(EventTesterState.rejected.length() > 0, _rejected()),
        rx.cond(EventTesterState.sent_event_id != "", _sent()),
        rx.cond(
            EventTesterState.simulated,
            rx.vstack(
                rx.callout(
                    rx.text(rx.text.strong("Simulation: nothing was sent. "), EventTesterState.summary),
                    icon="flask-conical",
                    color_scheme="indigo",
                    width="100%",
                    data_testid="simulation-summary",
                ),
                rx.cond(
                    EventTesterState.outcomes.length() > 0,
                    rx.foreach(EventTesterState.outcomes, _outcome),
                    rx.text(
                        "This source has no rules yet: ",
                        rx.link("add one", href=routes.RULES),
                        ".",
                        size="2",
                        color_scheme="gray",
                    ),
                ),
                spacing="3",
                width="100%",
            ),
        ),
        rx.cond(
            ~EventTesterState.simulated
            & (EventTesterState.sent_event_id == "")
            & (EventTesterState.rejected.length() == 0),
            rx.text(
                "Simulate shows, for every rule of the source, whether it matches and why, who would receive it "
                "and the rendered message.",
                size="2",
                color_scheme="gray",
                padding="1em",
            ),
        ),
        spacing="3",
        width="100%",
    )


def event_tester_page() -> rx.Component:
    """The Test event route (admins)."""
    return page(
        rx.flex(
            rx.box(_payload_panel(), width=["100%", "100%", "24rem"], flex_shrink="0"),
            rx.box(_results(), flex="1", min_width="0", width="100%"),
            direction=rx.breakpoints(initial="column", md="row"),
            spacing="5",
            align="start",
            width="100%",
        ),
        title="Test event",
        subnav=platform_tabs(routes.TEST_EVENT),
    )
