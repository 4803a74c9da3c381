"""Multi-factor authentication: TOTP factors (RFC 6238) and recovery codes."""

import sqlalchemy as sa
from alembic import op

from authgate.store.models import UtcDateTime

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "totp_factors",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("secret_sealed", sa.Text(), nullable=False),
        sa.Column("algorithm", sa.String(8), nullable=False),
        sa.Column("digits", sa.Integer(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("confirmed_at", UtcDateTime(), nullable=True),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_totp_factors_user_id", "totp_factors", ["user_id"], unique=True)
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("code_digest", sa.String(64), nullable=False),
        sa.Column("used_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_recovery_codes_user_id", "recovery_codes", ["user_id"])
    op.create_index("ix_recovery_codes_code_digest", "recovery_codes", ["code_digest"], unique=True)


def downgrade() -> None:
    op.drop_table("recovery_codes")
    op.drop_table("totp_factors")
