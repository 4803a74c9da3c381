"""The scheme factories: one per settings name, and a new scheme is one registration."""

from __future__ import annotations

from typing import get_args

import httpx2
import pytest

from authgate.config import SchemeName, Settings
from authgate.errors import InvalidCredentials
from authgate.http.request import RequestView
from authgate.identity import Identity
from authgate.replay import MemoryReplayCache
from authgate.runtime import Runtime, build_schemes
from authgate.scheme_factories import SchemeServices, scheme_factories
from authgate.schemes.apikey import ApiKeyAuthenticator
from authgate.schemes.base import Authenticator
from authgate.schemes.chain import SchemeChain
from authgate.server import AuthgateServer


class TeamToken:
    """A scheme authgate does not have: one shared token in ``X-Team-Token``."""

    name = "teamtoken"
    challenge = 'TeamToken realm="test"'
    needs_body = False
    cacheable = False
    credential_headers = ("x-team-token",)
    credential_params: tuple[str, ...] = ()

    def __init__(self, token: str) -> None:
        self._token = token

    def is_present(self, request: RequestView) -> bool:
        return "x-team-token" in request.headers

    async def authenticate(self, request: RequestView) -> Identity:
        if request.headers.get("x-team-token") != self._token:
            raise InvalidCredentials(reason="wrong team token", challenges=(self.challenge,))
        return Identity(subject="team", principal_id="team", scheme=self.name, scopes=("read",))


def team_token(services: SchemeServices) -> Authenticator:
    return TeamToken(f"team-of-{services.settings.sigv4_region}")


def test_one_factory_per_scheme_name_of_the_settings() -> None:
    assert set(scheme_factories().names()) == set(get_args(SchemeName))
    assert scheme_factories().frozen


def test_a_scheme_name_is_registered_once() -> None:
    with pytest.raises(ValueError, match="scheme 'apikey' is already registered"):
        scheme_factories(("apikey", team_token))


async def test_the_chain_keeps_the_settings_order(runtime: Runtime) -> None:
    # "anonymous" last, "basic" off: the order of Settings.schemes, the registry's ignored
    settings = runtime.settings.model_copy(
        update={"schemes": ["hmac", "apikey", "basic", "anonymous"], "basic_enabled": False}
    )
    schemes = build_schemes(SchemeServices(settings, runtime.resolver, MemoryReplayCache()))
    assert [s.name for s in schemes] == ["hmac", "apikey", "anonymous"]


async def test_an_unregistered_name_fails_clearly(runtime: Runtime) -> None:
    settings = runtime.settings.model_copy(update={"schemes": ["apikey", "teamtoken"]})
    with pytest.raises(LookupError, match="unknown scheme 'teamtoken'"):
        build_schemes(SchemeServices(settings, runtime.resolver, MemoryReplayCache()))


async def test_a_registered_scheme_works_end_to_end(settings: Settings, runtime: Runtime) -> None:
    """A new scheme is one factory given to build_schemes: runtime.py is not edited."""
    factories = scheme_factories(("teamtoken", team_token))
    chosen: Settings = runtime.settings.model_copy(update={"schemes": ["teamtoken", "apikey"]})
    services = SchemeServices(chosen, runtime.resolver, MemoryReplayCache())
    schemes = build_schemes(services, factories)
    assert isinstance(schemes[0], TeamToken) and isinstance(schemes[1], ApiKeyAuthenticator)
    original = runtime.chain
    runtime.chain = SchemeChain(schemes, extra_credential_headers=[settings.api_key_header])
    try:
        transport = httpx2.ASGITransport(app=AuthgateServer(settings, runtime))
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
            token = f"team-of-{settings.sigv4_region}"
            who = await c.get("/v1/whoami", headers={"X-Team-Token": token})
            assert who.status_code == 200, who.text
            assert who.json()["subject"] == "team" and who.json()["scheme"] == "teamtoken"
            wrong = await c.get("/v1/whoami", headers={"X-Team-Token": "nope"})
            assert wrong.status_code == 401
            assert 'TeamToken realm="test"' in wrong.headers["www-authenticate"]
    finally:
        runtime.chain = original
