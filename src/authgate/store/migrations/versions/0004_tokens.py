"""Signing keys (sealed private JWKs) and refresh tokens (digests, rotation families)."""

import sqlalchemy as sa
from alembic import op

from authgate.store.models import UtcDateTime

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("private_sealed", sa.Text(), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("activated_at", UtcDateTime(), nullable=True),
        sa.Column("retired_at", UtcDateTime(), nullable=True),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_signing_keys_algorithm", "signing_keys", ["algorithm"])
    op.create_index("ix_signing_keys_state", "signing_keys", ["state"])
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("family_id", sa.String(32), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("credential_id", sa.String(32), sa.ForeignKey("credentials.id"), nullable=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("absolute_expires_at", UtcDateTime(), nullable=False),
        sa.Column("auth_time", UtcDateTime(), nullable=False),
        sa.Column("used_at", UtcDateTime(), nullable=True),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.Column("replaced_by", sa.String(32), nullable=True),
        sa.Column("access_jti", sa.String(64), nullable=True),
        sa.Column("access_expires_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"])
    op.create_index("ix_refresh_tokens_digest", "refresh_tokens", ["digest"], unique=True)
    op.create_index("ix_refresh_tokens_user_id", "refresh_tokens", ["user_id"])


def downgrade() -> None:
    op.drop_table("refresh_tokens")
    op.drop_table("signing_keys")
