"""A FastAPI app protected by authgate: the middleware authenticates, ``require`` authorizes.

Run it (port 8080: ``authgate serve`` itself listens on 8000)::

    uvicorn --app-dir docs/examples --port 8080 fastapi_app:app

    curl -i localhost:8080/hello                                      # 200, anonymous
    curl -i localhost:8080/reports                                    # 401 + challenges
    curl -i -H 'X-API-Key: demo-reader-key' localhost:8080/reports    # 200
    curl -i -H 'X-API-Key: demo-reader-key' -X POST localhost:8080/reports   # 403
    curl -i -u ada:ada-demo-password-1729 localhost:8080/admin/stats   # 200

The credentials live in :class:`InMemoryResolver`, a stand-in so the example runs on its
own. In production use authgate's store: ``RuntimeMiddleware`` opens a ``Runtime`` with
the app and authenticates with it (``docs/examples/runtime_app.py``); its resolver looks
keys and users up in authgate's database, caches them and enforces revocations made by
any process within 1 s (at once with Redis).
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Annotated, Any

from fastapi import FastAPI, Security

from authgate import (
    ApiKeyAuthenticator,
    AuthMiddleware,
    BasicAuthenticator,
    CredentialResolver,
    Identity,
    SchemeChain,
)
from authgate.crypto.passwords import PasswordHasher
from authgate.embedding.fastapi import Authenticated, install_error_handler, require
from authgate.schemes.base import KeyPairCredential

# Demo credentials, so the example runs as is. Never hard-code real ones.
READER_KEY = "demo-reader-key"
WRITER_KEY = "demo-writer-key"
ADMIN_USER, ADMIN_PASSWORD = "ada", "ada-demo-password-1729"


def _digest(key: str) -> str:
    # API keys are high-entropy: a plain SHA-256 is the right way to store them.
    return hashlib.sha256(key.encode()).hexdigest()


class InMemoryResolver:
    """A :class:`~authgate.CredentialResolver` over dicts — for this example only.

    In production authgate's store does this (``authgate.RuntimeMiddleware``).
    """

    def __init__(self) -> None:
        self._hasher = PasswordHasher()
        self._keys: dict[str, Identity] = {}
        self._users: dict[str, tuple[str, Identity]] = {}

    def add_key(self, key: str, identity: Identity) -> None:
        self._keys[_digest(key)] = identity  # only the digest is kept

    def add_user(self, name: str, password: str, identity: Identity) -> None:
        self._users[name] = (self._hasher.hash(password), identity)  # argon2id

    async def resolve_api_key(self, key: str) -> Identity | None:
        return self._keys.get(_digest(key))

    async def resolve_key_pair(self, key: str) -> KeyPairCredential | None:
        return None  # no key pairs in this example

    async def resolve_password(self, username: str, password: str) -> Identity | None:
        stored, identity = self._users.get(username, (None, None))
        # argon2 takes ~50-100 ms of CPU: keep it off the event loop. An unknown user
        # pays the same verification as a wrong password.
        ok = await asyncio.to_thread(self._hasher.verify, stored, password)
        return identity if ok else None


def demo_resolver() -> InMemoryResolver:
    resolver = InMemoryResolver()
    resolver.add_key(
        READER_KEY,
        Identity("reporting-bot", "u-1", "apikey", credential_id="k-1", scopes=("reports:read",)),
    )
    resolver.add_key(
        WRITER_KEY,
        Identity(
            "etl-job",
            "u-2",
            "apikey",
            credential_id="k-2",
            scopes=("reports:read", "reports:write"),
        ),
    )
    resolver.add_user(
        ADMIN_USER,
        ADMIN_PASSWORD,
        Identity(ADMIN_USER, "u-3", "basic", scopes=("search",), roles=("admin",)),
    )
    return resolver


def create_app(resolver: CredentialResolver | None = None) -> FastAPI:
    """The example API over ``resolver`` (by default the demo credentials)."""
    resolver = resolver or demo_resolver()
    chain = SchemeChain([ApiKeyAuthenticator(resolver), BasicAuthenticator(resolver)])
    app = FastAPI(title="Reports API", summary="An example API protected by authgate")
    # 1. authenticate every request (a present but invalid credential is a 401 here)
    app.add_middleware(AuthMiddleware, chain=chain)
    # 2. the challenges a route's 401 lists, and the server's error rendering
    app.state.authgate_challenges = chain.challenges
    install_error_handler(app)

    # 3. authorize per route
    @app.get("/hello")
    async def hello(caller: Annotated[Identity, Security(require(anonymous=True))]) -> str:
        """Anyone; callers who send credentials must send valid ones."""
        return f"hello, {caller.subject}"

    @app.get("/whoami")
    async def whoami(caller: Authenticated) -> dict[str, Any]:
        """Any authenticated caller."""
        return caller.as_json()

    @app.get("/reports")
    async def list_reports(
        caller: Annotated[Identity, Security(require(scopes=["reports:read"]))],
    ) -> list[str]:
        return ["q1", "q2"]

    @app.post("/reports", status_code=201)
    async def create_report(
        caller: Annotated[Identity, Security(require(scopes=["reports:write"]))],
    ) -> dict[str, str]:
        return {"created_by": caller.subject}

    @app.get("/search")
    async def search(
        caller: Annotated[
            Identity, Security(require(scopes=["reports:read", "search"], mode="any"))
        ],
    ) -> list[str]:
        """Either scope will do."""
        return []

    @app.get("/admin/stats")
    async def admin_stats(
        caller: Annotated[Identity, Security(require(roles=["admin"]))],
    ) -> dict[str, int]:
        return {"reports": 2}

    @app.get("/machine")
    async def machine_only(
        caller: Annotated[Identity, Security(require(schemes=["apikey"]))],
    ) -> str:
        """API keys only: a password login is refused (403)."""
        return caller.subject

    return app


app = create_app()

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8080)
