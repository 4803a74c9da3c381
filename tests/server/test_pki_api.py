"""/v1/certificates and /v1/public-keys, and mTLS through the server."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import httpx2
from cryptography.hazmat.primitives.asymmetric import ed25519
from tests._pki_material import issue, make_ca, public_pem
from tests.conftest import make_settings

from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.server import AuthgateServer

CA = make_ca()
CLIENT = issue(CA, "svc-client")
PROXY = "10.0.0.5"


def escaped(pem: bytes) -> str:
    return quote(pem.decode("ascii"), safe="")


async def test_certificate_registered_over_api_authenticates_via_trusted_proxy(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, trusted_proxies=[f"{PROXY}/32"])
    rt: Runtime = await Runtime.open(settings, batched_audit=False)
    try:
        await rt.users.create(LOCAL_ADMIN, "svc", scopes=["read"])
        await rt.users.create(LOCAL_ADMIN, "other")
        key = {"X-API-Key": (await rt.keys.create(LOCAL_ADMIN, user="svc")).key}
        other = {"X-API-Key": (await rt.keys.create(LOCAL_ADMIN, user="other")).key}
        server = AuthgateServer(settings, rt)

        def client(peer: str) -> httpx2.AsyncClient:
            transport = httpx2.ASGITransport(app=server, client=(peer, 1234))
            return httpx2.AsyncClient(transport=transport, base_url="http://t")

        async with client("192.0.2.10") as direct, client(PROXY) as proxied:
            r = await direct.post(
                "/v1/certificates",
                json={"certificate_pem": CLIENT.cert_pem.decode(), "name": "svc"},
                headers=key,
            )
            assert r.status_code == 201, r.text
            cert_id = r.json()["id"]
            pk = ed25519.Ed25519PrivateKey.generate()
            r = await direct.post(
                "/v1/public-keys",
                json={
                    "key_id": "svc-ed",
                    "algorithm": "ed25519",
                    "public_key_pem": public_pem(pk).decode(),
                },
                headers=key,
            )
            assert r.status_code == 201, r.text
            listed = await direct.get("/v1/public-keys", headers=other)
            assert listed.json() == {"public_keys": []}  # another member sees nothing
            assert (
                await direct.post(f"/v1/certificates/{cert_id}/revoke", headers=other)
            ).status_code == 404

            cert_header = {"X-SSL-Client-Cert": escaped(CLIENT.cert_pem)}
            r = await proxied.get("/v1/whoami", headers=cert_header)
            assert r.status_code == 200, r.text
            assert r.json()["scheme"] == "mtls" and r.json()["subject"] == "svc"
            # the same header from a peer that is not a trusted proxy counts for nothing
            assert (await direct.get("/v1/whoami", headers=cert_header)).status_code == 401

            r = await direct.post(f"/v1/certificates/{cert_id}/revoke", headers=key)
            assert r.status_code == 200 and r.json()["status"] == "revoked"
            assert (await proxied.get("/v1/whoami", headers=cert_header)).status_code == 401
    finally:
        await rt.close()
