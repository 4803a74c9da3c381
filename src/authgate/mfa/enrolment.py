"""A TOTP enrolment just started: the one response that shows the factor's secret."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from authgate.crypto.secret import Secret

__all__ = ["EnrolmentStarted"]


@dataclass(frozen=True, slots=True)
class EnrolmentStarted:
    """A new, unconfirmed factor: the only moment its secret is shown."""

    factor_id: str
    secret: Secret  # base32, as typed into an app by hand
    otpauth_uri: Secret
    qr_svg: str
    qr_png: bytes

    def as_json(self) -> dict[str, Any]:
        """The ``POST /v1/mfa/totp`` response body."""
        return {
            "factor_id": self.factor_id,
            "secret": self.secret.reveal(),
            "otpauth_uri": self.otpauth_uri.reveal(),
            "qr_svg": self.qr_svg,
            "qr_png": base64.b64encode(self.qr_png).decode("ascii"),
        }

    def __repr__(self) -> str:
        return f"EnrolmentStarted(factor_id={self.factor_id!r}, secret=***)"
