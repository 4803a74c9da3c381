"""HmacSimpleAuthenticator: behaviour and the SECURITY.md HMAC attack cases."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authgate.crypto.secret import Secret
from authgate.errors import AuthError, InvalidCredentials, InvalidRequest, render
from authgate.identity import Identity
from authgate.replay import MemoryReplayCache
from authgate.schemes.base import Headers, KeyPairCredential, RequestView
from authgate.schemes.hmac_simple import HmacSimpleAuthenticator, canonical_string

NOW = 1_700_000_000
KEY, SECRET = "ag_kp_bob", "bob-secret-0123456789abcdef0123456789abcdef"
BOB = Identity(subject="bob", principal_id="u-2", scheme="?", credential_id="kp-2")
BODY = b'{"to": "carol", "amount": 5}'
SIGNED = "host;x-authgate-date;x-authgate-nonce"


class Store:
    async def resolve_api_key(self, key: str) -> Identity | None:
        return None

    async def resolve_key_pair(self, key: str) -> KeyPairCredential | None:
        return KeyPairCredential(KEY, Secret(SECRET), BOB) if key == KEY else None

    async def resolve_password(self, username: str, password: str) -> Identity | None:
        return None


def authenticator(clock: float = NOW) -> HmacSimpleAuthenticator:
    return HmacSimpleAuthenticator(Store(), MemoryReplayCache(), clock=lambda: clock)


def request(
    *,
    date: int = NOW,
    nonce: str = "nonce-0001",
    key: str = KEY,
    secret: str = SECRET,
    signed: str = SIGNED,
    query: str = "b=2&a=1&a=0",
    extra: tuple[tuple[str, str], ...] = (),
    body: bytes = BODY,
) -> RequestView:
    """A POST signed by hand, following docs/schemes/hmac-simple.md step by step."""
    headers = {"host": "API.example.com", "x-authgate-date": str(date), "x-authgate-nonce": nonce}
    headers.update(extra)
    lines = [
        "POST",
        "/v1/pay%20ments",
        "&".join(sorted(p for p in query.split("&") if p)),
        *(
            f"{n}:{headers[n].strip().lower() if n == 'host' else headers[n].strip()}"
            for n in signed.split(";")
        ),
        hashlib.sha256(body).hexdigest(),
    ]
    sig = hmac.new(secret.encode(), "\n".join(lines).encode(), hashlib.sha256).hexdigest()
    auth = f"HMAC-SHA256 Credential={key}, SignedHeaders={signed}, Signature={sig}"
    return RequestView(
        method="POST",
        scheme="https",
        authority="API.example.com",
        path="/v1/pay%20ments",
        query=query,
        headers=Headers([("authorization", auth), *headers.items()]),
        body=body,
    )


def with_header(view: RequestView, name: str, value: str) -> RequestView:
    return dataclasses.replace(
        view, headers=Headers((k, value if k == name else v) for k, v in view.headers.items())
    )


async def test_valid_request_authenticates() -> None:
    identity = await authenticator().authenticate(request())
    assert identity == dataclasses.replace(BOB, scheme="hmac")


async def test_query_order_does_not_matter_but_values_do() -> None:
    view = request(query="b=2&a=1&a=0")
    reordered = dataclasses.replace(view, query="a=0&b=2&a=1")
    assert (await authenticator().authenticate(reordered)).subject == "bob"
    changed = dataclasses.replace(view, query="a=0&b=3&a=1")
    with pytest.raises(InvalidCredentials):
        await authenticator().authenticate(changed)


async def test_extra_signed_header_is_covered() -> None:
    view = request(signed="content-type;" + SIGNED, extra=(("content-type", "application/json"),))
    assert (await authenticator().authenticate(view)).subject == "bob"
    with pytest.raises(InvalidCredentials):
        await authenticator().authenticate(with_header(view, "content-type", "text/plain"))


def test_is_present() -> None:
    auth = authenticator()
    assert auth.is_present(request())
    lower = with_header(request(), "authorization", "hmac-sha256 Credential=x")
    assert auth.is_present(lower)
    assert not auth.is_present(with_header(request(), "authorization", "Bearer abc"))
    assert not auth.is_present(dataclasses.replace(request(), headers=Headers([])))


def test_canonical_string_shape() -> None:
    view = request(query="z=1&&a=2")
    assert canonical_string(view, ["host", "x-authgate-nonce"]) == (
        "POST\n/v1/pay%20ments\na=2&z=1\nhost:api.example.com\nx-authgate-nonce:nonce-0001\n"
        + hashlib.sha256(BODY).hexdigest()
    )


# --- SECURITY.md: HMAC lines ---


async def test_body_changed_by_one_byte_is_401() -> None:
    view = request()
    with pytest.raises(InvalidCredentials):
        await authenticator().authenticate(dataclasses.replace(view, body=BODY.replace(b"5", b"6")))


@pytest.mark.parametrize("skew", [-301, 301, -86_400, 86_400])
async def test_timestamp_outside_the_window_either_way_is_401(skew: int) -> None:
    with pytest.raises(InvalidCredentials):
        await authenticator().authenticate(request(date=NOW + skew))


@pytest.mark.parametrize("skew", [-300, 300])
async def test_timestamp_at_the_window_edge_is_accepted(skew: int) -> None:
    assert (await authenticator().authenticate(request(date=NOW + skew))).subject == "bob"


async def test_nonce_replayed_within_the_window_is_401() -> None:
    auth = authenticator()
    view = request(nonce="replay-me-1")
    await auth.authenticate(view)
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(view)


async def test_nonce_replay_with_a_resigned_date_is_401() -> None:
    auth = authenticator()
    await auth.authenticate(request(nonce="same-nonce", date=NOW))
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(request(nonce="same-nonce", date=NOW - 100))


async def test_wrong_secret_does_not_burn_the_nonce() -> None:
    auth = authenticator()
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(request(nonce="precious-1", secret="guess"))
    assert (await auth.authenticate(request(nonce="precious-1"))).subject == "bob"


async def test_unknown_key_and_wrong_secret_are_identical() -> None:
    rendered = []
    for view in (request(key="ag_kp_nobody"), request(secret="wrong-secret")):
        with pytest.raises(AuthError) as info:
            await authenticator().authenticate(view)
        rendered.append(render(info.value))
    assert rendered[0] == rendered[1]
    assert rendered[0][0] == 401
    assert ("www-authenticate", 'HMAC-SHA256 realm="authgate"') in rendered[0][1]


@pytest.mark.parametrize(
    ("signed", "missing"),
    [
        ("x-authgate-date;x-authgate-nonce", "host"),
        ("host;x-authgate-nonce", "x-authgate-date"),
        ("host;x-authgate-date", "x-authgate-nonce"),
    ],
)
async def test_required_headers_must_be_signed(signed: str, missing: str) -> None:
    with pytest.raises(InvalidRequest, match=missing):
        await authenticator().authenticate(request(signed=signed))


async def test_signed_header_missing_from_the_request_is_400() -> None:
    view = request(signed="x-trace;" + SIGNED, extra=(("x-trace", "t"),))
    stripped = dataclasses.replace(
        view, headers=Headers(kv for kv in view.headers.items() if kv[0] != "x-trace")
    )
    with pytest.raises(InvalidRequest):
        await authenticator().authenticate(stripped)


async def test_duplicate_authorization_is_400() -> None:
    view = request()
    doubled = dataclasses.replace(
        view, headers=Headers([*view.headers.items(), view.headers.items()[0]])
    )
    with pytest.raises(InvalidRequest):
        await authenticator().authenticate(doubled)


async def test_uppercase_signature_is_400() -> None:
    view = request()
    value = view.headers.get("authorization") or ""
    head, sig = value.rsplit("=", 1)
    with pytest.raises(InvalidRequest):
        await authenticator().authenticate(
            with_header(view, "authorization", f"{head}={sig.upper()}")
        )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("authorization", "HMAC-SHA256 Credential=ключ, SignedHeaders=host, Signature=00"),
        ("authorization", "HMAC-SHA256 " + "A" * 10_000),
        (
            "authorization",
            f"HMAC-SHA256 Credential=k, SignedHeaders=HOST;{SIGNED[5:]}, Signature={'0' * 64}",
        ),
        (
            "authorization",
            f"HMAC-SHA256 Credential=k, SignedHeaders=host;{SIGNED}, Signature={'0' * 64}",
        ),
        ("authorization", "HMAC-SHA256 Signature=" + "0" * 64),
        ("authorization", "HMAC-SHA256 \x00\x01\x02"),
        ("x-authgate-date", "2023-11-14T22:13:20Z"),
        ("x-authgate-date", "1700000000.5"),
        ("x-authgate-date", "１７００００００００"),
        ("x-authgate-date", "99999999999999999999"),
        ("x-authgate-nonce", "short"),
        ("x-authgate-nonce", "nonce with spaces"),
        ("x-authgate-nonce", "nönce-ünïcode"),
    ],
)
async def test_garbage_and_non_ascii_headers_are_400_or_401_only(name: str, value: str) -> None:
    view = with_header(request(), name, value)
    with pytest.raises(AuthError) as info:
        await authenticator().authenticate(view)
    assert info.value.status in (400, 401)


async def test_non_ascii_authority_is_400() -> None:
    view = dataclasses.replace(request(), authority="api.exämple.com")
    with pytest.raises(InvalidRequest):
        await authenticator().authenticate(view)


async def test_non_ascii_signed_header_value_is_400() -> None:
    view = request(signed="x-name;" + SIGNED, extra=(("x-name", "plain"),))
    with pytest.raises(InvalidRequest):
        await authenticator().authenticate(with_header(view, "x-name", "Zoë"))


@settings(max_examples=400, deadline=None)
@given(
    authorization=st.one_of(
        st.text(max_size=200),
        st.builds(
            lambda c, s, g: f"HMAC-SHA256 Credential={c}, SignedHeaders={s}, Signature={g}",
            st.text(max_size=20),
            st.text(alphabet=st.sampled_from(list("host;x-authgate-dnc\x00é")), max_size=60),
            st.text(
                alphabet=st.sampled_from(list("0123456789abcdefABCDEF é")), min_size=60, max_size=66
            ),
        ),
    ),
    date=st.one_of(st.text(max_size=20), st.integers(-(10**20), 10**20).map(str)),
    nonce=st.text(max_size=140),
)
async def test_fuzz_authorization_raises_only_auth_errors(
    authorization: str, date: str, nonce: str
) -> None:
    view = request()
    replaced = {
        "authorization": "HMAC-SHA256 " + authorization,
        "x-authgate-date": date,
        "x-authgate-nonce": nonce,
    }
    headers = Headers((k, replaced.get(k, v)) for k, v in view.headers.items())
    try:
        await authenticator().authenticate(dataclasses.replace(view, headers=headers))
    except AuthError as exc:
        assert exc.status in (400, 401, 413)
    else:  # pragma: no cover - would mean a forged HMAC
        pytest.fail("a fuzzed request authenticated")
