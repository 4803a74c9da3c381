"""Remote JWKS: max-age, rate-limited refetch on unknown kid, stale-if-error, single-flight."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from authgate.errors import InvalidCredentials
from authgate.tokens import IssuerConfig, RemoteJWKS
from authgate.tokens.jwks import parse_max_age

URL = "https://idp.example.com/.well-known/jwks.json"


def ec_jwk(kid: str) -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return json.loads(ECAlgorithm.to_jwk(key)) | {"kid": kid}


class FakeIssuer:
    """An issuer endpoint whose answers the test controls; records every request."""

    def __init__(self) -> None:
        self.keys = [ec_jwk("k1")]
        self.status = 200
        self.body: bytes | None = None
        self.cache_control: str | None = "max-age=600"
        self.requests: list[httpx2.Request] = []
        self.delay = 0.0

    async def handler(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        headers = {"cache-control": self.cache_control} if self.cache_control else {}
        body = self.body if self.body is not None else json.dumps({"keys": self.keys}).encode()
        return httpx2.Response(self.status, content=body, headers=headers)


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def make(fake: FakeIssuer, clock: Clock, **cfg: Any) -> RemoteJWKS:
    issuer = IssuerConfig(issuer="https://idp.example.com", audiences=["api"], jwks_url=URL, **cfg)
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(fake.handler))
    return RemoteJWKS(issuer, http=http, clock=clock)


async def test_first_use_fetches_configured_url_only() -> None:
    fake, clock = FakeIssuer(), Clock()
    src = make(fake, clock)
    ring = await src.get_keys("k1")
    assert "k1" in ring
    assert [str(r.url) for r in fake.requests] == [URL]
    assert fake.requests[0].method == "GET"


async def test_max_age_honoured() -> None:
    fake, clock = FakeIssuer(), Clock()
    fake.cache_control = "public, max-age=600"
    src = make(fake, clock)
    await src.get_keys("k1")
    clock.now += 599
    await src.get_keys("k1")
    assert len(fake.requests) == 1
    clock.now += 2
    await src.get_keys("k1")
    assert len(fake.requests) == 2


async def test_default_ttl_without_max_age_and_bounds() -> None:
    fake, clock = FakeIssuer(), Clock()
    fake.cache_control = None
    src = make(fake, clock, jwks_default_ttl=120)
    await src.get_keys("k1")
    clock.now += 119
    await src.get_keys("k1")
    assert len(fake.requests) == 1
    clock.now += 2
    await src.get_keys("k1")
    assert len(fake.requests) == 2

    fake2, clock2 = FakeIssuer(), Clock()
    fake2.cache_control = "max-age=0"  # clamped up to jwks_min_ttl
    src2 = make(fake2, clock2, jwks_min_ttl=30)
    await src2.get_keys("k1")
    clock2.now += 29
    await src2.get_keys("k1")
    assert len(fake2.requests) == 1

    fake3, clock3 = FakeIssuer(), Clock()
    fake3.cache_control = "max-age=99999999"  # clamped down to jwks_max_ttl
    src3 = make(fake3, clock3, jwks_max_ttl=3600)
    await src3.get_keys("k1")
    clock3.now += 3601
    await src3.get_keys("k1")
    assert len(fake3.requests) == 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("max-age=60", 60.0),
        ("public, max-age=300, must-revalidate", 300.0),
        ('max-age="10"', 10.0),
        ("no-store", 0.0),
        ("no-cache, max-age=100", 0.0),
        ("s-maxage=100", None),
        ("max-age=-1", None),
        ("max-age=abc", None),
        (None, None),
        ("", None),
    ],
)
def test_parse_max_age(value: str | None, expected: float | None) -> None:
    assert parse_max_age(value) == expected


async def test_refetch_on_unknown_kid_rate_limited() -> None:
    fake, clock = FakeIssuer(), Clock()
    src = make(fake, clock, jwks_refresh_interval=60)
    await src.get_keys("k1")
    clock.now += 61
    # Key rotation: the issuer publishes k2; the first token naming it triggers a refetch.
    fake.keys = [*fake.keys, ec_jwk("k2")]
    assert "k2" in await src.get_keys("k2")
    assert len(fake.requests) == 2
    # A flood of random kids costs the issuer at most one request per interval.
    for i in range(50):
        ring = await src.get_keys(f"random-{i}")
        assert f"random-{i}" not in ring
    assert len(fake.requests) == 2
    clock.now += 61
    await src.get_keys("random-x")
    assert len(fake.requests) == 3


@pytest.mark.parametrize(
    "failure",
    ["500", "404", "garbage", "not-a-set", "no-usable-keys", "oct-only", "redirect", "network"],
)
async def test_stale_if_error(failure: str) -> None:
    fake, clock = FakeIssuer(), Clock()
    src = make(fake, clock, jwks_refresh_interval=60)
    good = await src.get_keys("k1")
    if failure == "500":
        fake.status = 500
    elif failure == "404":
        fake.status = 404
    elif failure == "garbage":
        fake.body = b"<html>down for maintenance</html>"
    elif failure == "not-a-set":
        fake.body = b'{"keys": "nope"}'
    elif failure == "no-usable-keys":
        fake.keys = [{"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "weak"}]
    elif failure == "oct-only":
        fake.keys = [{"kty": "oct", "k": "A" * 43, "kid": "k1"}]
    elif failure == "redirect":
        fake.status = 302
    elif failure == "network":

        async def broken(request: httpx2.Request) -> httpx2.Response:
            fake.requests.append(request)
            raise httpx2.ConnectError("connection refused", request=request)

        src._http = httpx2.AsyncClient(transport=httpx2.MockTransport(broken))
    clock.now += 601  # stale
    ring = await src.get_keys("k1")
    assert ring is good, "the last good key set keeps serving"
    assert len(fake.requests) == 2
    # The failing issuer is not hammered: next attempt only after the refresh interval.
    await src.get_keys("k1")
    assert len(fake.requests) == 2
    clock.now += 61
    await src.get_keys("k1")
    assert len(fake.requests) == 3


async def test_no_keys_ever_fetched_is_401() -> None:
    fake, clock = FakeIssuer(), Clock()
    fake.status = 503
    src = make(fake, clock)
    with pytest.raises(InvalidCredentials):
        await src.get_keys("k1")
    with pytest.raises(InvalidCredentials):
        await src.get_keys("k1")
    assert len(fake.requests) == 1


async def test_concurrent_requests_share_one_fetch() -> None:
    fake, clock = FakeIssuer(), Clock()
    fake.delay = 0.05
    src = make(fake, clock)
    rings = await asyncio.gather(*(src.get_keys("k1") for _ in range(25)))
    assert len(fake.requests) == 1
    assert all(r is rings[0] for r in rings)
    # Concurrent unknown kids after the interval also coalesce into one refetch.
    clock.now += 61
    await asyncio.gather(*(src.get_keys(f"unknown-{i}") for i in range(25)))
    assert len(fake.requests) == 2


async def test_fetched_set_skips_bad_keys_and_duplicate_kids() -> None:
    fake, clock = FakeIssuer(), Clock()
    dup = ec_jwk("dup")
    fake.keys = [
        ec_jwk("good"),
        dup,
        ec_jwk("dup"),
        ec_jwk("enc") | {"use": "enc"},
        {"kty": "RSA", "kid": "broken", "n": "xyz", "e": "AQAB"},
    ]
    ring = await make(fake, clock).get_keys("good")
    assert [k.kid for k in ring.keys] == ["good"]


async def test_oversized_jwks_refused() -> None:
    fake, clock = FakeIssuer(), Clock()
    fake.body = b'{"keys": [], "pad": "' + b"x" * 600_000 + b'"}'
    with pytest.raises(InvalidCredentials):
        await make(fake, clock).get_keys("k1")
