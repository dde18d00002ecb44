"""customers' answers counted on the issue they answer

Revision ID: 0013
Revises: 0018
Create Date: 2026-12-02 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("experience_issues", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answers_yes", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("answers_no", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("experience_issues", schema=None) as batch_op:
        batch_op.drop_column("answers_no")
        batch_op.drop_column("answers_yes")
