"""Token verbs: create (the secret is shown once), authenticate, list, revoke."""

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from postboard.clock import utcnow
from postboard.errors import NotFound, ValidationFailed
from postboard.tokens.models import ApiToken, Scope

TOKEN_PREFIX = "pb_"


@dataclass(frozen=True)
class IssuedToken:
    """A new token: the row, and the secret, which is never stored and shown only now."""

    token: ApiToken
    secret: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(scopes: Sequence[str]) -> str:
    """Check scope names and return them as stored (space-separated, sorted)."""
    known = {s.value for s in Scope}
    unknown = sorted(set(scopes) - known)
    if unknown:
        raise ValidationFailed({"scopes": f"unknown scope {unknown[0]!r}: use {', '.join(sorted(known))}"})
    if not scopes:
        raise ValidationFailed({"scopes": "a token needs at least one scope"})
    return " ".join(sorted(set(scopes)))


def create_token(session: Session, *, name: str, scopes: Sequence[str] = (Scope.EVENTS_WRITE,)) -> IssuedToken:
    """Create a token; the secret is returned once and only its SHA-256 is kept."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed({"name": "a token needs a name of 1 to 100 characters"})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, prefix=secret[:10], token_hash=_hash(secret), scopes=parse_scopes(scopes))
    session.add(token)
    session.commit()
    session.refresh(token)
    return IssuedToken(token=token, secret=secret)


def authenticate(session: Session, secret: str) -> ApiToken | None:
    """Return the live token a secret belongs to, noting its use; None if unknown or revoked."""
    token = session.exec(select(ApiToken).where(ApiToken.token_hash == _hash(secret))).first()
    if token is None or token.revoked_at is not None:
        return None
    now = utcnow()
    last = token.last_used_at
    # One write a minute at most: the hot path of POST /api/events must not write per request.
    if last is None or (now - (last if last.tzinfo else last.replace(tzinfo=now.tzinfo))).total_seconds() > 60:
        token.last_used_at = now
        session.add(token)
        session.commit()
    return token


def has_scope(token: ApiToken, scope: Scope) -> bool:
    """Whether the token may act in `scope` (admin may do everything)."""
    granted = set(token.scopes.split())
    return scope.value in granted or Scope.ADMIN.value in granted


def list_tokens(session: Session) -> Sequence[ApiToken]:
    """Every token, newest first, revoked ones included."""
    return session.exec(select(ApiToken).order_by(col(ApiToken.id).desc())).all()


def revoke_token(session: Session, *, token_id: int) -> ApiToken:
    """Revoke a token at once; it stays listed as revoked."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        session.commit()
    return token
