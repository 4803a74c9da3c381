"""Authorization codes: issued at ``/oauth/authorize``, redeemed once at ``/oauth/token``.

RFC 6749 §4.1.2 (a code is short-lived — 10 minutes at most — single use, and "if an
authorization code is used more than once, the authorization server MUST deny the
request and SHOULD revoke (when possible) all tokens previously issued based on that
authorization code"), §4.1.3 (bound to the client and to the redirect URI of the
request), RFC 7636 §4.6 (PKCE verification), RFC 9700 §4.5 (code injection, replay).

Codes look like other authgate secrets (``aga_`` prefix, ~178 random bits, CRC32) and only
their keyed digest is stored. Redemption is a conditional ``UPDATE … WHERE used_at IS
NULL``: of two concurrent redemptions exactly one wins; the loser (or any later one)
revokes the refresh family (and so the access tokens) the winner was given — when it
is presented by the client the code was issued to (anyone else holding a leaked code only
gets ``invalid_grant``, so they cannot revoke the legitimate client's tokens). Every check
runs after the code is spent, so a code that fails once (wrong verifier, wrong client)
cannot be tried again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, update

from authgate.crypto.digest import Digester
from authgate.crypto.keys import generate_key, is_well_formed
from authgate.oauth.authorize import AuthorizationRequest
from authgate.oauth.errors import InvalidGrant
from authgate.oauth.pkce import check_verifier
from authgate.store.db import Database
from authgate.store.models_authz import AuthorizationCodeRecord
from authgate.timefmt import utc_datetime
from authgate.tokens.refresh import RefreshTokenService

__all__ = ["AUTHORIZATION_CODE_PREFIX", "AuthorizationCodes", "CodeGrant"]

AUTHORIZATION_CODE_PREFIX = "aga_"
_PURPOSE = "authorization-code"


@dataclass(frozen=True, slots=True)
class CodeGrant:
    """What a redeemed code stands for."""

    code_id: str
    client_id: str
    user_id: str
    scopes: tuple[str, ...]
    nonce: str | None
    auth_time: float
    amr: tuple[str, ...]


class AuthorizationCodes:
    """Issue and redeem authorization codes.

    Args:
        db: the database.
        digester: keyed digests of codes.
        refresh: the refresh-token service (to revoke what a replayed code issued).
        lifetime: seconds a code is valid (RFC 6749 §4.1.2: 10 minutes at most).
        clock: seconds since the epoch.
    """

    def __init__(
        self,
        db: Database,
        digester: Digester,
        refresh: RefreshTokenService,
        *,
        lifetime: float = 600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0 < lifetime <= 600:
            raise ValueError("authorization codes live at most 10 minutes")
        self._db = db
        self._digester = digester
        self._refresh = refresh
        self.lifetime = lifetime
        self._clock = clock

    def _digest(self, code: str) -> str:
        return self._digester.digest(code, purpose=_PURPOSE)

    async def issue(
        self,
        request: AuthorizationRequest,
        *,
        user_id: str,
        auth_time: float,
        amr: Sequence[str],
    ) -> str:
        """A new code for ``request``, approved by ``user_id`` (committed before returning)."""
        code = generate_key(AUTHORIZATION_CODE_PREFIX)
        now = self._clock()
        record = AuthorizationCodeRecord(
            id=uuid.uuid4().hex,
            digest=self._digest(code),
            client_id=request.client_id,
            user_id=user_id,
            redirect_uri=request.redirect_uri,
            redirect_uri_given=request.redirect_uri_given,
            scopes=list(request.scopes),
            nonce=request.nonce,
            code_challenge=request.code_challenge,
            auth_time=utc_datetime(auth_time),
            amr=list(amr),
            created_at=utc_datetime(now),
            expires_at=utc_datetime(now + self.lifetime),
            used_at=None,
            replayed_at=None,
            family_id=None,
        )
        async with self._db.session() as s, s.begin():
            s.add(record)
        return code

    async def redeem(
        self,
        code: str,
        *,
        client_id: str,
        redirect_uri: str | None,
        code_verifier: str | None,
    ) -> CodeGrant:
        """Spend ``code`` for ``client_id``.

        Raises:
            InvalidGrant: unknown, malformed, expired, already used (its tokens are then
                revoked), issued to another client or redirect URI, or a PKCE failure.
        """
        if not is_well_formed(code, AUTHORIZATION_CODE_PREFIX):
            raise InvalidGrant(reason="code: malformed")
        digest = self._digest(code)
        now = self._clock()
        async with self._db.session() as s, s.begin():
            row = await s.scalar(
                select(AuthorizationCodeRecord).where(AuthorizationCodeRecord.digest == digest)
            )
            if row is None:
                raise InvalidGrant(reason="code: unknown")
            spent = await s.execute(
                update(AuthorizationCodeRecord)
                .where(
                    AuthorizationCodeRecord.id == row.id,
                    AuthorizationCodeRecord.used_at.is_(None),
                )
                .values(used_at=utc_datetime(now))
            )
            won = getattr(spent, "rowcount", 0) == 1
        if not won:
            if row.client_id != client_id:
                # Only the client the code was issued to can trigger the revocation: a
                # stranger holding a leaked code must not be able to kill its tokens.
                raise InvalidGrant(reason="code: used, and presented by another client")
            await self._replayed(row.id)
            raise InvalidGrant(reason="code: used twice; its tokens revoked")
        if now >= row.expires_at.timestamp():
            raise InvalidGrant(reason="code: expired")
        if row.client_id != client_id:
            raise InvalidGrant(reason="code: issued to another client")
        if (row.redirect_uri_given or redirect_uri is not None) and (
            redirect_uri != row.redirect_uri
        ):
            raise InvalidGrant(reason="code: redirect_uri differs")
        check_verifier(code_verifier, row.code_challenge)
        return CodeGrant(
            row.id,
            row.client_id,
            row.user_id,
            tuple(row.scopes),
            row.nonce,
            row.auth_time.timestamp(),
            tuple(row.amr),
        )

    async def purge_expired(self, *, grace: float = 86400.0) -> int:
        """Delete codes expired more than ``grace`` seconds ago (a replay of one then
        answers ``invalid_grant`` without revoking: after a day its tokens are covered by
        the refresh family's own checks)."""
        cutoff = utc_datetime(self._clock() - grace)
        async with self._db.session() as s, s.begin():
            result = await s.execute(
                delete(AuthorizationCodeRecord).where(AuthorizationCodeRecord.expires_at < cutoff)
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def _replayed(self, code_id: str) -> None:
        """Mark a code replayed and revoke what its first redemption was given."""
        async with self._db.session() as s, s.begin():
            await s.execute(
                update(AuthorizationCodeRecord)
                .where(AuthorizationCodeRecord.id == code_id)
                .values(replayed_at=utc_datetime(self._clock()))
            )
            family_id = await s.scalar(
                select(AuthorizationCodeRecord.family_id).where(
                    AuthorizationCodeRecord.id == code_id
                )
            )
        if family_id is not None:
            await self._refresh.revoke_family(family_id)

    async def attach_family(self, code_id: str, family_id: str) -> bool:
        """Remember the refresh family issued from a code (for replay revocation).

        Returns False when the code was replayed before the family was attached: the
        replayer found nothing to revoke, so the caller must revoke the family itself.
        """
        async with self._db.session() as s, s.begin():
            result = await s.execute(
                update(AuthorizationCodeRecord)
                .where(
                    AuthorizationCodeRecord.id == code_id,
                    AuthorizationCodeRecord.replayed_at.is_(None),
                )
                .values(family_id=family_id)
            )
        return getattr(result, "rowcount", 0) == 1
