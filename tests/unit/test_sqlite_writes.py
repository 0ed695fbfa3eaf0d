"""SQLite writers take the write lock themselves, trying often; SQLite's own wait when it stays taken."""

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from postboard.db import WRITE_LOCK_TIMEOUT, _take_write_lock, make_engine


def _other_writer(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def test_first_write_of_a_transaction_holds_the_write_lock(tmp_path: Path) -> None:
    """After the first INSERT the transaction is IMMEDIATE: another writer is refused until it commits."""
    path = tmp_path / "app.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM t")).scalar()
        # A read alone takes no write lock.
        _other_writer(path).rollback()
        conn.execute(text("INSERT INTO t VALUES (1)"))
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            _other_writer(path)
        conn.commit()
    _other_writer(path).rollback()
    engine.dispose()


def test_a_writer_waiting_for_the_lock_writes_once_it_is_free(tmp_path: Path) -> None:
    """Two threads write at once: the one that waited writes its row once the other committed."""
    path = tmp_path / "app.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)
    waiter = threading.Thread(target=lambda: _insert(engine, 2))
    waiter.start()
    release.set()
    holder.join(10)
    waiter.join(10)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT x FROM t ORDER BY x")).scalars().all() == [1, 2]
    engine.dispose()


def _insert(engine: Engine, value: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": value})


def _in_transaction(conn: sqlite3.Connection) -> bool:
    return conn.in_transaction


def test_a_lock_held_past_the_timeout_is_left_to_sqlite(tmp_path: Path) -> None:
    """Still taken after the timeout: no transaction is opened here, and SQLite's busy timeout is back."""
    path = tmp_path / "app.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x INTEGER)").connection.close()
    other = _other_writer(path)
    conn = sqlite3.connect(path)
    assert _take_write_lock(conn, poll=0.001, timeout=0.02) is False
    assert not _in_transaction(conn)
    assert conn.execute("PRAGMA busy_timeout").fetchone() == (int(WRITE_LOCK_TIMEOUT * 1000),)
    other.rollback()
    assert _take_write_lock(conn) is True
    assert _in_transaction(conn)
    conn.rollback()
