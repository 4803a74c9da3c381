"""OAuth 2.0 grants where a user signs in: authorization code with PKCE, and device code.

- :class:`OAuth2AuthorizationCode`: RFC 6749 §4.1 with PKCE S256 (RFC 7636), for a CLI or
  desktop app: the browser is opened at the authorization endpoint and redirected back to
  a loopback listener (RFC 8252 §7.3, :mod:`.loopback`).
- :class:`OAuth2DeviceCode`: RFC 8628, for a terminal without a browser: the user is shown
  a code and a URL to open elsewhere while the client polls the token endpoint.

Both are :class:`~authgate.client.tokens.OAuth2Client` subclasses: they cache, refresh and lock as
every token credential does, authenticate as a public client (``client_id`` in the form)
or a confidential one (HTTP Basic), and use the refresh token when they got one, so the
user signs in once.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import sys
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from typing import Unpack
from urllib.parse import urlencode

import httpx2

from authgate.client.loopback import Loopback
from authgate.client.tokens import (
    OAuth2Client,
    OAuth2Options,
    TokenError,
    TokenFlow,
    _Token,
    send,
)

__all__ = ["DeviceAuthorization", "OAuth2AuthorizationCode", "OAuth2DeviceCode"]

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _error(response: httpx2.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else f"status {response.status_code}"


def _pkce() -> tuple[str, str]:
    """A code verifier and its S256 challenge (RFC 7636 §4.1, §4.2)."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OAuth2AuthorizationCode(OAuth2Client):
    """The authorization code grant with PKCE S256 and a loopback redirect (RFC 8252).

    The first request opens the browser at the authorization endpoint (``open_browser``);
    the user signs in and consents; the server redirects to ``http://127.0.0.1:PORT/callback``
    where a listener takes the code, checked against the ``state`` sent. Register the
    client with the redirect URI ``http://127.0.0.1/callback`` (any port matches).

    Args:
        authorize_url: the authorization endpoint (authgate's is ``/oauth/authorize``).
        token_url: the token endpoint (authgate's is ``/oauth/token``).
        client_id: the client's id.
        client_secret: a confidential client's secret; None for a public client.
        scope: the scopes to ask for (space-separated).
        open_browser: opens a URL for the user (``webbrowser.open``; tests drive the pages).
        timeout: seconds to wait for the redirect.
        refresh_before: seconds before expiry when a new token is bought.
        clock: returns the Unix time; injected by tests.
    """

    def __init__(
        self,
        authorize_url: str,
        token_url: str,
        client_id: str,
        client_secret: str | None = None,
        *,
        open_browser: Callable[[str], object] = webbrowser.open,
        timeout: float = 300.0,
        **options: Unpack[OAuth2Options],
    ) -> None:
        super().__init__(token_url, client_id, client_secret, **options)
        self.authorize_url, self.timeout, self._open = authorize_url, timeout, open_browser

    def _buy(self, previous: _Token | None) -> TokenFlow:
        token = yield from self._refreshed(previous)
        if token is not None:
            return token
        verifier, challenge = _pkce()
        state = secrets.token_urlsafe(24)
        with Loopback() as loopback:
            query = {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": loopback.redirect_uri,
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            } | ({"scope": self.scope} if self.scope else {})
            self._open(f"{self.authorize_url}?{urlencode(query)}")
            deadline = self._clock() + self.timeout
            while loopback.params is None:
                if self._clock() > deadline:
                    raise TokenError(f"no authorization redirect within {self.timeout:g} s")
                yield 0.05
            params, redirect_uri = loopback.params, loopback.redirect_uri
        if not secrets.compare_digest(params.get("state", ""), state):
            raise TokenError("the authorization redirect's state is not the one sent")
        if "code" not in params:
            raise TokenError(f"the authorization was refused ({params.get('error', 'no code')})")
        form = {
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        response = yield from send(self._post(self.token_url, form))
        return self._parse(response)


@dataclass(frozen=True, slots=True)
class DeviceAuthorization:
    """What the user is shown (RFC 8628 §3.2): open ``verification_uri``, enter ``user_code``."""

    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: int


def _print_device(d: DeviceAuthorization) -> None:
    print(
        f"To sign in, open {d.verification_uri} and enter the code {d.user_code}", file=sys.stderr
    )


class OAuth2DeviceCode(OAuth2Client):
    """The device authorization grant (RFC 8628): show a code, poll until the user approves.

    Args:
        device_authorization_url: authgate's is ``/oauth/device_authorization``.
        token_url: the token endpoint (authgate's is ``/oauth/token``).
        client_id: the client's id.
        client_secret: a confidential client's secret; None for a public client.
        scope: the scopes to ask for (space-separated).
        prompt: shows the user the code and URL (printed to stderr by default).
        refresh_before: seconds before expiry when a new token is bought.
        clock: returns the Unix time; injected by tests.
        sleep: waits between polls in a sync client (an async one uses ``asyncio.sleep``).
    """

    def __init__(
        self,
        device_authorization_url: str,
        token_url: str,
        client_id: str,
        client_secret: str | None = None,
        *,
        prompt: Callable[[DeviceAuthorization], object] = _print_device,
        sleep: Callable[[float], None] = time.sleep,
        **options: Unpack[OAuth2Options],
    ) -> None:
        super().__init__(token_url, client_id, client_secret, **options)
        self.device_authorization_url, self._prompt = device_authorization_url, prompt
        self._sleep = sleep

    def _buy(self, previous: _Token | None) -> TokenFlow:
        token = yield from self._refreshed(previous)
        if token is not None:
            return token
        form = {"scope": self.scope} if self.scope else {}
        response = yield from send(self._post(self.device_authorization_url, form))
        try:
            body = response.json() if response.status_code == 200 else {}
            device_code, interval = str(body["device_code"]), float(body.get("interval", 5))
            shown = DeviceAuthorization(
                str(body["user_code"]),
                str(body["verification_uri"]),
                body.get("verification_uri_complete"),
                int(body.get("expires_in", 600)),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise TokenError(
                f"the device authorization endpoint answered {_error(response)}"
            ) from exc
        self._prompt(shown)
        deadline = self._clock() + shown.expires_in
        while self._clock() < deadline:
            yield interval  # RFC 8628 §3.5: no faster than the interval
            poll = {"grant_type": DEVICE_GRANT, "device_code": device_code}
            response = yield from send(self._post(self.token_url, poll))
            error = "" if response.status_code == 200 else _error(response)
            if not error:
                return self._parse(response)
            if error == "slow_down":
                interval += 5
            elif error != "authorization_pending":
                raise TokenError(f"the device authorization ended: {error}")
        raise TokenError("the user code expired before it was approved")
