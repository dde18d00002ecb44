"""board counts: issues by stage, status, priority and due week, kept by triggers for the board's totals

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03 12:40:00

Every change to an issue's stage or status, and every accountability row written, changed or removed,
appends rows of -1 (the key as it was) and +1 (the key as it is). Appending, never updating a counter
row, means concurrent writers never wait on each other here and cannot deadlock on counter rows; the
`issues.board_counts` job folds the rows into one per key.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSERT = "INSERT INTO board_counts (stage, status, priority, due_week, n)"

# The Monday (UTC) of the due date's week, as YYYY-MM-DD. By week, not day: 100,000 open issues due over
# a year made 61,000 keys by day. PostgreSQL stores timestamptz; SQLite UTC text 'YYYY-MM-DD HH:MM:SS...'
# (its 'weekday 1' moves forward to a Monday, so six days back first).
_PG_DAY = "to_char(date_trunc('week', {} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"
_SQLITE_DAY = "date({}, '-6 days', 'weekday 1')"


def _issue_key(row: str, sign: int, day: str) -> str:
    """The issue `row` (OLD or NEW) with its accountability as it now stands."""
    return (
        f"{_INSERT} SELECT {row}.stage, {row}.status, COALESCE(a.priority, ''), "
        f"COALESCE({day.format('a.due_at')}, ''), {sign} "
        f"FROM (SELECT 1) AS one LEFT JOIN issue_accountability a ON a.issue_id = {row}.id;"
    )


def _accountability_key(row: str, sign: int, day: str) -> str:
    """The accountability `row` (OLD or NEW) on its issue as it now stands (none once it is gone)."""
    return (
        f"{_INSERT} SELECT i.stage, i.status, {row}.priority, {day.format(row + '.due_at')}, {sign} "
        f"FROM experience_issues i WHERE i.id = {row}.issue_id;"
    )


def _no_accountability(row: str, sign: int) -> str:
    """The issue of accountability `row` as counted while it had none."""
    return (
        f"{_INSERT} SELECT i.stage, i.status, '', '', {sign} "
        f"FROM experience_issues i WHERE i.id = {row}.issue_id;"
    )


def _postgres() -> None:
    day = _PG_DAY
    op.execute(
        f"""
        CREATE FUNCTION board_counts_issue() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN {_issue_key("OLD", -1, day)} END IF;
            IF TG_OP IN ('UPDATE', 'INSERT') THEN {_issue_key("NEW", 1, day)} END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION board_counts_accountability() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN {_accountability_key("OLD", -1, day)} END IF;
            IF TG_OP = 'DELETE' THEN {_no_accountability("OLD", 1)} END IF;
            IF TG_OP IN ('UPDATE', 'INSERT') THEN {_accountability_key("NEW", 1, day)} END IF;
            IF TG_OP = 'INSERT' THEN {_no_accountability("NEW", -1)} END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER board_counts_issue_insert_delete AFTER INSERT OR DELETE ON experience_issues "
        "FOR EACH ROW EXECUTE FUNCTION board_counts_issue()"
    )
    op.execute(
        "CREATE TRIGGER board_counts_issue_update AFTER UPDATE OF stage, status ON experience_issues "
        "FOR EACH ROW WHEN (OLD.stage IS DISTINCT FROM NEW.stage OR OLD.status IS DISTINCT FROM NEW.status) "
        "EXECUTE FUNCTION board_counts_issue()"
    )
    op.execute(
        "CREATE TRIGGER board_counts_accountability_insert_delete "
        "AFTER INSERT OR DELETE ON issue_accountability "
        "FOR EACH ROW EXECUTE FUNCTION board_counts_accountability()"
    )
    op.execute(
        "CREATE TRIGGER board_counts_accountability_update "
        "AFTER UPDATE OF priority, due_at ON issue_accountability FOR EACH ROW "
        "WHEN (OLD.priority IS DISTINCT FROM NEW.priority OR OLD.due_at IS DISTINCT FROM NEW.due_at) "
        "EXECUTE FUNCTION board_counts_accountability()"
    )


def _sqlite() -> None:
    day = _SQLITE_DAY
    triggers = {
        "board_counts_issue_insert": ("AFTER INSERT ON experience_issues", [_issue_key("NEW", 1, day)]),
        "board_counts_issue_delete": ("AFTER DELETE ON experience_issues", [_issue_key("OLD", -1, day)]),
        "board_counts_issue_update": (
            "AFTER UPDATE OF stage, status ON experience_issues "
            "WHEN OLD.stage IS NOT NEW.stage OR OLD.status IS NOT NEW.status",
            [_issue_key("OLD", -1, day), _issue_key("NEW", 1, day)],
        ),
        "board_counts_accountability_insert": (
            "AFTER INSERT ON issue_accountability",
            [_accountability_key("NEW", 1, day), _no_accountability("NEW", -1)],
        ),
        "board_counts_accountability_delete": (
            "AFTER DELETE ON issue_accountability",
            [_accountability_key("OLD", -1, day), _no_accountability("OLD", 1)],
        ),
        "board_counts_accountability_update": (
            "AFTER UPDATE OF priority, due_at ON issue_accountability "
            "WHEN OLD.priority IS NOT NEW.priority OR OLD.due_at IS NOT NEW.due_at",
            [_accountability_key("OLD", -1, day), _accountability_key("NEW", 1, day)],
        ),
    }
    for name, (when, body) in triggers.items():
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN {' '.join(body)} END")


def upgrade() -> None:
    op.create_table(
        "board_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=2), nullable=False),
        sa.Column("due_week", sa.String(length=10), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_counts")),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    day = (_PG_DAY if postgres else _SQLITE_DAY).format("a.due_at")
    op.execute(
        f"{_INSERT} SELECT i.stage, i.status, COALESCE(a.priority, ''), COALESCE({day}, ''), COUNT(*) "
        "FROM experience_issues i LEFT JOIN issue_accountability a ON a.issue_id = i.id "
        f"GROUP BY i.stage, i.status, COALESCE(a.priority, ''), COALESCE({day}, '')"
    )
    if postgres:
        _postgres()
    else:
        _sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table in (
            ("board_counts_issue_insert_delete", "experience_issues"),
            ("board_counts_issue_update", "experience_issues"),
            ("board_counts_accountability_insert_delete", "issue_accountability"),
            ("board_counts_accountability_update", "issue_accountability"),
        ):
            op.execute(f"DROP TRIGGER {name} ON {table}")
        op.execute("DROP FUNCTION board_counts_issue()")
        op.execute("DROP FUNCTION board_counts_accountability()")
    else:
        for name in (
            "board_counts_issue_insert",
            "board_counts_issue_delete",
            "board_counts_issue_update",
            "board_counts_accountability_insert",
            "board_counts_accountability_delete",
            "board_counts_accountability_update",
        ):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("board_counts")
