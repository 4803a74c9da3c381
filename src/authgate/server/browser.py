"""Browser state of the login and consent pages: cookies, CSRF tokens, bound requests.

ASVS 5.0 V3/V7 (docs/oauth.md, The pages): cookies are ``__Host-`` prefixed, ``Secure``,
``HttpOnly`` and ``SameSite=Lax`` when the issuer is ``https`` (RFC 6265bis §4.1.3.2:
``__Host-`` needs ``Secure``, ``Path=/`` and no ``Domain``); on a plain-``http`` issuer
(local development only) the prefix and ``Secure`` are dropped, since clients do not send
secure cookies over ``http``. ``Lax`` because the authorization request arrives as a
top-level cross-site navigation from the client, which must carry the session.

Two cookies: the *browser* cookie (random, no server state) binds the login form's CSRF
token (against login CSRF), and the *session* cookie holds the login session token
(a new one at every login, revoked at logout, see :mod:`authgate.oauth.login`).

A pending authorization request travels in the consent form as a signed, expiring blob
bound to the login session (RFC 6749 §10.12, RFC 9700 §4.7): submitted from another
browser session it is refused, so an attacker cannot make a victim approve a request
the attacker started (the blob doubles as the consent form's CSRF token).
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authgate.crypto.digest import Digester

__all__ = ["BrowserCookies", "RequestSealer"]

_BROWSER_ID_BYTES = 18


@dataclass(frozen=True, slots=True)
class BrowserCookies:
    """Names and attributes of the two cookies for an issuer."""

    secure: bool

    @classmethod
    def for_issuer(cls, issuer: str) -> BrowserCookies:
        return cls(secure=issuer.startswith("https://"))

    @property
    def browser(self) -> str:
        return "__Host-authgate-browser" if self.secure else "authgate-browser"

    @property
    def session(self) -> str:
        return "__Host-authgate-session" if self.secure else "authgate-session"

    def header(self, name: str, value: str, *, max_age: int | None = None) -> str:
        """A ``Set-Cookie`` value (``max_age`` 0 deletes the cookie)."""
        parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
        if self.secure:
            parts.append("Secure")
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        return "; ".join(parts)

    @staticmethod
    def new_browser_id() -> str:
        return secrets.token_urlsafe(_BROWSER_ID_BYTES)

    @staticmethod
    def valid_browser_id(value: str | None) -> bool:
        return (
            value is not None
            and len(value) == 24
            and value.isascii()
            and all(c.isalnum() or c in "-_" for c in value)
        )


class RequestSealer:
    """HMAC-signed, expiring values bound to a browser or a session.

    Args:
        digester: the server's keyed digest (HMAC-SHA256, domain-separated by purpose).
        clock: seconds since the epoch.
    """

    def __init__(self, digester: Digester, *, clock: Any = time.time) -> None:
        self._digester = digester
        self._clock = clock

    def csrf(self, browser_id: str) -> str:
        """The login form's CSRF token for a browser (double-submit, keyed)."""
        return self._digester.digest(browser_id, purpose="login-csrf")[:43]

    def check_csrf(self, browser_id: str | None, token: str | None) -> bool:
        if not BrowserCookies.valid_browser_id(browser_id) or token is None:
            return False
        assert browser_id is not None  # noqa: S101 - checked above
        return hmac.compare_digest(self.csrf(browser_id), token.encode("ascii", "replace").decode())

    def seal(self, payload: Mapping[str, Any], *, binding: str, ttl: float) -> str:
        """``payload`` signed for ``binding`` (e.g. a session id), valid ``ttl`` seconds."""
        body = dict(payload)
        body["_exp"] = int(self._clock() + ttl)
        raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
        data = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return data + "." + self._mac(data, binding)

    def unseal(self, value: str | None, *, binding: str) -> dict[str, Any] | None:
        """The payload when the signature holds for ``binding`` and it has not expired."""
        if value is None or len(value) > 16_384 or not value.isascii() or "." not in value:
            return None
        data, _, mac = value.rpartition(".")
        if not hmac.compare_digest(self._mac(data, binding), mac):
            return None
        try:
            body = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
        except ValueError:
            return None
        if not isinstance(body, dict) or not isinstance(body.get("_exp"), int):
            return None
        if self._clock() >= body.pop("_exp"):
            return None
        return body

    def _mac(self, data: str, binding: str) -> str:
        return self._digester.digest(f"{binding}\0{data}", purpose="sealed-request")
