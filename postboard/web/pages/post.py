"""One post at /posts/{id}."""

import reflex as rx

from postboard.db import session_scope
from postboard.errors import NotFound
from postboard.posts.service import get_post
from postboard.web.components.layout import page
from postboard.web.state import AppState


class PostState(AppState):
    """The post being read."""

    found: bool = False
    title: str = ""
    content: str = ""
    author: str = ""
    created_at: str = ""

    @rx.event
    def load(self) -> None:
        """Load the post named in the URL."""
        if not self.signed_in:
            return
        raw = str(self.router.page.params.get("post_id", ""))
        self.found = False
        if not raw.isdigit():
            return
        try:
            with session_scope() as session:
                post = get_post(session, post_id=int(raw))
        except NotFound:
            return
        self.found = True
        self.title, self.content, self.author = (
            post.title,
            post.content,
            post.author_name,
        )
        self.created_at = post.created_at.isoformat()


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
        rx.link("← Back to the feed", href="/", size="2", margin_top="1em", display="block"),
        title="Post",
    )
