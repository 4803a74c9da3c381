"""The shared credential life cycle, sans-I/O: who sees whose, statuses, views from rows,
the audit record a view makes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from authgate.accounts.keys import KeyView
from authgate.accounts.lifecycle import may_see, status
from authgate.accounts.pki import CertificateView, PublicKeyView
from authgate.identity import Identity
from authgate.oauth.clients import ClientView
from authgate.runtime import LOCAL_ADMIN
from authgate.scopes import ADMIN_SCOPE
from authgate.store.models import Credential
from authgate.store.models_oauth import OAuthClientRecord

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def member(principal_id: str, *scopes: str, role: str = "member") -> Identity:
    return Identity(
        subject=principal_id,
        principal_id=principal_id,
        scheme="apikey",
        scopes=scopes,
        roles=(role,),
    )


def test_a_member_sees_only_their_own() -> None:
    assert may_see(member("u1"), "u1")
    assert not may_see(member("u1"), "u2")
    assert not may_see(member("u1"), None)  # an unowned client: admins only


def test_an_admin_sees_all_only_with_an_admin_credential() -> None:
    assert may_see(LOCAL_ADMIN, "u2")
    assert may_see(LOCAL_ADMIN, None)
    assert may_see(member("root", ADMIN_SCOPE, role="admin"), "u2")
    assert not may_see(member("root", "read", role="admin"), "u2")  # key without the scope
    assert not may_see(member("bob", ADMIN_SCOPE), "u2")  # the scope without the role


def test_status() -> None:
    assert status(None, None, NOW) == "active"
    assert status(None, NOW + timedelta(seconds=1), NOW) == "active"
    assert status(None, NOW, NOW) == "expired"
    assert status(NOW, NOW + timedelta(days=1), NOW) == "revoked"


def credential(**over: object) -> Credential:
    values: dict[str, object] = {
        "id": "c1",
        "user_id": "u1",
        "type": "api-key",
        "name": "ci",
        "prefix": "agk_abc",
        "key_digest": "d",
        "secret_sealed": None,
        "scopes": ["read"],
        "created_at": NOW,
        "expires_at": None,
        "revoked_at": None,
        "last_used_at": None,
        "rotated_from_id": "c0",
    }
    values.update(over)
    return Credential(**values)


def test_key_view_from_a_row() -> None:
    row = credential()
    view = KeyView.of(row, "alice", True)
    assert (view.id, view.user_id, view.user, view.rotated_from) == ("c1", "u1", "alice", "c0")
    assert view.scopes == ["read"] and view.scopes is not row.scopes  # a copy
    assert view.status(NOW) == "disabled"
    assert KeyView.of(credential(revoked_at=NOW), "alice", True).status(NOW) == "revoked"


def test_a_view_audits_its_own_detail() -> None:
    view = KeyView.of(credential(), "alice")
    record = view.audit("key.rotated", LOCAL_ADMIN, "10.0.0.1", grace_seconds=0)
    assert record.event == "key.rotated"
    assert record.credential_id == "c1" and record.target_user_id == "u1"
    assert record.detail == {
        "type": "api-key",
        "prefix": "agk_abc",
        "name": "ci",
        "grace_seconds": 0,
    }


def test_client_view_of_an_unowned_client() -> None:
    row = OAuthClientRecord(
        id="r1",
        client_id="agc_x",
        name="svc",
        public=False,
        secret_digest=None,
        secret_prefix="acs_abc",
        token_endpoint_auth_method="client_secret_basic",
        jwks={"keys": []},
        grants=["client_credentials"],
        redirect_uris=[],
        scopes=["a"],
        user_id=None,
        created_at=NOW,
        secret_rotated_at=None,
        revoked_at=None,
    )
    view = ClientView.of(row, None)
    assert view.user is None and view.has_jwks
    assert view.as_json()["status"] == "active"
    assert view.audit("client.deleted", LOCAL_ADMIN, None).detail == {
        "client_id": "agc_x",
        "name": "svc",
        "grants": ["client_credentials"],
    }


def test_pki_views_keep_their_audit_detail() -> None:
    assert PublicKeyView.audit_fields == ("key_id", "algorithm", "name")
    assert CertificateView.audit_fields == ("thumbprint_sha256", "subject", "name")
