"""Render a post's email once; each recipient only swaps two header values."""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fastapi_mail import (
    ConnectionConfig,
    FastMail,
    MessageSchema,
    MessageType,
    MultipartSubtypeEnum,
)
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from postboard import names
from postboard.posts.models import PostView, post_path
from postboard.settings import Settings

TEMPLATES = Path(__file__).parent / "templates"
_RCPT = "rcpt-placeholder-7f3a9c@example.com"
_MSGID = b"<msgid-placeholder-7f3a9c@example.com>"


@dataclass(frozen=True)
class RenderedEmail:
    """A MIME message built once, with slots for the recipient and the Message-ID."""

    subject: str
    sender: str
    raw: bytes

    def for_recipient(self, *, address: str, message_id: str) -> bytes:
        """Return the message bytes addressed to one recipient."""
        return self.raw.replace(_RCPT.encode(), address.encode()).replace(_MSGID, message_id.encode())


@lru_cache
def _templates() -> Environment:
    # Autoescape HTML so a title like `<img onerror=...>` arrives as text.
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
    )


def _connection(settings: Settings) -> ConnectionConfig:
    return ConnectionConfig(
        MAIL_USERNAME=settings.smtp_username,
        MAIL_PASSWORD=settings.smtp_password,
        MAIL_FROM=settings.mail_from,
        MAIL_FROM_NAME=settings.mail_from_name,
        MAIL_PORT=settings.smtp_port,
        MAIL_SERVER=settings.smtp_host,
        MAIL_STARTTLS=settings.smtp_starttls,
        MAIL_SSL_TLS=settings.smtp_ssl,
        USE_CREDENTIALS=bool(settings.smtp_username),
    )


def post_url(settings: Settings, post_id: int) -> str:
    """Return the absolute link to a post."""
    return settings.app_url.rstrip("/") + post_path(post_id)


def logo_url(settings: Settings) -> str:
    """Return the absolute link to the logo the emails show (assets/logo.png, served with the app)."""
    return settings.app_url.rstrip("/") + names.LOGO_PNG


async def render_post_email(
    post: PostView, *, settings: Settings, subject: str | None = None, text: str | None = None
) -> RenderedEmail:
    """Build the post's HTML + text message once (fastapi-mail makes the MIME).

    `subject` and `text` come from the built-in `post.created` email template when given.
    """
    context = {
        "title": post.title,
        "author": post.author_name,
        "content": post.content,
        "url": post_url(settings, post.id),
        "logo_url": logo_url(settings),
    }
    env = _templates()
    html = env.get_template("post_published.html").render(context)
    text = text if text is not None else env.get_template("post_published.txt").render(context)
    subject = subject if subject is not None else f"New post: {post.title}"
    schema = MessageSchema(
        subject=subject,
        recipients=[_RCPT],
        body=html,
        alternative_body=text,
        subtype=MessageType.html,
        multipart_subtype=MultipartSubtypeEnum.alternative,
    )
    return await _build(schema, settings=settings)


async def render_text_email(*, subject: str, text: str, settings: Settings) -> RenderedEmail:
    """Build a plain-text message once (system alerts to admins)."""
    schema = MessageSchema(subject=subject, recipients=[_RCPT], body=text, subtype=MessageType.plain)
    return await _build(schema, settings=settings)


async def _build(schema: MessageSchema, *, settings: Settings) -> RenderedEmail:
    message = await FastMail(_connection(settings)).get_message(schema)
    assert not isinstance(message, list)  # one schema in, one message out
    # Bare slots, so that one byte replace per recipient addresses the copy.
    del message["To"], message["Message-ID"]
    message["To"] = _RCPT
    message["Message-ID"] = _MSGID.decode()
    return RenderedEmail(subject=str(schema.subject), sender=settings.mail_from, raw=message.as_bytes())


def message_id(*, post_id: int, user_id: int, domain: str = "postboard") -> str:
    """Return a stable Message-ID, so a re-sent copy is recognisable as the same mail."""
    return f"<post-{post_id}.user-{user_id}@{domain}>"
