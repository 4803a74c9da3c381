"""The scope rule of DESIGN.md, sans-I/O: :func:`granted_scopes`, :func:`is_admin`,
:func:`check_grant` on plain users and identities."""

from __future__ import annotations

import pytest

from authgate.accounts.users import check_grant, effective_scopes, granted_scopes, is_admin
from authgate.errors import InvalidScope
from authgate.identity import Identity
from authgate.runtime import LOCAL_ADMIN
from authgate.scopes import ADMIN_SCOPE, MANAGE_SCOPE, RESERVED_SCOPES
from authgate.store.models import User


def user(name: str, role: str = "member", scopes: tuple[str, ...] = ()) -> User:
    return User(id=name, name=name, role=role, scopes=list(scopes), disabled=False)


def key(owner: User, *scopes: str) -> Identity:
    return Identity(
        subject=owner.name,
        principal_id=owner.id,
        scheme="apikey",
        credential_id="k",
        scopes=scopes,
        roles=(owner.role,),
    )


ROOT = user("root", "admin", ("ops",))
BOB = user("bob", scopes=("read", "write"))


def test_unscoped_credential_is_not_admin() -> None:
    assert not is_admin(key(ROOT))  # the old "empty means everything" is gone
    assert not is_admin(key(ROOT, "read"))
    assert is_admin(key(ROOT, "read", ADMIN_SCOPE))
    assert not is_admin(key(BOB, ADMIN_SCOPE))  # the scope without the role
    assert is_admin(LOCAL_ADMIN)


def test_effective_scopes_add_admin_scope_for_admins() -> None:
    assert effective_scopes(ROOT) == [ADMIN_SCOPE, "ops"]
    assert effective_scopes(BOB) == ["read", "write"]


def test_default_scopes_narrowed_to_the_creating_credential() -> None:
    assert granted_scopes(LOCAL_ADMIN, ROOT, None) == [ADMIN_SCOPE, "ops"]
    assert granted_scopes(LOCAL_ADMIN, BOB, []) == ["read", "write"]
    assert granted_scopes(key(ROOT, "read"), ROOT, None) == ["read"]
    assert granted_scopes(key(BOB, "read"), BOB, None) == ["read"]
    clients = granted_scopes(LOCAL_ADMIN, ROOT, None, defaults_exclude=RESERVED_SCOPES)
    assert clients == ["ops"]


def test_empty_result_refused_unless_owner_holds_nothing() -> None:
    with pytest.raises(InvalidScope, match="no scopes"):
        granted_scopes(key(BOB), BOB, None)  # a key whose scopes the owner lost
    assert granted_scopes(key(BOB), BOB, None, allow_empty=True) == []
    assert granted_scopes(LOCAL_ADMIN, user("plain"), None) == []


def test_named_scopes_within_owner_and_creator() -> None:
    with pytest.raises(InvalidScope):
        granted_scopes(key(ROOT, "read"), ROOT, ["write"])
    with pytest.raises(InvalidScope):
        granted_scopes(LOCAL_ADMIN, BOB, [ADMIN_SCOPE])  # admin scope only for admins
    with pytest.raises(InvalidScope):
        granted_scopes(LOCAL_ADMIN, BOB, ["deploy"])  # the owner does not hold it
    assert granted_scopes(LOCAL_ADMIN, ROOT, ["anything"]) == ["anything"]
    with pytest.raises(InvalidScope):
        check_grant(key(BOB, "read"), [MANAGE_SCOPE])
