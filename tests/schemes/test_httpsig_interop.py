"""Requests signed by the independent ``http-message-signatures`` package verify (RFC 9421).

The peer signs a ``requests.PreparedRequest`` with ``HTTPMessageSigner`` and an
``HTTPSignatureKeyResolver``; authgate sees the request as a :class:`RequestView`.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from urllib.parse import urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from http_message_signatures import HTTPMessageSigner, HTTPSignatureKeyResolver, algorithms

from authgate.crypto.secret import Secret
from authgate.errors import InvalidCredentials
from authgate.identity import Identity
from authgate.replay import MemoryReplayCache
from authgate.schemes.base import Headers, KeyPairCredential, PublicKeyCredential, RequestView
from authgate.schemes.httpsig import HttpSigAuthenticator

KEY = "ag_kp_interop"
SECRET = "s3cr3t-" + secrets.token_urlsafe(32)
ED_PRIVATE = ed25519.Ed25519PrivateKey.generate()
EC_PRIVATE = ec.generate_private_key(ec.SECP256R1())
ALICE = Identity(subject="alice", principal_id="u-1", scheme="?", credential_id="kp-1")
BOB = Identity(subject="bob", principal_id="u-2", scheme="?", credential_id="pk-1")


def _spki(key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


PUBLIC = {
    "ed-1": PublicKeyCredential("ed-1", _spki(ED_PRIVATE), "ed25519", BOB),
    "ec-1": PublicKeyCredential("ec-1", _spki(EC_PRIVATE), "ecdsa-p256-sha256", BOB),
}


class Store:
    async def resolve_api_key(self, key: str) -> Identity | None:
        return None

    async def resolve_key_pair(self, key: str) -> KeyPairCredential | None:
        return KeyPairCredential(KEY, Secret(SECRET), ALICE) if key == KEY else None

    async def resolve_password(self, username: str, password: str) -> Identity | None:
        return None

    async def resolve_public_key(self, key_id: str) -> PublicKeyCredential | None:
        return PUBLIC.get(key_id)


class PeerKeys(HTTPSignatureKeyResolver):
    """The peer's view of the same keys: what a customer's client holds."""

    def resolve_private_key(self, key_id: str) -> object:
        return {KEY: SECRET.encode(), "ed-1": ED_PRIVATE, "ec-1": EC_PRIVATE}[key_id]

    def resolve_public_key(self, key_id: str) -> object:
        raise NotImplementedError


def peer_signed(
    algorithm: type[algorithms.HTTPSignatureAlgorithm],
    key_id: str,
    *,
    method: str = "POST",
    url: str = "https://api.example.com/v1/orders?limit=10&sort=desc",
    body: bytes | None = b'{"item": "widget", "qty": 3}',
    covered: tuple[str, ...] = ("@method", "@authority", "@target-uri", "content-digest"),
) -> RequestView:
    prepared = requests.Request(
        method, url, data=body, headers={"Content-Type": "application/json"}
    ).prepare()
    HTTPMessageSigner(signature_algorithm=algorithm, key_resolver=PeerKeys()).sign(
        prepared,
        key_id=key_id,
        nonce=secrets.token_urlsafe(16),
        covered_component_ids=covered,
        body=body,
        use_existing_digest=False,
    )
    parts = urlsplit(prepared.url)
    raw = prepared.body
    return RequestView(
        method=prepared.method or "",
        scheme=parts.scheme,
        authority=parts.netloc,
        path=parts.path,
        query=parts.query,
        headers=Headers(prepared.headers.items()),
        body=raw.encode() if isinstance(raw, str) else raw,
    )


def make_authenticator() -> HttpSigAuthenticator:
    store = Store()
    return HttpSigAuthenticator(store, store, MemoryReplayCache())


CASES = [
    (algorithms.HMAC_SHA256, KEY, ALICE),
    (algorithms.ED25519, "ed-1", BOB),
    (algorithms.ECDSA_P256_SHA256, "ec-1", BOB),
]


@pytest.mark.parametrize(
    ("algorithm", "key_id", "who"), CASES, ids=lambda c: getattr(c, "algorithm_id", None)
)
async def test_peer_signed_post_with_body_verifies(
    algorithm: type[algorithms.HTTPSignatureAlgorithm], key_id: str, who: Identity
) -> None:
    view = peer_signed(algorithm, key_id)
    assert "content-digest" in view.headers.get("signature-input", "")
    identity = await make_authenticator().authenticate(view)
    assert identity == dataclasses.replace(who, scheme="httpsig")


@pytest.mark.parametrize(
    ("algorithm", "key_id", "who"), CASES, ids=lambda c: getattr(c, "algorithm_id", None)
)
async def test_peer_signed_get_without_body_verifies(
    algorithm: type[algorithms.HTTPSignatureAlgorithm], key_id: str, who: Identity
) -> None:
    view = peer_signed(
        algorithm,
        key_id,
        method="GET",
        url="http://localhost:8080/v1/whoami",
        body=None,
        covered=("@method", "@authority", "@path", "@query", "@scheme", "@request-target"),
    )
    identity = await make_authenticator().authenticate(view)
    assert identity.subject == who.subject and identity.scheme == "httpsig"


async def test_peer_signed_request_with_tampered_body_fails() -> None:
    view = peer_signed(algorithms.HMAC_SHA256, KEY)
    assert view.body is not None
    tampered = dataclasses.replace(view, body=view.body.replace(b"3", b"4"))
    with pytest.raises(InvalidCredentials):
        await make_authenticator().authenticate(tampered)


async def test_peer_signature_replayed_fails() -> None:
    view = peer_signed(algorithms.ED25519, "ed-1")
    auth = make_authenticator()
    await auth.authenticate(view)
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(view)


async def test_peer_created_is_honoured_by_the_window() -> None:
    view = peer_signed(algorithms.HMAC_SHA256, KEY)
    store = Store()
    later = HttpSigAuthenticator(store, store, MemoryReplayCache(), clock=lambda: time.time() + 301)
    with pytest.raises(InvalidCredentials):
        await later.authenticate(view)
