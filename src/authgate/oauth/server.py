"""The OAuth 2.0 endpoints' logic over the stores: token, introspection, revocation.

``/oauth/token`` selects the grant handler of ``grant_type`` in its registry
(:mod:`.grants`: RFC 6749 §4.1 authorization code, §4.4 client credentials, §6 refresh,
RFC 8628 §3.4 device code), authenticates the client (RFC 6749 §2.3, RFC 7523 §3 with
single-use assertion ``jti``), checks the client is registered for the grant, and hands
the request over; an unknown, ``password`` or ``implicit`` grant is
``unsupported_grant_type`` (RFC 6749 §5.2, RFC 9700 §2.4). RFC 7662 §2 (introspection:
confidential clients only, ``active`` false for anything unknown, expired, revoked or
not ours); RFC 7009 §2 (revocation: a refresh token revokes its family, an access token
goes on the ``jti`` deny-list, unknown or foreign tokens get the same 200).

The decisions are sans-I/O (:mod:`.client_auth`, :mod:`.grant_rules`, :mod:`.form`);
this module only looks things up (the cached client record, the refresh-token row, the
deny-list) and calls them. The HTTP adapter is :mod:`authgate.server.routes_oauth`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select

from authgate.audit.events import AuditRecord
from authgate.audit.sinks import AuditSink
from authgate.crypto.digest import Digester
from authgate.errors import (
    AuthError,
    InsufficientScope,
    InvalidCredentials,
    InvalidRequest,
    PayloadTooLarge,
)
from authgate.http.client_certs import ClientCertificates
from authgate.http.proxies import TrustedProxies
from authgate.identity import Identity
from authgate.oauth.client_auth import PresentedClient, extract_client, verify_client
from authgate.oauth.clients import ClientRecord, ClientService
from authgate.oauth.codes import AuthorizationCodes
from authgate.oauth.consents import Consents
from authgate.oauth.device import DeviceService
from authgate.oauth.errors import invalid_client
from authgate.oauth.grant_rules import check_grant_allowed, required
from authgate.oauth.grants.base import TokenRequest
from authgate.oauth.grants.registry import GrantRegistry, default_grants
from authgate.oauth.security_events import (
    client_auth_failure,
    refresh_reuse,
)
from authgate.replay import ReplayCache
from authgate.store.db import Database
from authgate.store.models import User
from authgate.store.models_tokens import RefreshTokenRecord
from authgate.tokens.claims import invalid_token
from authgate.tokens.id_tokens import IdTokenIssuer
from authgate.tokens.refresh import REFRESH_TOKEN_PREFIX
from authgate.tokens.services import TokenServices

__all__ = ["INACTIVE", "OAuthServer"]

#: RFC 7662 §2.2: the whole answer for any token that is not active.
INACTIVE: dict[str, Any] = {"active": False}
_MAX_TOKEN = 16 * 1024


class OAuthServer:
    """Token, introspection and revocation endpoints.

    Args:
        clients: registered clients (cached lookups).
        tokens: authgate's token services (signing, refresh families, deny-list).
        replay: remembers used client-assertion ``jti`` values.
        db: the database (refresh-token rows, users).
        digester: keyed digests (authorization codes).
        certificates: reads client certificates (certificate-bound tokens, RFC 8705).
        audit: records user-delegated token grants and authorization-code replays.
        clock: seconds since the epoch.
        grants: the grant handlers ``/oauth/token`` dispatches to by ``grant_type``
            (default: :func:`~authgate.oauth.grants.default_grants`).
    """

    def __init__(
        self,
        clients: ClientService,
        tokens: TokenServices,
        replay: ReplayCache,
        db: Database,
        digester: Digester,
        *,
        certificates: ClientCertificates | None = None,
        audit: AuditSink | None = None,
        clock: Callable[[], float] = time.time,
        grants: GrantRegistry | None = None,
    ) -> None:
        self.clients = clients
        self.grants = default_grants() if grants is None else grants
        self._audit = audit
        self.certificates = certificates or ClientCertificates(TrustedProxies(()))
        self.tokens = tokens
        self._replay = replay
        self._db = db
        self._clock = clock
        self.digester = digester
        self.codes = AuthorizationCodes(db, digester, tokens.refresh, clock=clock)
        self.consents = Consents(db, clock=clock)
        self.id_tokens = IdTokenIssuer(
            tokens.signing,
            issuer=tokens.config.issuer,
            lifetime=tokens.config.access_token_lifetime,
            clock=clock,
        )
        self.issuer = tokens.config.issuer.rstrip("/")
        self.device = DeviceService(
            db, digester, verification_uri=self.issuer + "/oauth/device", clock=clock
        )
        self.token_endpoint = self.issuer + "/oauth/token"
        self._audiences = (self.token_endpoint, self.issuer, self.issuer + "/")

    # -- client authentication ----------------------------------------------------------

    async def authenticate(
        self,
        authorization: str | None,
        form: Mapping[str, str],
        *,
        confidential: bool,
        client_ip: str | None = None,
        path: str = "/oauth/token",
    ) -> ClientRecord:
        """The authenticated client of a request.

        Every failure is audited (``auth.failure``: the endpoint, the claimed client id,
        the method, the trusted client IP and the reason — never a secret or an
        assertion): these endpoints authenticate clients themselves, so the scheme
        chain's record does not cover them.

        Args:
            authorization: the ``Authorization`` header.
            form: the form parameters.
            confidential: refuse public clients (introspection).
            client_ip: the trusted client IP, for the audit record.
            path: the endpoint, for the audit record.

        Raises:
            InvalidClient: no, unknown, wrong or replayed client credentials.
            InvalidRequest: more than one authentication method.
        """
        presented: PresentedClient | None = None
        record: ClientRecord | None = None
        try:
            presented = extract_client(authorization, form)
            if presented is None:
                raise invalid_client("no client credentials", basic=True)
            record = await self.clients.lookup(presented.client_id)
            assertion = verify_client(
                presented,
                record,
                secret_digest=self.clients.secret_digest,
                audiences=self._audiences,
                now=self._clock(),
                leeway=self.tokens.config.leeway,
            )
            assert record is not None  # noqa: S101 - verify_client raises for unknown clients
            if assertion is not None and not await self._replay.check_and_store(
                assertion.replay_key, assertion.ttl
            ):
                raise invalid_client("assertion jti replayed", basic=False)
            if confidential and record.public:
                raise invalid_client("public client at a confidential endpoint", basic=False)
        except AuthError as exc:
            await self.record(
                client_auth_failure(exc, presented, record, path=path, client_ip=client_ip)
            )
            raise
        return record

    # -- /oauth/token -------------------------------------------------------------------

    async def token(
        self,
        authorization: str | None,
        form: Mapping[str, str],
        *,
        x5t_s256: str | None = None,
        client_ip: str | None = None,
    ) -> dict[str, Any]:
        """Run a token request; returns the RFC 6749 §5.1 response body.

        Args:
            authorization: the ``Authorization`` header.
            form: the form parameters.
            x5t_s256: the thumbprint of the client certificate the request came with (a
                trusted proxy's header or direct TLS); the access token is then bound to
                it (RFC 8705 §3: ``cnf``), and works only with that certificate.
            client_ip: the trusted client IP (audit records).

        Raises:
            AuthError: an RFC 6749 §5.2 error (see :mod:`authgate.oauth.errors`).
        """
        handler = self.grants.select(form.get("grant_type"))
        client = await self.authenticate(
            authorization, form, confidential=False, client_ip=client_ip
        )
        check_grant_allowed(client, handler.grant_type)
        return await handler.token(self, TokenRequest(client, form, x5t_s256, client_ip))

    # -- /oauth/introspect --------------------------------------------------------------

    async def introspect(
        self, authorization: str | None, form: Mapping[str, str], *, client_ip: str | None = None
    ) -> dict[str, Any]:
        """RFC 7662 §2.2 response for the ``token`` parameter.

        Raises:
            InvalidClient: the caller is not an authenticated confidential client.
            InvalidRequest: no ``token``.
        """
        await self.authenticate(
            authorization, form, confidential=True, client_ip=client_ip, path="/oauth/introspect"
        )
        token = required(form, "token")
        if token.startswith(REFRESH_TOKEN_PREFIX):
            return await self._introspect_refresh(token)
        claims = await self._access_claims(token)
        if claims is None:
            return INACTIVE
        out: dict[str, Any] = {
            "active": True,
            "scope": claims.get("scope", ""),
            "client_id": claims["client_id"],
            "sub": claims["sub"],
            "exp": claims["exp"],
            "iat": claims["iat"],
            "iss": claims["iss"],
            "aud": claims.get("aud"),
            "jti": claims["jti"],
            "token_type": "Bearer",
        }
        name = claims.get("preferred_username")
        if isinstance(name, str):
            out["username"] = name
        if "cnf" in claims:
            out["cnf"] = claims["cnf"]  # RFC 8705 §3.2
        return out

    async def _access_claims(self, token: str) -> Mapping[str, Any] | None:
        """The claims of a valid, unrevoked authgate access token, else None."""
        if len(token) > _MAX_TOKEN:
            return None
        try:
            identity = await self.tokens.verifier.verify(token)
        except (InvalidCredentials, InvalidRequest, PayloadTooLarge):
            return None
        return identity.claims

    async def _refresh_row(self, token: str) -> RefreshTokenRecord | None:
        if len(token) > _MAX_TOKEN:
            return None
        digest = self.tokens.refresh.digest(token)
        async with self._db.session() as s:
            row: RefreshTokenRecord | None = await s.scalar(
                select(RefreshTokenRecord).where(RefreshTokenRecord.digest == digest)
            )
        return row

    async def _introspect_refresh(self, token: str) -> dict[str, Any]:
        row = await self._refresh_row(token)
        now = self._clock()
        if (
            row is None
            or row.revoked_at is not None
            or row.used_at is not None
            or now >= row.expires_at.timestamp()
            or now >= row.absolute_expires_at.timestamp()
        ):
            return INACTIVE
        return {
            "active": True,
            "scope": " ".join(row.scopes),
            "client_id": row.client_id,
            "sub": row.user_id,
            "exp": int(row.expires_at.timestamp()),
            "iat": int(row.created_at.timestamp()),
            "iss": self.tokens.config.issuer,
            "token_type": "refresh_token",
        }

    async def audit_refresh_reuse(
        self, token: str, exc: InvalidCredentials, path: str, client_ip: str | None
    ) -> None:
        """Record that ``token`` came back after use and its family was revoked (the
        endpoints that rotate refresh tokens call it when :func:`is_family_revocation`)."""
        row = await self._refresh_row(token) if self._audit is not None else None
        if row is not None:
            await self.record(refresh_reuse(row, exc, path=path, client_ip=client_ip))

    async def load_user(self, user_id: str) -> User | None:
        """The user row, or None when gone."""
        async with self._db.session() as s:
            return await s.get(User, user_id)

    async def record(self, event: AuditRecord) -> None:
        """Emit ``event`` to the audit sink, if there is one."""
        if self._audit is not None:
            await self._audit.emit(event)

    async def purge_expired(self) -> int:
        """Delete expired authorization and device codes (the runtime calls it hourly)."""
        return await self.codes.purge_expired() + await self.device.purge_expired()

    # -- /oauth/userinfo -----------------------------------------------------------------

    async def userinfo(self, identity: Identity | None) -> dict[str, Any]:
        """OIDC Core §5.3: the claims about the user an ``openid`` access token stands for.

        Raises:
            InvalidCredentials: no authgate access token (401, ``invalid_token``).
            InsufficientScope: the token lacks ``openid`` (403, OIDC Core §5.3.3).
        """
        if (
            identity is None
            or identity.scheme != "bearer"
            or identity.claims.get("iss") != self.tokens.config.issuer
        ):
            raise invalid_token("userinfo needs an authgate access token")
        if "openid" not in identity.scopes:
            raise InsufficientScope(
                challenges=['Bearer realm="authgate", error="insufficient_scope", scope="openid"']
            )
        user = await self.load_user(identity.principal_id)
        if user is None or user.disabled:
            raise invalid_token("userinfo: user gone or disabled")
        out: dict[str, Any] = {"sub": user.id}
        if "profile" in identity.scopes:
            out["preferred_username"] = user.name
        return out

    # -- /oauth/revoke ------------------------------------------------------------------

    async def revoke(
        self, authorization: str | None, form: Mapping[str, str], *, client_ip: str | None = None
    ) -> None:
        """Revoke ``token`` if it was issued to the calling client (RFC 7009 §2.1).

        Unknown, invalid, expired and other clients' tokens are answered the same way
        (200, nothing revoked), so revocation is no oracle for token validity.

        Raises:
            InvalidClient: client authentication failed.
            InvalidRequest: no ``token``.
        """
        client = await self.authenticate(
            authorization, form, confidential=False, client_ip=client_ip, path="/oauth/revoke"
        )
        token = required(form, "token")
        if token.startswith(REFRESH_TOKEN_PREFIX):
            row = await self._refresh_row(token)
            if row is not None and row.client_id == client.client_id:
                await self.tokens.refresh.revoke_family(row.family_id)
            return
        claims = await self._access_claims(token)
        if claims is not None and claims.get("client_id") == client.client_id:
            await self.tokens.revocation.revoke(str(claims["jti"]), float(claims["exp"]))
