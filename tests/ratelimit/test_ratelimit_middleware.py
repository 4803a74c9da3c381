"""The rate-limit layer behind the policy: headers, 429, keys, and a store that fails."""

from __future__ import annotations

from typing import Any

import httpx2
import redis.asyncio as aioredis

from authgate.http.asgi import CLIENT_IP_SCOPE_KEY, IDENTITY_SCOPE_KEY, Receive, Scope, Send
from authgate.identity import Identity
from authgate.kv.memory import MemoryStore
from authgate.kv.redis_store import RedisStore
from authgate.policy import PolicyMiddleware, parse_policy
from authgate.ratelimit import RateLimiter, RateLimitMiddleware

POLICY = parse_policy(
    {
        "default": "deny",
        "routes": [
            {"path": "/slow", "anonymous": True, "rate_limit": {"rate": "2/m"}},
            {"path": "/free", "anonymous": True},
            {
                "path": "/both",
                "rate_limits": [
                    {"rate": "3/m", "key": "credential"},
                    {"rate": "5/m", "key": "ip"},
                ],
            },
            {"path": "/everyone", "rate_limit": {"rate": "2/m", "key": "route"}},
            {"path": "/user", "rate_limit": {"rate": "2/m", "key": "principal"}},
        ],
    }
)


def who(credential: str, principal: str = "u1") -> dict[str, str]:
    return {"x-test-credential": credential, "x-test-principal": principal}


async def ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-app", b"1")]})
    await send({"type": "http.response.body", "body": b"ok"})


def stack(limiter: RateLimiter, *, fail_open: bool = False) -> tuple[Any, RateLimitMiddleware]:
    limited = RateLimitMiddleware(ok, limiter, fail_open=fail_open)
    policy = PolicyMiddleware(limited, POLICY, challenges=("ApiKey",))

    async def authenticate(scope: Scope, receive: Receive, send: Send) -> None:
        """Stands for AuthMiddleware: the identity and client IP from test headers."""
        headers = dict(scope["headers"])
        credential = headers.get(b"x-test-credential")
        scope[IDENTITY_SCOPE_KEY] = (
            Identity(
                subject="alice",
                principal_id=headers[b"x-test-principal"].decode(),
                scheme="apikey",
                credential_id=credential.decode(),
            )
            if credential
            else None
        )
        scope[CLIENT_IP_SCOPE_KEY] = headers.get(b"x-test-ip", b"192.0.2.1").decode()
        await policy(scope, receive, send)

    return authenticate, limited


def client(app: Any) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://t")


async def test_allowed_responses_carry_the_ratelimit_headers_and_the_next_is_429() -> None:
    app, _ = stack(RateLimiter(MemoryStore()))
    async with client(app) as c:
        first = await c.get("/slow")
        assert first.status_code == 200 and first.headers["x-app"] == "1"
        assert first.headers["ratelimit-limit"] == "2"
        assert first.headers["ratelimit-remaining"] == "1"
        assert int(first.headers["ratelimit-reset"]) == 30
        assert (await c.get("/slow")).headers["ratelimit-remaining"] == "0"
        refused = await c.get("/slow")
        assert refused.status_code == 429 and refused.json()["error"] == "rate_limited"
        assert int(refused.headers["retry-after"]) == 30
        assert refused.headers["ratelimit-remaining"] == "0"
        # a route without a limit has no headers
        free = await c.get("/free")
        assert free.status_code == 200 and "ratelimit-limit" not in free.headers


async def test_anonymous_callers_are_counted_per_ip() -> None:
    app, _ = stack(RateLimiter(MemoryStore()))
    async with client(app) as c:
        assert (await c.get("/slow", headers={"x-test-ip": "192.0.2.7"})).status_code == 200
        assert (await c.get("/slow", headers={"x-test-ip": "192.0.2.7"})).status_code == 200
        assert (await c.get("/slow", headers={"x-test-ip": "192.0.2.7"})).status_code == 429
        assert (await c.get("/slow", headers={"x-test-ip": "192.0.2.8"})).status_code == 200


async def test_combined_limits_per_credential_and_per_ip() -> None:
    app, _ = stack(RateLimiter(MemoryStore()))
    async with client(app) as c:
        for _ in range(3):
            r = await c.get("/both", headers=who("k1"))
            assert r.status_code == 200
        # the tightest limit shows: k1 has none left of its 3
        assert r.headers["ratelimit-limit"] == "3" and r.headers["ratelimit-remaining"] == "0"
        assert (await c.get("/both", headers=who("k1"))).status_code == 429
        # another key from the same address: its own 3, but the address's 5 run out
        assert (await c.get("/both", headers=who("k2"))).status_code == 200
        r = await c.get("/both", headers=who("k2"))
        assert r.status_code == 429 and r.headers["ratelimit-limit"] == "5"
        other_ip = {**who("k3"), "x-test-ip": "192.0.2.99"}
        assert (await c.get("/both", headers=other_ip)).status_code == 200


async def test_route_and_principal_keys() -> None:
    app, _ = stack(RateLimiter(MemoryStore()))
    async with client(app) as c:
        assert (await c.get("/everyone", headers=who("k1", "u1"))).status_code == 200
        assert (await c.get("/everyone", headers=who("k2", "u2"))).status_code == 200
        assert (await c.get("/everyone", headers=who("k3", "u3"))).status_code == 429
        # per principal: two keys of one user share a budget
        assert (await c.get("/user", headers=who("k1", "u1"))).status_code == 200
        assert (await c.get("/user", headers=who("k2", "u1"))).status_code == 200
        assert (await c.get("/user", headers=who("k3", "u1"))).status_code == 429
        assert (await c.get("/user", headers=who("k4", "u2"))).status_code == 200


def _unreachable_store() -> RedisStore:
    redis = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    return RedisStore(redis, prefix="authgate:ratelimit:", name="rate limiter")


async def test_an_unreachable_store_fails_closed_with_503_by_default() -> None:
    app, limited = stack(RateLimiter(_unreachable_store()))
    async with client(app) as c:
        r = await c.get("/slow")
        assert r.status_code == 503 and r.json()["error"] == "temporarily_unavailable"
        assert r.headers["retry-after"] == "1"
        assert (await c.get("/free")).status_code == 200  # no limit: no store needed
    assert limited.store_failures == 1


async def test_an_unreachable_store_fails_open_when_configured() -> None:
    app, limited = stack(RateLimiter(_unreachable_store()), fail_open=True)
    async with client(app) as c:
        r = await c.get("/slow")
        assert r.status_code == 200 and "ratelimit-limit" not in r.headers
    assert limited.store_failures == 1


async def test_a_refusal_by_the_policy_is_not_counted() -> None:
    app, _ = stack(RateLimiter(MemoryStore()))
    async with client(app) as c:
        for _ in range(10):  # no credentials: the policy answers 401 before any limit
            r = await c.get("/both")
            assert r.status_code == 401 and "ratelimit-limit" not in r.headers
        r = await c.get("/both", headers=who("k1"))
        assert r.status_code == 200 and r.headers["ratelimit-remaining"] == "2"
