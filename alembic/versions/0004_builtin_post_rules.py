"""built-in post.created event source, templates and rules

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 08:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from postboard.clock import utcnow
from postboard.events.builtin import builtin_rows

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _table(name: str, *columns: str) -> sa.TableClause:
    types = {"payload_schema": sa.JSON(), "sample_payload": sa.JSON(), "conditions": sa.JSON()}
    return sa.table(name, *(sa.column(c, types.get(c)) for c in columns))


def upgrade() -> None:
    """Apply this revision."""
    source, templates, rules = builtin_rows()
    now = utcnow()
    op.bulk_insert(_table("event_source", *source, "created_at"), [{**source, "created_at": now}])
    op.bulk_insert(
        _table("template", *templates[0], "created_at", "updated_at"),
        [{**t, "created_at": now, "updated_at": now} for t in templates],
    )
    op.bulk_insert(_table("rule", *rules[0], "created_at"), [{**r, "created_at": now} for r in rules])
    if op.get_bind().dialect.name == "postgresql":
        # Explicit ids do not move PostgreSQL's sequences; the next admin-made row would collide.
        for table in ("event_source", "template", "rule"):
            op.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")


def downgrade() -> None:
    """Revert this revision."""
    op.execute("DELETE FROM rule WHERE builtin")
    op.execute("DELETE FROM template WHERE id IN (1, 2)")
    op.execute("DELETE FROM event_source WHERE builtin")
