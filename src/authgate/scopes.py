"""The scopes authgate itself gives meaning to, and a user's effective scopes.

Two scopes are reserved (docs/security.md, Scopes and admin power: a credential never
yields one with more power than itself):

- :data:`ADMIN_SCOPE` (``authgate:admin``): admin power. A caller acts as admin only
  when its role is ``admin`` *and* the credential it used carries this scope; a password
  login of an admin carries it, and so does a key of an admin that was given it.
- :data:`MANAGE_SCOPE` (``authgate:manage``): lets a delegated OAuth token (one issued
  to an OAuth client) use the management API (keys, clients, users, passwords, MFA,
  public keys, certificates). A client gets it only when it is registered with it and
  asks for it by name in ``scope``; the user is asked for it every time.

Imports nothing of authgate's, so every layer can use it.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["ADMIN_SCOPE", "MANAGE_SCOPE", "RESERVED_SCOPES", "user_scopes"]

#: Admin power on the credential (with the ``admin`` role).
ADMIN_SCOPE = "authgate:admin"
#: The management API for a delegated OAuth token (asked for and consented explicitly).
MANAGE_SCOPE = "authgate:manage"
#: Never granted by default: a credential carries them only when they are named.
RESERVED_SCOPES: tuple[str, ...] = (ADMIN_SCOPE, MANAGE_SCOPE)


def user_scopes(role: str, scopes: Iterable[str]) -> tuple[str, ...]:
    """A user's effective scopes: their own, plus ``authgate:admin`` for an admin.

    This is what a password login (or a certificate, a registered public key) of the
    user carries, and what a key created without scopes is given.
    """
    out = list(dict.fromkeys(scopes))
    if role == "admin" and ADMIN_SCOPE not in out:
        out.append(ADMIN_SCOPE)
    return tuple(out)
