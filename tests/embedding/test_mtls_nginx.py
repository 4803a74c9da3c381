"""mTLS behind a real nginx: nginx terminates TLS (``ssl_verify_client on``) and forwards
``$ssl_client_escaped_cert`` to a real uvicorn serving ``AuthMiddleware`` + the mTLS
scheme, backed by the real PkiResolver on SQLite.

Two app instances: the one behind nginx trusts 127.0.0.1 as its proxy; the second trusts
no proxy and stands for "a client reaching the app directly, bypassing nginx" (nginx and
the test client share 127.0.0.1, so one instance cannot tell them apart by address).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2
import pytest
import uvicorn
from tests._nginx import free_port, running_nginx, wait_for_port
from tests._pki_material import Issued, issue, make_ca
from tests.conftest import make_settings

from authgate.accounts.pki import PkiResolver, PkiService
from authgate.embedding import AuthMiddleware, get_identity
from authgate.http.proxies import TrustedProxies
from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.schemes.chain import SchemeChain
from authgate.schemes.mtls import MtlsAuthenticator
from authgate.store.db import Database


async def whoami(scope: Any, receive: Any, send: Any) -> None:
    identity = get_identity(scope)
    body = json.dumps(identity.as_json() if identity else None).encode()
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class AppServer:
    """uvicorn in a thread, serving whoami behind AuthMiddleware + MtlsAuthenticator."""

    def __init__(self, database_url: str, proxies: list[str]) -> None:
        self.port = free_port()
        self.db = Database(database_url)  # its own engine: used only on the server's loop
        trusted = TrustedProxies(proxies)
        chain = SchemeChain([MtlsAuthenticator(PkiResolver(self.db), proxies=trusted)])
        app = AuthMiddleware(whoami, chain, trusted_proxies=trusted)
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            lifespan="off",
            log_level="warning",
            access_log=False,
            ws="none",
            # scope["client"] must stay the TCP peer: authgate's TrustedProxies reads
            # X-Forwarded-For itself (uvicorn's default would rewrite the peer from it)
            proxy_headers=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        async def go() -> None:
            try:
                await self.server.serve()
            finally:
                await self.db.dispose()

        asyncio.run(go())

    def __enter__(self) -> AppServer:
        self.thread.start()
        wait_for_port(self.port, self.thread.is_alive, "uvicorn")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


NGINX_SERVERS = """
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {dir}/server.pem;
        ssl_certificate_key {dir}/server.key;
        ssl_client_certificate {dir}/ca.pem;
        ssl_verify_client on;
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
        }}
        location /via-xff/ {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
            proxy_set_header X-Forwarded-For 203.0.113.9;
        }}
    }}
"""


class Pki:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.ca = make_ca()
        (directory / "ca.pem").write_bytes(self.ca.cert_pem)
        issue(self.ca, "localhost", server=True).write(directory, "server")
        self.registered = issue(self.ca, "registered-client")
        self.unregistered = issue(self.ca, "unregistered-client")
        self.foreign = issue(make_ca("another CA"), "foreign-client")

    def context(self, client: Issued | None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.dir / "ca.pem"))
        if client is not None:
            cert, key = client.write(self.dir, f"client-{id(client)}")
            ctx.load_cert_chain(cert, key)
        return ctx


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Pki, int, AppServer, AppServer, str]]:
    pki = Pki(tmp_path)
    settings = make_settings(tmp_path)

    async def register() -> str:
        rt = await Runtime.open(settings, batched_audit=False)
        try:
            user = await rt.users.create(LOCAL_ADMIN, "svc", scopes=["read"])
            await PkiService(rt.db, rt.users, rt.audit).add_certificate(
                LOCAL_ADMIN, pki.registered.cert_pem, user="svc"
            )
            return user.id
        finally:
            await rt.close()

    svc_id = asyncio.run(register())
    url = settings.effective_database_url
    with AppServer(url, ["127.0.0.1"]) as behind, AppServer(url, []) as direct:
        port = free_port()
        servers = NGINX_SERVERS.format(dir=tmp_path, port=port, upstream=behind.port)
        with running_nginx(tmp_path, servers, port):
            yield pki, port, behind, direct, svc_id


def get(port: int, ctx: ssl.SSLContext, path: str = "/whoami") -> httpx2.Response:
    with httpx2.Client(verify=ctx, timeout=10) as c:
        return c.get(f"https://localhost:{port}{path}")


def test_registered_client_certificate_authenticates(world: Any) -> None:
    pki, port, _, _, svc_id = world
    r = get(port, pki.context(pki.registered))
    assert r.status_code == 200
    body = r.json()
    assert (body["subject"], body["principal_id"], body["scheme"]) == ("svc", svc_id, "mtls")
    assert body["scopes"] == ["read"]


def test_unregistered_certificate_from_the_trusted_ca_is_401(world: Any) -> None:
    pki, port, _, _, _ = world
    r = get(port, pki.context(pki.unregistered))
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    assert 'Certificate realm="authgate"' in r.headers.get_list("www-authenticate")


def test_no_certificate_or_foreign_ca_is_rejected_by_nginx(world: Any) -> None:
    pki, port, _, _, _ = world
    for ctx in (pki.context(None), pki.context(pki.foreign)):
        r = get(port, ctx)
        assert r.status_code == 400 and "SSL certificate" in r.text  # nginx's own page


def test_certificate_believed_when_proxy_appends_forwarded_for(world: Any) -> None:
    """nginx appending X-Forwarded-For for a remote client: trust rests on the direct peer
    (RequestView.peer), not on the forwarded client address."""
    pki, port, _, _, _ = world
    body = get(port, pki.context(pki.registered), "/via-xff/whoami").json()
    assert body is not None and body["subject"] == "svc"


def test_header_sent_directly_to_the_app_is_ignored(world: Any) -> None:
    pki, _, _, direct, _ = world
    forged = quote(pki.registered.cert_pem.decode(), safe="")
    with httpx2.Client(timeout=10) as c:
        r = c.get(f"http://127.0.0.1:{direct.port}/whoami", headers={"X-SSL-Client-Cert": forged})
    assert r.status_code == 200 and r.json() is None  # anonymous: the header counted for nothing
