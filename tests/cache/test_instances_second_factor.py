"""Two instances sharing the database and Redis: a TOTP factor confirmed on one instance
ends password-alone Basic logins cached on the other at once (DESIGN.md: a user with a
second factor cannot use the password alone anywhere)."""

from __future__ import annotations

import uuid
from typing import Any

from tests._mfa_support import basic, enrol
from tests.cache.test_instances import _eventually, pair_of_instances
from tests.conftest import Accounts

from authgate.runtime import Runtime

__all__ = ["pair_of_instances"]  # the fixture, shared with tests/cache/test_instances.py


async def test_totp_confirmed_on_one_instance_ends_cached_basic_on_the_other(
    pair_of_instances: tuple[Any, Any, Runtime],
) -> None:
    ca, cb, a = pair_of_instances
    name = f"mfa-{uuid.uuid4().hex[:12]}"  # throttle keys in the shared Redis stay apart
    await Accounts(a).user(name, password="a long enough password")
    key = {"X-API-Key": (await Accounts(a).key(name))["key"]}
    h = basic(name, "a long enough password")
    assert (await cb.get("/v1/whoami", headers=h)).status_code == 200  # cached on B
    assert (await cb.get("/v1/whoami", headers=h)).status_code == 200
    await enrol(ca, key)  # confirmed through A

    async def refused_on_b() -> bool:
        r = await cb.get("/v1/whoami", headers=h)
        return r.status_code == 401 and r.json()["error"] == "insufficient_user_authentication"

    # well inside the 10 s cache TTL: only the invalidation bus can explain it
    assert await _eventually(refused_on_b, timeout=3.0)
