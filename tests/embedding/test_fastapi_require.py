"""authgate.embedding.fastapi: require(...) dependencies, error rendering, OpenAPI."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx2
import pytest
from fastapi import Depends, FastAPI, Security

from authgate.embedding.fastapi import (
    Authenticated,
    MaybeAnonymous,
    declare_api_key_header,
    error_response,
    install_error_handler,
    require,
)
from authgate.embedding.middleware import IDENTITY_SCOPE_KEY, AuthMiddleware, Receive, Scope, Send
from authgate.errors import InsufficientScope, InvalidCredentials, Unauthorized, render
from authgate.identity import Identity
from authgate.schemes.anonymous import ANONYMOUS
from authgate.schemes.apikey import ApiKeyAuthenticator
from authgate.schemes.base import KeyPairCredential
from authgate.schemes.basic import BasicAuthenticator
from authgate.schemes.chain import SchemeChain

KEYS = {
    "agk_reader": Identity("rita", "u-1", "apikey", "k-1", scopes=("read",)),
    "agk_writer": Identity("will", "u-2", "apikey", "k-2", scopes=("read", "write")),
    "agk_admin": Identity("ada", "u-3", "apikey", "k-3", scopes=("read",), roles=("admin",)),
    "agk_search": Identity("sam", "u-4", "apikey", "k-4", scopes=("search",)),
}
BASIC_ADA = "Basic YWRhOnB3"  # ada:pw


class Resolver:
    async def resolve_api_key(self, key: str) -> Identity | None:
        return KEYS.get(key)

    async def resolve_key_pair(self, key: str) -> KeyPairCredential | None:
        return None

    async def resolve_password(self, username: str, password: str) -> Identity | None:
        if (username, password) == ("ada", "pw"):
            return Identity("ada", "u-3", "basic", roles=("admin",), scopes=("read",))
        return None


CHAIN = SchemeChain([ApiKeyAuthenticator(Resolver()), BasicAuthenticator(Resolver())])


def build(*, state_challenges: bool = True, middleware: bool = True) -> FastAPI:
    app = FastAPI()
    if middleware:
        app.add_middleware(AuthMiddleware, chain=CHAIN)
    if state_challenges:
        app.state.authgate_challenges = CHAIN.challenges
    install_error_handler(app)

    @app.get("/any")
    async def any_caller(caller: Authenticated) -> dict[str, Any]:
        return caller.as_json()

    @app.get("/read")
    async def read(caller: Annotated[Identity, Security(require(scopes=["read"]))]) -> str:
        return caller.subject

    @app.get("/read-write")
    async def read_write(
        caller: Annotated[Identity, Security(require(scopes=["read", "write"]))],
    ) -> str:
        return caller.subject

    @app.get("/read-or-search")
    async def read_or_search(
        caller: Annotated[Identity, Security(require(scopes=["read", "search"], mode="any"))],
    ) -> str:
        return caller.subject

    @app.get("/outer-scopes")
    async def outer_scopes(
        caller: Annotated[Identity, Security(require(), scopes=["write"])],
    ) -> str:
        return caller.subject

    @app.get("/admin")
    async def admin(caller: Annotated[Identity, Security(require(roles=["admin"]))]) -> str:
        return caller.subject

    @app.get("/keys-only")
    async def keys_only(
        caller: Annotated[Identity, Security(require(schemes=["apikey"]))],
    ) -> str:
        return caller.scheme

    @app.get("/open")
    async def open_route(caller: MaybeAnonymous) -> dict[str, Any]:
        return caller.as_json()

    @app.get("/custom-challenge", dependencies=[Depends(require(challenges=["Custom x=1", ""]))])
    async def custom() -> str:
        return "ok"

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=build())
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def key(k: str) -> dict[str, str]:
    return {"X-API-Key": k}


async def test_no_credentials_is_401_with_the_chains_challenges(
    client: httpx2.AsyncClient,
) -> None:
    r = await client.get("/read")
    assert r.status_code == 401
    assert r.json() == {"error": "unauthorized", "error_description": "Authentication is required."}
    assert r.headers["www-authenticate"] == ", ".join(CHAIN.challenges)
    assert r.headers["cache-control"] == "no-store"
    assert r.content == render(Unauthorized())[2]


async def test_explicit_challenges_win_and_empty_ones_are_dropped(
    client: httpx2.AsyncClient,
) -> None:
    r = await client.get("/custom-challenge")
    assert r.status_code == 401
    assert r.headers.get_list("www-authenticate") == ["Custom x=1"]


async def test_default_challenges_when_none_are_configured() -> None:
    transport = httpx2.ASGITransport(app=build(state_challenges=False))
    async with httpx2.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/read")
        keys_only = await c.get("/keys-only")
    assert r.status_code == 401
    value = r.headers["www-authenticate"]
    assert value.startswith('ApiKey realm="authgate"') and "Basic " in value and "Bearer " in value
    assert keys_only.headers["www-authenticate"] == 'ApiKey realm="authgate", header="X-API-Key"'


async def test_invalid_key_is_the_middlewares_401(client: httpx2.AsyncClient) -> None:
    for path in ("/read", "/open", "/any"):
        r = await client.get(path, headers=key("agk_unknown"))
        assert r.status_code == 401
        assert r.json()["error"] == "invalid_token"
        assert r.content == render(InvalidCredentials())[2]


async def test_scopes_all(client: httpx2.AsyncClient) -> None:
    assert (await client.get("/read", headers=key("agk_reader"))).text == '"rita"'
    denied = await client.get("/read-write", headers=key("agk_reader"))
    assert denied.status_code == 403
    assert denied.json()["error"] == "insufficient_scope"
    assert denied.content == render(InsufficientScope())[2]
    assert "www-authenticate" not in denied.headers  # not a bearer token
    assert (await client.get("/read-write", headers=key("agk_writer"))).status_code == 200


async def test_scopes_any(client: httpx2.AsyncClient) -> None:
    for k in ("agk_reader", "agk_search"):
        assert (await client.get("/read-or-search", headers=key(k))).status_code == 200
    nothing = Identity("n", "u-9", "apikey", "k-9")
    KEYS["agk_nothing"] = nothing
    try:
        r = await client.get("/read-or-search", headers=key("agk_nothing"))
    finally:
        del KEYS["agk_nothing"]
    assert r.status_code == 403
    assert r.json()["error"] == "insufficient_scope"


async def test_scopes_from_an_enclosing_security(client: httpx2.AsyncClient) -> None:
    assert (await client.get("/outer-scopes", headers=key("agk_reader"))).status_code == 403
    assert (await client.get("/outer-scopes", headers=key("agk_writer"))).status_code == 200


async def test_roles(client: httpx2.AsyncClient) -> None:
    r = await client.get("/admin", headers=key("agk_reader"))
    assert r.status_code == 403
    assert r.json() == {"error": "forbidden", "error_description": "The caller may not do this."}
    assert (await client.get("/admin", headers=key("agk_admin"))).text == '"ada"'
    assert (await client.get("/admin", headers={"Authorization": BASIC_ADA})).status_code == 200


async def test_schemes(client: httpx2.AsyncClient) -> None:
    assert (await client.get("/keys-only", headers=key("agk_reader"))).text == '"apikey"'
    r = await client.get("/keys-only", headers={"Authorization": BASIC_ADA})
    assert r.status_code == 403
    assert r.json()["error"] == "forbidden"


async def test_anonymous(client: httpx2.AsyncClient) -> None:
    r = await client.get("/open")
    assert r.status_code == 200
    assert r.json() == ANONYMOUS.as_json()
    assert (await client.get("/open", headers=key("agk_reader"))).json()["subject"] == "rita"
    assert (await client.get("/any")).status_code == 401


async def test_without_the_middleware_nothing_is_trusted() -> None:
    transport = httpx2.ASGITransport(app=build(middleware=False))
    async with httpx2.AsyncClient(transport=transport, base_url="http://t") as c:
        with pytest.raises(RuntimeError, match="AuthMiddleware is not installed"):
            await c.get("/open", headers=key("agk_unknown"))


async def test_bearer_token_lacking_a_scope_gets_the_rfc6750_challenge() -> None:
    token_identity = Identity("t", "u-5", "bearer", scopes=("read",))
    api = build(middleware=False)  # stands in for a bearer scheme in the chain

    async def inject(scope: Scope, receive: Receive, send: Send) -> None:
        scope[IDENTITY_SCOPE_KEY] = token_identity
        await api(scope, receive, send)

    transport = httpx2.ASGITransport(app=inject)
    async with httpx2.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/read-write")
    assert r.status_code == 403
    assert r.headers["www-authenticate"] == (
        'Bearer realm="authgate", error="insufficient_scope", scope="read write"'
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"anonymous": True, "scopes": ["read"]},
        {"anonymous": True, "roles": ["admin"]},
        {"scopes": ['re"ad']},
        {"scopes": ["read write"]},
        {"scopes": [""]},
        {"mode": "some"},
    ],
)
def test_impossible_requirements_are_refused_at_definition(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        require(**kwargs)


def test_error_response_matches_render() -> None:
    error = Unauthorized(challenges=["ApiKey realm=x", "Basic realm=y"])
    response = error_response(error)
    status, _, body = render(error)
    assert response.status_code == status == 401
    assert response.body == body
    assert response.headers["www-authenticate"] == "ApiKey realm=x, Basic realm=y"
    assert response.headers["content-type"] == "application/json"
    assert json.loads(body)["error"] == "unauthorized"


def test_openapi_declares_schemes_and_scopes() -> None:
    doc = build().openapi()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["ApiKeyHeader"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["Basic"] == {"type": "http", "scheme": "basic"}
    assert schemes["Bearer"] == {"type": "http", "scheme": "bearer"}

    def security(path: str) -> list[dict[str, list[str]]]:
        result: list[dict[str, list[str]]] = doc["paths"][path]["get"]["security"]
        return result

    assert security("/read") == [
        {"ApiKeyHeader": ["read"]},
        {"Basic": ["read"]},
        {"Bearer": ["read"]},
    ]
    assert security("/read-write")[0] == {"ApiKeyHeader": ["read", "write"]}
    assert security("/outer-scopes")[0] == {"ApiKeyHeader": ["write"]}
    assert security("/keys-only") == [{"ApiKeyHeader": []}]
    assert security("/any") == [{"ApiKeyHeader": []}, {"Basic": []}, {"Bearer": []}]
    # the declaration-only schemes add no parameters of their own
    assert "parameters" not in doc["paths"]["/read"]["get"]


def test_declare_api_key_header_names_the_header_in_openapi() -> None:
    app = build()
    declare_api_key_header(app, "X-Service-Key")
    doc = app.openapi()
    assert doc["components"]["securitySchemes"]["ApiKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Service-Key",
    }
    assert app.openapi() is doc  # generated once
