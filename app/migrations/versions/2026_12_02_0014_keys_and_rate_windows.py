"""keys: expiry, last use, audit trail; rate windows

Revision ID: 0014
Revises: 0016
Create Date: 2026-12-02 03:56:36.851794
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = "0014"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_windows",
        sa.Column("bucket", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("window_start", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "window_start", name=op.f("pk_rate_windows")),
    )
    op.create_table(
        "api_key_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.id"], name=op.f("fk_api_key_events_key_id_api_keys")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key_events")),
    )
    with op.batch_alter_table("api_key_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_key_events_key_id"), ["key_id"], unique=False)

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", app.core.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("last_used_at", app.core.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("expires_at")

    with op.batch_alter_table("api_key_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_key_events_key_id"))

    op.drop_table("api_key_events")
    op.drop_table("rate_windows")
