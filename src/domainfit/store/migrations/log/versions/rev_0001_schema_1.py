"""prediction log schema 1: predictions, feedback (one correction per request item), meta (key/value)

Revision ID: log_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "log_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "predictions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("request_id", sa.Text()),
        sa.Column("item", sa.Integer(), nullable=False),
        sa.Column("model", sa.Text()),
        sa.Column("version", sa.Text()),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text()),
        sa.Column("label", sa.Text()),
        sa.Column("score", sa.Float()),
        sa.Column("output", sa.Text(), nullable=False),
    )
    op.create_index("predictions_ts", "predictions", ["ts"])
    op.create_index("predictions_request", "predictions", ["request_id", "item"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("request_id", sa.Text(), nullable=False),
        sa.Column("item", sa.Integer(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("source", sa.Text()),
        sa.UniqueConstraint("request_id", "item", name="feedback_request_item"),
    )
    op.create_table("meta", sa.Column("key", sa.Text(), primary_key=True), sa.Column("value", sa.Text(), nullable=False))


def downgrade() -> None:
    for table in ("meta", "feedback", "predictions"):
        op.drop_table(table)
