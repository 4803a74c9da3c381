"""OAuth 2.0 device authorizations (RFC 8628): code digests, client, scopes, status."""

import sqlalchemy as sa
from alembic import op

from authgate.store.models import UtcDateTime

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "device_codes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("device_code_digest", sa.String(64), nullable=False),
        sa.Column("user_code_digest", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("interval", sa.Integer(), nullable=False),
        sa.Column("last_polled_at", UtcDateTime(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("auth_time", UtcDateTime(), nullable=True),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.Column("used_at", UtcDateTime(), nullable=True),
    )
    op.create_index(
        "ix_device_codes_device_code_digest", "device_codes", ["device_code_digest"], unique=True
    )
    op.create_index(
        "ix_device_codes_user_code_digest", "device_codes", ["user_code_digest"], unique=True
    )
    op.create_index("ix_device_codes_expires_at", "device_codes", ["expires_at"])
    op.create_index("ix_device_codes_user_id", "device_codes", ["user_id"])


def downgrade() -> None:
    op.drop_table("device_codes")
