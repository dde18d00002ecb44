"""board filter counts: the board's kept counts per team, persona and source, kept by triggers

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03 15:40:00

`issue_filters` holds one row for each persona and source filter an issue matches (its facets without
their counts; app.issues.facets keeps it), and `issue_teams` one for each team. A row added or removed
there appends +1 or -1 to `board_filter_counts` under the issue's key (stage, status, priority, due week,
as in `board_counts`); a change to the issue's stage or status, or to its accountability, appends -1 and
+1 for every filter it matches. One row per match, so a trigger never has to ask whether it is the
first: the primary key already said so.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSERT = "INSERT INTO board_filter_counts (kind, value, stage, status, priority, due_week, n)"
# As in 0028: the Monday (UTC) of the due date's week, YYYY-MM-DD.
_PG_DAY = "to_char(date_trunc('week', {} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"
_SQLITE_DAY = "date({}, '-6 days', 'weekday 1')"


def _matches(issue: str) -> str:
    """Every filter the issue `issue` (an id expression) matches, as (kind, value) rows."""
    return (
        f"(SELECT kind, value FROM issue_filters WHERE issue_id = {issue} "
        f"UNION ALL SELECT 'team', team FROM issue_teams WHERE issue_id = {issue})"
    )


def _match_key(kind: str, value: str, row: str, sign: int, day: str) -> str:
    """A filter row `row` (OLD or NEW) added or removed, under its issue's key as it now stands."""
    return (
        f"{_INSERT} SELECT {kind}, {value}, i.stage, i.status, "
        f"COALESCE(a.priority, ''), COALESCE({day.format('a.due_at')}, ''), {sign} "
        f"FROM experience_issues i LEFT JOIN issue_accountability a ON a.issue_id = i.id "
        f"WHERE i.id = {row}.issue_id;"
    )


def _issue_key(row: str, sign: int, day: str) -> str:
    """Every filter of the issue `row` (OLD or NEW), with its accountability as it now stands."""
    return (
        f"{_INSERT} SELECT m.kind, m.value, {row}.stage, {row}.status, COALESCE(a.priority, ''), "
        f"COALESCE({day.format('a.due_at')}, ''), {sign} "
        f"FROM {_matches(row + '.id')} AS m LEFT JOIN issue_accountability a ON a.issue_id = {row}.id;"
    )


def _accountability_key(row: str, sign: int, day: str) -> str:
    """Every filter of the accountability `row`'s (OLD or NEW) issue, under that accountability."""
    return (
        f"{_INSERT} SELECT m.kind, m.value, i.stage, i.status, {row}.priority, "
        f"{day.format(row + '.due_at')}, {sign} "
        f"FROM {_matches(row + '.issue_id')} AS m JOIN experience_issues i ON i.id = {row}.issue_id;"
    )


def _no_accountability(row: str, sign: int) -> str:
    """Every filter of the accountability `row`'s issue, as counted while it had none."""
    return (
        f"{_INSERT} SELECT m.kind, m.value, i.stage, i.status, '', '', {sign} "
        f"FROM {_matches(row + '.issue_id')} AS m JOIN experience_issues i ON i.id = {row}.issue_id;"
    )


def _bodies(day: str) -> dict[str, tuple[str, list[str]]]:
    """Trigger name -> (when, statements), the same on both databases."""
    return {
        "board_filter_counts_filter_insert": (
            "AFTER INSERT ON issue_filters",
            [_match_key("NEW.kind", "NEW.value", "NEW", 1, day)],
        ),
        "board_filter_counts_filter_delete": (
            "AFTER DELETE ON issue_filters",
            [_match_key("OLD.kind", "OLD.value", "OLD", -1, day)],
        ),
        "board_filter_counts_team_insert": (
            "AFTER INSERT ON issue_teams",
            [_match_key("'team'", "NEW.team", "NEW", 1, day)],
        ),
        "board_filter_counts_team_delete": (
            "AFTER DELETE ON issue_teams",
            [_match_key("'team'", "OLD.team", "OLD", -1, day)],
        ),
        "board_filter_counts_issue_update": (
            "AFTER UPDATE OF stage, status ON experience_issues",
            [_issue_key("OLD", -1, day), _issue_key("NEW", 1, day)],
        ),
        "board_filter_counts_accountability_insert": (
            "AFTER INSERT ON issue_accountability",
            [_accountability_key("NEW", 1, day), _no_accountability("NEW", -1)],
        ),
        "board_filter_counts_accountability_delete": (
            "AFTER DELETE ON issue_accountability",
            [_accountability_key("OLD", -1, day), _no_accountability("OLD", 1)],
        ),
        "board_filter_counts_accountability_update": (
            "AFTER UPDATE OF priority, due_at ON issue_accountability",
            [_accountability_key("OLD", -1, day), _accountability_key("NEW", 1, day)],
        ),
    }


