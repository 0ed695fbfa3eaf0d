"""The dashboard widgets (Filament's stats, chart and table widgets): stat cards, the 24 h chart, live tables."""

from typing import Any

import reflex as rx
from reflex.vars import ArrayVar, ObjectVar

from postboard.web.pages.dashboard_state import DashboardState
from postboard.web.state import AppState

Row = dict[str, Any]
BLUE, GREEN, RED = "var(--accent-9)", "var(--grass-9)", "var(--red-9)"


def stat_card(label: str, value: rx.Var[Any], *, color: str | rx.Var[str] | None = None) -> rx.Component:
    """One figure with its label; a named group so people (and tests) find it by its label."""
    return rx.card(
        rx.vstack(
            rx.text(label, size="2", color_scheme="gray"),
            rx.text(value, size="7", weight="bold", color=color, data_testid="stat-value"),
            spacing="1",
        ),
        role="group",
        aria_label=label,
        flex="1 1 10rem",
        min_width="9rem",
    )


def _when(value: rx.Var[Any]) -> rx.Component:
    style = {"fontSize": "12px", "color": "var(--gray-11)"}
    return rx.moment(value.to(str), from_now=True, style=style)  # type: ignore[no-any-return]  # Any to mypy


# Columns a phone leaves out (they come back from the `sm` breakpoint up), so a row fits 390 px.
WIDE_ONLY = ["none", "table-cell"]


def _head(label: str) -> rx.Component:
    wide_only = label.startswith("~")
    return rx.table.column_header_cell(label.lstrip("~"), display=WIDE_ONLY if wide_only else None)


def _table(name: str, heads: list[str], rows: ArrayVar[list[Row]], row: Any, *, empty: str) -> rx.Component:
    """A widget's table; a head written `~Name` is a column phones leave out (its cells say so too)."""
    return rx.cond(  # type: ignore[no-any-return]  # rx.cond is Any to mypy: pyproject.toml
        rows.length() > 0,
        rx.box(
            rx.table.root(
                rx.table.header(rx.table.row(*(_head(h) for h in heads))),
                rx.table.body(rx.foreach(rows, row)),
                width="100%",
                variant="surface",
                size="1",
            ),
            overflow_x="auto",
            width="100%",
            role="region",
            aria_label=name,
        ),
        rx.text(empty, color_scheme="gray", size="2"),
    )


def _panel(title: str, *children: rx.Component, **props: Any) -> rx.Component:
    return rx.card(
        rx.vstack(rx.heading(title, size="3"), *children, spacing="3", width="100%"),
        **{"flex": "1 1 22rem", "min_width": "0", **props},
    )


def stat_cards() -> rx.Component:
    """Posts today, Emails sent today, Failed deliveries today, Users online."""
    return rx.flex(
        stat_card("Posts today", DashboardState.posts_today),
        stat_card("Emails sent today", DashboardState.emails_today),
        stat_card(
            "Failed deliveries today",
            DashboardState.failed_today,
            color=rx.cond(DashboardState.failed_today > 0, RED, ""),
        ),
        stat_card("Users online", DashboardState.users_online),
        wrap="wrap",
        spacing="3",
        width="100%",
    )


def activity_chart() -> rx.Component:
    """Posts and finished deliveries per hour, the last 24 hours."""
    return _panel(
        "Posts and deliveries per hour, last 24 h (UTC)",
        rx.recharts.composed_chart(
            rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
            # Recharts drops labels that would overlap (a phone shows fewer hours).
            rx.recharts.x_axis(data_key="hour", interval="preserveStartEnd", min_tick_gap=16, font_size=11),
            rx.recharts.y_axis(y_axis_id="left", allow_decimals=False, font_size=11, width=44),
            rx.recharts.y_axis(y_axis_id="right", orientation="right", allow_decimals=False, font_size=11, width=32),
            rx.recharts.tooltip(),
            rx.recharts.legend(),
            # New figures arrive every second: animating each one would keep the bars at zero.
            rx.recharts.bar(
                data_key="deliveries", name="deliveries", fill=GREEN, y_axis_id="left", is_animation_active=False
            ),
            rx.recharts.line(
                data_key="posts", name="posts", stroke=BLUE, y_axis_id="right", dot=False, is_animation_active=False
            ),
            data=DashboardState.chart,
            height=220,
            width="100%",
        ),
        flex="2 1 28rem",
        data_testid="activity-chart",
    )


def _post_row(post: ObjectVar[Row]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(post["title"].to(str), href=post["url"].to(str))),
        rx.table.cell(post["author"].to(str)),
        rx.table.cell(_when(post["created_at"]), white_space="nowrap"),
    )


