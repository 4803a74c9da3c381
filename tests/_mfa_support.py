"""Enrolling a user in TOTP over the HTTP API, with pyotp as the authenticator app."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field

import httpx2
import pyotp


def basic(user: str, password: str) -> dict[str, str]:
    """An ``Authorization: Basic`` header (RFC 7617, UTF-8)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@dataclass
class Enrolled:
    """A confirmed TOTP factor: its secret, recovery codes and the codes spent so far."""

    secret: str
    recovery_codes: list[str]
    used: set[str] = field(default_factory=set)

    def code(self) -> str:
        """A current TOTP code not used yet (each step's code is accepted once)."""
        app = pyotp.TOTP(self.secret)
        for offset in (0, 30, -30):
            code = app.at(time.time() + offset)
            if code not in self.used:
                self.used.add(code)
                return code
        raise AssertionError("no unused code in the window")


async def enrol(client: httpx2.AsyncClient, headers: dict[str, str]) -> Enrolled:
    """Begin and confirm TOTP for the caller of ``headers``."""
    r = await client.post("/v1/mfa/totp", headers=headers)
    assert r.status_code == 201, r.text
    enrolled = Enrolled(r.json()["secret"], [])
    r = await client.post("/v1/mfa/totp/confirm", json={"code": enrolled.code()}, headers=headers)
    assert r.status_code == 200, r.text
    enrolled.recovery_codes = r.json()["recovery_codes"]
    return enrolled
