"""The dashboard: the widgets, the New post form for publishers and the live feed, paged by Older posts."""

from typing import Any

import reflex as rx

from postboard.db import session_scope
from postboard.errors import Forbidden, ValidationFailed
from postboard.live.messages import LivePost
from postboard.posts.models import PostView
from postboard.posts.service import feed_page, get_post, posts_by_ids, publish
from postboard.users.models import User
from postboard.web import deps
from postboard.web.components.feed import PostRow, post_row
from postboard.web.components.form import post_fields
from postboard.web.components.layout import page
from postboard.web.components.widgets import dashboard_widgets
from postboard.web.event import event
from postboard.web.field import Field, field
from postboard.web.state import AppState, _js

FEED_SIZE = 30


def to_row(post: PostView) -> PostRow:
    """Shape a post for the feed: the live message's shape, so loaded and pushed rows render alike."""
    return LivePost.from_post(post).model_dump()


class FeedState(AppState):
    """The feed as loaded from the database and the New post form."""

    posts: Field[list[PostRow]] = field(default_factory=list)
    feed_top_id: Field[int] = field(0)
    has_older: Field[bool] = field(False)
    title_error: Field[str] = field("")
    content_error: Field[str] = field("")
    notice: Field[str] = field("")

    @event
    async def load(self) -> None:
        """Load the newest posts, and follow edits and deletions of them."""
        if not self.signed_in:
            return
        await self._watch("posts")
        with session_scope() as session:
            found = feed_page(session, limit=FEED_SIZE)
        rows = [to_row(p) for p in found.posts]
        self.posts, self.has_older = rows, found.has_older
        self.feed_top_id = int(rows[0]["id"]) if rows else 0

    @event
    def refresh_posts(self, ids: list[int]) -> None:
        """Re-read the shown posts among `ids` (all shown when empty): edited ones change, deleted ones go."""
        shown = [int(p["id"]) for p in self.posts]
        wanted = [i for i in shown if not ids or i in ids]
        if not wanted:
            return
        with session_scope() as session:
            fresh = posts_by_ids(session, ids=wanted)
        self.posts = [
            to_row(fresh[i]) if i in fresh else row
            for row in self.posts
            if (i := int(row["id"])) in fresh or i not in wanted
        ]

    @event
    def load_older(self) -> None:
        """Add the next page of older posts below the ones shown."""
        if not self.signed_in or not self.posts:
            return
        with session_scope() as session:
            found = feed_page(session, limit=FEED_SIZE, before_id=int(self.posts[-1]["id"]))
        self.posts = [*self.posts, *(to_row(p) for p in found.posts)]
        self.has_older = found.has_older

    @event
    async def publish(self, form: dict[str, str]) -> Any:
        """Publish a post from the form; inline messages on bad input."""
        self.title_error = self.content_error = self.notice = ""
        try:
            with session_scope() as session:
                author = session.get(User, self.user_id)
                if author is None:
                    return rx.redirect("/login")
                result = await publish(
                    session,
                    author=author,
                    title=form.get("title", ""),
                    content=form.get("content", ""),
                    dispatcher=deps.dispatcher(),
                )
                view = get_post(session, post_id=result.post.id or 0)
        except ValidationFailed as exc:
            self.title_error = exc.errors.get("title", "")
            self.content_error = exc.errors.get("content", "")
            return None
        except Forbidden as exc:
            return rx.toast.error(str(exc))
        # Not trimmed: older pages the user loaded stay where they are.
        self.posts = [to_row(view), *self.posts]
        self.feed_top_id = view.id
        if result.queued_now:
            self.notice = "Published. Emails and notifications are on their way."
        else:
            self.notice = (
                "Published. The job queue is unreachable right now: emails and notifications "
                "are queued and will go out as soon as it is back."
            )
        return [rx.set_value("title", ""), rx.set_value("content", "")]


live_feed: rx.Var[list[PostRow]] = _js(
    f"({AppState.live_posts!s}).filter((p) => p.id > {FeedState.feed_top_id!s})",
    list[PostRow],
    AppState.live_posts,
    FeedState.feed_top_id,
)


def new_post_form() -> rx.Component:
    """The New post form (admins and editors only)."""
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("New post", size="4"),
                *post_fields(prefix="", title_error=FeedState.title_error, content_error=FeedState.content_error),
                rx.hstack(
                    rx.button(rx.icon("send", size=16), "Publish", type="submit", size="3"),
                    rx.cond(
                        FeedState.notice != "",
                        rx.text(
                            FeedState.notice,
                            size="2",
                            color_scheme="green",
                            role="status",
                        ),
                    ),
                    align="center",
                    spacing="4",
                ),
                spacing="2",
                width="100%",
            ),
            on_submit=FeedState.publish,
            reset_on_submit=False,
        ),
        width="100%",
    )


def dashboard_page() -> rx.Component:
    """The dashboard route."""
    return page(
        dashboard_widgets(),
        rx.vstack(
            rx.cond(AppState.can_publish, new_post_form()),
            rx.heading("Latest posts", size="5", margin_top="0.6em"),
            rx.vstack(
                rx.foreach(live_feed, lambda p: post_row(p, live=True)),
                rx.foreach(FeedState.posts, lambda p: post_row(p)),
                rx.cond(
                    (FeedState.posts.length() == 0) & (live_feed.to(list).length() == 0),
                    rx.text("No posts yet.", color_scheme="gray"),
                ),
                rx.cond(
                    FeedState.has_older,
                    rx.button(
                        rx.icon("chevron-down", size=16),
                        "Older posts",
                        variant="soft",
                        on_click=FeedState.load_older,
                        align_self="center",
                    ),
                ),
                spacing="3",
                width="100%",
                data_testid="feed",
            ),
            spacing="4",
            width="100%",
            max_width="48rem",
        ),
        title="Dashboard",
    )
