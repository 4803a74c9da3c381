"""SECURITY.md attack cases for RFC 9421 signatures, as named regression tests.

Requests are signed here with the HMAC / Ed25519 primitives directly, over bases printed
by hand for the simple cases, so policy is tested independently of the signer peers.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authgate.crypto.secret import Secret
from authgate.errors import AuthError, InvalidCredentials, InvalidRequest, render
from authgate.identity import Identity
from authgate.replay import MemoryReplayCache
from authgate.schemes.base import Headers, KeyPairCredential, PublicKeyCredential, RequestView
from authgate.schemes.httpsig import HttpSigAuthenticator, StructuredFieldError, parse_dictionary

NOW = 1_700_000_000
KEY, SECRET = "ag_kp_alice", "alice-secret-0123456789abcdef0123456789"
ALICE = Identity(subject="alice", principal_id="u-1", scheme="?")
ED = ed25519.Ed25519PrivateKey.generate()
ED_PEM = ED.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
BODY = b'{"amount": 100}'
DIGEST = "sha-256=:" + base64.b64encode(hashlib.sha256(BODY).digest()).decode() + ":"


class Store:
    async def resolve_api_key(self, key: str) -> Identity | None:
        return None

    async def resolve_key_pair(self, key: str) -> KeyPairCredential | None:
        return KeyPairCredential(KEY, Secret(SECRET), ALICE) if key == KEY else None

    async def resolve_password(self, username: str, password: str) -> Identity | None:
        return None

    async def resolve_public_key(self, key_id: str) -> PublicKeyCredential | None:
        if key_id == "ed-1":
            return PublicKeyCredential("ed-1", ED_PEM, "ed25519", ALICE)
        return None


def authenticator(clock: float = NOW, **kw: object) -> HttpSigAuthenticator:
    store = Store()
    return HttpSigAuthenticator(store, store, MemoryReplayCache(), clock=lambda: clock, **kw)  # type: ignore[arg-type]


def signed(
    *,
    covered: tuple[str, ...] = ("@method", "@authority", "@path", "content-digest"),
    params: str | None = None,
    created: int = NOW,
    nonce: str = "n-1",
    keyid: str = KEY,
    secret: bytes = SECRET.encode(),
    ed_key: ed25519.Ed25519PrivateKey | None = None,
    body: bytes | None = BODY,
    headers: tuple[tuple[str, str], ...] = (("content-digest", DIGEST),),
) -> RequestView:
    """A POST /transfer signed by hand: the base is written out per RFC 9421 §2.5."""
    values = {
        "@method": "POST",
        "@authority": "bank.example",
        "@path": "/transfer",
        "@target-uri": "https://bank.example/transfer",
        **dict(headers),
    }
    inner = "(" + " ".join(f'"{c}"' for c in covered) + ")"
    if params is None:
        params = f';created={created};keyid="{keyid}";nonce="{nonce}"'
    lines = [f'"{c}": {values[c]}' for c in covered] + [f'"@signature-params": {inner}{params}']
    base = "\n".join(lines).encode()
    if ed_key is not None:
        sig = ed_key.sign(base)
    else:
        sig = hmac.new(secret, base, hashlib.sha256).digest()
    return RequestView(
        method="POST",
        scheme="https",
        authority="bank.example",
        path="/transfer",
        query="",
        headers=Headers(
            [
                ("host", "bank.example"),
                *headers,
                ("signature-input", f"sig1={inner}{params}"),
                ("signature", f"sig1=:{base64.b64encode(sig).decode()}:"),
            ]
        ),
        body=body,
    )


async def test_valid_hmac_signature_authenticates() -> None:
    identity = await authenticator().authenticate(signed())
    assert identity == dataclasses.replace(ALICE, scheme="httpsig")


async def test_valid_ed25519_signature_authenticates() -> None:
    identity = await authenticator().authenticate(signed(keyid="ed-1", ed_key=ED))
    assert identity.scheme == "httpsig"


def test_is_present_needs_both_fields() -> None:
    view = signed()
    auth = authenticator()
    assert auth.is_present(view)
    only_input = dataclasses.replace(
        view, headers=Headers(kv for kv in view.headers.items() if kv[0] != "signature")
    )
    assert not auth.is_present(only_input)


# --- SECURITY.md: HMAC lines ---


async def test_body_changed_by_one_byte_is_401() -> None:
    view = signed()
    tampered = dataclasses.replace(view, body=BODY[:-2] + b"1}")
    assert len(tampered.body or b"") == len(BODY)
    with pytest.raises(InvalidCredentials):
        await authenticator().authenticate(tampered)


@pytest.mark.parametrize("skew", [-301, 301, -10_000, 10_000])
async def test_timestamp_outside_the_window_either_way_is_401(skew: int) -> None:
    with pytest.raises(InvalidCredentials):
        await authenticator().authenticate(signed(created=NOW + skew))


@pytest.mark.parametrize("skew", [-300, 299, 0])
async def test_timestamp_inside_the_window_is_accepted(skew: int) -> None:
    assert (await authenticator().authenticate(signed(created=NOW + skew))).subject == "alice"


async def test_expires_in_the_past_is_401() -> None:
    params = f';created={NOW - 10};expires={NOW - 1};keyid="{KEY}";nonce="n-x"'
    with pytest.raises(InvalidCredentials):
        await authenticator().authenticate(signed(params=params))


async def test_nonce_replayed_within_the_window_is_401() -> None:
    auth = authenticator()
    view = signed(nonce="once")
    await auth.authenticate(view)
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(view)
    # a fresh nonce from the same key is fine
    assert (await auth.authenticate(signed(nonce="twice"))).subject == "alice"


async def test_failed_signature_does_not_burn_the_nonce() -> None:
    auth = authenticator()
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(signed(nonce="mine", secret=b"wrong"))
    assert (await auth.authenticate(signed(nonce="mine"))).subject == "alice"


async def test_missing_nonce_is_refused_by_default() -> None:
    params = f';created={NOW};keyid="{KEY}"'
    with pytest.raises(InvalidRequest, match="nonce"):
        await authenticator().authenticate(signed(params=params))
    ok = await authenticator(require_nonce=False).authenticate(signed(params=params))
    assert ok.subject == "alice"


async def test_unknown_keyid_and_wrong_secret_are_identical() -> None:
    errors = []
    for view in (signed(keyid="ag_kp_nobody"), signed(secret=b"not the secret")):
        with pytest.raises(AuthError) as info:
            await authenticator().authenticate(view)
        errors.append(render(info.value))
    assert errors[0] == errors[1]
    assert errors[0][0] == 401


@pytest.mark.parametrize(
    "alg", ["ed25519", "ecdsa-p256-sha256", "rsa-pss-sha512", "none", "HMAC-SHA256"]
)
async def test_alg_mismatch_on_a_key_pair_is_401(alg: str) -> None:
    params = f';created={NOW};keyid="{KEY}";nonce="n";alg="{alg}"'
    with pytest.raises(InvalidCredentials):
        await authenticator().authenticate(signed(params=params))


async def test_alg_named_correctly_is_accepted() -> None:
    params = f';created={NOW};keyid="{KEY}";nonce="n";alg="hmac-sha256"'
    assert (await authenticator().authenticate(signed(params=params))).subject == "alice"


async def test_hmac_keyed_with_the_public_key_pem_is_401() -> None:
    # algorithm confusion (CVE-2022-29217 shape): HMAC keyed with the public key text
    params = f';created={NOW};keyid="ed-1";nonce="n";alg="hmac-sha256"'
    with pytest.raises(InvalidCredentials):
        await authenticator().authenticate(signed(params=params, secret=ED_PEM))
    params = f';created={NOW};keyid="ed-1";nonce="n"'
    with pytest.raises(InvalidCredentials):
        await authenticator().authenticate(signed(params=params, secret=ED_PEM))


@pytest.mark.parametrize(
    ("covered", "missing"),
    [
        (("@authority", "@path", "content-digest"), "@method"),
        (("@method", "@path", "content-digest"), "@authority"),
        (("@method", "@authority", "content-digest"), "@path"),
        (("@method", "@authority", "@path"), "content-digest"),
        ((), "@method"),
    ],
)
async def test_missing_required_components_are_refused(
    covered: tuple[str, ...], missing: str
) -> None:
    with pytest.raises(InvalidRequest, match=missing):
        await authenticator().authenticate(signed(covered=covered))


async def test_target_uri_stands_in_for_path() -> None:
    view = signed(covered=("@method", "@authority", "@target-uri", "content-digest"))
    assert (await authenticator().authenticate(view)).subject == "alice"


async def test_covered_header_removed_in_transit_is_401() -> None:
    view = signed(
        covered=("@method", "@authority", "@path", "content-digest", "x-request-id"),
        headers=(("content-digest", DIGEST), ("x-request-id", "r-1")),
    )
    stripped = dataclasses.replace(
        view, headers=Headers(kv for kv in view.headers.items() if kv[0] != "x-request-id")
    )
    with pytest.raises(InvalidCredentials):
        await authenticator().authenticate(stripped)


async def test_content_digest_of_another_body_is_401() -> None:
    other = "sha-512=:" + base64.b64encode(hashlib.sha512(b"other").digest()).decode() + ":"
    with pytest.raises(InvalidCredentials):
        await authenticator().authenticate(signed(headers=(("content-digest", other),)))


async def test_content_digest_with_only_unsupported_algorithms_is_401() -> None:
    md5 = "md5=:" + base64.b64encode(hashlib.md5(BODY).digest()).decode() + ":"  # noqa: S324
    with pytest.raises(InvalidCredentials):
        await authenticator().authenticate(signed(headers=(("content-digest", md5),)))


@pytest.mark.parametrize(
    "component",
    ['"accept";sf', '"accept";key="a"', '"accept";req', '"@query-param";name="a"', '"@status"'],
)
async def test_unsupported_component_parameters_are_refused_clearly(component: str) -> None:
    view = signed()
    si = view.headers.get("signature-input") or ""
    bad = si.replace('("@method"', f'({component} "@method"')
    headers = Headers(
        [
            ("accept", "a=1"),
            *((k, bad if k == "signature-input" else v) for k, v in view.headers.items()),
        ]
    )
    with pytest.raises(InvalidRequest):
        await authenticator().authenticate(dataclasses.replace(view, headers=headers))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("signature-input", 'sig1=("@method");created=1;keyid="é"'),
        ("signature-input", 'sig1=("@method");created=1.5;keyid="k"'),
        ("signature-input", 'sig1=("@method" "@method");created=1;keyid="k";nonce="n"'),
        ("signature-input", 'sig1=("@method");created="1";keyid="k"'),
        ("signature-input", 'sig1=("@method");created=1;keyid=k'),
        ("signature-input", 'sig1=("@method");keyid="k"'),
        ("signature-input", 'sig1=("@method");created=1;keyid="k", sig1=("@path")'),
        ("signature-input", 'sig1=("@method");created=1;keyid="k",'),
        ("signature-input", 'sig1=("@method";created=1'),
        ("signature-input", 'sig1=(@method);created=1;keyid="k"'),
        ("signature-input", 'sig1=("Content-Type");created=1;keyid="k"'),
        ("signature-input", "\x00\xff garbage"),
        ("signature-input", "sig1=?2"),
        ("signature-input", 'sig2=("@method");created=1;keyid="k"'),
        ("signature", "sig1=:not base64!:"),
        ("signature", "sig1=:QUJD:;x, sig1=:QUJD:"),
        ("signature", 'sig1="a string"'),
        ("signature", "sig1=:QUJD"),
        ("signature", "x" * 20_000),
    ],
)
async def test_garbage_and_non_ascii_headers_are_400_or_401_only(name: str, value: str) -> None:
    view = signed()
    headers = Headers((k, value if k == name else v) for k, v in view.headers.items())
    with pytest.raises(AuthError) as info:
        await authenticator().authenticate(dataclasses.replace(view, headers=headers))
    assert info.value.status in (400, 401)


async def test_non_ascii_covered_header_value_is_refused() -> None:
    view = signed(
        covered=("@method", "@authority", "@path", "content-digest", "x-name"),
        headers=(("content-digest", DIGEST), ("x-name", "ascii")),
    )
    headers = Headers((k, "Zoë" if k == "x-name" else v) for k, v in view.headers.items())
    with pytest.raises(AuthError) as info:
        await authenticator().authenticate(dataclasses.replace(view, headers=headers))
    assert info.value.status in (400, 401)


async def test_ecdsa_signature_of_zeros_is_401() -> None:
    # CVE-2022-21449 shape: r = s = 0 must never verify
    from cryptography.hazmat.primitives.asymmetric import ec

    ec_key = ec.generate_private_key(ec.SECP256R1())
    pem = ec_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    class EcStore(Store):
        async def resolve_public_key(self, key_id: str) -> PublicKeyCredential | None:
            return PublicKeyCredential("ec-1", pem, "ecdsa-p256-sha256", ALICE)

    view = signed(params=f';created={NOW};keyid="ec-1";nonce="z"')
    headers = Headers(
        (k, "sig1=:" + base64.b64encode(bytes(64)).decode() + ":" if k == "signature" else v)
        for k, v in view.headers.items()
    )
    store = EcStore()
    auth = HttpSigAuthenticator(store, store, MemoryReplayCache(), clock=lambda: NOW)
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(dataclasses.replace(view, headers=headers))


def test_parser_rejects_duplicates_and_decimals() -> None:
    for bad in ("a=1, a=2", "a=(1);x;x", "a=1.5", "a=:QUJD:,", "A=1", 'a="\\x"'):
        with pytest.raises(StructuredFieldError):
            parse_dictionary(bad)
    parsed = parse_dictionary('a=("x" "y";bs);created=1;k="v\\"w", b, c=?0, d=:QUJD:, e=tok/en')
    assert list(parsed) == ["a", "b", "c", "d", "e"]


# --- fuzz: whatever the field values, only AuthError subclasses escape ---

_sf_alphabet = st.sampled_from(list('sig1=()"@;:, ?-*abcdefgkmnorstyz0123456789+/\\\t\x00é'))
_header_value = st.one_of(
    st.text(alphabet=_sf_alphabet, max_size=80),
    st.text(max_size=60),
    st.builds(
        lambda c, p: f"sig1=({c}){p}",
        st.text(alphabet=_sf_alphabet, max_size=30),
        st.text(alphabet=_sf_alphabet, max_size=40),
    ),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(signature_input=_header_value, signature=_header_value, digest=_header_value)
async def test_fuzz_signature_fields_raise_only_auth_errors(
    signature_input: str, signature: str, digest: str
) -> None:
    view = signed()
    replaced = {
        "signature-input": signature_input,
        "signature": signature,
        "content-digest": digest,
    }
    headers = Headers((k, replaced.get(k, v)) for k, v in view.headers.items())
    try:
        await authenticator().authenticate(dataclasses.replace(view, headers=headers))
    except AuthError as exc:
        assert exc.status in (400, 401, 413)
    else:  # pragma: no cover - hypothesis would have to forge an HMAC
        pytest.fail("a fuzzed request authenticated")


@settings(max_examples=300, deadline=None)
@given(value=st.text(max_size=100))
def test_fuzz_parser_raises_only_structured_field_error(value: str) -> None:
    try:
        parse_dictionary(value)
    except StructuredFieldError:
        pass
