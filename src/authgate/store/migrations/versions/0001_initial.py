"""Initial schema: users, credentials, audit events."""

import sqlalchemy as sa
from alembic import op

from authgate.store.models import UtcDateTime

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("password_changed_at", UtcDateTime(), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
    )
    op.create_index("ix_users_name", "users", ["name"], unique=True)
    op.create_table(
        "credentials",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_digest", sa.String(64), nullable=False),
        sa.Column("secret_sealed", sa.Text(), nullable=True),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.Column("last_used_at", UtcDateTime(), nullable=True),
        sa.Column("rotated_from_id", sa.String(32), sa.ForeignKey("credentials.id"), nullable=True),
    )
    op.create_index("ix_credentials_user_id", "credentials", ["user_id"])
    op.create_index("ix_credentials_key_digest", "credentials", ["key_digest"], unique=True)
    op.create_table(
        "audit_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(32), nullable=True),
        sa.Column("actor", sa.String(128), nullable=True),
        sa.Column("target_user_id", sa.String(32), nullable=True),
        sa.Column("credential_id", sa.String(32), nullable=True),
        sa.Column("scheme", sa.String(32), nullable=True),
        sa.Column("client_ip", sa.String(64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.create_index("ix_audit_events_event", "audit_events", ["event"])
    op.create_index("ix_audit_events_actor_id", "audit_events", ["actor_id"])
    op.create_index("ix_audit_events_target_user_id", "audit_events", ["target_user_id"])


def downgrade() -> None:
    op.drop_table("audit_events")
    op.drop_table("credentials")
    op.drop_table("users")
