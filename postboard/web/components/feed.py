"""A feed row, shared by the live rows and the rows loaded from the database."""

from typing import Any

import reflex as rx
from reflex.vars import ObjectVar

PostRow = dict[str, Any]


def post_row(post: ObjectVar[PostRow], *, live: bool = False) -> rx.Component:
    """One post in the feed: title linking to it, author, relative time, excerpt."""
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.link(
                    rx.heading(post["title"].to(str), size="4"),
                    href=post["url"].to(str),
                ),
                rx.cond(live, rx.badge("new", color_scheme="green", variant="soft")),
                align="center",
                spacing="2",
            ),
            rx.hstack(
                rx.text(post["author"].to(str), size="2", weight="medium"),
                rx.text("·", size="2", color_scheme="gray"),
                rx.moment(
                    post["created_at"].to(str),
                    from_now=True,
                    size="2",
                    color_scheme="gray",
                    style={"fontSize": "13px", "color": "var(--gray-11)"},
                ),
                spacing="2",
                align="center",
            ),
            rx.text(post["excerpt"].to(str), size="2", color_scheme="gray"),
            spacing="1",
            align="start",
        ),
        width="100%",
        data_testid="feed-item",
    )
