"""Actions: idempotency keys for action requests, and the numbers `switchboard numbers connect` points at us.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.models.base import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.JSON(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_idempotency_keys"),
    )
    op.create_table(
        "number_connections",
        sa.Column("account_sid", sa.String(64), nullable=False),
        sa.Column("phone_number", sa.String(64), nullable=False),
        sa.Column("number_sid", sa.String(64), nullable=False),
        sa.Column("sms_url", sa.Text(), nullable=True),
        sa.Column("sms_method", sa.String(16), nullable=True),
        sa.Column("voice_url", sa.Text(), nullable=True),
        sa.Column("voice_method", sa.String(16), nullable=True),
        sa.Column("status_callback", sa.Text(), nullable=True),
        sa.Column("status_callback_method", sa.String(16), nullable=True),
        sa.Column("connected_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_sid", "phone_number", name="pk_number_connections"),
    )


def downgrade() -> None:
    op.drop_table("number_connections")
    op.drop_table("idempotency_keys")
