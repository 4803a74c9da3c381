"""Keys registered through PkiService verify real peers' signatures, on both backends:
RFC 9421 ed25519 (http-message-signatures) and OAuth 1.0a RSA-SHA256 (requests-oauthlib)."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from http_message_signatures import HTTPMessageSigner, HTTPSignatureKeyResolver, algorithms
from requests_oauthlib import OAuth1
from tests._pki_material import private_pem, public_pem
from tests.conftest import Accounts

from authgate.accounts.pki import PkiResolver, PkiService
from authgate.errors import InvalidCredentials
from authgate.replay import MemoryReplayCache
from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.schemes.base import Headers, RequestView
from authgate.schemes.httpsig import HttpSigAuthenticator
from authgate.schemes.oauth1 import OAuth1Authenticator

ED = ed25519.Ed25519PrivateKey.generate()
RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class PeerKeys(HTTPSignatureKeyResolver):
    def resolve_private_key(self, key_id: str) -> object:
        return {"alice-ed": ED}[key_id]

    def resolve_public_key(self, key_id: str) -> object:
        raise NotImplementedError


def view_of(prepared: requests.PreparedRequest) -> RequestView:
    assert prepared.url is not None and prepared.method is not None
    parts = urlsplit(prepared.url)
    body = prepared.body
    return RequestView(
        method=prepared.method,
        scheme=parts.scheme,
        authority=parts.netloc,
        path=parts.path,
        query=parts.query,
        headers=Headers(
            (k, v.decode("latin-1") if isinstance(v, bytes) else v)
            for k, v in prepared.headers.items()
        ),
        body=body.encode() if isinstance(body, str) else body,
    )


def httpsig_signed(key_id: str = "alice-ed") -> RequestView:
    body = b'{"item": "widget"}'
    prepared = requests.Request(
        "POST",
        "https://api.example.com/v1/orders?x=1",
        data=body,
        headers={"Content-Type": "application/json"},
    ).prepare()
    HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=PeerKeys()).sign(
        prepared,
        key_id=key_id,
        nonce=secrets.token_urlsafe(16),
        covered_component_ids=("@method", "@authority", "@target-uri", "content-digest"),
        body=body,
        use_existing_digest=False,
    )
    return view_of(prepared)


def oauth1_signed(key_id: str) -> RequestView:
    auth = OAuth1(
        key_id, signature_method="RSA-SHA256", rsa_key=private_pem(RSA).decode(), nonce=None
    )
    prepared = requests.Request("GET", "http://api.example.com/v1/things?a=1", auth=auth).prepare()
    return view_of(prepared)


async def registered(rt: Runtime, accounts: Accounts) -> tuple[PkiService, PkiResolver, str]:
    user = await accounts.user("alice", scopes=["orders:write"])
    resolver = PkiResolver(rt.db)
    return PkiService(rt.db, rt.users, rt.audit, on_changed=resolver.invalidate), resolver, user.id


async def test_rfc9421_ed25519_request_verifies_with_registered_key(
    runtime: Runtime, accounts: Accounts
) -> None:
    service, resolver, alice_id = await registered(runtime, accounts)
    view = await service.add_public_key(
        LOCAL_ADMIN,
        user="alice",
        key_id="alice-ed",
        algorithm="ed25519",
        public_key_pem=public_pem(ED),
    )
    auth = HttpSigAuthenticator(runtime.resolver, resolver, MemoryReplayCache())
    identity = await auth.authenticate(httpsig_signed())
    assert (identity.subject, identity.principal_id, identity.scheme) == (
        "alice",
        alice_id,
        "httpsig",
    )
    assert identity.credential_id == view.id and identity.scopes == ("orders:write",)

    await service.revoke_public_key(LOCAL_ADMIN, view.id)
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(httpsig_signed())


async def test_rfc9421_key_registered_for_another_algorithm_is_refused(
    runtime: Runtime, accounts: Accounts
) -> None:
    service, resolver, _ = await registered(runtime, accounts)
    # the ed25519 key id now names an RSA key pinned to rsa-sha256: never usable by httpsig
    await service.add_public_key(
        LOCAL_ADMIN,
        user="alice",
        key_id="alice-ed",
        algorithm="rsa-sha256",
        public_key_pem=public_pem(RSA),
    )
    auth = HttpSigAuthenticator(runtime.resolver, resolver, MemoryReplayCache())
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(httpsig_signed())


async def test_oauth1_rsa_sha256_request_verifies_with_registered_key(
    runtime: Runtime, accounts: Accounts
) -> None:
    service, resolver, alice_id = await registered(runtime, accounts)
    view = await service.add_public_key(
        LOCAL_ADMIN,
        user="alice",
        key_id="alice-rsa",
        algorithm="rsa-sha256",
        public_key_pem=public_pem(RSA),
    )
    auth = OAuth1Authenticator(runtime.resolver, resolver, MemoryReplayCache())
    identity = await auth.authenticate(oauth1_signed("alice-rsa"))
    assert (identity.subject, identity.principal_id, identity.scheme, identity.credential_id) == (
        "alice",
        alice_id,
        "oauth1",
        view.id,
    )
    # an ed25519 key is never accepted for RSA-SHA256, and unknown consumer keys fail alike
    await service.add_public_key(
        LOCAL_ADMIN,
        user="alice",
        key_id="alice-ed",
        algorithm="ed25519",
        public_key_pem=public_pem(ED),
    )
    for key_id in ("alice-ed", "nobody"):
        with pytest.raises(InvalidCredentials):
            await auth.authenticate(oauth1_signed(key_id))
    await service.revoke_public_key(LOCAL_ADMIN, view.id)
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(oauth1_signed("alice-rsa"))
