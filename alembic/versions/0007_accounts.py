"""accounts: email confirmation, single-use account links, what each session was signed in from

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 18:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("email_verified_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    # Accounts made before confirmation existed keep receiving mail.
    op.execute(sa.text('UPDATE "user" SET email_verified_at = created_at'))
    with op.batch_alter_table("auth_session") as batch:
        batch.add_column(sa.Column("user_agent", sa.String(length=255), nullable=False, server_default=""))
        batch.add_column(sa.Column("client_address", sa.String(length=64), nullable=False, server_default=""))
        batch.add_column(sa.Column("last_seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.create_table(
        "account_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_account_token_token_hash", "account_token", ["token_hash"], unique=True)
    op.create_index("ix_account_token_user_id", "account_token", ["user_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_account_token_user_id", table_name="account_token")
    op.drop_index("ix_account_token_token_hash", table_name="account_token")
    op.drop_table("account_token")
    with op.batch_alter_table("auth_session") as batch:
        batch.drop_column("last_seen_at")
        batch.drop_column("client_address")
        batch.drop_column("user_agent")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("email_verified_at")
