"""core schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 20:43:05.985760
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import app.core.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("key_hash", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column(
            "scopes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_table(
        "experience_issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("moment", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("touchpoint", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("open_fingerprint", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("customer_count", sa.Integer(), nullable=False),
        sa.Column("detractor_count", sa.Integer(), nullable=False),
        sa.Column("impact", sa.Float(), nullable=False),
        sa.Column("first_seen", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_seen", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["experience_issues.id"],
            name=op.f("fk_experience_issues_merged_into_id_experience_issues"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experience_issues")),
        sa.UniqueConstraint("stage", "open_fingerprint", name="uq_issue_open_fingerprint"),
    )
    with op.batch_alter_table("experience_issues", schema=None) as batch_op:
        batch_op.create_index("ix_issue_stage_status", ["stage", "status"], unique=False)

    op.create_table(
        "journey_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("source_text", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_versions")),
        sa.UniqueConstraint("version", name=op.f("uq_journey_versions_version")),
    )
    op.create_table(
        "feedback_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("scale", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("touchpoint", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("customer_ref", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("persona", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("occurred_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "extra",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("moment", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("issue_id", sa.Integer(), nullable=True),
        sa.Column(
            "placement",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by_key_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_key_id"], ["api_keys.id"], name=op.f("fk_feedback_items_created_by_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["experience_issues.id"], name=op.f("fk_feedback_items_issue_id_experience_issues")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_items")),
        sa.UniqueConstraint("source", "external_id", name="uq_feedback_source_external_id"),
    )
    with op.batch_alter_table("feedback_items", schema=None) as batch_op:
        batch_op.create_index("ix_feedback_customer", ["customer_ref"], unique=False)
        batch_op.create_index("ix_feedback_issue", ["issue_id"], unique=False)
        batch_op.create_index("ix_feedback_stage_received", ["stage", "received_at"], unique=False)
        batch_op.create_index("ix_feedback_state", ["state"], unique=False)

    op.create_table(
        "idempotency_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("idem_key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column(
            "response_body",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_idempotency_records_api_key_id_api_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_records")),
        sa.UniqueConstraint("api_key_id", "idem_key", name="uq_idempotency_key"),
    )
    op.create_table(
        "issue_customers",
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("customer_ref", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["experience_issues.id"], name=op.f("fk_issue_customers_issue_id_experience_issues")
        ),
        sa.PrimaryKeyConstraint("issue_id", "customer_ref", name=op.f("pk_issue_customers")),
    )
    op.create_table(
        "issue_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("actor_key_id", sa.Integer(), nullable=True),
        sa.Column("at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column(
            "before",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "after",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["actor_key_id"], ["api_keys.id"], name=op.f("fk_issue_events_actor_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["experience_issues.id"], name=op.f("fk_issue_events_issue_id_experience_issues")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issue_events")),
    )
    with op.batch_alter_table("issue_events", schema=None) as batch_op:
        batch_op.create_index("ix_issue_events_issue", ["issue_id", "id"], unique=False)

    op.create_table(
        "issue_teams",
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("team", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["experience_issues.id"], name=op.f("fk_issue_teams_issue_id_experience_issues")
        ),
        sa.PrimaryKeyConstraint("issue_id", "team", name=op.f("pk_issue_teams")),
    )
    with op.batch_alter_table("issue_teams", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issue_teams_team"), ["team"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("issue_teams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issue_teams_team"))

    op.drop_table("issue_teams")
    with op.batch_alter_table("issue_events", schema=None) as batch_op:
        batch_op.drop_index("ix_issue_events_issue")

    op.drop_table("issue_events")
    op.drop_table("issue_customers")
    op.drop_table("idempotency_records")
    with op.batch_alter_table("feedback_items", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_state")
        batch_op.drop_index("ix_feedback_stage_received")
        batch_op.drop_index("ix_feedback_issue")
        batch_op.drop_index("ix_feedback_customer")

    op.drop_table("feedback_items")
    op.drop_table("journey_versions")
    with op.batch_alter_table("experience_issues", schema=None) as batch_op:
        batch_op.drop_index("ix_issue_stage_status")

    op.drop_table("experience_issues")
    op.drop_table("api_keys")
