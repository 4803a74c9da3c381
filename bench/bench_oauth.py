"""client_credentials grants/s and introspections/s: authgate vs node ``oidc-provider``.

Run: ``python bench/bench_oauth.py [--duration 10] [--connections 32] [--rounds 3]``

One run, same machine, one process each (authgate: ``authgate serve``, one uvicorn
process, httptools and uvloop; oidc-provider 9.x: one node process,
``bench/peers/oidc-provider/server.mjs``, opaque tokens in its in-memory adapter), both up
for the whole run. wrk (one thread, 32 connections) POSTs form bodies with HTTP Basic
client authentication (RFC 6749 §2.3.1) from a Lua script. The token endpoint (RFC 6749
§4.4) and introspection (RFC 7662, the same token every time, as a resource server asks
about the token it is handed) are measured; authgate signs an RFC 9068 JWT (EdDSA) per
grant. Each round measures both servers back to back, so a busy neighbour on the machine
weighs on both; the medians over the rounds are compared. Targets (issue 4): authgate ≥ 1×
oidc-provider on both, and ≥ 5,000 introspections/s. ``npm install`` runs in the peer
folder when its node_modules is missing.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx2
from bench_whoami import ensure_wrk, free_port, server

HERE = Path(__file__).resolve().parent
PEER = HERE / "peers" / "oidc-provider"
PEER_CLIENT = ("bench", "bench-secret-bench-secret-bench-secret")
GRANT_BODY = "grant_type=client_credentials&scope=read"


def lua(path: Path, body: str, authorization: str) -> Path:
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body)}\n"
        'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
        f'wrk.headers["Authorization"] = {json.dumps(authorization)}\n'
    )
    return path


def wrk_lua(binary: str, url: str, script: Path, duration: int, conns: int) -> float:
    """Requests/s of wrk driving ``script`` (after a 2 s warm-up); any non-2xx fails."""
    base = [binary, "-t1", f"-c{conns}", "-s", str(script)]
    subprocess.run([*base, "-d2s", url], capture_output=True, check=True)
    out = subprocess.run(
        [*base, f"-d{duration}s", url], capture_output=True, text=True, check=True
    ).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{url}: {non2xx.group(1)} failed responses")
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert m, out
    return float(m.group(1))


def fmt(values: list[float]) -> str:
    return ", ".join(f"{v:,.0f}" for v in values)


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def ensure_peer() -> None:
    if not (PEER / "node_modules" / "oidc-provider").exists():
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund"], cwd=PEER, check=True, capture_output=True
        )


def prepare(
    base: str, token_path: str, intro_path: str, auth: str, tmp: Path
) -> list[tuple[str, Path]]:
    """Check that the server grants and introspects; each endpoint's URL and wrk script."""
    r = httpx2.post(
        base + token_path,
        data={"grant_type": "client_credentials", "scope": "read"},
        headers={"authorization": auth},
    )
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    check = httpx2.post(base + intro_path, data={"token": token}, headers={"authorization": auth})
    assert check.status_code == 200 and check.json()["active"] is True, check.text
    name = base.rsplit(":", 1)[1]
    return [
        (base + token_path, lua(tmp / f"grant-{name}.lua", GRANT_BODY, auth)),
        (base + intro_path, lua(tmp / f"intro-{name}.lua", f"token={token}", auth)),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    binary = ensure_wrk()
    ensure_peer()
    tmp = Path(tempfile.mkdtemp(prefix="authgate-bench-oauth-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHGATE_")}
    env["AUTHGATE_HOME"] = str(tmp / "home")
    py = sys.executable
    subprocess.run(
        [py, "-m", "authgate", "init", "--json"], env=env, check=True, capture_output=True
    )
    created = subprocess.run(
        [
            py,
            "-m",
            "authgate",
            "clients",
            "create",
            "bench",
            "--grant",
            "client_credentials",
            "--scopes",
            "read",
            "--json",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    client = json.loads(created.stdout)
    port, peer_port = free_port(), free_port()
    env["AUTHGATE_TOKEN_ISSUER"] = f"http://127.0.0.1:{port}"
    node_env = {
        **os.environ,
        "PORT": str(peer_port),
        "CLIENT_ID": PEER_CLIENT[0],
        "CLIENT_SECRET": PEER_CLIENT[1],
        "NODE_ENV": "production",
    }
    ours, theirs = "authgate (EdDSA JWT)", "oidc-provider (opaque)"
    with (
        server([py, "-m", "authgate", "serve", "--port", str(port)], port, env, "/healthz"),
        server(
            ["node", str(PEER / "server.mjs")],
            peer_port,
            node_env,
            "/.well-known/openid-configuration",
        ),
    ):
        here, there = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{peer_port}"
        auth = basic(client["client_id"], client["client_secret"])
        paths = {
            ours: ("/oauth/token", "/oauth/introspect"),
            theirs: ("/token", "/token/introspection"),
        }
        targets = {
            ours: prepare(here, *paths[ours], auth, tmp),
            theirs: prepare(there, *paths[theirs], basic(*PEER_CLIENT), tmp),
        }
        rounds: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in targets}
        load = os.getloadavg()[0]
        for _ in range(a.rounds):
            for name, endpoints in targets.items():
                for measured, (url, script) in zip(rounds[name], endpoints, strict=True):
                    measured.append(wrk_lua(binary, url, script, a.duration, a.connections))
    results = {n: (statistics.median(g), statistics.median(i)) for n, (g, i) in rounds.items()}
    print(
        f"\nwrk -t1 -c{a.connections} -d{a.duration}s, one process each, "
        f"median of {a.rounds} alternating rounds (load average at start: {load:.2f})\n"
    )
    print(f"  {'':<24} {'grants/s':>12} {'introspections/s':>18}")
    for name, (g, i) in results.items():
        print(f"  {name:<24} {g:>12,.0f} {i:>18,.0f}")
    for name, (grants, intros) in rounds.items():
        print(f"  {name:<24} rounds: grants {fmt(grants)}; introspections {fmt(intros)}")
    mine, peer = results[ours], results[theirs]
    print()
    print(f"  grants         authgate / oidc-provider  {mine[0] / peer[0]:5.2f}x  (target >= 1.0)")
    print(f"  introspection  authgate / oidc-provider  {mine[1] / peer[1]:5.2f}x  (target >= 1.0)")
    print(f"  introspection  authgate                  {mine[1]:>7,.0f}/s (target >= 5,000)")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
