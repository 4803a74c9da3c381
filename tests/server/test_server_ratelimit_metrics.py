"""`authgate serve` enforces the policy's rate limits (on its own routes and on ``/verify``'s
original requests) and exposes Prometheus metrics at ``/metrics`` to allowed networks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.conftest import make_settings

from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.server import AuthgateServer

POLICY = """
version = 1
default = "authenticated"

[[routes]]
path = "/v1/whoami"
methods = ["GET"]
rate_limit = { rate = "2/m", key = "credential" }

[[routes]]
path = "/api/**"
rate_limits = [{ rate = "3/m", key = "credential" }, { rate = "100/m", key = "ip" }]
"""


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Runtime, AuthgateServer, str, str]]:
    (tmp_path / "policy.toml").write_text(POLICY)
    settings = make_settings(
        tmp_path, policy_file=tmp_path / "policy.toml", trusted_proxies=["127.0.0.1/32"]
    )
    rt = await Runtime.open(settings, batched_audit=False)
    try:
        await rt.users.create(LOCAL_ADMIN, "alice")
        one = (await rt.keys.create(LOCAL_ADMIN, user="alice")).key
        two = (await rt.keys.create(LOCAL_ADMIN, user="alice")).key
        yield rt, AuthgateServer(settings, rt), one, two
    finally:
        await rt.close()


def client(app: AuthgateServer, peer: str = "127.0.0.1") -> httpx2.AsyncClient:
    transport = httpx2.ASGITransport(app=app, client=(peer, 40000))
    return httpx2.AsyncClient(transport=transport, base_url="http://t")


async def test_a_rate_limited_route_answers_429_with_the_headers(
    served: tuple[Runtime, AuthgateServer, str, str],
) -> None:
    _, app, one, two = served
    async with client(app) as c:
        first = await c.get("/v1/whoami", headers={"X-API-Key": one})
        assert first.status_code == 200
        assert first.headers["ratelimit-limit"] == "2"
        assert first.headers["ratelimit-remaining"] == "1"
        assert (await c.get("/v1/whoami", headers={"X-API-Key": one})).status_code == 200
        refused = await c.get("/v1/whoami", headers={"X-API-Key": one})
        assert refused.status_code == 429 and refused.json()["error"] == "rate_limited"
        assert int(refused.headers["retry-after"]) == 30
        # another key has its own budget; a route without a limit has no headers
        assert (await c.get("/v1/whoami", headers={"X-API-Key": two})).status_code == 200
        health = await c.get("/healthz")
        assert health.status_code == 200 and "ratelimit-limit" not in health.headers


async def test_verify_counts_the_original_route(
    served: tuple[Runtime, AuthgateServer, str, str],
) -> None:
    _, app, one, _ = served
    nginx = {"X-API-Key": one, "X-Original-Method": "GET", "X-Original-URI": "/api/orders"}
    async with client(app) as c:
        for remaining in ("2", "1", "0"):
            r = await c.get("/verify", headers=nginx)
            assert r.status_code == 200 and r.headers["ratelimit-remaining"] == remaining
        r = await c.get("/verify", headers=nginx)
        assert r.status_code == 429 and r.headers["retry-after"]
        # a route outside the limited ones is not counted
        other = {**nginx, "X-Original-URI": "/elsewhere"}
        assert (await c.get("/verify", headers=other)).status_code == 200


async def test_metrics_count_requests_by_scheme_and_outcome(
    served: tuple[Runtime, AuthgateServer, str, str],
) -> None:
    _, app, one, _ = served
    async with client(app) as c:
        await c.get("/v1/whoami", headers={"X-API-Key": one})
        await c.get("/v1/whoami", headers={"X-API-Key": one})  # from the identity cache
        await c.get("/v1/whoami", headers={"X-API-Key": one})  # refused by the limit
        await c.get("/v1/whoami", headers={"X-API-Key": "agk_wrong"})
        r = await c.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }
    ok = ("authgate_requests_total", (("outcome", "success"), ("scheme", "apikey")))
    assert samples[ok] == 3
    assert samples[("authgate_requests_total", (("outcome", "failure"), ("scheme", "apikey")))] == 1
    assert samples[("authgate_identity_cache_total", (("result", "hit"),))] >= 1
    assert samples[("authgate_ratelimit_decisions_total", (("decision", "refused"),))] == 1
    assert samples[("authgate_ratelimit_decisions_total", (("decision", "allowed"),))] == 2
    count = ("authgate_verification_seconds_count", (("scheme", "apikey"),))
    assert samples[count] >= 1
    assert ("authgate_audit_queue_depth", ()) in samples


async def test_metrics_are_not_served_to_other_networks(
    served: tuple[Runtime, AuthgateServer, str, str],
) -> None:
    _, app, _, _ = served
    async with client(app, peer="203.0.113.9") as c:
        assert (await c.get("/metrics")).status_code == 404
