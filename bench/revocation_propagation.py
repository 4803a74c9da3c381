"""How long a revocation made by the CLI takes to reach a running server (issue 8 item 9).

Run: ``python bench/revocation_propagation.py [--rounds 20] [--redis redis://...]``.
Starts a real ``authgate serve`` (SQLite, temporary home, 127.0.0.1, free port; the
helper is tests/_live_server.py), then ``--rounds`` times: an API key in use (cached by
the server) is revoked with ``authgate keys revoke`` in a separate process while this
script polls ``GET /v1/whoami`` every 2 ms; same for an access token bought with a key
pair whose pair is revoked. The latency is from the revocation's commit (the ``at`` of
its ``changes`` row, written just before the commit: an upper bound) until the first
401; the time from starting the CLI (Python start-up, opening the runtime) is printed
beside it. Prints median and worst per kind, without Redis (the change feed's polling,
``change_poll_interval`` = 0.25 s) and, when Redis answers, with it (the bus wakes the
feed).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests._live_server import AUTHGATE, LiveServer, bearer

TIMEOUT = 5.0


def committed_at(live: LiveServer, subject: str) -> float:
    """When the revocation of ``subject`` was written (its ``changes`` row's ``at``)."""
    with sqlite3.connect(live.home / "authgate.db") as db:
        row = db.execute(
            "SELECT at FROM changes WHERE subject = ? ORDER BY id DESC LIMIT 1", (subject,)
        ).fetchone()
    assert row is not None, "no change row"
    at = datetime.fromisoformat(str(row[0]))
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def revoke_and_wait(
    live: LiveServer, key_id: str, headers: Mapping[str, str]
) -> tuple[float, float]:
    """Seconds from the revocation's commit, and from the CLI's start, to the first 401."""
    assert live.status("/v1/whoami", headers) == 200
    started = time.time()
    cli = subprocess.Popen(
        [*AUTHGATE, "keys", "revoke", key_id, "--json"],
        env=live.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + TIMEOUT + 30
    while live.status("/v1/whoami", headers) != 401:
        assert time.monotonic() < deadline, "not refused"
        time.sleep(0.002)
    refused = time.time()
    assert cli.wait() == 0, "keys revoke failed"
    return refused - committed_at(live, key_id), refused - started


def run(rounds: int, env: dict[str, str]) -> dict[str, list[tuple[float, float]]]:
    with tempfile.TemporaryDirectory() as tmp:
        live = LiveServer(Path(tmp) / "home", env)
        try:
            live.cli("init")
            admin = {"X-API-Key": live.cli("keys", "create", "--user", "admin")["key"]}
            live.start()
            r = live.http.post("/v1/users", json={"name": "bench"}, headers=admin)
            assert r.status_code == 201, r.text
            out: dict[str, list[tuple[float, float]]] = {"API key": [], "key-pair token": []}
            for _ in range(rounds):
                key = live.http.post("/v1/keys", json={"user": "bench"}, headers=admin).json()
                out["API key"].append(revoke_and_wait(live, key["id"], {"X-API-Key": key["key"]}))
                pair = live.http.post(
                    "/v1/keys", json={"user": "bench", "type": "key-pair"}, headers=admin
                ).json()
                token = bearer(live.pair_token(pair))
                out["key-pair token"].append(revoke_and_wait(live, pair["id"], token))
            return out
        finally:
            live.close()


def redis_answers(url: str) -> bool:
    import redis
    from redis.exceptions import RedisError

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=2).ping())
    except (RedisError, OSError):
        return False


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()
    setups: list[tuple[str, dict[str, str]]] = [("without Redis", {})]
    if redis_answers(args.redis):
        setups.append(("with Redis", {"AUTHGATE_REDIS_URL": args.redis}))
    else:
        print(f"Redis at {args.redis} does not answer: skipped")
    for label, env in setups:
        for kind, seconds in run(args.rounds, env).items():
            ms = [commit * 1000 for commit, _ in seconds]
            total = [whole * 1000 for _, whole in seconds]
            print(
                f"{label:14} {kind:15} n={len(ms)}  commit→refused: median "
                f"{statistics.median(ms):6.1f} ms, worst {max(ms):6.1f} ms;  CLI start→refused: "
                f"median {statistics.median(total):6.0f} ms, worst {max(total):6.0f} ms",
                flush=True,
            )


if __name__ == "__main__":
    main()
