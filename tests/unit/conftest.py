"""Unit tests: a fresh SQLite database per test, built from the models."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, SQLModel

import postboard.models  # noqa: F401 - registers every table
from postboard.db import make_engine


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    """A session on an empty database of its own."""
    engine = make_engine(f"sqlite:///{tmp_path / 'unit.db'}")
    SQLModel.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as db:
        yield db
    engine.dispose()
