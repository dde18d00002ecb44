"""board snapshot and feedback sorts: the persona drops the board reads, and indexes for sort=occurred

Revision ID: 0026
Revises: 0023
Create Date: 2026-12-02 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.core.types

revision: str = "0026"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
INDEXES = [
    ("ix_feedback_stage_occurred_id", ["stage", "occurred_at", "id"]),
    ("ix_feedback_source_occurred_id", ["source", "occurred_at", "id"]),
    ("ix_feedback_state_occurred_id", ["state", "occurred_at", "id"]),
]


def upgrade() -> None:
    op.create_table(
        "persona_drop_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("computed_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "drops",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persona_drop_snapshots")),
    )
    for name, columns in INDEXES:
        op.create_index(name, "feedback_items", columns, unique=False)


def downgrade() -> None:
    for name, _ in INDEXES:
        op.drop_index(name, table_name="feedback_items")
    op.drop_table("persona_drop_snapshots")