# Only when the key moves (as in 0028); PostgreSQL and SQLite spell "differs" apart.
_CHANGED = {
    "board_filter_counts_issue_update": ("stage", "status"),
    "board_filter_counts_accountability_update": ("priority", "due_at"),
}


def _postgres() -> None:
    for name, (when, body) in _bodies(_PG_DAY).items():
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {' '.join(body)} RETURN NULL; END $$"
        )
        columns = _CHANGED.get(name)
        condition = (
            " WHEN (" + " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns) + ")"
            if columns
            else ""
        )
        op.execute(f"CREATE TRIGGER {name} {when} FOR EACH ROW{condition} EXECUTE FUNCTION {name}()")


def _sqlite() -> None:
    for name, (when, body) in _bodies(_SQLITE_DAY).items():
        columns = _CHANGED.get(name)
        condition = " WHEN " + " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns) if columns else ""
        op.execute(f"CREATE TRIGGER {name} {when}{condition} BEGIN {' '.join(body)} END")


def upgrade() -> None:
    op.create_table(
        "issue_filters",
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["experience_issues.id"], name=op.f("fk_issue_filters_issue_id_experience_issues")
        ),
        sa.PrimaryKeyConstraint("issue_id", "kind", "value", name=op.f("pk_issue_filters")),
    )
    op.create_table(
        "board_filter_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("stage", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=2), nullable=False),
        sa.Column("due_week", sa.String(length=10), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_filter_counts")),
    )
    op.create_index("ix_board_filter_counts_kind_value", "board_filter_counts", ["kind", "value"])
    postgres = op.get_bind().dialect.name == "postgresql"
    op.execute(
        "INSERT INTO issue_filters (issue_id, kind, value) "
        "SELECT DISTINCT issue_id, 'persona', persona FROM issue_facets"
    )
    op.execute(
        "INSERT INTO issue_filters (issue_id, kind, value) SELECT DISTINCT issue_id, 'source', "
        "CASE WHEN staff THEN 'staff' ELSE 'customers' END FROM issue_facets"
    )
    day = (_PG_DAY if postgres else _SQLITE_DAY).format("a.due_at")
    op.execute(
        f"{_INSERT} SELECT m.kind, m.value, i.stage, i.status, COALESCE(a.priority, ''), "
        f"COALESCE({day}, ''), COUNT(*) FROM (SELECT issue_id, kind, value FROM issue_filters "
        "UNION ALL SELECT issue_id, 'team', team FROM issue_teams) AS m "
        "JOIN experience_issues i ON i.id = m.issue_id LEFT JOIN issue_accountability a ON a.issue_id = i.id "
        f"GROUP BY m.kind, m.value, i.stage, i.status, COALESCE(a.priority, ''), COALESCE({day}, '')"
    )
    if postgres:
        _postgres()
    else:
        _sqlite()


_TABLES = {
    "board_filter_counts_filter_insert": "issue_filters",
    "board_filter_counts_filter_delete": "issue_filters",
    "board_filter_counts_team_insert": "issue_teams",
    "board_filter_counts_team_delete": "issue_teams",
    "board_filter_counts_issue_update": "experience_issues",
    "board_filter_counts_accountability_insert": "issue_accountability",
    "board_filter_counts_accountability_delete": "issue_accountability",
    "board_filter_counts_accountability_update": "issue_accountability",
}


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, table in _TABLES.items():
        op.execute(f"DROP TRIGGER {name} ON {table}" if postgres else f"DROP TRIGGER {name}")
        if postgres:
            op.execute(f"DROP FUNCTION {name}()")
    op.drop_index("ix_board_filter_counts_kind_value", table_name="board_filter_counts")
    op.drop_table("board_filter_counts")
    op.drop_table("issue_filters")
