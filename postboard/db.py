"""Database engine and sessions (SQLite by default, PostgreSQL by URL)."""

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from postboard.settings import get_settings

# Row ids are `integer` columns: 32-bit in PostgreSQL (SQLite's are wider), so a larger
# number can name no row, and PostgreSQL would refuse it as a parameter.
MAX_ROW_ID = 2**31 - 1


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the web process read while workers write; the busy timeout turns
    # writer contention between processes into a short wait instead of an error.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


# SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25… ms between tries, so a writer that
# finds the lock taken waits 20-55 ms even when it frees at once, and one that keeps missing
# it loses to writers that come back often (a fan-out's batches). Postboard takes the write
# lock itself instead, trying again every half millisecond.
WRITE_LOCK_POLL = 0.0005
WRITE_LOCK_TIMEOUT = 30.0
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _take_write_lock(dbapi_conn: Any, *, poll: float = WRITE_LOCK_POLL, timeout: float = WRITE_LOCK_TIMEOUT) -> bool:
    """Open an IMMEDIATE transaction, trying every `poll` s up to `timeout` s; False if it stayed locked."""
    cur = dbapi_conn.cursor()
    deadline = time.monotonic() + timeout
    try:
        cur.execute("PRAGMA busy_timeout=0")
        while True:
            try:
                cur.execute("BEGIN IMMEDIATE")
                return True
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() >= deadline:
                    return False
                time.sleep(poll)
    finally:
        cur.execute(f"PRAGMA busy_timeout={int(WRITE_LOCK_TIMEOUT * 1000)}")
        cur.close()


def _before_write(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
    # The first write of a transaction: where pysqlite would issue its deferred BEGIN and
    # leave the wait to SQLite's busy handler. If the lock stays taken (a writer outside
    # Postboard), that BEGIN still comes, with the busy timeout.
    dbapi_conn = cursor.connection
    if not dbapi_conn.in_transaction and statement.lstrip()[:7].upper().startswith(_WRITES):
        _take_write_lock(dbapi_conn)


def make_engine(url: str) -> Engine:
    """Create an engine for a database URL with the pragmas Postboard relies on."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # As many connections as the API's threadpool may use at once (AnyIO's 40), kept open:
        # an overflow connection is reopened, with its PRAGMAs, on every checkout.
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=40, max_overflow=10
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "before_cursor_execute", _before_write)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


@lru_cache
def get_engine() -> Engine:
    """Return the process-wide engine for the configured database."""
    return make_engine(get_settings().database_url)


@contextmanager
def session_scope() -> Iterator[Session]:
    """Open a session on the configured database and close it afterwards."""
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


def insert_new(session: Session, model: type[SQLModel]) -> postgresql.Insert | sqlite.Insert:
    """An INSERT for `model` that skips rows a unique constraint already holds (ON CONFLICT DO NOTHING).

    Two runs inserting the same rows at once both succeed and each row is written once; read
    `rowcount` with `.execution_options(preserve_rowcount=True)`.
    """
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing()
    return sqlite.insert(model).on_conflict_do_nothing()


def is_postgresql(session: Session) -> bool:
    """Whether the session's database is PostgreSQL (row locks, SKIP LOCKED)."""
    return session.get_bind().dialect.name == "postgresql"
