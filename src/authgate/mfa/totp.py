"""Time-based one-time passwords, sans-I/O: HOTP (RFC 4226) and TOTP (RFC 6238).

* HOTP (RFC 4226 §5.3): HMAC over the 8-byte big-endian counter, dynamic truncation
  (§5.4), modulo ``10**digits``. SHA-1 is the default; SHA-256 and SHA-512 are the
  RFC 6238 §1.2 variants.
* TOTP (RFC 6238 §4): the counter is the time step ``T = floor((now - T0) / X)`` with
  ``T0 = 0`` and ``X = 30`` seconds by default.
* Verification (RFC 6238 §5.2): the steps ``T-1``, ``T`` and ``T+1`` are accepted (one
  step of clock drift either way, no more); a code is never accepted twice, nor a code
  older than one already used (§5.2: "the verifier MUST NOT accept the second attempt of
  the OTP after the successful validation has been issued for the first OTP"). The caller
  passes ``last_used_step`` and stores the returned step.
* The clock is always the server's, injected as ``now``: nothing the client sends moves it.
* Comparisons are constant-time on bytes; malformed codes (non-digits, wrong length,
  non-ASCII, absurd sizes) are refused without raising.

The ``otpauth://`` provisioning URI follows the Key Uri Format used by authenticator apps
(secret in RFC 4648 base32 without padding; ``issuer`` both as label prefix and parameter).
"""

from __future__ import annotations

import base64
import hmac
import io
import secrets
import struct
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlencode

import segno

from authgate.crypto.secret import Secret

__all__ = [
    "ALGORITHMS",
    "SECRET_BYTES",
    "Algorithm",
    "TotpParams",
    "b32_decode",
    "b32_encode",
    "generate_secret",
    "hotp",
    "otpauth_uri",
    "qr_png",
    "qr_svg",
    "step_used",
    "time_step",
    "totp",
    "verify",
]

Algorithm = Literal["SHA1", "SHA256", "SHA512"]
ALGORITHMS: dict[str, str] = {"SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512"}

#: 160 bits, the HMAC-SHA-1 output size RFC 4226 §4 (R6) recommends.
SECRET_BYTES = 20

#: Clock drift tolerated, in steps, either way (RFC 6238 §5.2 recommends one).
WINDOW = 1


@dataclass(frozen=True, slots=True)
class TotpParams:
    """How codes are computed for one factor; pinned at enrolment.

    Attributes:
        algorithm: HMAC hash, ``SHA1`` (default, what every app supports), ``SHA256``, ``SHA512``.
        digits: code length, 6 (default) to 8 (RFC 4226 §5.3 requires at least 6).
        period: time step ``X`` in seconds (RFC 6238 §4.1 recommends 30).
    """

    algorithm: Algorithm = "SHA1"
    digits: int = 6
    period: int = 30

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}")
        if not 6 <= self.digits <= 8:
            raise ValueError("digits must be between 6 and 8")
        if not 15 <= self.period <= 300:
            raise ValueError("period must be between 15 and 300 seconds")


def generate_secret() -> bytes:
    """A fresh 160-bit random TOTP secret."""
    return secrets.token_bytes(SECRET_BYTES)


def b32_encode(secret: bytes) -> str:
    """RFC 4648 base32 without ``=`` padding, as authenticator apps expect."""
    return base64.b32encode(secret).decode("ascii").rstrip("=")


def b32_decode(text: str) -> bytes:
    """Decode base32 leniently: any case, spaces and missing padding accepted."""
    clean = text.replace(" ", "").upper()
    return base64.b32decode(clean + "=" * (-len(clean) % 8))


