"""OAuth 2.0 clients (RFC 6749 §2): public ids, secret digests, grants, redirect URIs."""

import sqlalchemy as sa
from alembic import op

from authgate.store.models import UtcDateTime

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "oauth_clients",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("secret_digest", sa.String(64), nullable=True),
        sa.Column("secret_prefix", sa.String(16), nullable=True),
        sa.Column("token_endpoint_auth_method", sa.String(32), nullable=False),
        sa.Column("jwks", sa.JSON(), nullable=True),
        sa.Column("grants", sa.JSON(), nullable=False),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("secret_rotated_at", UtcDateTime(), nullable=True),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_oauth_clients_client_id", "oauth_clients", ["client_id"], unique=True)
    op.create_index("ix_oauth_clients_user_id", "oauth_clients", ["user_id"])


def downgrade() -> None:
    op.drop_table("oauth_clients")
