"""RFC 9421 signatures on requests with a query must cover it (issue 8 item 10).

A signature over ``@method @authority @path`` says nothing about the query: without this
rule, ``?x=1`` replayed as ``?x=2&admin=true`` was a 200. Signed by the independent
``http-message-signatures`` package, sent through the real server.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import requests
from http_message_signatures import HTTPMessageSigner, HTTPSignatureKeyResolver, algorithms
from tests.conftest import make_settings

from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.server import AuthgateServer

BASE = "http://api.test"


async def _world(tmp_path: Path, **extra: Any) -> AsyncIterator[tuple[httpx2.AsyncClient, Any]]:
    settings = make_settings(tmp_path, **extra)
    rt = await Runtime.open(settings, batched_audit=False)
    try:
        await rt.users.create(LOCAL_ADMIN, "svc", scopes=["read"])
        pair = (await rt.keys.create(LOCAL_ADMIN, user="svc", type="key-pair")).as_json()
        transport = httpx2.ASGITransport(app=AuthgateServer(settings, rt))
        async with httpx2.AsyncClient(transport=transport, base_url=BASE) as client:
            yield client, pair
    finally:
        await rt.close()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[httpx2.AsyncClient, Any]]:
    async for w in _world(tmp_path):
        yield w


@pytest.fixture
async def lenient(tmp_path: Path) -> AsyncIterator[tuple[httpx2.AsyncClient, Any]]:
    async for w in _world(tmp_path, httpsig_require_query_coverage=False):
        yield w


def signed_headers(pair: dict[str, Any], target: str, covered: tuple[str, ...]) -> dict[str, str]:
    """Headers of a GET of ``target`` signed by the peer library over ``covered``."""

    class Keys(HTTPSignatureKeyResolver):
        def resolve_private_key(self, key_id: str) -> bytes:
            return str(pair["secret"]).encode()

        def resolve_public_key(self, key_id: str) -> bytes:
            raise NotImplementedError

    prepared = requests.Request("GET", f"{BASE}{target}").prepare()
    HTTPMessageSigner(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=Keys()).sign(
        prepared,
        key_id=str(pair["key"]),
        nonce=secrets.token_urlsafe(16),
        covered_component_ids=covered,
    )
    return dict(prepared.headers)


PATH_ONLY = ("@method", "@authority", "@path")


async def test_signature_without_the_query_on_a_request_with_one_is_refused(world: Any) -> None:
    client, pair = world
    headers = signed_headers(pair, "/v1/whoami?x=1", PATH_ONLY)
    tampered = await client.get("/v1/whoami?x=2&admin=true", headers=headers)
    assert tampered.status_code == 400, tampered.text
    assert tampered.json()["error"] == "invalid_request"
    assert "@query" in tampered.json()["error_description"]
    # the unmodified request is refused too: the rule is about what the signature covers
    original = await client.get("/v1/whoami?x=1", headers=headers)
    assert original.status_code == 400


@pytest.mark.parametrize("component", ["@query", "@target-uri", "@request-target"])
async def test_signature_covering_the_query_verifies_and_pins_it(
    world: Any, component: str
) -> None:
    client, pair = world
    headers = signed_headers(pair, "/v1/whoami?x=1", (*PATH_ONLY, component))
    tampered = await client.get("/v1/whoami?x=2&admin=true", headers=headers)
    assert tampered.status_code == 401, tampered.text
    ok = await client.get("/v1/whoami?x=1", headers=headers)
    assert ok.status_code == 200, ok.text
    assert ok.json()["scheme"] == "httpsig" and ok.json()["subject"] == "svc"


async def test_request_without_a_query_needs_no_query_component(world: Any) -> None:
    client, pair = world
    headers = signed_headers(pair, "/v1/whoami", PATH_ONLY)
    r = await client.get("/v1/whoami", headers=headers)
    assert r.status_code == 200, r.text


async def test_setting_off_keeps_the_old_behaviour(lenient: Any) -> None:
    client, pair = lenient
    headers = signed_headers(pair, "/v1/whoami?x=1", PATH_ONLY)
    r = await client.get("/v1/whoami?x=2&admin=true", headers=headers)
    assert r.status_code == 200, r.text
