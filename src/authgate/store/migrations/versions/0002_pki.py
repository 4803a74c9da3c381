"""Registered public keys and client certificates."""

import sqlalchemy as sa
from alembic import op

from authgate.store.models import UtcDateTime

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "public_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("key_id", sa.String(200), nullable=False),
        sa.Column("algorithm", sa.String(32), nullable=False),
        sa.Column("public_key_pem", sa.Text(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_public_keys_user_id", "public_keys", ["user_id"])
    op.create_index("ix_public_keys_key_id", "public_keys", ["key_id"], unique=True)
    op.create_table(
        "certificates",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("thumbprint_sha256", sa.String(64), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("san", sa.JSON(), nullable=False),
        sa.Column("not_before", UtcDateTime(), nullable=False),
        sa.Column("not_after", UtcDateTime(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_certificates_user_id", "certificates", ["user_id"])
    op.create_index(
        "ix_certificates_thumbprint_sha256", "certificates", ["thumbprint_sha256"], unique=True
    )


def downgrade() -> None:
    op.drop_table("certificates")
    op.drop_table("public_keys")
