"""The durable revocation check on the bearer hot path (issue 8 item 8).

Run: ``python bench/bench_revocation.py``. Prints microseconds per verification of an
authgate access token by the ``bearer`` scheme (:class:`OwnTokenAuthenticator`, warm:
the signature check is cached, as in production), for:

- ``without``: the pre-durable shape: the in-memory ``jti`` deny-list only, empty;
- ``with it, empty``: the durable ``jti`` deny-list and the holder deny-list, both empty;
- ``with it, loaded``: 1,000 revoked ``jti`` values and 1,000 denied holders (key pairs,
  users, clients) loaded from the database by the change feed at start-up;

and the ratio of the last to the first. The runtime is real (SQLite on a temporary home).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

from authgate.config import Settings
from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.schemes.base import Headers, RequestView
from authgate.schemes.own_tokens import OwnTokenAuthenticator
from authgate.store.models_changes import ChangeRecord, RevokedTokenRecord
from authgate.timefmt import utc_datetime
from authgate.tokens.revocation import MemoryRevocationList

DENIED = 1000
ROUNDS = 5


async def per_call_us(auths: list[OwnTokenAuthenticator], view: RequestView) -> list[float]:
    """Best µs per call of each authenticator, measured in alternation (a shared machine's
    noise hits all of them alike)."""
    best = [float("inf")] * len(auths)
    for auth in auths:
        for _ in range(2000):
            await auth.authenticate(view)
    for _ in range(ROUNDS):
        for i, auth in enumerate(auths):
            n = 20_000
            t = time.perf_counter()
            for _ in range(n):
                await auth.authenticate(view)
            best[i] = min(best[i], (time.perf_counter() - t) / n * 1e6)
    return best


def without_durable_check(after: OwnTokenAuthenticator) -> OwnTokenAuthenticator:
    """The same scheme as before the durable deny-lists: an in-memory jti list only."""
    return OwnTokenAuthenticator(
        after.inner, issuer=after.issuer, revocation=MemoryRevocationList()
    )


async def load_denials(rt: Runtime) -> None:
    now = time.time()
    async with rt.db.session() as s, s.begin():
        for i in range(DENIED):
            kind = ("credential", "user", "client")[i % 3]
            s.add(ChangeRecord(kind=kind, subject=uuid.uuid4().hex, at=utc_datetime(now)))
            s.add(RevokedTokenRecord(jti=f"jti-{i}", expires_at=utc_datetime(now + 3600)))


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["AUTHGATE_HOME"] = str(Path(tmp) / "home")
        settings = Settings(home=Path(tmp) / "home", argon2_time_cost=2)
        rt = await Runtime.open(settings, batched_audit=False)
        try:
            await rt.users.create(LOCAL_ADMIN, "bench")
            pair = (await rt.keys.create(LOCAL_ADMIN, user="bench", type="key-pair")).as_json()
            token = (await rt.tokens.exchange.exchange(pair["key"], pair["secret"])).access.token
            view = RequestView(
                method="GET",
                scheme="http",
                authority="localhost",
                path="/v1/whoami",
                query="",
                headers=Headers([("authorization", f"Bearer {token}")]),
            )
            after = next(s for s in rt.chain.schemes if isinstance(s, OwnTokenAuthenticator))
            base_empty, empty = await per_call_us([without_durable_check(after), after], view)
            await load_denials(rt)
            await rt.close()
            rt = await Runtime.open(settings, batched_audit=False)  # rebuilt at start-up
            assert len(rt.tokens.holders) == DENIED
            after = next(s for s in rt.chain.schemes if isinstance(s, OwnTokenAuthenticator))
            base, loaded = await per_call_us([without_durable_check(after), after], view)
        finally:
            await rt.close()
    print(f"bearer verify, without the durable check:     {base:7.2f} µs")
    print(f"  (first run, before anything was loaded:     {base_empty:7.2f} µs)")
    print(f"bearer verify, with it, empty deny-lists:     {empty:7.2f} µs")
    print(
        f"bearer verify, with it, {DENIED} holders + {DENIED} jtis: {loaded:7.2f} µs"
        f"  (ratio {loaded / base:.2f})"
    )


if __name__ == "__main__":
    asyncio.run(main())
