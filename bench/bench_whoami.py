"""Requests/s of authgate's /v1/whoami (API key) and /healthz vs a hand-written FastAPI check.

Run: ``python bench/bench_whoami.py [--duration 10] [--connections 32] [--rounds 3]``

One run, same machine: each server is a single uvicorn process (httptools, uvloop, no
access log) loaded in turn by wrk (one thread). Prints requests/s and the ratios the
foundation issue targets: whoami ≥ 0.8× healthz and ≥ 3× the hand-written FastAPI check.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)
        found = shutil.which("wrk")
    if not found:
        sys.exit("wrk is required: apt-get install wrk")
    return found


@contextmanager
def server(cmd: list[str], port: int, env: dict[str, str], probe: str) -> Iterator[None]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx2.get(f"http://127.0.0.1:{port}{probe}", timeout=1)
                break
            except httpx2.TransportError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"server did not start: {cmd}")
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def wrk(binary: str, url: str, headers: dict[str, str], duration: int, conns: int) -> float:
    args = [binary, "-t1", f"-c{conns}", f"-d{duration}s", "--latency"]
    for k, v in headers.items():
        args += ["-H", f"{k}: {v}"]
    subprocess.run([*args[:3], "-d2s", *args[4:], url], capture_output=True, check=True)  # warm-up
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{url}: {non2xx.group(1)} failed responses")
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert m, out
    return float(m.group(1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    binary = ensure_wrk()
    home = Path(tempfile.mkdtemp(prefix="authgate-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHGATE_")}
    env["AUTHGATE_HOME"] = str(home)
    py = sys.executable
    subprocess.run(
        [py, "-m", "authgate", "init", "--json"], env=env, check=True, capture_output=True
    )
    subprocess.run(
        [py, "-m", "authgate", "users", "create", "bench", "--scopes", "read", "--json"],
        env=env,
        check=True,
        capture_output=True,
    )
    created = subprocess.run(
        [py, "-m", "authgate", "keys", "create", "--user", "bench", "--scopes", "read", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    key = json.loads(created.stdout)["key"]
    results: dict[str, float] = {}

    port = free_port()
    with server([py, "-m", "authgate", "serve", "--port", str(port)], port, env, "/healthz"):
        base = f"http://127.0.0.1:{port}"
        check = httpx2.get(f"{base}/v1/whoami", headers={"X-API-Key": key})
        assert check.status_code == 200, check.text
        # alternate the two endpoints over several rounds; medians damp a noisy window
        health, whoami = [], []
        for _ in range(a.rounds):
            health.append(wrk(binary, f"{base}/healthz", {}, a.duration, a.connections))
            whoami.append(
                wrk(binary, f"{base}/v1/whoami", {"X-API-Key": key}, a.duration, a.connections)
            )
        results["authgate /healthz"] = statistics.median(health)
        results["authgate /v1/whoami (API key)"] = statistics.median(whoami)

    uvicorn = [
        py,
        "-m",
        "uvicorn",
        "--no-access-log",
        "--http",
        "httptools",
        "--loop",
        "uvloop",
        "--log-level",
        "warning",
        "--app-dir",
        str(HERE / "peers"),
    ]
    peer_env = {**env, "BENCH_API_KEY": key}
    port = free_port()
    with server(
        [*uvicorn, "--port", str(port), "fastapi_handwritten:app"], port, peer_env, "/docs"
    ):
        results["hand-written FastAPI dependency"] = wrk(
            binary,
            f"http://127.0.0.1:{port}/v1/whoami",
            {"X-API-Key": key},
            a.duration,
            a.connections,
        )
    port = free_port()
    with server([*uvicorn, "--port", str(port), "bare_asgi:app"], port, peer_env, "/"):
        results["bare uvicorn ASGI app"] = wrk(
            binary, f"http://127.0.0.1:{port}/", {}, a.duration, a.connections
        )

    width = max(map(len, results))
    print(
        f"\nwrk -t1 -c{a.connections} -d{a.duration}s, one uvicorn process each; "
        f"authgate endpoints: median of {a.rounds} alternating rounds\n"
    )
    for name, rps in results.items():
        print(f"  {name:<{width}}  {rps:>10,.0f} req/s")
    whoami = results["authgate /v1/whoami (API key)"]
    r_health = whoami / results["authgate /healthz"]
    r_fastapi = whoami / results["hand-written FastAPI dependency"]
    r_bare = whoami / results["bare uvicorn ASGI app"]
    print()
    print(f"  whoami / healthz          {r_health:5.2f}x   (target >= 0.8)")
    print(f"  whoami / hand-written     {r_fastapi:5.2f}x   (target >= 3.0)")
    print(f"  whoami / bare ASGI        {r_bare:5.2f}x")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
