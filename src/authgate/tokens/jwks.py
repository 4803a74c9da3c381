"""Where an issuer's verification keys come from: static/local keys or a remote JWK Set.

RFC 7517 §5 (JWK Set), RFC 8414 §2 (``jwks_uri``), RFC 9111 §5.2.2.1 (``Cache-Control:
max-age``) and the ``stale-if-error`` behaviour of RFC 5861 §4:

- a fetched set is fresh for ``max-age`` seconds (the issuer's default TTL when absent),
  clamped to ``[jwks_min_ttl, jwks_max_ttl]``;
- a token naming an unknown ``kid`` triggers a refetch (key rotation), at most once per
  ``jwks_refresh_interval``, so a flood of random ``kid`` values costs the issuer one request;
- when the issuer is down or answers garbage, the last good set keeps serving (stale-if-
  error) rather than refusing every caller; failed attempts are retried no more than once
  per ``jwks_refresh_interval``;
- concurrent requests share one in-flight fetch (an :class:`asyncio.Lock`).

Only the configured URL is ever fetched: nothing in a token (``jku``, ``x5u``) can cause a
request (RFC 8725 §3.10). Fetched sets never yield symmetric keys.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import httpx2

from authgate.tokens.claims import invalid_token
from authgate.tokens.issuers import IssuerConfig
from authgate.tokens.keys import KeyPolicyError, KeyRing

__all__ = ["MAX_JWKS_BYTES", "KeySource", "RemoteJWKS", "StaticKeySource", "key_source_for"]

logger = logging.getLogger(__name__)

#: Largest JWK Set document accepted from an issuer.
MAX_JWKS_BYTES = 512 * 1024
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d{1,10})\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\s*(?:,|$)", re.IGNORECASE)


@runtime_checkable
class KeySource(Protocol):
    """The port a verifier asks for an issuer's current keys."""

    async def get_keys(self, kid: str | None) -> KeyRing:
        """The current ring; may refresh first when ``kid`` is not in it.

        Raises:
            InvalidCredentials: no keys are available at all.
        """
        ...


class StaticKeySource:
    """Keys known at start-up (configuration, or authgate's own signing key ring)."""

    __slots__ = ("ring",)

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring

    async def get_keys(self, kid: str | None) -> KeyRing:
        """The ring; ``kid`` is ignored because nothing can be refreshed."""
        return self.ring


def parse_max_age(cache_control: str | None) -> float | None:
    """``max-age`` from a ``Cache-Control`` value (0 for ``no-cache``/``no-store``), or None."""
    if not cache_control:
        return None
    if _NO_CACHE.search(cache_control):
        return 0.0
    match = _MAX_AGE.search(cache_control)
    return float(match.group(1)) if match else None


class RemoteJWKS:
    """An issuer's JWK Set fetched over HTTP and cached.

    Args:
        issuer: the issuer configuration (URL, algorithms, TTL bounds, refresh interval).
        http: the client used for fetching (tests pass one with ``httpx2.MockTransport``).
        clock: returns the current time in seconds.
        timeout: seconds allowed for one fetch.
    """

    def __init__(
        self,
        issuer: IssuerConfig,
        *,
        http: httpx2.AsyncClient,
        clock: Callable[[], float] = time.time,
        timeout: float = 5.0,
    ) -> None:
        if issuer.jwks_url is None:
            raise ValueError(f"issuer {issuer.issuer!r} has no jwks_url")
        self.url = issuer.jwks_url
        self._issuer = issuer
        self._http = http
        self._clock = clock
        self._timeout = timeout
        self._lock = asyncio.Lock()
        self._ring: KeyRing | None = None
        self._fresh_until = float("-inf")
        self._last_attempt = float("-inf")
        self._generation = 0
        #: Number of fetches attempted (for metrics and tests).
        self.fetch_count = 0

    @property
    def ring(self) -> KeyRing | None:
        """The last good key ring, or None before the first successful fetch."""
        return self._ring

    def _needs_fetch(self, kid: str | None, now: float) -> bool:
        rate_limited = now - self._last_attempt < self._issuer.jwks_refresh_interval
        if self._ring is None:
            return not rate_limited
        if now >= self._fresh_until:
            return not rate_limited
        if kid is not None and kid not in self._ring:
            return not rate_limited
        return False

    async def get_keys(self, kid: str | None) -> KeyRing:
        """The current ring, refreshed when stale or when ``kid`` is unknown (rate-limited).

        Raises:
            InvalidCredentials: no key set has ever been fetched successfully.
        """
        ring = self._ring
        missing = ring is None or (kid is not None and kid not in ring)
        # Wait for an in-flight fetch only when the current ring cannot answer this token.
        if self._needs_fetch(kid, self._clock()) or (missing and self._lock.locked()):
            generation = self._generation
            async with self._lock:
                # Another request may have fetched while this one waited: share its result.
                if generation == self._generation and self._needs_fetch(kid, self._clock()):
                    await self._refresh()
        if self._ring is None:
            raise invalid_token("issuer keys unavailable")
        return self._ring

    async def _refresh(self) -> None:
        self._last_attempt = self._clock()
        self.fetch_count += 1
        try:
            ring, max_age = await self._fetch()
        except Exception as exc:  # stale-if-error: any failure keeps the last good set
            logger.warning(
                "JWKS fetch failed; serving the last good key set",
                extra={"issuer": self._issuer.issuer, "error": type(exc).__name__},
            )
            self._generation += 1
            return
        cfg = self._issuer
        ttl = cfg.jwks_default_ttl if max_age is None else max_age
        ttl = min(max(ttl, cfg.jwks_min_ttl), cfg.jwks_max_ttl)
        self._ring = ring
        self._fresh_until = self._last_attempt + ttl
        self._generation += 1

    async def _fetch(self) -> tuple[KeyRing, float | None]:
        headers = {"accept": "application/jwk-set+json, application/json"}
        async with self._http.stream(
            "GET", self.url, headers=headers, timeout=self._timeout, follow_redirects=False
        ) as response:
            if response.status_code != 200:
                raise OSError(f"JWKS answered {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise OSError("JWKS document too large")
            cache_control = response.headers.get("cache-control")
        try:
            document = json.loads(bytes(body))
        except (ValueError, RecursionError) as exc:
            raise KeyPolicyError("JWKS is not JSON") from exc
        ring = KeyRing.from_jwks(document, self._issuer.allowed_algorithms, strict=False)
        return ring, parse_max_age(cache_control)


def key_source_for(
    issuer: IssuerConfig,
    *,
    http: httpx2.AsyncClient | None,
    clock: Callable[[], float] = time.time,
) -> KeySource:
    """The key source an issuer's configuration describes.

    Args:
        issuer: the issuer.
        http: the client for remote JWK Sets (required when ``jwks_url`` is set).
        clock: returns the current time in seconds.

    Raises:
        ValueError: the issuer has no key material, or a JWKS URL but no client.
    """
    if issuer.jwks_url is not None:
        if http is None:
            raise ValueError("an HTTP client is needed for jwks_url")
        return RemoteJWKS(issuer, http=http, clock=clock)
    return StaticKeySource(KeyRing.from_config(issuer))
