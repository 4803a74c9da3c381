"""Sans-I/O TOTP: RFC 4226 Appendix D and RFC 6238 Appendix B vectors, the ±1 step
window, replay rules, malformed codes, the otpauth URI and QR codes, pyotp as a peer."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authgate.crypto.secret import Secret
from authgate.mfa import totp
from authgate.mfa.totp import TotpParams

VECTORS = Path(__file__).parents[1] / "vectors" / "rfc-small" / "rfc_small_vectors.json"


def _load(section: str) -> tuple[dict[str, Any], list[Any]]:
    data = json.loads(VECTORS.read_text())[section]
    return data, [
        pytest.param(c, id=f"{c.get('algorithm', 'SHA1')}-{c.get('unix_time', c.get('counter'))}")
        for c in data["cases"]
    ]


HOTP, HOTP_CASES = _load("rfc4226_appendix_d_hotp")
TOTP, TOTP_CASES = _load("rfc6238_appendix_b_totp")


@pytest.mark.parametrize("case", HOTP_CASES)
def test_rfc4226_appendix_d(case: dict[str, Any]) -> None:
    secret = HOTP["secret_ascii"].encode()
    assert totp.hotp(secret, case["counter"], digits=HOTP["digits"]) == case["hotp"]


@pytest.mark.parametrize("case", TOTP_CASES)
def test_rfc6238_appendix_b(case: dict[str, Any]) -> None:
    alg = case["algorithm"]
    secret = TOTP["seeds_ascii"][alg].encode()
    params = TotpParams(alg, TOTP["digits"], TOTP["step"])
    assert totp.time_step(case["unix_time"], TOTP["step"]) == int(case["T_hex"], 16)
    assert totp.totp(secret, case["unix_time"], params) == case["totp"]
    # and the verifier accepts exactly that code at that time, returning its step
    step = totp.verify(secret, case["totp"], case["unix_time"], last_used_step=None, params=params)
    assert step == int(case["T_hex"], 16)


def test_every_rfc6238_algorithm_is_covered_by_vectors() -> None:
    if not TOTP:
        pytest.skip("vectors missing")
    assert {c["algorithm"] for c in TOTP["cases"]} == {"SHA1", "SHA256", "SHA512"}


SECRET = bytes(range(20))
NOW = 1_700_000_000.0
STEP = totp.time_step(NOW)


def code_at(step: int, secret: bytes = SECRET) -> str:
    return totp.hotp(secret, step)


def test_window_is_one_step_either_way_and_no_more() -> None:
    for delta in (-1, 0, 1):
        assert totp.verify(SECRET, code_at(STEP + delta), NOW, last_used_step=None) == STEP + delta
    for delta in (-3, -2, 2, 3):
        assert totp.verify(SECRET, code_at(STEP + delta), NOW, last_used_step=None) is None


def test_same_code_twice_in_its_step_is_rejected() -> None:
    code = code_at(STEP)
    used = totp.verify(SECRET, code, NOW, last_used_step=None)
    assert used == STEP
    assert totp.verify(SECRET, code, NOW + 10, last_used_step=used) is None


def test_code_from_step_t_minus_2_is_rejected() -> None:
    assert totp.verify(SECRET, code_at(STEP - 2), NOW, last_used_step=None) is None


def test_older_code_after_a_newer_one_was_used_is_rejected() -> None:
    # T+1 used (clock drift), then T — still inside the window — must not be accepted
    assert totp.verify(SECRET, code_at(STEP + 1), NOW, last_used_step=None) == STEP + 1
    assert totp.verify(SECRET, code_at(STEP), NOW, last_used_step=STEP + 1) is None
    assert totp.verify(SECRET, code_at(STEP - 1), NOW, last_used_step=STEP + 1) is None


def test_near_the_epoch_no_negative_counter_is_computed() -> None:
    assert totp.verify(SECRET, code_at(0), 5.0, last_used_step=None) == 0
    assert totp.verify(SECRET, "123456", 0.0, last_used_step=None) in (None, 0, 1)


def test_next_steps_code_is_accepted_after_the_previous_one() -> None:
    assert totp.verify(SECRET, code_at(STEP + 1), NOW + 30, last_used_step=STEP) == STEP + 1


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "12345",
        "1234567",
        "12345a",
        " 12345",
        "12 345",
        "١٢٣٤٥٦",  # Arabic-Indic digits: str.isdigit() is True for these
        "１２３４５６",  # full-width digits
        "12345\x00",
        "\udcff23456",
        "9" * 10_000,
        None,
        123456,
        b"123456",
    ],
)
def test_malformed_codes_are_refused_without_exceptions(bad: object) -> None:
    assert totp.verify(SECRET, bad, NOW, last_used_step=None) is None


def test_params_are_validated() -> None:
    for kwargs in ({"algorithm": "MD5"}, {"digits": 5}, {"digits": 9}, {"period": 0}):
        with pytest.raises(ValueError):
            TotpParams(**kwargs)


def test_secret_is_160_random_bits() -> None:
    secrets = {totp.generate_secret() for _ in range(50)}
    assert len(secrets) == 50 and all(len(s) == 20 for s in secrets)
    b32 = totp.b32_encode(next(iter(secrets)))
    assert len(b32) == 32 and "=" not in b32
    assert totp.b32_decode(b32.lower()) == next(iter(secrets))


def test_otpauth_uri_shape_and_percent_encoding() -> None:
    uri = totp.otpauth_uri(SECRET, account="ann bee@example.com", issuer="Acme & Co/EU")
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert parts.path == "/Acme%20%26%20Co%2FEU:ann%20bee@example.com"
    query = parse_qs(parts.query, strict_parsing=True)
    assert query == {
        "secret": [totp.b32_encode(SECRET)],
        "issuer": ["Acme & Co/EU"],
        "algorithm": ["SHA1"],
        "digits": ["6"],
        "period": ["30"],
    }
    assert "=" not in query["secret"][0] and "+" not in uri
    with pytest.raises(ValueError):
        totp.otpauth_uri(SECRET, account="a:b", issuer="x")


def test_otpauth_uri_accepts_the_base32_secret_as_secret_type() -> None:
    b32 = totp.b32_encode(SECRET)
    assert totp.otpauth_uri(Secret(b32), account="a", issuer="i") == totp.otpauth_uri(
        SECRET, account="a", issuer="i"
    )


@pytest.mark.parametrize("alg", ["SHA1", "SHA256", "SHA512"])
def test_pyotp_parses_our_uri_and_its_codes_verify(alg: str) -> None:
    params = TotpParams(alg, 6, 30)  # type: ignore[arg-type]
    secret = totp.generate_secret()
    uri = totp.otpauth_uri(secret, account="alice@example.com", issuer="Acme Co", params=params)
    peer = pyotp.parse_uri(uri)
    assert isinstance(peer, pyotp.TOTP)
    assert peer.secret == totp.b32_encode(secret)
    assert (peer.issuer, peer.name, peer.digits, peer.interval) == (
        "Acme Co",
        "alice@example.com",
        6,
        30,
    )
    assert peer.digest().name == alg.lower()
    for t in (NOW - 30, NOW, NOW + 30):
        assert totp.verify(secret, peer.at(t), t, last_used_step=None, params=params) is not None
        assert totp.totp(secret, t, params) == peer.at(t)


def test_pyotp_now_verifies_on_the_real_clock() -> None:
    import time

    secret = totp.generate_secret()
    code = pyotp.TOTP(totp.b32_encode(secret)).now()
    assert totp.verify(secret, code, time.time(), last_used_step=None) is not None


def _png_chunks(data: bytes) -> dict[bytes, bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks: dict[bytes, bytes] = {}
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(
            kind + body
        )
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    return chunks


def _png_modules(png: bytes) -> list[list[bool]]:
    """Dark pixels of a 1-bit greyscale PNG (as segno writes at scale 1)."""
    chunks = _png_chunks(png)
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, colour, interlace) == (1, 0, 0)
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = (width + 7) // 8
    rows, prev = [], bytes(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        if kind == 2:  # "Up" filter; segno uses None or Up
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        assert kind in (0, 2)
        prev = bytes(line)
        rows.append([not (line[x // 8] >> (7 - x % 8)) & 1 for x in range(width)])
    return rows


def test_qr_png_encodes_exactly_the_uri_and_svg_is_standalone() -> None:
    import segno

    uri = totp.otpauth_uri(SECRET, account="alice", issuer="authgate")
    # the PNG's modules are those of the QR symbol segno builds for this URI (quiet zone 4)
    expected = [[bool(m) for m in row] for row in segno.make(uri, error="m", micro=False).matrix]
    modules = _png_modules(totp.qr_png(uri, scale=1))
    assert [row[4:-4] for row in modules[4:-4]] == expected
    assert not any(any(row) for row in modules[:4] + modules[-4:])  # quiet zone is light
    assert _png_chunks(totp.qr_png(uri))[b"IHDR"][:8] == struct.pack(">II", *[len(modules) * 5] * 2)
    svg = totp.qr_svg(uri)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "<script" not in svg and "href" not in svg and "<?xml" not in svg


@settings(max_examples=300, deadline=None)
@given(code=st.one_of(st.text(max_size=20), st.binary(max_size=12), st.integers(), st.none()))
def test_fuzzed_codes_never_raise_and_almost_never_match(code: object) -> None:
    result = totp.verify(SECRET, code, NOW, last_used_step=None)
    valid = {code_at(STEP + d) for d in (-1, 0, 1)}
    assert result is None or code in valid
