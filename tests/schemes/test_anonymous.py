"""AnonymousAuthenticator: explicit No Auth that never competes with real credentials."""

from __future__ import annotations

import pytest

from authgate.errors import InvalidCredentials, InvalidRequest
from authgate.identity import Identity
from authgate.schemes.anonymous import ANONYMOUS, AnonymousAuthenticator, identity_or_anonymous
from authgate.schemes.apikey import ApiKeyAuthenticator
from authgate.schemes.base import Authenticator, Headers, KeyPairCredential, RequestView
from authgate.schemes.basic import BasicAuthenticator
from authgate.schemes.chain import SchemeChain

GOOD_KEY = "agk_good_key_0123456789"
ALICE = Identity(
    subject="alice", principal_id="u-1", scheme="apikey", credential_id="k-1", scopes=("read",)
)


class Keys:
    async def resolve_api_key(self, key: str) -> Identity | None:
        return ALICE if key == GOOD_KEY else None

    async def resolve_key_pair(self, key: str) -> KeyPairCredential | None:
        return None

    async def resolve_password(self, username: str, password: str) -> Identity | None:
        return None


def request(*headers: tuple[str, str], query: str = "", path: str = "/") -> RequestView:
    return RequestView(
        method="GET",
        scheme="https",
        authority="api.example.com",
        path=path,
        query=query,
        headers=Headers([("host", "api.example.com"), *headers]),
    )


def chain(*, anonymous_first: bool = False) -> SchemeChain:
    real = [ApiKeyAuthenticator(Keys()), BasicAuthenticator(Keys())]
    anon: list[Authenticator] = [AnonymousAuthenticator()]
    return SchemeChain([*anon, *real] if anonymous_first else [*real, *anon])


def test_attributes_and_protocol() -> None:
    scheme = AnonymousAuthenticator()
    assert isinstance(scheme, Authenticator)
    assert scheme.name == "anonymous"
    assert scheme.cacheable is False
    assert scheme.needs_body is False
    assert scheme.credential_headers == ()
    assert scheme.credential_params == ()


def test_anonymous_identity_holds_nothing() -> None:
    assert ANONYMOUS == Identity(subject="anonymous", principal_id="anonymous", scheme="anonymous")
    assert ANONYMOUS.scopes == () and ANONYMOUS.roles == ()
    assert ANONYMOUS.credential_id is None
    assert not ANONYMOUS.has_scopes(["read"])
    assert not ANONYMOUS.has_role("admin")


def test_identity_or_anonymous() -> None:
    assert identity_or_anonymous(None) is ANONYMOUS
    assert identity_or_anonymous(ALICE) is ALICE


@pytest.mark.parametrize(
    "headers",
    [
        (),
        (("x-api-key", GOOD_KEY),),
        (("authorization", "Basic YWxpY2U6cHc="),),
        (("authorization", "Anonymous"),),
        (("authorization", ""),),
    ],
)
def test_never_present(headers: tuple[tuple[str, str], ...]) -> None:
    assert AnonymousAuthenticator().is_present(request(*headers)) is False


async def test_authenticate_gives_anonymous() -> None:
    assert await AnonymousAuthenticator().authenticate(request()) is ANONYMOUS


@pytest.mark.parametrize("anonymous_first", [False, True])
@pytest.mark.parametrize(
    "headers",
    [
        (("x-api-key", "agk_wrong"),),
        (("x-api-key", ""),),
        (("authorization", "ApiKey agk_wrong"),),
        (("authorization", "Bearer agk_revoked"),),
        (("authorization", "Basic !!!not-base64"),),
        (("authorization", "Basic YWxpY2U6d3Jvbmc="),),  # alice:wrong
        (("authorization", "Digest username=alice"),),  # a scheme nobody handles
    ],
)
async def test_present_but_invalid_never_becomes_anonymous(
    anonymous_first: bool, headers: tuple[tuple[str, str], ...]
) -> None:
    c = chain(anonymous_first=anonymous_first)
    view = request(*headers)
    with pytest.raises(InvalidCredentials):
        await c.authenticate(view)
    with pytest.raises(InvalidCredentials):  # ... nor via the helper a handler would use
        identity_or_anonymous(await c.authenticate(view))


@pytest.mark.parametrize("anonymous_first", [False, True])
async def test_valid_credentials_win_wherever_anonymous_sits(anonymous_first: bool) -> None:
    c = chain(anonymous_first=anonymous_first)
    assert c.select(request(("x-api-key", GOOD_KEY))) is c.schemes[1 if anonymous_first else 0]
    assert await c.authenticate(request(("x-api-key", GOOD_KEY))) is ALICE


async def test_no_credentials_is_anonymous_only_through_the_helper() -> None:
    c = chain()
    assert c.select(request()) is None
    assert await c.authenticate(request()) is None
    assert identity_or_anonymous(await c.authenticate(request())) is ANONYMOUS


async def test_two_credentials_stay_ambiguous() -> None:
    view = request(("x-api-key", GOOD_KEY), ("authorization", "Basic YWxpY2U6cHc="))
    with pytest.raises(InvalidRequest):
        await chain().authenticate(view)


def test_adds_no_credential_headers_to_the_chain() -> None:
    with_anon = chain()
    without = SchemeChain([ApiKeyAuthenticator(Keys()), BasicAuthenticator(Keys())])
    assert with_anon.credential_headers == without.credential_headers
    assert with_anon.credential_params == without.credential_params
    assert not with_anon.needs_body
