"""The delivery log at /deliveries (admins): filter, page, open one with its attempts, retry it."""

import reflex as rx
from reflex.vars import ObjectVar

from postboard.deliveries.models import Channel, DeliveryStatus
from postboard.web import routes
from postboard.web.components.layout import page
from postboard.web.components.platform import (
    channel_badge,
    list_table,
    open_button,
    platform_tabs,
    select_content,
    table_head,
)
from postboard.web.pages.deliveries_state import ALL, PAGE_SIZE, RETRYABLE, AttemptRow, DeliveriesState, DeliveryRow


def status_badge(status: rx.Var[str]) -> rx.Component:
    """A delivery status in its colour."""
    return rx.badge(
        status,
        color_scheme=rx.match(
            status, ("sent", "grass"), ("failed", "red"), ("retrying", "amber"), ("sending", "blue"), "gray"
        ),
        variant="soft",
    )


def _filters() -> rx.Component:
    return rx.hstack(
        rx.select.root(
            rx.select.trigger(aria_label="Status", width="9rem"),
            select_content(
                rx.select.item("All statuses", value=ALL),
                *(rx.select.item(s.value, value=s.value) for s in DeliveryStatus),
            ),
            value=DeliveriesState.status,
            on_change=DeliveriesState.set_status,
        ),
        rx.select.root(
            rx.select.trigger(aria_label="Channel", width="9rem"),
            select_content(
                rx.select.item("All channels", value=ALL),
                *(rx.select.item(c.label, value=c.value) for c in Channel),
            ),
            value=DeliveriesState.channel,
            on_change=DeliveriesState.set_channel,
        ),
        rx.input(
            value=DeliveriesState.event,
            on_change=DeliveriesState.set_event.debounce(400),
            placeholder="Event id or source name",
            aria_label="Event",
            width="20rem",
        ),
        rx.button("Clear", variant="soft", color_scheme="gray", on_click=DeliveriesState.clear_filters),
        rx.spacer(),
        rx.foreach(
            DeliveriesState.counts,
            lambda item: rx.badge(
                item[0],
                " ",
                item[1].to(str),
                variant=rx.cond(DeliveriesState.status == item[0], "solid", "outline"),
                color_scheme="gray",
                cursor="pointer",
                on_click=DeliveriesState.set_status(item[0]),
            ),
        ),
        spacing="2",
        align="center",
        wrap="wrap",
        width="100%",
    )


def _row(d: ObjectVar[DeliveryRow]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.moment(d.created_at, from_now=True, style={"fontSize": "13px"})),
        rx.table.cell(rx.text(d.event, size="2")),
        rx.table.cell(channel_badge(d.channel, d.channel_label)),
        rx.table.cell(rx.text(d.recipient, size="2", truncate=True, max_width="16rem")),
        rx.table.cell(open_button(d.subject.to(str) | "(no subject)", DeliveriesState.show(d.id))),
        rx.table.cell(status_badge(d.status)),
        rx.table.cell(d.attempts),
        rx.table.cell(rx.text(d.error, size="1", color_scheme="red", truncate=True, max_width="16rem")),
        data_testid="delivery-row",
        align="center",
    )


def _table() -> rx.Component:
    return list_table(
        DeliveriesState.rows,
        _row,
        heads=("When", "Event", "Channel", "Recipient", "Subject", "Status", "Attempts", "Error"),
        empty="No deliveries match these filters.",
        icon="list-checks",
        size="1",
    )


def _pager() -> rx.Component:
    return rx.hstack(
        rx.text(DeliveriesState.page_label, size="2", color_scheme="gray"),
        rx.button(
            rx.icon("chevron-left", size=14),
            "Newer",
            size="1",
            variant="soft",
            disabled=DeliveriesState.offset == 0,
            on_click=DeliveriesState.turn_page(-1),
        ),
        rx.button(
            "Older",
            rx.icon("chevron-right", size=14),
            size="1",
            variant="soft",
            disabled=DeliveriesState.offset + PAGE_SIZE >= DeliveriesState.total,
            on_click=DeliveriesState.turn_page(1),
        ),
        spacing="2",
        align="center",
        justify="end",
        width="100%",
    )


def _attempt(a: ObjectVar[AttemptRow]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(a.number),
        rx.table.cell(rx.text(a.at, size="1")),
        rx.table.cell(status_badge(a.outcome)),
        rx.table.cell(rx.text(a.detail, size="1")),
        rx.table.cell(a.ms.to(str) + " ms"),
    )


def _fact(label: str, value: rx.Component) -> rx.Component:
    return rx.data_list.item(rx.data_list.label(label), rx.data_list.value(value))


def _detail() -> rx.Component:
    d = DeliveriesState.detail
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(d.subject.to(str) | "Delivery"),
            rx.vstack(
                rx.data_list.root(
                    _fact("Status", rx.hstack(status_badge(d.status), rx.text(d.attempts.to(str), " attempt(s)"))),
                    _fact("Channel", channel_badge(d.channel, d.channel_label)),
                    _fact("Recipient", rx.code(d.recipient, variant="ghost")),
                    _fact(
                        "Event",
                        rx.cond(
                            d.event_id != "",
                            rx.link(
                                d.event, " · ", d.event_id, href=routes.DELIVERIES + "?event=" + d.event_id.to(str)
                            ),
                            rx.text(d.event),
                        ),
                    ),
                    size="2",
                ),
                rx.cond(d.error != "", rx.callout(d.error, icon="triangle-alert", color_scheme="red", size="1")),
                rx.text("Rendered message", weight="medium", size="2"),
                rx.box(
                    rx.cond(d.subject != "", rx.text(d.subject, weight="bold", size="2", margin_bottom="0.4em")),
                    rx.cond(
                        DeliveriesState.detail_body != "",
                        rx.text(DeliveriesState.detail_body, size="2", white_space="pre-wrap"),
                        rx.text("Nothing was rendered: see the error.", size="2", color_scheme="gray"),
                    ),
                    padding="0.8em",
                    border=f"1px solid {rx.color('gray', 5)}",
                    border_radius="8px",
                    width="100%",
                    max_height="16rem",
                    overflow_y="auto",
                ),
                rx.text("Attempts", weight="medium", size="2"),
                rx.cond(
                    DeliveriesState.attempts.length() > 0,
                    rx.table.root(
                        table_head("#", "At (UTC)", "Outcome", "Detail", "Took"),
                        rx.table.body(rx.foreach(DeliveriesState.attempts, _attempt)),
                        size="1",
                        width="100%",
                    ),
                    rx.text("Not tried yet.", size="2", color_scheme="gray"),
                ),
                rx.hstack(
                    rx.cond(
                        rx.Var.create(list(RETRYABLE)).contains(d.status) & (d.event_id != ""),
                        rx.button(rx.icon("rotate-ccw", size=14), "Retry", on_click=DeliveriesState.retry(d.id)),
                    ),
                    rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray")),
                    justify="end",
                    width="100%",
                ),
                spacing="3",
                align="start",
            ),
            max_width="48rem",
        ),
        open=DeliveriesState.open,
        on_open_change=DeliveriesState.set_open,
    )


def deliveries_page() -> rx.Component:
    """The deliveries route (admins)."""
    return page(
        rx.vstack(
            _filters(),
            _table(),
            _pager(),
            _detail(),
            spacing="3",
            width="100%",
        ),
        title="Deliveries",
        subnav=platform_tabs(routes.DELIVERIES),
    )
