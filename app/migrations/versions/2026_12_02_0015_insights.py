"""insights: root causes, quick and long-term fixes, shared metric points

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-02 03:39:51.317158
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = "0015"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metric_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("metric", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("received_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_points")),
        sa.UniqueConstraint("metric", "at", "source", name="uq_metric_points_metric_at_source"),
    )
    with op.batch_alter_table("metric_points", schema=None) as batch_op:
        batch_op.create_index("ix_metric_points_metric_at", ["metric", "at"], unique=False)

    op.create_table(
        "issue_fixes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("shipped_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("verification", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("verified_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("verification_note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("recorded_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["experience_issues.id"], name=op.f("fk_issue_fixes_issue_id_experience_issues")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issue_fixes")),
        sa.UniqueConstraint("issue_id", "kind", name="uq_issue_fixes_issue_kind"),
    )
    op.create_table(
        "issue_root_causes",
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("cause", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("sub_cause", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("unknown_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("recorded_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["experience_issues.id"],
            name=op.f("fk_issue_root_causes_issue_id_experience_issues"),
        ),
        sa.PrimaryKeyConstraint("issue_id", name=op.f("pk_issue_root_causes")),
    )
    with op.batch_alter_table("issue_root_causes", schema=None) as batch_op:
        batch_op.create_index("ix_issue_root_causes_cause", ["cause", "sub_cause"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("issue_root_causes", schema=None) as batch_op:
        batch_op.drop_index("ix_issue_root_causes_cause")

    op.drop_table("issue_root_causes")
    op.drop_table("issue_fixes")
    with op.batch_alter_table("metric_points", schema=None) as batch_op:
        batch_op.drop_index("ix_metric_points_metric_at")

    op.drop_table("metric_points")
