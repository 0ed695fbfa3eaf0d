"""The Alembic migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

import os
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import Session, SQLModel

import postboard.models  # noqa: F401 - registers every table
from postboard.db import make_engine
from postboard.events.service import SourceIn, TemplateIn, save_source, save_template
from tests.databases import Databases
from tests.support import migrate


def test_migrations_match_models(database: Databases, tmp_path: Path) -> None:
    with database.fresh(tmp_path, migrated=False) as url:
        migrate({**os.environ, "DATABASE_URL": url})
        engine = make_engine(url)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        engine.dispose()
    assert diff == []


def test_rows_added_after_the_builtin_ones_get_new_ids(database_url: str) -> None:
    # Migration 0004 inserts the built-in rows with explicit ids; PostgreSQL's sequences must move past them.
    engine = make_engine(database_url)
    with Session(engine) as session:
        source = save_source(session, SourceIn(name="order_created", description="after the built-ins"))
        template = save_template(session, TemplateIn(name="after", channel="email", subject="s", body="b"))
        assert (source.id or 0) > 1
        assert (template.id or 0) > 2
    engine.dispose()