def latest_posts_table() -> rx.Component:
    """The newest posts, updated live."""
    # Not "Latest posts": that is the feed's heading below.
    return _panel(
        "Recent posts",
        _table(
            "Recent posts", ["Title", "Author", "When"], DashboardState.latest_posts, _post_row, empty="No posts yet."
        ),
        # In the widgets' column: a flex basis would set its height.
        flex="none",
        width="100%",
    )


def _person(person: ObjectVar[Row]) -> rx.Component:
    return rx.hstack(
        rx.box(width="8px", height="8px", border_radius="50%", background=GREEN, flex_shrink="0"),
        rx.text(person["name"].to(str), size="2", weight="medium"),
        rx.text("since", size="1", color_scheme="gray"),
        _when(person["since"]),
        align="center",
        spacing="2",
        role="listitem",
    )


def online_now() -> rx.Component:
    """Who is online (the list hidden from members when listing is off; admins always see it)."""
    people = rx.cond(AppState.is_admin, DashboardState.online_all, DashboardState.online)
    listed = rx.vstack(
        rx.foreach(people, _person),
        rx.cond(people.to(list).length() == 0, rx.text("Nobody else is here.", size="2", color_scheme="gray")),
        rx.cond(
            DashboardState.users_online > people.to(list).length(),
            rx.text("and ", (DashboardState.users_online - people.to(list).length()).to(str), " more", size="1"),
        ),
        spacing="2",
        role="list",
        aria_label="Online now",
    )
    hidden = rx.text(
        DashboardState.users_online.to(str) + " online. Who is online is not listed (privacy setting).",
        size="2",
        color_scheme="gray",
    )
    return _panel("Online now", rx.cond(DashboardState.listing | AppState.is_admin, listed, hidden), flex="1 1 16rem")


def _queue_row(q: ObjectVar[Row]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(q["queue"].to(str)),
        rx.table.cell(q["depth"].to(str)),
        rx.table.cell(rx.text(q["oldest_wait"].to(str), color=rx.cond(q["long_wait"], RED, ""))),
        rx.table.cell(q["workers"].to(str)),
    )


def _delivery_row(d: ObjectVar[Row]) -> rx.Component:
    status = d["status"].to(str)
    return rx.table.row(
        rx.table.cell(d["id"].to(str), display=WIDE_ONLY),
        rx.table.cell(d["channel"].to(str)),
        rx.table.cell(rx.text(d["recipient"].to(str), truncate=True, max_width="14rem")),
        rx.table.cell(
            rx.badge(
                status,
                color_scheme=rx.match(status, ("sent", "grass"), ("failed", "red"), ("retrying", "amber"), "gray"),
                variant="soft",
            )
        ),
        rx.table.cell(d["attempts"].to(str), display=WIDE_ONLY),
        rx.table.cell(_when(d["updated_at"]), white_space="nowrap"),
        data_testid="delivery-" + d["id"].to(str),
    )


def system_widgets() -> rx.Component:
    """What only admins see: queues, failure rate, live workers, the latest deliveries."""
    return rx.vstack(
        rx.heading("System", size="5"),
        rx.flex(
            stat_card(
                "Failure rate, last 15 min",
                DashboardState.failure_rate,
                color=rx.cond(DashboardState.failed_15m > 0, RED, ""),
            ),
            stat_card("Live workers", DashboardState.workers, color=rx.cond(DashboardState.workers == 0, RED, "")),
            wrap="wrap",
            spacing="3",
            width="100%",
        ),
        rx.flex(
            _panel(
                "Queues",
                _table(
                    "Queues",
                    ["Queue", "Waiting", "Oldest wait", "Workers"],
                    DashboardState.queues,
                    _queue_row,
                    empty="No queue figures yet.",
                ),
            ),
            _panel(
                "Latest deliveries",
                _table(
                    "Latest deliveries",
                    ["~#", "Channel", "Recipient", "Status", "~Attempts", "Updated"],
                    DashboardState.latest_deliveries,
                    _delivery_row,
                    empty="No deliveries yet.",
                ),
                flex="2 1 30rem",
            ),
            wrap="wrap",
            spacing="3",
            width="100%",
        ),
        spacing="3",
        width="100%",
        data_testid="system-widgets",
    )


def dashboard_widgets() -> rx.Component:
    """Every widget above the feed; the system ones only for admins."""
    return rx.vstack(
        stat_cards(),
        rx.flex(activity_chart(), online_now(), wrap="wrap", spacing="3", width="100%"),
        latest_posts_table(),
        rx.cond(AppState.is_admin, system_widgets()),
        spacing="3",
        width="100%",
        margin_bottom="1.5em",
    )
