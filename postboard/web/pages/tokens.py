"""API tokens at /tokens (admins): create one (its secret shown once), list them, revoke."""

from dataclasses import dataclass
from typing import Any

import reflex as rx
from reflex.vars import ObjectVar

from postboard.db import session_scope
from postboard.errors import NotFound, ValidationFailed
from postboard.tokens.models import Scope
from postboard.tokens.service import create_token, list_tokens, revoke_token
from postboard.web import routes
from postboard.web.components.form import labelled_input
from postboard.web.components.layout import field_error, page
from postboard.web.components.platform import confirm_button, list_table, platform_tabs
from postboard.web.event import event
from postboard.web.field import Field, field
from postboard.web.state import AppState

SCOPE_HINTS = {
    Scope.EVENTS_WRITE: "send events to POST /api/events",
    Scope.ADMIN: "everything, including sources, templates, rules and deliveries",
}


@dataclass
class TokenRow:
    """One token as the list shows it (never its secret)."""

    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: str
    last_used_at: str
    revoked_at: str


class TokensState(AppState):
    """The tokens listed, the create form, and a new secret until it is dismissed."""

    rows: Field[list[TokenRow]] = field(default_factory=list)
    scopes: Field[list[str]] = field(default_factory=lambda: [Scope.EVENTS_WRITE.value])
    form_key: Field[int] = field(0)
    errors: Field[dict[str, str]] = field(default_factory=dict)
    new_name: Field[str] = field("")
    new_secret: Field[str] = field("")

    def _reload(self) -> None:
        with session_scope() as session:
            self.rows = [
                TokenRow(
                    id=t.id or 0,
                    name=t.name,
                    prefix=t.prefix,
                    scopes=t.scopes.split(),
                    created_at=t.created_at.isoformat(),
                    last_used_at=t.last_used_at.isoformat() if t.last_used_at else "",
                    revoked_at=t.revoked_at.isoformat() if t.revoked_at else "",
                )
                for t in list_tokens(session)
            ]

    @event
    async def load(self) -> None:
        """List the tokens (a secret shown earlier is gone for good), and follow changes to them."""
        self.new_secret = self.new_name = ""
        if self.is_admin:
            self._reload()
            await self._watch("tokens")

    @event
    def reread(self) -> None:
        """Someone else changed tokens: re-read the list (a secret being shown stays)."""
        if self.is_admin:
            self._reload()

    @event
    def toggle_scope(self, scope: str, checked: bool) -> None:
        """Tick or untick a scope for the next token."""
        chosen = set(self.scopes) - {scope}
        self.scopes = sorted(chosen | {scope} if checked else chosen)

    @event
    def create(self, form: dict[str, Any]) -> Any:
        """Create a token and show its secret once."""
        if not self.is_admin:
            return None
        try:
            with session_scope() as session:
                issued = create_token(session, name=str(form.get("name", "")), scopes=self.scopes)
        except ValidationFailed as exc:
            self.errors = exc.errors
            return None
        self.errors, self.form_key = {}, self.form_key + 1
        self.new_name, self.new_secret = issued.token.name, issued.secret
        self._reload()
        return None

    @event
    def dismiss_secret(self) -> None:
        """Forget the new secret (it was copied)."""
        self.new_secret = self.new_name = ""

    @event
    def revoke(self, token_id: int) -> Any:
        """Revoke a token at once."""
        if not self.is_admin:
            return None
        try:
            with session_scope() as session:
                token = revoke_token(session, token_id=token_id)
        except NotFound as exc:
            return rx.toast.error(str(exc))
        self._reload()
        return rx.toast.success(f"Token {token.name} revoked: it no longer works.")


