"""Credentials that buy an access token first: the authgate key pair exchange, OAuth 2.0.

One flow serves ``httpx2.Client`` and ``httpx2.AsyncClient``: the token request is yielded
through the same client as the request it authorizes (``httpx2.Auth.auth_flow``). The token
is cached and bought again ``refresh_before`` seconds before it expires; a lock (a
``threading.Lock`` for sync clients, an ``asyncio.Lock`` per event loop for async ones)
makes concurrent requests wait for one purchase instead of each making its own. A 401 with
``invalid_token`` (the token was revoked) drops the token and retries the request once.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from typing import TypedDict, Unpack, cast

import httpx2

from authgate.client.simple import BasicAuth
from authgate.crypto.secret import Secret

__all__ = [
    "AuthgateKeyPair",
    "OAuth2Client",
    "OAuth2ClientCredentials",
    "OAuth2Options",
    "Timing",
    "TokenError",
    "TokenFlow",
    "send",
]

#: A token flow yields a token request and receives its response, or yields a number of
#: seconds to wait (a device polling, a browser redirecting) and receives None; it returns
#: the token. Waiting is the driver's: ``time.sleep`` for sync clients, ``asyncio.sleep``
#: for async ones, so an async client's event loop never blocks.
TokenFlow = Generator["httpx2.Request | float", "httpx2.Response | None", "_Token"]


def send(
    request: httpx2.Request,
) -> Generator[httpx2.Request | float, httpx2.Response | None, httpx2.Response]:
    """In a token flow: ``response = yield from send(request)``."""
    response = yield request
    return cast("httpx2.Response", response)  # the drivers answer a request with a response


class Timing(TypedDict, total=False):
    """The keyword arguments every token credential takes."""

    #: seconds before expiry when a new token is bought (60).
    refresh_before: float
    #: returns the Unix time (``time.time``); injected by tests.
    clock: Callable[[], float]


class OAuth2Options(Timing, total=False):
    """The keyword arguments every OAuth 2.0 grant takes."""

    #: the scopes to ask for (space-separated), or None for the client's default.
    scope: str | None


class TokenError(Exception):
    """The token endpoint refused, or answered something that is not a token."""


@dataclass(slots=True)
class _Token:
    access: Secret
    expires_at: float
    refresh: Secret | None = None

    def __repr__(self) -> str:
        return f"_Token(expires_at={self.expires_at!r})"


def _invalid_token(response: httpx2.Response) -> bool:
    return response.status_code == 401 and "invalid_token" in response.headers.get(
        "www-authenticate", ""
    )


class _TokenAuth(httpx2.Auth):
    """The cache, lock and retry shared by every token-buying credential."""

    requires_response_body = True

    def __init__(
        self, *, refresh_before: float = 60.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.refresh_before = refresh_before
        self._clock = clock
        self._token: _Token | None = None
        self._thread_lock = threading.Lock()
        self._async_locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}
        self.token_requests = 0  # how many tokens were bought (tests, metrics)
        self._sleep: Callable[[float], None] = time.sleep

    # -- what subclasses provide --------------------------------------------------------

    def _buy(self, previous: _Token | None) -> TokenFlow:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- the token ----------------------------------------------------------------------

    def _fresh(self) -> _Token | None:
        token = self._token
        if token is not None and self._clock() < token.expires_at - self.refresh_before:
            return token
        return None

    def _parse(self, response: httpx2.Response) -> _Token:
        self.token_requests += 1
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            raise TokenError(
                f"the token endpoint answered {response.status_code}"
                + (f" ({error})" if isinstance(error, str) else "")
            )
        access, expires_in = body.get("access_token"), body.get("expires_in", 3600)
        if not isinstance(access, str) or not isinstance(expires_in, int | float):
            raise TokenError("the token endpoint's answer holds no access_token")
        refresh = body.get("refresh_token")
        return _Token(
            Secret(access),
            self._clock() + float(expires_in),
            Secret(refresh) if isinstance(refresh, str) else None,
        )

    def _authorize(self, request: httpx2.Request, token: _Token) -> httpx2.Request:
        request.headers["Authorization"] = f"Bearer {token.access.reveal()}"
        return request

    def _spent(self, token: _Token) -> None:
        """Forget ``token`` (refused by the server) unless another was bought meanwhile."""
        if self._token is token:
            self._token = None

    # -- sync ---------------------------------------------------------------------------

    def _sync_token(self) -> Generator[httpx2.Request, httpx2.Response, _Token]:
        token = self._fresh()
        if token is not None:
            return token
        with self._thread_lock:
            token = self._fresh()
            if token is None:
                flow = self._buy(self._token)
                try:
                    sent = next(flow)
                    while True:
                        if not isinstance(sent, httpx2.Request):
                            self._sleep(sent)
                            sent = flow.send(None)
                            continue
                        response = yield sent
                        response.read()
                        sent = flow.send(response)
                except StopIteration as done:
                    token = self._token = done.value
            return token

    def sync_auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response]:
        for attempt in (1, 2):
            token = yield from self._sync_token()
            response = yield self._authorize(request, token)
            if attempt == 2 or not _invalid_token(response):
                return
            response.read()
            self._spent(token)

    # -- async --------------------------------------------------------------------------

    def _async_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._async_locks.get(loop)
        if lock is None:
            self._async_locks = {
                lp: lk for lp, lk in self._async_locks.items() if not lp.is_closed()
            }
            lock = self._async_locks[loop] = asyncio.Lock()
        return lock

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        for attempt in (1, 2):
            token = self._fresh()
            if token is None:
                async with self._async_lock():
                    token = self._fresh()
                    if token is None:
                        flow = self._buy(self._token)
                        sent = next(flow)
                        while token is None:
                            answer = None
                            if isinstance(sent, httpx2.Request):
                                answer = yield sent
                                await answer.aread()
                            else:
                                await asyncio.sleep(sent)
                            try:
                                sent = flow.send(answer)
                            except StopIteration as done:
                                token = self._token = done.value
            response = yield self._authorize(request, token)
            if attempt == 2 or not _invalid_token(response):
                return
            await response.aread()
            self._spent(token)


class AuthgateKeyPair(_TokenAuth):
    """An authgate key pair exchanged at ``POST /auth`` for a bearer token.

    The refresh token of the answer buys the next pair at ``POST /auth/refresh`` (falling
    back to the key pair when it is refused).

    Args:
        base_url: the authgate server (``http://127.0.0.1:8000``).
        key: the key pair's key.
        secret: the key pair's secret.
        refresh_before: seconds before expiry when a new token is bought.
        clock: returns the Unix time; injected by tests.
    """

    def __init__(self, base_url: str, key: str, secret: str, **timing: Unpack[Timing]) -> None:
        super().__init__(**timing)
        self.base_url = base_url.rstrip("/")
        self.key = key
        self._secret = Secret(secret)

    def __repr__(self) -> str:
        return f"AuthgateKeyPair(base_url={self.base_url!r}, key={self.key!r}, secret=<redacted>)"

    def _buy(self, previous: _Token | None) -> TokenFlow:
        if previous is not None and previous.refresh is not None:
            response = yield from send(
                httpx2.Request(
                    "POST",
                    f"{self.base_url}/auth/refresh",
                    json={"refresh_token": previous.refresh.reveal()},
                )
            )
            if response.status_code == 200:
                return self._parse(response)
        response = yield from send(
            httpx2.Request(
                "POST",
                f"{self.base_url}/auth",
                json={"api_key": self.key, "api_secret": self._secret.reveal()},
            )
        )
        return self._parse(response)


class OAuth2Client(_TokenAuth):
    """What every OAuth 2.0 grant shares: the token endpoint, client authentication
    (HTTP Basic with a secret, ``client_id`` in the form without: a public client), the
    scope, and the refresh token grant (RFC 6749 §6).

    Args:
        token_url: the token endpoint (authgate's is ``/oauth/token``).
        client_id: the client's id.
        client_secret: the client's secret; None for a public client.
        scope: the scopes to ask for (space-separated), or None for the client's default.
        refresh_before: seconds before expiry when a new token is bought.
        clock: returns the Unix time; injected by tests.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str | None,
        *,
        scope: str | None = None,
        **timing: Unpack[Timing],
    ) -> None:
        super().__init__(**timing)
        self.token_url, self.client_id, self.scope = token_url, client_id, scope
        self._basic = BasicAuth(client_id, client_secret) if client_secret is not None else None

    def __repr__(self) -> str:
        secret = ", client_secret=<redacted>" if self._basic else ""
        return (
            f"{type(self).__name__}(token_url={self.token_url!r}, "
            f"client_id={self.client_id!r}{secret})"
        )

    def _post(self, url: str, form: dict[str, str]) -> httpx2.Request:
        """A form POST to ``url``, authenticated as the client."""
        if self._basic is None:
            return httpx2.Request("POST", url, data={**form, "client_id": self.client_id})
        return next(self._basic.auth_flow(httpx2.Request("POST", url, data=form)))

    def _refreshed(
        self, previous: _Token | None
    ) -> Generator[httpx2.Request | float, httpx2.Response | None, _Token | None]:
        """A token bought with ``previous``'s refresh token, or None when there is none or
        it is refused (then the grant starts over)."""
        if previous is None or previous.refresh is None:
            return None
        form = {"grant_type": "refresh_token", "refresh_token": previous.refresh.reveal()}
        response = yield from send(self._post(self.token_url, form))
        return self._parse(response) if response.status_code == 200 else None


class OAuth2ClientCredentials(OAuth2Client):
    """The OAuth 2.0 client credentials grant (RFC 6749 §4.4), ``client_secret_basic``.

    Takes the arguments of :class:`OAuth2Client` (``token_url, client_id, client_secret``,
    ``scope=``, ``refresh_before=``, ``clock=``); the grant is for confidential clients.
    """

    def _buy(self, previous: _Token | None) -> TokenFlow:
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        response = yield from send(self._post(self.token_url, form))
        return self._parse(response)
