"""sync

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 21:05:58.023060
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import app.core.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "integrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("vendor", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("base_url", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("api_token_enc", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("webhook_secret_enc", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column(
            "options",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "targets",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrations")),
        sa.UniqueConstraint("name", name=op.f("uq_integrations_name")),
    )
    op.create_table(
        "contributions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("team", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column(
            "target",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("ticket_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("ticket_key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("ticket_url", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("vendor_status", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("vendor_resolution", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("vendor_updated_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_synced_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"], ["integrations.id"], name=op.f("fk_contributions_integration_id_integrations")
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["experience_issues.id"], name=op.f("fk_contributions_issue_id_experience_issues")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contributions")),
        sa.UniqueConstraint("issue_id", "team", name="uq_contribution_issue_team"),
    )
    with op.batch_alter_table("contributions", schema=None) as batch_op:
        batch_op.create_index("ix_contribution_state", ["state"], unique=False)
        batch_op.create_index("ix_contribution_ticket", ["integration_id", "ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contributions", schema=None) as batch_op:
        batch_op.drop_index("ix_contribution_ticket")
        batch_op.drop_index("ix_contribution_state")

    op.drop_table("contributions")
    op.drop_table("integrations")
