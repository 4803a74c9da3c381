"""Sans-I/O OAuth pieces: form parsing (RFC 6749 §3.2), client credential extraction
(§2.3), grant selection and scopes (§3.3, RFC 9700 §2.4), redirect URI rules (§3.1.2)."""

from __future__ import annotations

import base64

import pytest

from authgate.errors import InvalidRequest
from authgate.oauth.client_auth import extract_client
from authgate.oauth.errors import InvalidClient, InvalidTokenScope, UnsupportedGrantType
from authgate.oauth.form import parse_form
from authgate.oauth.grants import parse_scope, resolve_scopes, select_grant
from authgate.oauth.registration import normalize_grants, validate_redirect_uri

FORM = "application/x-www-form-urlencoded"


def test_form_refuses_duplicates_query_and_other_media_types() -> None:
    assert parse_form(b"a=1&b=&c=%C3%A9", FORM) == {"a": "1", "c": "é"}
    for body, ctype, query in [
        (b"a=1&a=2", FORM, b""),
        (b"a=1", "application/json", b""),
        (b"a=1", FORM, b"x=1"),
        (b"a=%FF", FORM, b""),
        ("a=é".encode(), FORM, b""),
    ]:
        with pytest.raises(InvalidRequest):
            parse_form(body, ctype, query)


def test_basic_credentials_are_form_urldecoded() -> None:
    raw = base64.b64encode(b"my%3Aclient:s%2Bcret+x").decode()
    presented = extract_client(f"Basic {raw}", {})
    assert presented is not None
    assert (presented.client_id, presented.secret) == ("my:client", "s+cret x")


def test_exactly_one_client_authentication_method() -> None:
    raw = "Basic " + base64.b64encode(b"a:b").decode()
    with pytest.raises(InvalidRequest):
        extract_client(raw, {"client_id": "a", "client_secret": "b"})
    with pytest.raises(InvalidRequest):
        extract_client(None, {"client_secret": "b"})
    with pytest.raises(InvalidClient) as err:
        extract_client("Basic !!!", {})
    assert err.value.challenges and err.value.challenges[0].startswith("Basic")
    assert extract_client(None, {}) is None
    assert extract_client(None, {"client_id": "p"}).method == "none"  # type: ignore[union-attr]


@pytest.mark.parametrize("grant", ["password", "implicit", "x"])
def test_refused_grants(grant: str) -> None:
    with pytest.raises(UnsupportedGrantType):
        select_grant(grant)


def test_scopes_are_never_widened() -> None:
    assert resolve_scopes(None, ("a", "b")) == ("a", "b")
    assert resolve_scopes(parse_scope("b"), ("a", "b")) == ("b",)
    with pytest.raises(InvalidTokenScope):
        resolve_scopes(parse_scope("a c"), ("a", "b"))
    with pytest.raises(InvalidTokenScope):
        parse_scope('a  "b')


def test_registration_rules() -> None:
    assert validate_redirect_uri("http://127.0.0.1:5000/cb") == "http://127.0.0.1:5000/cb"
    for bad in (
        "http://example.com/cb",
        "https://a/cb#x",
        "https://u@a/cb",
        "cb",
        "https://a:99999/",
    ):
        with pytest.raises(InvalidRequest):
            validate_redirect_uri(bad)
    assert normalize_grants(["device_code", "refresh_token"], public=True)[-1].endswith(
        "device_code"
    )
    with pytest.raises(InvalidRequest):
        normalize_grants(["client_credentials"], public=True)
    with pytest.raises(InvalidRequest):
        normalize_grants(["password"], public=False)


@pytest.mark.parametrize("encoded", ["%00", "%0A", "%0D", "%1F", "%7F", "a%09b"])
def test_form_values_with_control_characters_are_refused(encoded: str) -> None:
    from authgate.errors import InvalidRequest
    from authgate.oauth.form import parse_form

    with pytest.raises(InvalidRequest):
        parse_form(f"token=x{encoded}y".encode(), "application/x-www-form-urlencoded")
    assert parse_form(b"token=x%20y%C3%A9", "application/x-www-form-urlencoded") == {
        "token": "x yé"
    }
