"""Sans-I/O checks of the authorization request: redirect URI matching (RFC 9700 §4.1.3,
RFC 8252 §7.3), the query kept on answers (RFC 6749 §3.1.2), CVE-2022-36087 timing."""

from __future__ import annotations

import time

import pytest

from authgate.oauth.authorize import (
    AuthorizationError,
    InvalidAuthorizationTarget,
    append_query,
    parse_authorization_params,
    redirect_uri_matches,
    validate_authorization_request,
)
from authgate.oauth.clients import ClientRecord
from authgate.oauth.pkce import challenge_of

CHALLENGE = challenge_of("a" * 43)


def client(*uris: str, grants: tuple[str, ...] = ("authorization_code",)) -> ClientRecord:
    return ClientRecord(
        "id", "agc_x", "app", True, None, "none", None, grants, uris, ("read",), None
    )


def params(**extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": "agc_x",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    } | extra


@pytest.mark.parametrize(
    ("registered", "presented", "ok"),
    [
        ("https://a.example/cb", "https://a.example/cb", True),
        ("https://a.example/cb", "https://a.example/cb/", False),
        ("https://a.example/cb", "https://A.example/cb", False),
        ("https://a.example/cb", "https://a.example:443/cb", False),
        ("http://127.0.0.1/cb", "http://127.0.0.1:8123/cb", True),
        ("http://127.0.0.1:9/cb", "http://127.0.0.1:8123/cb", True),
        ("http://[::1]/cb", "http://[::1]:8123/cb", True),
        ("http://127.0.0.1/cb", "http://127.0.0.1:8123/cb?x", False),
        ("http://127.0.0.1/cb", "http://127.0.0.2:8123/cb", False),
        ("http://127.0.0.1/cb", "http://u@127.0.0.1:8123/cb", False),
        ("http://127.0.0.1/cb", "http://127.0.0.1:99999/cb", False),
        ("http://127.0.0.1/cb", "https://127.0.0.1:8123/cb", False),
    ],
)
def test_redirect_uri_matching(registered: str, presented: str, ok: bool) -> None:
    assert redirect_uri_matches(registered, presented) is ok


def test_security_pathological_uris_are_matched_in_under_a_tenth_of_a_second() -> None:
    for uri in ("http://[::::::::::::::::::::::::::]/path", "http://" + "[" * 100_000):
        started = time.perf_counter()
        assert not redirect_uri_matches("http://127.0.0.1/cb", uri)
        assert time.perf_counter() - started < 0.1


def test_answers_keep_the_redirect_uris_query() -> None:
    out = append_query("https://a.example/cb?app=1", {"code": "c", "state": "s t"})
    assert out == "https://a.example/cb?app=1&code=c&state=s+t"


def test_only_registered_redirect_is_implied_when_omitted() -> None:
    req = validate_authorization_request(params(), frozenset(), client("https://a.example/cb"))
    assert req.redirect_uri == "https://a.example/cb" and not req.redirect_uri_given
    with pytest.raises(InvalidAuthorizationTarget):
        validate_authorization_request(
            params(), frozenset(), client("https://a.example/cb", "https://a.example/2")
        )


def test_repeated_parameters_are_refused_and_state_is_not_echoed_when_repeated() -> None:
    pairs = [*params(redirect_uri="https://a.example/cb").items(), ("state", "a"), ("state", "b")]
    got, repeated = parse_authorization_params(pairs)
    with pytest.raises(AuthorizationError) as info:
        validate_authorization_request(got, repeated, client("https://a.example/cb"))
    assert info.value.error == "invalid_request" and info.value.state is None


def test_request_objects_are_not_supported() -> None:
    with pytest.raises(AuthorizationError) as info:
        validate_authorization_request(
            params(request="eyJ..."), frozenset(), client("https://a.example/cb")
        )
    assert info.value.error == "request_not_supported"


def test_as_params_round_trips() -> None:
    c = client("https://a.example/cb")
    req = validate_authorization_request(
        params(scope="openid read", state="s", nonce="n", max_age="60", prompt="consent login"),
        frozenset(),
        c,
    )
    again = validate_authorization_request(req.as_params(), frozenset(), c)
    assert again.prompt == frozenset({"consent"})  # "login" is spent by the login page
    assert (again.scopes, again.state, again.nonce, again.max_age) == (
        ("openid", "read"),
        "s",
        "n",
        60,
    )
