"""One-time recovery codes for when the TOTP device (RFC 6238) is lost.

Ten codes of ten base32 characters (50 random bits each, shown as ``xxxxx-xxxxx``) are
issued at enrolment and shown once. Only their keyed digests are stored
(:class:`~authgate.crypto.digest.Digester`, purpose ``"recovery"``): a stolen database
alone cannot confirm a code. Input is normalised (case, dashes, spaces) before digesting,
so a code copied from paper or typed in capitals still matches. Each code works once; the
store marks it used with a conditional update (see :mod:`authgate.mfa.service`).

50 bits per code is far beyond what online guessing under the throttle of
:mod:`authgate.mfa.throttle` can reach (≤ 100 failures per account per window).
"""

from __future__ import annotations

import secrets

from authgate.crypto.digest import Digester

__all__ = ["CODE_ALPHABET", "CODE_COUNT", "CODE_LENGTH", "RecoveryCodes", "normalize"]

#: RFC 4648 base32 alphabet, lower case for display.
CODE_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
CODE_COUNT = 10
CODE_LENGTH = 10
_PURPOSE = "recovery"
_MAX_INPUT = 64


def normalize(code: object) -> str | None:
    """The canonical form (lower case, no dashes or spaces), or None when malformed."""
    if not isinstance(code, str) or len(code) > _MAX_INPUT:
        return None
    clean = code.replace("-", "").replace(" ", "").lower()
    if len(clean) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in clean):
        return None
    return clean


def _display(code: str) -> str:
    half = CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


class RecoveryCodes:
    """Generates recovery codes and digests them for storage and lookup."""

    def __init__(self, digester: Digester, *, count: int = CODE_COUNT) -> None:
        self._digester = digester
        self.count = count

    def generate(self) -> list[str]:
        """``count`` fresh codes in display form (``xxxxx-xxxxx``), all distinct."""
        codes: set[str] = set()
        while len(codes) < self.count:
            codes.add("".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)))
        return [_display(c) for c in sorted(codes)]

    def digest(self, code: object) -> str | None:
        """The stored digest of ``code`` after normalisation, or None when malformed."""
        clean = normalize(code)
        if clean is None:
            return None
        return self._digester.digest(clean, purpose=_PURPOSE)
