"""Certificate-bound access tokens (RFC 8705 §3) through the real server.

SECURITY.md: "Certificate-bound token (``cnf.x5t#S256``) with another or no client
certificate → 401". The client certificate reaches authgate from a trusted
TLS-terminating proxy (``X-SSL-Client-Cert``, nginx's escaped PEM); the token endpoint
binds the access token to it, and the bearer scheme then wants that same certificate.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx2
import jwt
import pytest
from tests._oauth_support import OAuthWorld, basic, bearer
from tests._pki_material import issue, make_ca

from authgate.crypto.certificates import x5t_s256

PROXY = {"trusted_proxies": ["203.0.113.7/32"]}  # the oauth fixture's peer address
CA = make_ca()
MINE = issue(CA, "client-one")
OTHER = issue(CA, "client-two")


def cert_header(pem: bytes) -> dict[str, str]:
    return {"x-ssl-client-cert": quote(pem.decode("ascii"), safe="")}


async def bound_token(oauth: OAuthWorld, c: dict[str, Any]) -> str:
    r = await oauth.token(
        {"grant_type": "client_credentials"},
        headers=basic(c["client_id"], c["client_secret"]) | cert_header(MINE.cert_pem),
    )
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


@pytest.mark.parametrize("settings", [PROXY], indirect=True)
async def test_security_certificate_bound_token_needs_its_certificate(
    oauth: OAuthWorld,
) -> None:
    c = await oauth.register()
    token = await bound_token(oauth, c)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["cnf"] == {"x5t#S256": x5t_s256(MINE.cert)}
    who = oauth.client.get
    assert (
        await who("/v1/whoami", headers=bearer(token) | cert_header(MINE.cert_pem))
    ).status_code == 200
    no_cert = await who("/v1/whoami", headers=bearer(token))
    assert no_cert.status_code == 401 and "invalid_token" in no_cert.headers["www-authenticate"]
    other = await who("/v1/whoami", headers=bearer(token) | cert_header(OTHER.cert_pem))
    assert other.status_code == 401
    garbage = await who("/v1/whoami", headers=bearer(token) | {"x-ssl-client-cert": "nope"})
    assert garbage.status_code in (400, 401)
    # introspection reports the binding (RFC 8705 §3.2)
    r = await oauth.client.post(
        "/oauth/introspect",
        data={"token": token},
        headers=basic(c["client_id"], c["client_secret"]),
    )
    assert r.json()["active"] is True and r.json()["cnf"] == claims["cnf"]


@pytest.mark.parametrize("settings", [PROXY], indirect=True)
async def test_security_certificate_header_from_an_untrusted_peer_binds_nothing(
    oauth: OAuthWorld,
) -> None:
    c = await oauth.register()
    transport = httpx2.ASGITransport(app=oauth.server, client=("198.51.100.1", 1234))
    async with httpx2.AsyncClient(transport=transport, base_url=oauth.issuer) as stranger:
        r = await stranger.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers=basic(c["client_id"], c["client_secret"]) | cert_header(MINE.cert_pem),
        )
        assert r.status_code == 200
        claims = jwt.decode(r.json()["access_token"], options={"verify_signature": False})
        assert "cnf" not in claims
        # and a bound token cannot be used from there with a forged header
        token = await bound_token(oauth, c)
        r = await stranger.get("/v1/whoami", headers=bearer(token) | cert_header(MINE.cert_pem))
        assert r.status_code == 401


async def test_unbound_tokens_need_no_certificate(oauth: OAuthWorld) -> None:
    c = await oauth.register()
    r = await oauth.token(
        {"grant_type": "client_credentials"}, headers=basic(c["client_id"], c["client_secret"])
    )
    token = r.json()["access_token"]
    assert "cnf" not in jwt.decode(token, options={"verify_signature": False})
    assert (await oauth.client.get("/v1/whoami", headers=bearer(token))).status_code == 200


@pytest.mark.parametrize("settings", [PROXY], indirect=True)
async def test_a_client_certificate_yields_to_a_credential_the_request_carries(
    oauth: OAuthWorld,
) -> None:
    import base64

    from tests._oauth_support import PASSWORD, make_user

    await make_user(oauth)
    plain = {"authorization": "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()}
    r = await oauth.client.get("/v1/whoami", headers=plain | cert_header(OTHER.cert_pem))
    assert r.status_code == 200 and r.json()["scheme"] == "basic"
    # alone, the (unregistered) certificate is the credential, and it is refused
    r = await oauth.client.get("/v1/whoami", headers=cert_header(OTHER.cert_pem))
    assert r.status_code == 401
    # two request-carried credentials are still ambiguous
    r = await oauth.client.get("/v1/whoami", headers=plain | {"x-api-key": "agk_x"})
    assert r.status_code == 400
