"""Durable revocations and the change feed: ``changes`` (append-only log) and
``revoked_tokens`` (durable jti deny-list), see :mod:`authgate.store.models_changes`.
"""

import sqlalchemy as sa
from alembic import op

from authgate.store.models import UtcDateTime

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_changes_at", "changes", ["at"])
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.String(255), primary_key=True),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_revoked_tokens_expires_at", "revoked_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_table("revoked_tokens")
    op.drop_table("changes")
