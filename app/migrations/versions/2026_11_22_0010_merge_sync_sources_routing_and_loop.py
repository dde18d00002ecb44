"""merge sync, sources, routing and loop

Revision ID: 0010
Revises: 0005, 0006, 0008, 0009
Create Date: 2026-11-22 22:10:22.542769
"""

from collections.abc import Sequence

revision: str = "0010"
# Four branches were built side by side on 0004 (0009 via 0007); this joins them into one head.
down_revision: str | tuple[str, ...] | None = ("0005", "0006", "0008", "0009")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
