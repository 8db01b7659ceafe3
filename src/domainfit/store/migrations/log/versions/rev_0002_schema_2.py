"""prediction log schema 2: the client's X-Request-ID and the API key ids beside the server's request id

Revision ID: log_0002
Revises: log_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "log_0002"
down_revision = "log_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("predictions", sa.Column("client_request_id", sa.Text()))
    op.add_column("predictions", sa.Column("key_id", sa.Text()))
    op.add_column("feedback", sa.Column("key_id", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.drop_column("key_id")
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("key_id")
        batch.drop_column("client_request_id")
