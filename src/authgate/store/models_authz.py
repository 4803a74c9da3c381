"""SQLAlchemy models of the browser side of the authorization server.

``authorization_codes`` (RFC 6749 §4.1.2: short-lived, single use, bound to the client and
redirect URI; RFC 7636 §4.4: the PKCE ``code_challenge``) stores codes as keyed digests
only, and remembers the refresh family started when the code was redeemed so that a
second redemption can revoke what the first one issued (RFC 6749 §4.1.2, RFC 9700
§4.5.3). ``consents`` remembers, per user and client, the scopes the user approved
(so the consent page is shown only for new scopes). ``login_sessions`` are the browser
sessions of ``/oauth/authorize`` (cookie value stored as a keyed digest; rotated at
login, revoked at logout).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from authgate.store.models import Base

__all__ = ["AuthorizationCodeRecord", "ConsentRecord", "LoginSessionRecord"]


class AuthorizationCodeRecord(Base):
    """One authorization code (digest only) and the request it answers."""

    __tablename__ = "authorization_codes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    redirect_uri_given: Mapped[bool]
    scopes: Mapped[list[str]]
    nonce: Mapped[str | None] = mapped_column(String(512))
    code_challenge: Mapped[str] = mapped_column(String(128))
    auth_time: Mapped[datetime]
    amr: Mapped[list[str]]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    replayed_at: Mapped[datetime | None]
    family_id: Mapped[str | None] = mapped_column(String(32))


class ConsentRecord(Base):
    """The scopes a user approved for a client."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("user_id", "client_id", name="uq_consents_user_client"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LoginSessionRecord(Base):
    """A signed-in browser (the cookie's keyed digest, never the cookie)."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    auth_time: Mapped[datetime]
    amr: Mapped[list[str]]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
