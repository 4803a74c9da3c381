"""The verification cache of :class:`AccessTokenVerifier`: keyed digests, bounded, never past
``exp`` (RFC 7519 §4.1.4), never before ``iat``/``nbf`` - leeway, the ``jti`` deny-list
(RFC 7009) and the signing key's presence in the JWK Set (RFC 7517 §5) asked on every hit."""

from __future__ import annotations

from typing import Any

import pytest

from authgate.crypto.digest import Digester
from authgate.errors import InvalidCredentials
from authgate.tokens.access import AccessTokenIssuer, AccessTokenVerifier, IssuedAccessToken
from authgate.tokens.jwks import StaticKeySource
from authgate.tokens.keys import KeyRing
from authgate.tokens.revocation import MemoryRevocationList
from authgate.tokens.signing import SigningKey, SigningKeyRing, generate_signing_key, public_jwk

T0 = 1_800_000_000.0
ISS = "https://auth.example.com"
AUD = "https://api.example.com"
LEEWAY = 30


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Keys:
    def __init__(self) -> None:
        private = generate_signing_key("EdDSA")
        jwk = public_jwk(private, "EdDSA")
        self.ring = SigningKeyRing([SigningKey(str(jwk["kid"]), "EdDSA", private, jwk, T0, T0)])


class World:
    """An issuer, a verifier with a spy on full verifications, and their clock."""

    def __init__(self, *, cache_size: int = 100, digester: Digester | None = None) -> None:
        self.clock = Clock()
        self.keys = Keys()
        self.revoked = MemoryRevocationList(clock=self.clock)
        self.issuer = AccessTokenIssuer(
            self.keys, issuer=ISS, audience=AUD, leeway=LEEWAY, clock=self.clock
        )
        self.source = StaticKeySource(self.keys.ring.verification_keys(T0))
        self.verifier = AccessTokenVerifier(
            self.issuer.issuer_config(),
            self.source,
            self.revoked,
            clock=self.clock,
            cache_size=cache_size,
            **({"digester": digester} if digester is not None else {}),
        )
        self.full = 0
        inner = self.verifier._verifier
        verify = inner.verify

        def counting(*args: Any) -> Any:
            self.full += 1
            return verify(*args)

        inner.verify = counting  # type: ignore[method-assign]

    def issue(self, subject: str = "u") -> IssuedAccessToken:
        return self.issuer.issue(subject=subject, client_id="c", scopes=["read"])


async def test_a_second_use_is_served_from_the_cache() -> None:
    w = World()
    issued = w.issue()
    first = await w.verifier.verify(issued.token)
    second = await w.verifier.verify(issued.token)
    assert second is first and w.full == 1 and w.verifier.cached_tokens == 1
    assert first.principal_id == "u" and first.claims["jti"] == issued.jti


async def test_security_a_cache_hit_still_asks_the_deny_list() -> None:
    w = World()
    issued = w.issue()
    await w.verifier.verify(issued.token)
    await w.revoked.revoke(issued.jti, issued.expires_at)
    with pytest.raises(InvalidCredentials) as refused:
        await w.verifier.verify(issued.token)
    assert w.full == 1  # refused on the hit path, not by a fresh verification
    assert refused.value.reason == "bearer: revoked"


async def test_security_a_cached_token_is_refused_once_expired() -> None:
    w = World()
    issued = w.issue()
    await w.verifier.verify(issued.token)
    # between exp and exp + leeway the full verification decides, as without a cache
    w.clock.now = issued.expires_at
    assert (await w.verifier.verify(issued.token)).principal_id == "u"
    assert w.full == 2 and w.verifier.cached_tokens == 0  # not served past exp, not kept
    await w.verifier.verify(issued.token)
    assert w.full == 3
    w.clock.now = issued.expires_at + LEEWAY
    with pytest.raises(InvalidCredentials):
        await w.verifier.verify(issued.token)


async def test_security_a_cached_token_is_refused_past_exp_plus_leeway() -> None:
    w = World()
    issued = w.issue()
    await w.verifier.verify(issued.token)
    w.clock.now = issued.expires_at + LEEWAY + 1
    with pytest.raises(InvalidCredentials):
        await w.verifier.verify(issued.token)


async def test_security_a_clock_set_back_before_iat_verifies_afresh() -> None:
    w = World()
    issued = w.issue()
    await w.verifier.verify(issued.token)
    w.clock.now = T0 - LEEWAY - 1  # the token was "issued in the future" now
    with pytest.raises(InvalidCredentials):
        await w.verifier.verify(issued.token)


async def test_security_a_key_that_left_the_jwk_set_takes_its_cached_tokens() -> None:
    w = World()
    issued = w.issue()
    await w.verifier.verify(issued.token)
    w.source.ring = KeyRing([])  # the signing key was removed
    with pytest.raises(InvalidCredentials):
        await w.verifier.verify(issued.token)
    assert w.verifier.cached_tokens == 0


async def test_failures_are_never_cached() -> None:
    w = World()
    issued = w.issue()
    forged = issued.token[:-4] + ("AAAA" if not issued.token.endswith("AAAA") else "BBBB")
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            await w.verifier.verify(forged)
    assert w.verifier.cached_tokens == 0
    await w.revoked.revoke(issued.jti, issued.expires_at)
    with pytest.raises(InvalidCredentials):
        await w.verifier.verify(issued.token)
    assert w.verifier.cached_tokens == 0


async def test_the_cache_is_bounded_and_drops_the_oldest_first() -> None:
    w = World(cache_size=3)
    tokens = [w.issue(f"u{i}") for i in range(5)]
    for issued in tokens:
        await w.verifier.verify(issued.token)
    assert w.verifier.cached_tokens == 3 and w.full == 5
    await w.verifier.verify(tokens[-1].token)
    assert w.full == 5  # kept
    await w.verifier.verify(tokens[0].token)
    assert w.full == 6 and w.verifier.cached_tokens == 3  # dropped, verified again


async def test_a_zero_size_cache_verifies_every_time() -> None:
    w = World(cache_size=0)
    issued = w.issue()
    for _ in range(3):
        await w.verifier.verify(issued.token)
    assert w.full == 3 and w.verifier.cached_tokens == 0


async def test_security_cache_keys_are_keyed_digests_never_tokens() -> None:
    digester = Digester(b"k" * 32)
    w = World(digester=digester)
    issued = w.issue()
    await w.verifier.verify(issued.token)
    keys = list(w.verifier._cache)
    assert keys == [digester.digest(issued.token, purpose="access-token-cache")]
    assert all(part not in keys[0] for part in issued.token.split("."))
    # by default the key is a random one of this instance
    assert World().verifier._digester.digest("t", purpose="p") != digester.digest("t", purpose="p")


async def test_clear_forgets_every_verification() -> None:
    w = World()
    issued = w.issue()
    await w.verifier.verify(issued.token)
    w.verifier.clear()
    await w.verifier.verify(issued.token)
    assert w.full == 2
