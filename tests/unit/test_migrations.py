"""The Alembic migrations build exactly the schema the models declare."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import postboard.models  # noqa: F401 - registers every table
from postboard.db import make_engine
from tests.support import migrate


def test_migrations_match_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate({**__import__("os").environ, "DATABASE_URL": url})
    engine = make_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    engine.dispose()
    assert diff == []