def _secret_callout() -> rx.Component:
    return rx.callout.root(
        rx.callout.icon(rx.icon("key-round", size=18)),
        rx.vstack(
            rx.text("Token ", rx.text.strong(TokensState.new_name), " created. Copy its secret now:", size="2"),
            rx.hstack(
                rx.code(TokensState.new_secret, size="3", data_testid="token-secret", style={"wordBreak": "break-all"}),
                rx.button(
                    rx.icon("copy", size=14),
                    "Copy",
                    size="1",
                    on_click=[rx.set_clipboard(TokensState.new_secret), rx.toast.success("Copied.")],
                ),
                align="center",
                spacing="3",
                wrap="wrap",
            ),
            rx.text(
                "This is the only time it is shown: Postboard keeps only a hash. "
                "Send it as Authorization: Bearer <token>.",
                size="2",
                weight="medium",
            ),
            rx.button("I have copied it", size="1", variant="soft", on_click=TokensState.dismiss_secret),
            spacing="2",
            align="start",
        ),
        color_scheme="amber",
        width="100%",
        role="status",
    )


def _scope_box(scope: Scope) -> rx.Component:
    return rx.el.label(
        rx.hstack(
            rx.checkbox(
                checked=TokensState.scopes.contains(scope.value),
                on_change=lambda checked: TokensState.toggle_scope(scope.value, checked),
                aria_label=scope.value,
            ),
            rx.code(scope.value, variant="ghost"),
            rx.text(SCOPE_HINTS[scope], size="2", color_scheme="gray"),
            spacing="2",
            align="center",
        ),
    )


def _create_form() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("New token", size="4"),
                labelled_input(
                    "Name",
                    id="token-name",
                    name="name",
                    placeholder="shop backend",
                    max_length=120,
                    hint="Who uses it, so you know what breaks when you revoke it.",
                    error=TokensState.errors.get("name", "").to(str),
                ),
                rx.text("Scopes", weight="medium", size="2"),
                *(_scope_box(scope) for scope in Scope),
                field_error(TokensState.errors.get("scopes", "").to(str)),
                rx.button(rx.icon("plus", size=14), "Create token", type="submit"),
                spacing="2",
                width="100%",
                max_width="36rem",
            ),
            on_submit=TokensState.create,
            reset_on_submit=True,
            key=TokensState.form_key,
        ),
        width="100%",
    )


def _when(moment: rx.Var[str], empty: str) -> rx.Component:
    return rx.cond(  # type: ignore[no-any-return]  # rx.cond is Any to mypy: pyproject.toml
        moment != "", rx.moment(moment, from_now=True, style={"fontSize": "13px"}), rx.text(empty, size="2")
    )


def _row(t: ObjectVar[TokenRow]) -> rx.Component:
    revoked = t.revoked_at != ""
    return rx.table.row(
        rx.table.cell(rx.text(t.name, weight="medium")),
        rx.table.cell(rx.code(t.prefix.to(str) + "…", variant="ghost")),
        rx.table.cell(rx.hstack(rx.foreach(t.scopes, lambda s: rx.badge(s, variant="soft")), spacing="1")),
        rx.table.cell(_when(t.created_at, "—")),
        rx.table.cell(_when(t.last_used_at, "never")),
        rx.table.cell(
            rx.cond(
                revoked,
                rx.badge("revoked ", rx.moment(t.revoked_at, from_now=True), color_scheme="red"),
                confirm_button(
                    "Revoke",
                    title="Revoke " + t.name.to(str) + "?",
                    description="Requests with this token fail from now on. This cannot be undone.",
                    on_confirm=TokensState.revoke(t.id),
                ),
            )
        ),
        data_testid="token-row",
        align="center",
    )


def tokens_page() -> rx.Component:
    """The API tokens route (admins)."""
    return page(
        rx.vstack(
            rx.text(
                "Bearer tokens for the HTTP API (docs at /api/docs). Only a hash is stored.",
                size="2",
                color_scheme="gray",
            ),
            rx.cond(TokensState.new_secret != "", _secret_callout()),
            _create_form(),
            list_table(
                TokensState.rows,
                _row,
                heads=("Name", "Prefix", "Scopes", "Created", "Last used", "Status"),
                empty="No tokens yet.",
                icon="key-round",
            ),
            spacing="4",
            width="100%",
        ),
        title="API tokens",
        subnav=platform_tabs(routes.TOKENS),
    )
