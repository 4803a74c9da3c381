"""Path normalisation and matching: the SECURITY.md route-matching cases, one test each."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authgate.errors import InvalidRequest
from authgate.identity import Identity
from authgate.policy import Policy, decide, normalize_path, parse_policy
from authgate.policy.paths import PathPattern, split_path

# /health is public; everything else needs credentials, /admin needs the admin role
POLICY = parse_policy(
    {
        "default": "deny",
        "routes": [
            {"path": "/health", "methods": ["GET"], "anonymous": True},
            {"path": "/public/**", "anonymous": True},
            {"path": "/admin/**", "roles": ["admin"]},
        ],
    }
)
MEMBER = Identity(subject="bob", principal_id="u2", scheme="apikey")


def route_for(raw_path: str, policy: Policy = POLICY) -> str | None:
    decision = decide(policy, "GET", raw_path, MEMBER, "192.0.2.1")
    assert decision.status != 400, decision.reason
    return decision.route


# -- SECURITY.md: "A public route /health must not match ..." ---------------------------


def test_health_is_public() -> None:
    decision = decide(POLICY, "GET", "/health", None, None)
    assert decision.allowed and decision.route == "GET /health"


def test_health_does_not_match_query_smuggled_health() -> None:
    decision = decide(POLICY, "GET", "/admin?x=/health", None, None)
    assert not decision.allowed and decision.status == 401
    assert decision.route == "* /admin/**" and decision.path == "/admin"


def test_health_does_not_match_encoded_fragment() -> None:
    decision = decide(POLICY, "GET", "/admin%23/health", None, None)
    assert not decision.allowed
    assert decision.path == "/admin#/health" and decision.route is None  # default deny


def test_health_does_not_match_dot_dot_escape_to_admin() -> None:
    decision = decide(POLICY, "GET", "/health/../admin", MEMBER, None)
    assert decision.status == 403 and decision.route == "* /admin/**"
    assert decision.path == "/admin"


def test_health_does_not_match_double_slash_admin() -> None:
    decision = decide(POLICY, "GET", "//admin", None, None)
    assert decision.status == 401 and decision.route == "* /admin/**"


@pytest.mark.parametrize(
    "raw",
    [
        "/health/%2e%2e/admin",
        "/health/%2E%2E/admin",
        "/health/.%2e/admin",
        "/health/%2e./admin",
        "/public/../admin",
        "/public/./../admin/",
        "/./admin",
    ],
)
def test_encoded_and_plain_dot_segments_resolve_to_what_they_are(raw: str) -> None:
    assert route_for(raw) == "* /admin/**"


@pytest.mark.parametrize(
    "raw",
    [
        "/admin%2fhealth",
        "/health%2F..%2Fadmin",
        "/health%2f%2e%2e%2fadmin",
    ],
)
def test_encoded_slash_is_refused(raw: str) -> None:
    decision = decide(POLICY, "GET", raw, None, None)
    assert decision.status == 400 and isinstance(decision.error, InvalidRequest)


@pytest.mark.parametrize(
    "raw",
    [
        "/health\\..\\admin",
        "/health%5c..%5cadmin",
        "/health%5C..%5Cadmin",
    ],
)
def test_backslashes_are_refused(raw: str) -> None:
    assert decide(POLICY, "GET", raw, None, None).status == 400


@pytest.mark.parametrize(
    "raw",
    [
        "/public/..;/admin",  # Tomcat strips ;... : would reach /admin
        "/health;x=1",
        "/admin;jsessionid=1/x",
        "/public/%3B/admin",
    ],
)
def test_path_parameters_are_refused(raw: str) -> None:
    assert decide(POLICY, "GET", raw, None, None).status == 400


@pytest.mark.parametrize(
    "raw", ["/health%00", "/health%00/../admin", "/he%0alth", "/x%7f", "/x%c2%85"]
)
def test_nul_and_control_characters_are_refused(raw: str) -> None:
    assert decide(POLICY, "GET", raw, None, None).status == 400


@pytest.mark.parametrize("raw", ["/health\x00", "/hea lth", "/h\tx", "/caf\xe9", "/a#b"])
def test_raw_characters_outside_the_path_grammar_are_refused(raw: str) -> None:
    assert decide(POLICY, "GET", raw, None, None).status == 400


@pytest.mark.parametrize("raw", ["/..", "/../admin", "/health/../../admin", "/%2e%2e/x"])
def test_escaping_the_root_is_refused(raw: str) -> None:
    decision = decide(POLICY, "GET", raw, None, None)
    assert decision.status == 400 and "escapes the root" in decision.reason


def test_overlong_path_is_refused_but_the_query_does_not_count() -> None:
    assert decide(POLICY, "GET", "/health/" + "a" * 3000, None, None).status == 400
    assert decide(POLICY, "GET", "/health?" + "a" * 3000, None, None).allowed
    small = parse_policy({"max_path_length": 16, "routes": [{"path": "/**", "anonymous": True}]})
    assert decide(small, "GET", "/" + "a" * 15, None, None).allowed
    assert decide(small, "GET", "/" + "a" * 16, None, None).status == 400


@pytest.mark.parametrize("raw", ["health", "", "*", "http://evil/health"])
def test_non_origin_form_is_refused(raw: str) -> None:
    assert decide(POLICY, "GET", raw, None, None).status == 400


@pytest.mark.parametrize("raw", ["/%zz", "/%4", "/%", "/%ff", "/%c3"])
def test_malformed_percent_encoding_and_bad_utf8_are_refused(raw: str) -> None:
    with pytest.raises(InvalidRequest):
        split_path(raw)


def test_decoded_exactly_once() -> None:
    # %252e is the text "%2e", not a dot: decoding twice would make it one
    assert split_path("/health/%252e%252e/admin") == ("health", "%2e%2e", "admin")
    assert route_for("/health/%252e%252e/admin") is None


def test_normalisation_results() -> None:
    assert normalize_path("/") == "/"
    assert normalize_path("//") == "/"
    assert normalize_path("/a/b/") == "/a/b"
    assert normalize_path("/a//b///c") == "/a/b/c"
    assert normalize_path("/a/./b/../c") == "/a/c"
    assert normalize_path("/caf%C3%A9/%7Euser") == "/café/~user"
    assert normalize_path("/a%20b") == "/a b"


def test_trailing_slash_and_case() -> None:
    assert route_for("/health/") == "GET /health"
    assert route_for("/HEALTH") is None  # RFC 3986 §6.2.2.1: paths are case-sensitive
    assert route_for("/healthz") is None
    assert route_for("/health/x") is None


# -- patterns -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/", "/", True),
        ("/", "/a", False),
        ("/a/b", "/a/b", True),
        ("/a/b", "/a/b/c", False),
        ("/a/{id}", "/a/7", True),
        ("/a/{id}", "/a", False),
        ("/a/{id}", "/a/7/8", False),
        ("/a/*/c", "/a/x/c", True),
        ("/a/**", "/a", True),
        ("/a/**", "/a/b/c/d", True),
        ("/a/**", "/ab", False),
        ("/**", "/", True),
        ("/**", "/x/y", True),
    ],
)
def test_pattern_matching(pattern: str, path: str, matches: bool) -> None:
    assert PathPattern.parse(pattern).matches(split_path(path)) is matches


@pytest.mark.parametrize(
    "pattern",
    ["a/b", "/a/", "/a//b", "/a/**/b", "/a/b*", "/a/{id", "/a/{1x}", "/a/../b", "/a;x", "/%41"],
)
def test_bad_patterns(pattern: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        PathPattern.parse(pattern)


# -- fuzz -------------------------------------------------------------------------------

_PIECES = st.sampled_from(
    ["/", "//", ".", "..", "%2e", "%2E", "%2f", "%5c", "%00", "%", "%zz", ";", "\\", "?", "#",
     "admin", "health", "public", "%23", "%25", "%c3%a9", "\xe9", " ", "*", "{x}", "~"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(max_size=80),
        st.text(max_size=80).map(lambda t: "/" + t),
        st.lists(_PIECES, max_size=20).map("".join),
        st.lists(_PIECES, max_size=20).map(lambda p: "/" + "".join(p)),
    )
)
def test_fuzzed_paths_never_raise_and_never_escape(raw: str) -> None:
    for identity in (None, MEMBER):
        decision = decide(POLICY, "GET", raw, identity, "192.0.2.1")
        if decision.status == 400:
            assert isinstance(decision.error, InvalidRequest) and decision.path is None
            continue
        # what matched is what the normalised path really is
        assert decision.path is not None and decision.path.startswith("/")
        segments = split_path(raw)
        assert ".." not in segments and "." not in segments and "" not in segments
        if decision.route == "GET /health":
            assert segments == ("health",)
        if decision.route == "* /public/**":
            assert segments[:1] == ("public",)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_fuzzed_raw_bytes_as_the_middleware_passes_them(raw: bytes) -> None:
    decision = decide(POLICY, "GET", "/" + raw.decode("latin-1"), MEMBER, None)
    assert decision.status in (400, 403) or decision.allowed
    assert (decision.status == 400) is isinstance(decision.error, InvalidRequest)


@pytest.mark.parametrize(
    "path", ["/admin//../public", "/users/42//../../docs", "//%2e%2e/x", "/public//..//admin"]
)
def test_empty_segments_mixed_with_dot_dot_refused(path: str) -> None:
    from authgate.errors import InvalidRequest
    from authgate.policy.paths import normalize_path

    with pytest.raises(InvalidRequest):
        normalize_path(path)
