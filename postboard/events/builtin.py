"""The built-in `post.created` event: its rules say whether posts are emailed and put in inboxes, and how."""

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from postboard import names
from postboard.deliveries.models import Channel
from postboard.events.models import EventSource, Rule, Template
from postboard.events.templating import TemplateProblem, render
from postboard.posts.models import post_path

# Seeded by migration 0004; admins may edit the templates and switch the rules off.
EMAIL_SUBJECT = "New post: {{ title }}"
EMAIL_TEXT = (
    "New post on Postboard\n\n{{ title }}\nby {{ author }}\n\n{{ content }}\n\nRead it on Postboard: {{ url }}\n"
)
IN_APP_TITLE = "{{ title }}"
IN_APP_BODY = "{{ author }}: {{ excerpt }}"
POST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "post_id": {"type": "integer"},
        "title": {"type": "string"},
        "author": {"type": "string"},
        "content": {"type": "string"},
        "excerpt": {"type": "string"},
        "url": {"type": "string"},
    },
}


@dataclass(frozen=True)
class PostMessage:
    """What the built-in rule of one channel says about a post: send it or not, and its words."""

    active: bool
    subject: str
    body: str


def post_payload(*, post_id: int, title: str, author: str, content: str, excerpt: str, url: str) -> dict[str, Any]:
    """The payload of a `post.created` event."""
    return {"post_id": post_id, "title": title, "author": author, "content": content, "excerpt": excerpt, "url": url}


def _builtin(session: Session, channel: Channel) -> tuple[Rule, Template] | None:
    row = session.exec(
        select(Rule, Template)
        .join(Template, col(Rule.template_id) == col(Template.id))
        .join(EventSource, col(Rule.source_id) == col(EventSource.id))
        .where(EventSource.name == names.POST_CREATED, Rule.builtin == True, Template.channel == channel)  # noqa: E712
    ).first()
    return None if row is None else (row[0], row[1])


def post_rule_active(session: Session, *, channel: Channel) -> bool:
    """Whether the built-in `post.created` rule of a channel is on (no rule seeded: on)."""
    found = _builtin(session, channel)
    return found is None or found[0].active


def post_message(session: Session, *, channel: Channel, payload: dict[str, Any]) -> PostMessage:
    """Render the built-in rule's template for a post; without the rule (not seeded) use the defaults."""
    default = (EMAIL_SUBJECT, EMAIL_TEXT) if channel is Channel.EMAIL else (IN_APP_TITLE, IN_APP_BODY)
    subject, body = default
    active = True
    if (found := _builtin(session, channel)) is not None:
        rule, template = found
        active, subject, body = rule.active, template.subject or subject, template.body
    try:
        return PostMessage(active=active, subject=render(subject, payload, field="subject"), body=render(body, payload))
    except TemplateProblem:
        # An edited template that no longer fits the payload must not stop posts: fall back.
        return PostMessage(active=active, subject=render(default[0], payload), body=render(default[1], payload))


def builtin_rows() -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The built-in source, its two templates and two rules, as rows (ids 1, 1-2, 1-2): migration 0004 seeds them."""
    source = {
        "id": 1,
        "name": names.POST_CREATED,
        "description": "Fired when a post is published; its rules email every user and put it in every inbox.",
        "payload_schema": POST_SCHEMA,
        "sample_payload": post_payload(
            post_id=1,
            title="Launch day",
            author="Ada",
            content="We shipped it.",
            excerpt="We shipped it.",
            url=post_path(1),
        ),
        "builtin": True,
    }
    templates = [
        {"id": 1, "name": "Post published (email)", "channel": "email", "subject": EMAIL_SUBJECT, "body": EMAIL_TEXT},
        {"id": 2, "name": "Post published (in-app)", "channel": "in_app", "subject": IN_APP_TITLE, "body": IN_APP_BODY},
    ]
    common = {"source_id": 1, "recipient_kind": "all_users", "recipient_value": "", "secret": "", "conditions": {}}
    rules = [
        {
            "id": 1,
            "name": "Email every user about a new post",
            "template_id": 1,
            **common,
            "active": True,
            "builtin": True,
        },
        {
            "id": 2,
            "name": "In-app to every user about a new post",
            "template_id": 2,
            **common,
            "active": True,
            "builtin": True,
        },
    ]
    return source, templates, rules


def seed_builtins(session: Session) -> None:
    """Insert the built-in rows into a database made without migrations (unit tests)."""
    source, templates, rules = builtin_rows()
    session.add(EventSource(**source))
    session.add_all(Template(**t) for t in templates)
    session.flush()
    session.add_all(Rule(**r) for r in rules)
    session.commit()
