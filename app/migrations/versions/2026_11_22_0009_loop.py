"""loop

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-22 21:28:10.728905
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_ref", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("sent_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answer", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True),
        sa.Column("answered_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["experience_issues.id"],
            name=op.f("fk_customer_notices_issue_id_experience_issues"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_notices")),
        sa.UniqueConstraint("customer_ref", "issue_id", name="uq_customer_notice"),
    )
    op.create_table(
        "issue_accountability",
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("priority", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("impact_score", sa.Float(), nullable=False),
        sa.Column("due_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("shipped_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("verification_outcome", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("verification_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("verified_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("confirm_requested_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["experience_issues.id"],
            name=op.f("fk_issue_accountability_issue_id_experience_issues"),
        ),
        sa.PrimaryKeyConstraint("issue_id", name=op.f("pk_issue_accountability")),
    )
    with op.batch_alter_table("issue_accountability", schema=None) as batch_op:
        batch_op.create_index("ix_issue_accountability_due", ["due_at"], unique=False)

    op.create_table(
        "loop_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("until", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["experience_issues.id"], name=op.f("fk_loop_actions_issue_id_experience_issues")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loop_actions")),
    )
    with op.batch_alter_table("loop_actions", schema=None) as batch_op:
        batch_op.create_index("ix_loop_actions_issue", ["issue_id", "at"], unique=False)

    op.create_table(
        "reminders_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("person", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("slot", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("dedupe_key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["experience_issues.id"], name=op.f("fk_reminders_sent_issue_id_experience_issues")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders_sent")),
        sa.UniqueConstraint("dedupe_key", name="uq_reminders_sent_dedupe_key"),
    )
    with op.batch_alter_table("reminders_sent", schema=None) as batch_op:
        batch_op.create_index("ix_reminders_sent_issue", ["issue_id", "slot"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reminders_sent", schema=None) as batch_op:
        batch_op.drop_index("ix_reminders_sent_issue")

    op.drop_table("reminders_sent")
    with op.batch_alter_table("loop_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_loop_actions_issue")

    op.drop_table("loop_actions")
    with op.batch_alter_table("issue_accountability", schema=None) as batch_op:
        batch_op.drop_index("ix_issue_accountability_due")

    op.drop_table("issue_accountability")
    op.drop_table("customer_notices")