def hotp(secret: bytes, counter: int, *, digits: int = 6, algorithm: str = "SHA1") -> str:
    """The HOTP value for ``counter`` (RFC 4226 §5.3), zero-padded to ``digits``."""
    mac = hmac.new(secret, struct.pack(">Q", counter), ALGORITHMS[algorithm]).digest()
    offset = mac[-1] & 0x0F  # dynamic truncation, RFC 4226 §5.4
    binary = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def time_step(now: float, period: int = 30) -> int:
    """The RFC 6238 §4.2 counter ``T`` for Unix time ``now`` (``T0 = 0``)."""
    return int(now // period)


def totp(secret: bytes, now: float, params: TotpParams = TotpParams()) -> str:
    """The TOTP value at server time ``now`` (RFC 6238 §4)."""
    return hotp(
        secret,
        time_step(now, params.period),
        digits=params.digits,
        algorithm=params.algorithm,
    )


def _code_bytes(code: object, digits: int) -> bytes | None:
    # Only exactly ``digits`` ASCII digits: str.isdigit() alone would let "١٢٣" through.
    if not isinstance(code, str) or len(code) != digits:
        return None
    raw = code.encode("utf-8", "surrogateescape")
    if len(raw) != digits or not all(0x30 <= b <= 0x39 for b in raw):
        return None
    return raw


def verify(
    secret: bytes,
    code: object,
    now: float,
    *,
    last_used_step: int | None,
    params: TotpParams = TotpParams(),
) -> int | None:
    """Check ``code`` against the steps ``T-1 .. T+1`` at server time ``now``.

    Args:
        secret: the factor's raw secret.
        code: what the user typed (anything: malformed input is simply refused).
        now: the server's Unix time; never a time the client supplied.
        last_used_step: the step of the last accepted code, or None; codes from this step
            or an earlier one are refused (no replay, no rollback).
        params: the factor's pinned algorithm, digits and period.

    Returns:
        The matched step, to be stored as the new ``last_used_step``, or None.
    """
    given = _code_bytes(code, params.digits)
    if given is None:
        return None
    current = time_step(now, params.period)
    matched: int | None = None
    # Every candidate is computed and compared, so timing does not reveal which step matched.
    for step in range(max(0, current - WINDOW), current + WINDOW + 1):
        expected = hotp(secret, step, digits=params.digits, algorithm=params.algorithm)
        if hmac.compare_digest(expected.encode("ascii"), given) and matched is None:
            matched = step
    if matched is None or step_used(matched, last_used_step):
        return None
    return matched


def step_used(step: int, last_used_step: int | None) -> bool:
    """True when ``step`` is not after the last accepted one (replay or rollback)."""
    return last_used_step is not None and step <= last_used_step


def otpauth_uri(
    secret: bytes | Secret,
    *,
    account: str,
    issuer: str,
    params: TotpParams = TotpParams(),
) -> str:
    """The ``otpauth://totp/Issuer:account?...`` provisioning URI, percent-encoded.

    Args:
        secret: the raw secret bytes, or its base32 text wrapped in :class:`Secret`.
        account: the account name shown in the app (the user name).
        issuer: the service name; must not contain ``:``.
        params: algorithm, digits and period, all stated explicitly.
    """
    if ":" in issuer or ":" in account:
        raise ValueError("issuer and account must not contain ':'")
    b32 = secret.reveal() if isinstance(secret, Secret) else b32_encode(secret)
    label = quote(issuer, safe="") + ":" + quote(account, safe="@")
    query = urlencode(
        {
            "secret": b32,
            "issuer": issuer,
            "algorithm": params.algorithm,
            "digits": params.digits,
            "period": params.period,
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"


def qr_png(uri: str, *, scale: int = 5) -> bytes:
    """The URI as a QR code in PNG (error correction M, quiet zone of 4 modules)."""
    out = io.BytesIO()
    segno.make(uri, error="m", micro=False).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def qr_svg(uri: str, *, scale: int = 5) -> str:
    """The URI as a QR code in standalone SVG (no XML declaration, no external refs)."""
    out = io.BytesIO()
    segno.make(uri, error="m", micro=False).save(
        out, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True, title="TOTP"
    )
    return out.getvalue().decode("utf-8")
