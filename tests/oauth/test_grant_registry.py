"""The grant registry: one handler per grant_type, refused grants never registrable."""

from __future__ import annotations

from typing import Any

import pytest

from authgate.errors import InvalidRequest
from authgate.oauth.errors import UnsupportedGrantType
from authgate.oauth.grants import (
    IMPLEMENTED_GRANTS,
    GrantContext,
    GrantRegistry,
    TokenRequest,
    default_grants,
    select_grant,
)
from authgate.oauth.grants.client_credentials import ClientCredentialsGrant
from authgate.oauth.registration import DEVICE_CODE_GRANT


class NamedGrant:
    def __init__(self, grant_type: str) -> None:
        self.grant_type = grant_type

    async def token(self, ctx: GrantContext, request: TokenRequest) -> dict[str, Any]:
        return {}


def test_the_default_grants_in_metadata_order() -> None:
    grants = default_grants()
    assert grants.frozen
    assert grants.grant_types == IMPLEMENTED_GRANTS
    assert grants.grant_types == (
        "authorization_code",
        "client_credentials",
        "refresh_token",
        DEVICE_CODE_GRANT,
    )


def test_extra_grants_come_after_the_default_ones() -> None:
    grants = default_grants(NamedGrant("urn:example:team"))
    assert grants.grant_types[-1] == "urn:example:team"
    assert select_grant("urn:example:team", grants).grant_type == "urn:example:team"
    with pytest.raises(UnsupportedGrantType):
        select_grant("urn:example:team")  # not in the default registry


def test_a_grant_type_is_registered_once() -> None:
    with pytest.raises(ValueError, match="grant 'client_credentials' is already registered"):
        default_grants(ClientCredentialsGrant())
    with pytest.raises(ValueError, match="already registered"):
        GrantRegistry([NamedGrant("x"), NamedGrant("x")])


@pytest.mark.parametrize("grant", ["password", "implicit"])
def test_refused_grants_cannot_be_registered(grant: str) -> None:
    with pytest.raises(ValueError, match="refused on purpose"):
        default_grants(NamedGrant(grant))


def test_a_handler_is_registered_under_its_own_grant_type() -> None:
    registry = GrantRegistry()
    with pytest.raises(ValueError, match="registered with a 'b' handler"):
        registry.register("a", NamedGrant("b"))
    registry.add(NamedGrant("a"))
    assert registry.grant_types == ("a",)


def test_a_frozen_registry_takes_no_more_grants() -> None:
    with pytest.raises(RuntimeError, match="frozen"):
        default_grants().add(NamedGrant("urn:example:late"))


def test_grant_type_is_required() -> None:
    with pytest.raises(InvalidRequest, match="grant_type is required"):
        default_grants().select(None)
