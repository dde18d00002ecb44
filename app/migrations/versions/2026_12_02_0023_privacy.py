"""privacy: per-source retention, and a mark on items whose personal data was removed

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.types

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("feedback_items") as batch:
        batch.add_column(sa.Column("redacted", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("redacted_at", app.core.types.UTCDateTime(timezone=True), nullable=True))
    # The retention job reads items by age, oldest first, a page at a time.
    op.create_index("ix_feedback_received_id", "feedback_items", ["received_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_feedback_received_id", table_name="feedback_items")
    with op.batch_alter_table("feedback_items") as batch:
        batch.drop_column("redacted_at")
        batch.drop_column("redacted")
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("retention_days")
