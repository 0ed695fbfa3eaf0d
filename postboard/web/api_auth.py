"""API authentication: bearer tokens with scopes, as FastAPI dependencies; bounded row ids."""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Path

from postboard.db import MAX_ROW_ID, session_scope
from postboard.tokens.models import ApiToken, Scope
from postboard.tokens.service import authenticate, has_scope

MAX_ID = MAX_ROW_ID
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _token(authorization: Annotated[str | None, Header()] = None) -> ApiToken:
    scheme, _, secret = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise HTTPException(401, "send an API token: Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"})
    with session_scope() as session:
        token = authenticate(session, secret.strip())
    if token is None:
        raise HTTPException(401, "unknown or revoked API token", {"WWW-Authenticate": "Bearer"})
    return token


def scoped(scope: Scope) -> Callable[..., ApiToken]:
    """A dependency: the caller's token, which must carry `scope`."""

    def check(token: Annotated[ApiToken, Depends(_token)]) -> ApiToken:
        if not has_scope(token, scope):
            raise HTTPException(403, f"this token lacks the {scope.value!r} scope")
        return token

    return check


Writer = Annotated[ApiToken, Depends(scoped(Scope.EVENTS_WRITE))]
Admin = Annotated[ApiToken, Depends(scoped(Scope.ADMIN))]
