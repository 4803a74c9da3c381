"""How long a revocation made through one instance takes to be enforced by another
(issue 11 item 7: two ``authgate serve`` on one PostgreSQL and one Redis; target p99 < 1 s).

Run: ``python bench/two_instances.py [--rounds 100] [--pg postgresql://root@127.0.0.1:5432/test]
[--redis redis://127.0.0.1:6379/15]``. Creates a scratch PostgreSQL database, starts
instances A and B on it (one home, one token issuer; the helper is
tests/_live_server.py), and ``--rounds`` times: an API key in use on B (cached there) is
revoked through A's admin API, and B is polled every 2 ms until it refuses the key. The
latency runs from A's answer to B's first 401. Prints median, p99 and worst with Redis
(the bus wakes B's change feed) and without (the feed polls every
``change_poll_interval`` = 0.25 s).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.revocation_propagation import redis_answers
from tests._live_server import LiveServer

TIMEOUT = 5.0


def admin_sql(dsn: str, sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(dsn, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def run(rounds: int, database: str, env: dict[str, str]) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **env,
            "AUTHGATE_DATABASE_URL": database,
            "AUTHGATE_TOKEN_ISSUER": "https://auth.example.test",
        }
        a = LiveServer(Path(tmp) / "home", env)
        b = LiveServer(Path(tmp) / "home", env)
        try:
            a.cli("init")
            admin = {"X-API-Key": a.cli("keys", "create", "--user", "admin")["key"]}
            a.start()
            b.start()
            r = a.http.post("/v1/users", json={"name": "bench"}, headers=admin)
            assert r.status_code == 201, r.text
            out = []
            for _ in range(rounds):
                key = a.http.post("/v1/keys", json={"user": "bench"}, headers=admin).json()
                headers = {"X-API-Key": key["key"]}
                assert b.status("/v1/whoami", headers) == 200
                r = a.http.post(f"/v1/keys/{key['id']}/revoke", headers=admin)
                assert r.status_code == 200, r.text
                started = time.monotonic()
                while b.status("/v1/whoami", headers) != 401:
                    assert time.monotonic() - started < TIMEOUT, "not refused by B"
                    time.sleep(0.002)
                out.append(time.monotonic() - started)
            return out
        finally:
            a.close()
            b.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--pg", default="postgresql://root@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()
    setups: list[tuple[str, dict[str, str]]] = []
    if redis_answers(args.redis):
        setups.append(("with Redis", {"AUTHGATE_REDIS_URL": args.redis}))
    else:
        print(f"Redis at {args.redis} does not answer: skipped")
    setups.append(("without Redis", {}))
    base = args.pg.rsplit("/", 1)[0]
    for label, env in setups:
        name = f"authgate_bench_{uuid.uuid4().hex[:8]}"
        admin_sql(args.pg, f'CREATE DATABASE "{name}"')
        try:
            database = f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://")
            ms = sorted(s * 1000 for s in run(args.rounds, database, env))
            p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
            print(
                f"{label:14} key revoked on A, refused by B: n={len(ms)}  median "
                f"{statistics.median(ms):6.1f} ms, p99 {p99:6.1f} ms, worst {ms[-1]:6.1f} ms",
                flush=True,
            )
        finally:
            admin_sql(args.pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
