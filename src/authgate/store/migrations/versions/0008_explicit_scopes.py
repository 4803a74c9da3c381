"""Explicit scopes on every credential: an admin's key without scopes gets them written.

Before 0008 a key stored without scopes meant "no scopes" for a member but "everything"
(admin power included) for an admin. From 0008 on a credential's scopes are exactly what
is stored, and admin power needs ``authgate:admin`` on the credential. So that no key
silently changes power, every admin-owned key, key pair or temporary credential stored
without scopes gets its owner's effective scopes now: the owner's scopes plus
``authgate:admin``. A member's key stored without scopes already meant "none" and stays
as it is (writing the member's scopes would widen it). OAuth clients never had the
"empty = unrestricted" meaning (an empty client grants no scopes), so they are unchanged.

Scopes are a JSON column, so the rows are read and written through SQLAlchemy on both
SQLite and PostgreSQL (no dialect-specific JSON operators).
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"

ADMIN_SCOPE = "authgate:admin"  # authgate.scopes.ADMIN_SCOPE, frozen as of this revision

_users = sa.table(
    "users", sa.column("id", sa.String), sa.column("role", sa.String), sa.column("scopes", sa.JSON)
)
_credentials = sa.table(
    "credentials",
    sa.column("id", sa.String),
    sa.column("user_id", sa.String),
    sa.column("scopes", sa.JSON),
)


def _effective(user_scopes: Any) -> list[str]:
    held = [s for s in (user_scopes or []) if isinstance(s, str)]
    return sorted({*held, ADMIN_SCOPE})


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_credentials.c.id, _credentials.c.scopes, _users.c.scopes)
        .join(_users, _users.c.id == _credentials.c.user_id)
        .where(_users.c.role == "admin")
    ).all()
    for cred_id, scopes, owner_scopes in rows:
        if scopes:  # already explicit: its meaning does not change
            continue
        conn.execute(
            sa.update(_credentials)
            .where(_credentials.c.id == cred_id)
            .values(scopes=_effective(owner_scopes))
        )


def downgrade() -> None:
    # Nothing to undo: under the old rules an admin's key with the owner's scopes plus
    # authgate:admin has the same admin power as one without scopes, and which keys were
    # empty before the upgrade is not recorded.
    pass
