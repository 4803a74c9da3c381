"""HTTP Basic (RFC 7617): ``user:password`` of a user, or ``key:secret`` of a key pair.

The user-id and password are UTF-8 (RFC 7617 §2.1, ``charset="UTF-8"``). Bad base64, a
missing colon and invalid UTF-8 are all the scheme's uniform 401; an oversized header is
refused (413) by the middleware before it gets here, so no huge value reaches argon2.

A user with a confirmed second factor cannot log in with ``user:password`` (docs/security.md:
the password alone is never enough): once the password has verified — never before, so
a wrong password stays the uniform 401 and the answer reveals no enrolment — the answer
is a 401 whose challenge carries ``error="insufficient_user_authentication"`` (RFC 9470
§3) and says to use an API key or a token, or the login page. The attempt counts as a
failed login in the throttle, as on the login page when the code is missing: it is no
completed login, so it neither resets the account's counts nor makes the address a
known source (which would let someone holding only the password spend the reserve kept
for the user's own networks). ``key:secret`` of a key pair is unaffected.
"""

from __future__ import annotations

import binascii
import dataclasses
import hmac

from authgate.credentials import CredentialResolver
from authgate.crypto.keys import KEY_PAIR_KEY_PREFIX
from authgate.errors import InvalidCredentials, SecondFactorRequired
from authgate.http.request import RequestView
from authgate.identity import Identity
from authgate.mfa.throttle import LoginThrottle

__all__ = ["BasicAuthenticator", "parse_basic"]


def parse_basic(value: str) -> tuple[str, str] | None:
    """``(user, password)`` from an ``Authorization`` value, or None when malformed."""
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = binascii.a2b_base64(token.strip().encode("ascii"), strict_mode=True)
        text = raw.decode("utf-8")
    except (ValueError, UnicodeError):
        return None
    user, colon, password = text.partition(":")
    if not colon:
        return None
    return user, password


class BasicAuthenticator:
    """Users' passwords and key pairs' secrets over HTTP Basic."""

    name = "basic"
    needs_body = False
    cacheable = True
    credential_headers: tuple[str, ...] = ("authorization",)
    credential_params: tuple[str, ...] = ()
    challenge = 'Basic realm="authgate", charset="UTF-8"'
    second_factor_challenge = (
        f'{challenge}, error="{SecondFactorRequired.code}", '
        f'error_description="{SecondFactorRequired.default_description}"'
    )

    def __init__(self, resolver: CredentialResolver, throttle: LoginThrottle | None = None) -> None:
        self._resolver = resolver
        self._throttle = throttle

    def is_present(self, request: RequestView) -> bool:
        auth = request.headers.get("authorization")
        return auth is not None and auth.lstrip()[:6].lower() == "basic "

    async def authenticate(self, request: RequestView) -> Identity:
        parsed = parse_basic(request.headers.get("authorization") or "")
        try:
            identity = await self._verify(*parsed, request.client_ip) if parsed else None
        except SecondFactorRequired as exc:
            raise SecondFactorRequired(
                reason=exc.reason, challenges=[self.second_factor_challenge]
            ) from None
        if identity is None:
            raise InvalidCredentials(
                reason="basic credentials rejected", challenges=[self.challenge]
            )
        return identity

    async def _verify(self, user: str, password: str, client_ip: str | None) -> Identity | None:
        if user.startswith(KEY_PAIR_KEY_PREFIX):
            pair = await self._resolver.resolve_key_pair(user)
            if pair is None or not hmac.compare_digest(
                pair.secret.reveal_bytes(), password.encode("utf-8", "surrogateescape")
            ):
                return None
            return dataclasses.replace(pair.identity, scheme="basic")
        if self._throttle is None:
            return await self._resolver.resolve_password(user, password)
        # Failed logins are counted per account (across IPs) and per IP; a throttled
        # attempt gets the same 401 as a wrong password and costs no hashing.
        account = user.lower()[:128]
        if not (await self._throttle.acquire(account, client_ip)).allowed:
            return None
        # SecondFactorRequired propagates with the attempt still counted (module docstring)
        identity = await self._resolver.resolve_password(user, password)
        if identity is not None:
            await self._throttle.succeeded(account, client_ip)
        return identity
