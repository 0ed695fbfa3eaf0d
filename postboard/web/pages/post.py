"""One post at /posts/{id}: read it; its author and admins also edit it inline or delete it."""

import reflex as rx
from reflex.vars import NumberVar

from postboard.web.components.form import form_buttons, post_fields
from postboard.web.components.layout import page
from postboard.web.components.platform import confirm
from postboard.web.pages.post_state import PostState

__all__ = ["PostState", "post_page"]


def _segment(value: NumberVar, color: str, label: str) -> rx.Component:
    width = rx.cond(
        PostState.progress["audience"] > 0, (value * 100 / PostState.progress["audience"]).to_string() + "%", "0%"
    )
    return rx.box(width=width, height="100%", background=color, title=label, transition="width 0.4s ease")


def _legend(label: str, value: NumberVar, color: str) -> rx.Component:
    return rx.hstack(
        rx.box(width="10px", height="10px", border_radius="2px", background=color),
        rx.text(label, " ", rx.text.strong(value), size="2"),
        align="center",
        spacing="1",
    )


def progress_bar() -> rx.Component:
    """Emailed / failed / retrying / pending out of the audience, and inboxes reached (author only)."""
    p = PostState.progress
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text("Delivery", weight="medium", size="2"),
                rx.text(
                    p["emailed"].to_string() + " of " + p["audience"].to_string() + " emailed",
                    size="2",
                    color_scheme="gray",
                ),
                rx.cond(p["done"] == 1, rx.badge("complete", color_scheme="grass"), rx.badge("in progress")),
                justify="between",
                width="100%",
            ),
            rx.flex(
                _segment(p["emailed"], "var(--grass-9)", "emailed"),
                _segment(p["failed"], "var(--red-9)", "failed"),
                _segment(p["retrying"], "var(--amber-9)", "retrying"),
                width="100%",
                height="10px",
                border_radius="5px",
                overflow="hidden",
                background="var(--gray-4)",
                role="progressbar",
                aria_label="Email delivery progress",
                aria_valuemin=0,
                aria_valuemax=p["audience"],
                aria_valuenow=p["emailed"],
            ),
            rx.flex(
                _legend("Emailed", p["emailed"], "var(--grass-9)"),
                _legend("Failed", p["failed"], "var(--red-9)"),
                _legend("Retrying", p["retrying"], "var(--amber-9)"),
                _legend("Pending", p["pending"], "var(--gray-6)"),
                _legend("In-app notified", p["in_app"], "var(--accent-9)"),
                wrap="wrap",
                spacing="4",
            ),
            spacing="2",
            width="100%",
        ),
        max_width="48rem",
        width="100%",
        data_testid="fanout-progress",
    )


def edit_form() -> rx.Component:
    """The inline edit form: title, content, Save and Cancel, with the same inline messages as publishing."""
    return rx.form(
        rx.vstack(
            *post_fields(
                prefix="edit-",
                title_error=PostState.title_error,
                content_error=PostState.content_error,
                title=PostState.title,
                content=PostState.content,
                rows="8",
            ),
            form_buttons(rx.button(rx.icon("check", size=16), "Save", type="submit"), on_cancel=PostState.cancel_edit),
            spacing="3",
            width="100%",
        ),
        on_submit=PostState.save_edit,
        reset_on_submit=False,
        width="100%",
        aria_label="Edit post",
    )


def post_actions() -> rx.Component:
    """Edit, and Delete that asks first (the author and admins only)."""
    return rx.hstack(
        rx.button(rx.icon("pencil", size=14), "Edit", size="2", variant="soft", on_click=PostState.start_edit),
        confirm(
            rx.button(rx.icon("trash-2", size=14), "Delete", size="2", variant="soft", color_scheme="red"),
            title="Delete this post?",
            description="It disappears from the feed and every inbox. This cannot be undone.",
            action="Delete",
            on_confirm=PostState.delete,
        ),
        spacing="2",
    )


def post_body() -> rx.Component:
    """The post as read: title, author, time (and when it was edited), content."""
    return rx.vstack(
        rx.hstack(
            rx.heading(PostState.title, size="6"),
            rx.cond(PostState.can_change, post_actions()),
            justify="between",
            align="start",
            width="100%",
            wrap="wrap",
            spacing="3",
        ),
        rx.hstack(
            rx.text(PostState.author, weight="medium", size="2"),
            rx.text("·", size="2", color_scheme="gray"),
            rx.moment(PostState.created_at, from_now=True, style={"fontSize": "13px"}),
            rx.cond(
                PostState.edited_at != "",
                rx.text("· edited", size="2", color_scheme="gray", data_testid="post-edited"),
            ),
            spacing="2",
        ),
        rx.separator(),
        rx.text(PostState.content, white_space="pre-wrap", size="3", data_testid="post-content"),
        spacing="3",
        align="start",
        width="100%",
    )


def post_page() -> rx.Component:
    """The post route."""
    return page(
        rx.cond(
            PostState.found,
            rx.card(
                rx.cond(PostState.editing & PostState.can_change, edit_form(), post_body()),
                size="3",
                max_width="48rem",
                width="100%",
            ),
            rx.callout(
                rx.cond(PostState.deleted, "This post was deleted.", "This post does not exist."),
                icon="triangle-alert",
                color_scheme="orange",
                role="status",
            ),
        ),
        rx.cond((PostState.is_author | PostState.is_admin) & PostState.found, rx.box(progress_bar(), margin_top="1em")),
        rx.link("← Back to the feed", href="/", size="2", margin_top="1em", display="block"),
        title="Post",
    )
