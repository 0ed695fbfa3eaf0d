"""Sign in and create an account."""

from typing import Any, Literal

import reflex as rx

from postboard.db import session_scope
from postboard.errors import ValidationFailed
from postboard.settings import get_settings
from postboard.users.service import authenticate, create_user, start_session
from postboard.web import routes
from postboard.web.components.layout import brand_mark, field_error
from postboard.web.event import event
from postboard.web.field import Field, field
from postboard.web.state import AppState


class AuthFormState(AppState):
    """Errors of the sign-in and registration forms."""

    errors: Field[dict[str, str]] = field(default_factory=dict)

    @rx.var
    def name_error(self) -> str:
        """Message for the Name field."""
        return self.errors.get("name", "")

    @rx.var
    def email_error(self) -> str:
        """Message for the Email field."""
        return self.errors.get("email", "")

    @rx.var
    def password_error(self) -> str:
        """Message for the Password field."""
        return self.errors.get("password", "")

    @rx.var
    def form_error(self) -> str:
        """Message for the whole form."""
        return self.errors.get("form", "")

    def _signed_in(self, token: str) -> Any:
        self.session_token = token
        self.errors = {}
        return rx.redirect(routes.HOME)

    @event
    def register(self, form: dict[str, str]) -> Any:
        """Create an account and sign it in."""
        settings = get_settings()
        try:
            with session_scope() as session:
                user = create_user(
                    session,
                    name=form.get("name", ""),
                    email=form.get("email", ""),
                    password=form.get("password", ""),
                )
                token = start_session(session, user=user, days=settings.session_days)
        except ValidationFailed as exc:
            self.errors = exc.errors
            return None
        return self._signed_in(token)

    @event
    def login(self, form: dict[str, str]) -> Any:
        """Sign in with email and password."""
        with session_scope() as session:
            user = authenticate(session, email=form.get("email", ""), password=form.get("password", ""))
            if user is None:
                self.errors = {"form": "Email or password is wrong"}
                return None
            token = start_session(session, user=user, days=get_settings().session_days)
        return self._signed_in(token)

    @event
    def clear_errors(self) -> None:
        """Clear the messages when a form opens."""
        self.errors = {}


def _field(
    label: str, name: str, kind: Literal["text", "email", "password"], error: rx.Var[str], **props: Any
) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=name, style={"fontWeight": 500, "fontSize": "14px"}),
        rx.input(id=name, name=name, type=kind, size="3", width="100%", **props),
        field_error(error),
        spacing="1",
        width="100%",
    )


def _card(title: str, subtitle: str, form: rx.Component, footer: rx.Component) -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(
                rx.hstack(
                    brand_mark(30),
                    rx.heading("Postboard", size="6"),
                    align="center",
                ),
                rx.heading(title, size="5", margin_top="0.5em"),
                rx.text(subtitle, color_scheme="gray", size="2"),
                form,
                footer,
                spacing="3",
                width="100%",
            ),
            size="4",
            width="100%",
            max_width="26rem",
        ),
        min_height="100vh",
        padding="1em",
        background=rx.color("gray", 2),
    )


def login_page() -> rx.Component:
    """The sign-in page."""
    form = rx.form(
        rx.vstack(
            _field(
                "Email",
                "email",
                "email",
                AuthFormState.email_error,
                auto_complete="email",
                auto_focus=True,
            ),
            _field(
                "Password",
                "password",
                "password",
                AuthFormState.password_error,
                auto_complete="current-password",
            ),
            field_error(AuthFormState.form_error),
            rx.button("Sign in", type="submit", size="3", width="100%"),
            spacing="4",
            width="100%",
        ),
        on_submit=AuthFormState.login,
        width="100%",
    )
    footer = rx.text("New here? ", rx.link("Create an account", href=routes.REGISTER), size="2")
    return _card("Sign in", "Welcome back.", form, footer)


def register_page() -> rx.Component:
    """The registration page."""
    form = rx.form(
        rx.vstack(
            _field(
                "Name",
                "name",
                "text",
                AuthFormState.name_error,
                auto_complete="name",
                auto_focus=True,
            ),
            _field(
                "Email",
                "email",
                "email",
                AuthFormState.email_error,
                auto_complete="email",
            ),
            _field(
                "Password",
                "password",
                "password",
                AuthFormState.password_error,
                auto_complete="new-password",
            ),
            rx.button("Create account", type="submit", size="3", width="100%"),
            spacing="4",
            width="100%",
        ),
        on_submit=AuthFormState.register,
        width="100%",
    )
    footer = rx.text("Have an account? ", rx.link("Sign in", href=routes.LOGIN), size="2")
    return _card("Create account", "The first account becomes the admin.", form, footer)
