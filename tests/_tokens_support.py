"""Helpers for the token tests: a settable clock and token services over a Runtime."""

from __future__ import annotations

import time
from typing import Any

from authgate.home import load_secrets
from authgate.runtime import Runtime
from authgate.tokens.services import TokenConfig, TokenServices

ISSUER = "http://testserver"


class Clock:
    """A clock the test moves by hand (starts at the real time: rows carry real dates)."""

    def __init__(self, now: float | None = None) -> None:
        self.now = float(now if now is not None else int(time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def open_services(
    rt: Runtime, clock: Clock | None = None, *, redis: Any = None, **config: Any
) -> TokenServices:
    secrets = load_secrets(rt.settings.home)
    return await TokenServices.open(
        TokenConfig(issuer=config.pop("issuer", ISSUER), **config),
        db=rt.db,
        digester=secrets.digester,
        master_keys=secrets.master_keys,
        resolver=rt.resolver,
        redis=redis,
        clock=clock or time.time,
    )
