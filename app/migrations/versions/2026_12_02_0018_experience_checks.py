"""experience checks: one task per check and cycle

Revision ID: 0018
Revises: 0015
Create Date: 2026-12-02 03:57:48.178985
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = "0018"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "experience_check_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check_key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("cycle_start", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("person", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("team", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("assigned_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"], ["feedback_items.id"], name=op.f("fk_experience_check_tasks_item_id_feedback_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experience_check_tasks")),
        sa.UniqueConstraint("check_key", "cycle_start", name="uq_experience_check_tasks_cycle"),
    )
    with op.batch_alter_table("experience_check_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_experience_check_tasks_open", ["done_at", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("experience_check_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_experience_check_tasks_open")

    op.drop_table("experience_check_tasks")
