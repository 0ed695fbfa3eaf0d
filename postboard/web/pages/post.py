"""One post at /posts/{id}."""

import reflex as rx
from reflex.vars import NumberVar

from postboard import names
from postboard.db import session_scope
from postboard.errors import NotFound
from postboard.posts.models import PostView
from postboard.posts.service import get_post
from postboard.users.models import Role
from postboard.web.components.layout import page
from postboard.web.event import event
from postboard.web.field import Field, field
from postboard.web.monitor_hub import read_progress
from postboard.web.state import AppState


class PostState(AppState):
    """The post being read."""

    found: Field[bool] = field(False)
    title: Field[str] = field("")
    content: Field[str] = field("")
    author: Field[str] = field("")
    created_at: Field[str] = field("")
    # The author's fan-out progress; the monitor hub pushes it while the page is open.
    is_author: Field[bool] = field(False)
    progress: Field[dict[str, int]] = field(default_factory=dict)

    shown_id: Field[int] = field(0)

    def _read(self) -> PostView | None:
        try:
            with session_scope() as session:
                post = get_post(session, post_id=self.shown_id)
        except NotFound:
            self.found = False
            return None
        self.found = True
        self.title, self.content, self.author = post.title, post.content, post.author_name
        self.created_at = post.created_at.isoformat()
        self.is_author = post.author_id == self.user_id
        return post

    @event
    async def load(self) -> None:
        """Load the post named in the URL; its author and admins also get the live fan-out progress."""
        if not self.signed_in:
            return
        raw = str(self.router.page.params.get("post_id", ""))
        self.found = self.is_author = False
        self.shown_id = int(raw) if raw.isdigit() else 0
        if not self.shown_id or (post := self._read()) is None:
            return
        await self._watch("posts")
        if self.is_author or self.user_role == Role.ADMIN:
            self.progress = read_progress(post.id) or {}
            await self._enter(names.post_room(post.id), post_author=post.author_id)

    @event
    def refresh_posts(self, ids: list[int]) -> None:
        """Posts changed: re-read this one if it is among them (gone when it was deleted)."""
        if self.shown_id and (not ids or self.shown_id in ids):
            self._read()


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


def post_page() -> rx.Component:
    """The post route."""
    return page(
        rx.cond(
            PostState.found,
            rx.card(
                rx.vstack(
                    rx.heading(PostState.title, size="6"),
                    rx.hstack(
                        rx.text(PostState.author, weight="medium", size="2"),
                        rx.text("·", size="2", color_scheme="gray"),
                        rx.moment(
                            PostState.created_at,
                            from_now=True,
                            style={"fontSize": "13px"},
                        ),
                        spacing="2",
                    ),
                    rx.separator(),
                    rx.text(PostState.content, white_space="pre-wrap", size="3"),
                    spacing="3",
                    align="start",
                ),
                size="3",
                max_width="48rem",
                width="100%",
            ),
            rx.callout(
                "This post does not exist.",
                icon="triangle-alert",
                color_scheme="orange",
            ),
        ),
        rx.cond((PostState.is_author | PostState.is_admin) & PostState.found, rx.box(progress_bar(), margin_top="1em")),
        rx.link("← Back to the feed", href="/", size="2", margin_top="1em", display="block"),
        title="Post",
    )
