"""read indexes: listings page by keyset on each filter and sort

Revision ID: 0022
Revises: 0014
Create Date: 2026-12-02 10:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, index, columns). The two single-column feedback indexes they replace are prefixes of the new ones.
NEW = [
    ("feedback_items", "ix_feedback_issue_id", ["issue_id", "id"]),
    ("feedback_items", "ix_feedback_state_id", ["state", "id"]),
    ("feedback_items", "ix_feedback_stage_id", ["stage", "id"]),
    ("feedback_items", "ix_feedback_source_id", ["source", "id"]),
    ("feedback_items", "ix_feedback_occurred_id", ["occurred_at", "id"]),
    ("experience_issues", "ix_issue_impact_id", ["impact", "id"]),
    ("experience_issues", "ix_issue_created_id", ["created_at", "id"]),
    ("experience_issues", "ix_issue_last_seen_id", ["last_seen", "id"]),
    ("experience_issues", "ix_issue_stage_impact_id", ["stage", "impact", "id"]),
    ("experience_issues", "ix_issue_owner_impact_id", ["owner", "impact", "id"]),
]
REPLACED = [
    ("feedback_items", "ix_feedback_issue", ["issue_id"]),
    ("feedback_items", "ix_feedback_state", ["state"]),
]


def upgrade() -> None:
    for table, name, columns in NEW:
        op.create_index(name, table, columns, unique=False)
    for table, name, _ in REPLACED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for table, name, columns in REPLACED:
        op.create_index(name, table, columns, unique=False)
    for table, name, _ in NEW:
        op.drop_index(name, table_name=table)
