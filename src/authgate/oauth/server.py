"""The OAuth 2.0 endpoints' logic over the stores: token, introspection, revocation.

RFC 6749 §4.4 (client credentials), §6 (refresh), §5.1 (token response), §5.2 (errors);
RFC 7662 §2 (introspection: confidential clients only, ``active`` false for anything
unknown, expired, revoked or not ours); RFC 7009 §2 (revocation: a refresh token revokes
its family, an access token goes on the ``jti`` deny-list, unknown or foreign tokens get
the same 200); RFC 7523 §3 (assertion ``jti`` single use); RFC 9700 §4.14.2 (refresh
rotation and family reuse detection, delegated to
:class:`~authgate.tokens.refresh.RefreshTokenService`).

The decisions are sans-I/O (:mod:`.client_auth`, :mod:`.grants`, :mod:`.form`); this
module only looks things up (the cached client record, the refresh-token row, the
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
    InvalidScope,
    PayloadTooLarge,
)
from authgate.http.client_certs import ClientCertificates
from authgate.http.proxies import TrustedProxies
from authgate.identity import Identity
from authgate.oauth.authorize import OIDC_SCOPES
from authgate.oauth.client_auth import PresentedClient, extract_client, verify_client
from authgate.oauth.clients import ClientRecord, ClientService
from authgate.oauth.codes import AuthorizationCodes
from authgate.oauth.consents import Consents
from authgate.oauth.device import DeviceService
from authgate.oauth.errors import InvalidGrant, InvalidTokenScope, invalid_client
from authgate.oauth.grants import check_grant_allowed, parse_scope, resolve_scopes, select_grant
from authgate.oauth.registration import DEVICE_CODE_GRANT
from authgate.oauth.security_events import (
    client_auth_failure,
    is_family_revocation,
    refresh_reuse,
)
from authgate.replay import ReplayCache
from authgate.store.db import Database
from authgate.store.models import User
from authgate.store.models_tokens import RefreshTokenRecord
from authgate.tokens.access import IssuedAccessToken
from authgate.tokens.claims import invalid_token
from authgate.tokens.id_tokens import IdTokenIssuer
from authgate.tokens.refresh import REFRESH_TOKEN_PREFIX, RefreshGrant
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
    ) -> None:
        self.clients = clients
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
            if self._audit is not None:
                await self._audit.emit(
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
        grant = select_grant(form.get("grant_type"))
        client = await self.authenticate(
            authorization, form, confidential=False, client_ip=client_ip
        )
        check_grant_allowed(client, grant)
        if grant == "authorization_code":
            return await self._authorization_code(client, form, x5t_s256)
        if grant == DEVICE_CODE_GRANT:
            return await self._device_code(client, form, x5t_s256)
        requested = parse_scope(form.get("scope"))
        if grant == "client_credentials":
            return self._client_credentials(client, requested, x5t_s256)
        return await self._refresh(client, form, requested, x5t_s256, client_ip)

    async def _authorization_code(
        self, client: ClientRecord, form: Mapping[str, str], x5t_s256: str | None
    ) -> dict[str, Any]:
        code = form.get("code")
        if code is None:
            raise InvalidRequest("code is required.")
        if "scope" in form:
            raise InvalidRequest("scope is not a parameter of the authorization code grant.")
        try:
            grant = await self.codes.redeem(
                code,
                client_id=client.client_id,
                redirect_uri=form.get("redirect_uri"),
                code_verifier=form.get("code_verifier"),
            )
        except InvalidGrant as exc:
            if "used twice" in exc.reason:
                await self._record(
                    "oauth.code_replayed", client, None, outcome="failure", reason=exc.reason
                )
            raise
        return await self.user_tokens(
            client,
            grant.user_id,
            grant.scopes,
            auth_time=grant.auth_time,
            amr=grant.amr,
            nonce=grant.nonce,
            code_id=grant.code_id,
            x5t_s256=x5t_s256,
        )

    async def _device_code(
        self, client: ClientRecord, form: Mapping[str, str], x5t_s256: str | None
    ) -> dict[str, Any]:
        code = form.get("device_code")
        if code is None:
            raise InvalidRequest("device_code is required.")
        grant = await self.device.redeem(code, client.client_id)
        return await self.user_tokens(
            client, grant.user_id, grant.scopes, auth_time=grant.auth_time, x5t_s256=x5t_s256
        )

    async def user_tokens(
        self,
        client: ClientRecord,
        user_id: str,
        scopes: tuple[str, ...],
        *,
        auth_time: float,
        amr: tuple[str, ...] = (),
        nonce: str | None = None,
        code_id: str | None = None,
        x5t_s256: str | None = None,
    ) -> dict[str, Any]:
        """The token response of a user-delegated grant (authorization code, device).

        The access token carries the granted scopes only — never the user's roles: a
        client acts with what the user consented to (least privilege). A refresh family
        is always started (it records the access token, so disabling the user or
        replaying the code revokes it); the refresh token is handed out only to clients
        registered for ``refresh_token``. An ID token is added with the ``openid`` scope.

        Raises:
            InvalidGrant: the user is gone or disabled, or the code was replayed meanwhile.
        """
        async with self._db.session() as s:
            user = await s.get(User, user_id)
        if user is None or user.disabled:
            raise InvalidGrant(reason="user gone or disabled")
        granted = _delegable(scopes, client, user)
        access = self.tokens.access.issue(
            subject=user.id,
            client_id=client.client_id,
            scopes=granted,
            username=user.name,
            auth_time=auth_time,
            x5t_s256=x5t_s256,
        )
        refresh = await self.tokens.refresh.issue(
            user_id=user.id,
            client_id=client.client_id,
            scopes=granted,
            auth_time=auth_time,
            access=access,
        )
        if code_id is not None and not await self.codes.attach_family(code_id, refresh.family_id):
            await self.tokens.refresh.revoke_family(refresh.family_id)
            raise InvalidGrant(reason="code: replayed during redemption")
        await self._record(
            "oauth.token_issued",
            client,
            user,
            grant="authorization_code" if code_id is not None else DEVICE_CODE_GRANT,
            scopes=list(granted),
        )
        body = _token_response(access, granted)
        if "refresh_token" in client.grants:
            body["refresh_token"] = refresh.token
        if "openid" in granted:
            body["id_token"] = self.id_tokens.issue(
                subject=user.id,
                client_id=client.client_id,
                auth_time=auth_time,
                nonce=nonce,
                access_token=access.token,
                amr=amr,
                username=user.name if "profile" in granted else None,
            )
        return body

    def _client_credentials(
        self, client: ClientRecord, requested: tuple[str, ...] | None, x5t_s256: str | None
    ) -> dict[str, Any]:
        scopes = resolve_scopes(requested, client.scopes)
        access = self.tokens.access.issue(
            subject=client.client_id, client_id=client.client_id, scopes=scopes, x5t_s256=x5t_s256
        )
        # RFC 6749 §4.4.3: no refresh token for the client credentials grant.
        return _token_response(access, scopes)

    async def _refresh(
        self,
        client: ClientRecord,
        form: Mapping[str, str],
        requested: tuple[str, ...] | None,
        x5t_s256: str | None,
        client_ip: str | None,
    ) -> dict[str, Any]:
        token = form.get("refresh_token")
        if token is None:
            raise InvalidRequest("refresh_token is required.")

        scopes: tuple[str, ...] = ()

        async def mint(grant: RefreshGrant) -> IssuedAccessToken:
            nonlocal scopes
            async with self._db.session() as s:
                user = await s.get(User, grant.user_id)
            if user is None or user.disabled:
                raise InvalidGrant(reason="refresh: user gone or disabled")
            # The client's registration and the user's current scopes are the ceiling
            # too: scopes either lost since are dropped.
            scopes = _delegable(grant.scopes, client, user)
            return self.tokens.access.issue(
                subject=user.id,
                client_id=client.client_id,
                scopes=scopes,
                username=user.name,
                auth_time=grant.auth_time,
                x5t_s256=x5t_s256,
            )

        try:
            _, refresh, access = await self.tokens.refresh.rotate(
                token, mint, client_id=client.client_id, scopes=requested
            )
        except InvalidCredentials as exc:
            if is_family_revocation(exc):
                await self.audit_refresh_reuse(token, exc, "/oauth/token", client_ip)
            raise InvalidGrant(reason=exc.reason) from None
        except InvalidScope as exc:
            raise InvalidTokenScope(reason=exc.description) from None
        body = _token_response(access, scopes)
        body["refresh_token"] = refresh.token
        return body

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
        token = _required_token(form)
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
        if self._audit is not None and row is not None:
            await self._audit.emit(refresh_reuse(row, exc, path=path, client_ip=client_ip))

    async def _record(
        self,
        event: str,
        client: ClientRecord,
        user: User | None,
        *,
        outcome: str = "success",
        **detail: Any,
    ) -> None:
        if self._audit is None:
            return
        await self._audit.emit(
            AuditRecord(
                event,
                outcome=outcome,
                actor_id=user.id if user is not None else None,
                actor=user.name if user is not None else None,
                credential_id=client.client_id,
                scheme="oauth2",
                detail={"client_id": client.client_id, **detail},
            )
        )

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
        async with self._db.session() as s:
            user = await s.get(User, identity.principal_id)
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
        token = _required_token(form)
        if token.startswith(REFRESH_TOKEN_PREFIX):
            row = await self._refresh_row(token)
            if row is not None and row.client_id == client.client_id:
                await self.tokens.refresh.revoke_family(row.family_id)
            return
        claims = await self._access_claims(token)
        if claims is not None and claims.get("client_id") == client.client_id:
            await self.tokens.revocation.revoke(str(claims["jti"]), float(claims["exp"]))


def _delegable(scopes: tuple[str, ...], client: ClientRecord, user: User) -> tuple[str, ...]:
    """The part of ``scopes`` a client may hold for ``user`` now.

    The client's registered scopes (plus the OIDC ones) bound it; a member delegates only
    scopes the member holds (none when the member holds none), as a member's API keys
    never carry more than the member (:func:`authgate.accounts.resolver`); an admin's
    authority covers any scope.
    """
    allowed = set(client.scopes).union(OIDC_SCOPES)
    if user.role != "admin":
        allowed &= set(user.scopes).union(OIDC_SCOPES)
    return tuple(sc for sc in scopes if sc in allowed)


def _required_token(form: Mapping[str, str]) -> str:
    token = form.get("token")
    if token is None:
        raise InvalidRequest("token is required.")
    return token


def _token_response(access: IssuedAccessToken, scopes: tuple[str, ...]) -> dict[str, Any]:
    return {
        "access_token": access.token,
        "token_type": "Bearer",
        "expires_in": access.expires_in,
        "scope": " ".join(scopes),
    }
