"""Authorization codes, consents and browser login sessions (``/oauth/authorize``)."""

import sqlalchemy as sa
from alembic import op

from authgate.store.models import UtcDateTime

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "authorization_codes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("redirect_uri", sa.String(2000), nullable=False),
        sa.Column("redirect_uri_given", sa.Boolean(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("nonce", sa.String(512), nullable=True),
        sa.Column("code_challenge", sa.String(128), nullable=False),
        sa.Column("auth_time", UtcDateTime(), nullable=False),
        sa.Column("amr", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("used_at", UtcDateTime(), nullable=True),
        sa.Column("replayed_at", UtcDateTime(), nullable=True),
        sa.Column("family_id", sa.String(32), nullable=True),
    )
    op.create_index("ix_authorization_codes_digest", "authorization_codes", ["digest"], unique=True)
    op.create_index("ix_authorization_codes_user_id", "authorization_codes", ["user_id"])
    op.create_table(
        "consents",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("user_id", "client_id", name="uq_consents_user_client"),
    )
    op.create_index("ix_consents_user_id", "consents", ["user_id"])
    op.create_table(
        "login_sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("auth_time", UtcDateTime(), nullable=False),
        sa.Column("amr", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_login_sessions_digest", "login_sessions", ["digest"], unique=True)
    op.create_index("ix_login_sessions_user_id", "login_sessions", ["user_id"])


def downgrade() -> None:
    op.drop_table("login_sessions")
    op.drop_table("consents")
    op.drop_table("authorization_codes")
