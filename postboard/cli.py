"""`postboard` command line: users, API tokens, database, dev stack, production mode."""

import argparse
import sys
import time
from collections.abc import Sequence

from postboard.errors import ValidationFailed
from postboard.live import model_events
from postboard.settings import get_settings
from postboard.users.models import Role


def _users_create(args: argparse.Namespace) -> int:
    from postboard.db import session_scope
    from postboard.users.service import create_user

    try:
        with session_scope() as session:
            user = create_user(
                session,
                name=args.name,
                email=args.email,
                password=args.password,
                role=Role(args.role),
            )
    except ValidationFailed as exc:
        for field, message in exc.errors.items():
            print(f"error: {field}: {message}", file=sys.stderr)
        return 2
    print(f"created {user.role} {user.email} (id {user.id})")
    return 0


def _users_role(args: argparse.Namespace) -> int:
    from sqlmodel import select

    from postboard.db import session_scope
    from postboard.users.models import User
    from postboard.users.service import set_role

    try:
        with session_scope() as session:
            found = session.exec(select(User).where(User.email == args.email.strip().lower())).first()
            if found is None or found.id is None:
                raise ValidationFailed({"email": f"no account with the email {args.email}"})
            user = set_role(session, user_id=found.id, role=Role(args.role))
    except ValidationFailed as exc:
        for field, message in exc.errors.items():
            print(f"error: {field}: {message}", file=sys.stderr)
        return 2
    # Their open tabs follow within a second (the web's channel gate re-reads sessions).
    print(f"{user.email} is now {user.role}")
    return 0


def _users_seed(args: argparse.Namespace) -> int:
    from postboard.db import session_scope
    from postboard.users.service import seed_members

    started = time.perf_counter()
    with session_scope() as session:
        made = seed_members(session, count=args.count, password=args.password)
    print(f"seeded {made:,} members in {time.perf_counter() - started:.1f}s (password {args.password!r})")
    return 0


def _tokens_create(args: argparse.Namespace) -> int:
    from postboard.db import session_scope
    from postboard.tokens.service import create_token

    try:
        with session_scope() as session:
            issued = create_token(session, name=args.name, scopes=args.scope or ["events:write"])
    except ValidationFailed as exc:
        for field, message in exc.errors.items():
            print(f"error: {field}: {message}", file=sys.stderr)
        return 2
    print(f"created token {issued.token.name!r} (id {issued.token.id}, scopes: {issued.token.scopes})")
    print("it is shown only now; send it as: Authorization: Bearer <token>")
    print(issued.secret)
    return 0


def _tokens_list(_args: argparse.Namespace) -> int:
    from postboard.db import session_scope
    from postboard.tokens.service import list_tokens

    with session_scope() as session:
        for t in list_tokens(session):
            state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "active"
            print(f"{t.id:>4}  {t.prefix}…  {t.name:<30} {t.scopes:<20} {state}")
    return 0


def _tokens_revoke(args: argparse.Namespace) -> int:
    from postboard.db import session_scope
    from postboard.errors import NotFound
    from postboard.tokens.service import revoke_token

    try:
        with session_scope() as session:
            token = revoke_token(session, token_id=args.id)
    except NotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"revoked token {token.name!r} (id {token.id})")
    return 0


def _db_upgrade(_args: argparse.Namespace) -> int:
    from alembic.config import Config

    from alembic import command
    from postboard.settings import ROOT

    command.upgrade(Config(str(ROOT / "alembic.ini")), "head")
    return 0


def _dev(_args: argparse.Namespace) -> int:
    from postboard.dev.runner import run_dev

    return run_dev()


def _serve(args: argparse.Namespace) -> int:
    from postboard.dev.prod import serve

    return serve(print_only=args.print_only)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the `postboard` command."""
    parser = argparse.ArgumentParser(prog="postboard", description="Postboard command line")
    commands = parser.add_subparsers(dest="command", required=True)

    users = commands.add_parser("users", help="manage accounts").add_subparsers(dest="action", required=True)
    create = users.add_parser("create", help="create an account")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.MEMBER.value)
    create.set_defaults(run=_users_create)
    role = users.add_parser("role", help="change an account's role")
    role.add_argument("--email", required=True)
    role.add_argument("--role", choices=[r.value for r in Role], required=True)
    role.set_defaults(run=_users_role)
    seed = users.add_parser("seed", help="insert N fake members")
    seed.add_argument("count", type=int)
    seed.add_argument("--password", default="password123")
    seed.set_defaults(run=_users_seed)

    tokens = commands.add_parser("tokens", help="API tokens").add_subparsers(dest="action", required=True)
    new = tokens.add_parser("create", help="create a token; prints it once, as the last line")
    new.add_argument("--name", required=True)
    new.add_argument(
        "--scope", action="append", choices=["events:write", "admin"], help="repeat for more (default events:write)"
    )
    new.set_defaults(run=_tokens_create)
    tokens.add_parser("list", help="list tokens").set_defaults(run=_tokens_list)
    revoke = tokens.add_parser("revoke", help="revoke a token")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(run=_tokens_revoke)

    db = commands.add_parser("db", help="database").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply every migration").set_defaults(run=_db_upgrade)

    commands.add_parser("dev", help="run the whole app (what `make dev` runs)").set_defaults(run=_dev)
    serve = commands.add_parser("serve", help="production mode behind nginx (what `make prod` runs)")
    serve.add_argument(
        "--print",
        dest="print_only",
        action="store_true",
        help="print each process's command line and env; run nothing",
    )
    serve.set_defaults(run=_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `postboard` command."""
    args = build_parser().parse_args(argv)
    settings = get_settings()
    model_events.install_redis(enabled=settings.live_enabled, url=settings.redis_url)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
