"""post edits: updated_at, soft delete (deleted_at), notifications found by post

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 09:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("post") as batch:
        batch.add_column(sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("deleted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table("notification") as batch:
        batch.create_index("ix_notification_post_id", ["post_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("notification") as batch:
        batch.drop_index("ix_notification_post_id")
    with op.batch_alter_table("post") as batch:
        batch.drop_column("deleted_at")
        batch.drop_column("updated_at")
