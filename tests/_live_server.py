"""A real ``authgate serve`` in its own process, and the ``authgate`` CLI beside it.

For tests (and bench/revocation_propagation.py) that need what only separate processes
show: a change made by the CLI reaching a running server, state surviving a restart.
The server binds 127.0.0.1 on a free port with a temporary home; ``AUTHGATE_HOST`` and
``AUTHGATE_PORT`` are set for the CLI too, so both agree on the token issuer.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2

__all__ = ["LiveServer", "free_port", "wait_until"]

AUTHGATE = [sys.executable, "-m", "authgate"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], bool], *, timeout: float, step: float = 0.01) -> float:
    """Seconds until ``check()`` was true; raises AssertionError after ``timeout``."""
    started = time.monotonic()
    while True:
        if check():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not true within {timeout} s")
        time.sleep(step)


class LiveServer:
    """``authgate serve`` on ``home``; :meth:`cli` runs ``authgate ... --json`` beside it.

    Args:
        home: the data directory (created by ``authgate init``).
        env: extra ``AUTHGATE_*`` settings for both (e.g. ``AUTHGATE_REDIS_URL``).
    """

    def __init__(self, home: Path, env: Mapping[str, str] | None = None) -> None:
        self.home = home
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHGATE_")}
        self.env.update(
            AUTHGATE_HOME=str(home), AUTHGATE_HOST="127.0.0.1", AUTHGATE_PORT=str(self.port)
        )
        self.env.update(env or {})
        self.log = home.parent / f"serve-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.http = httpx2.Client(base_url=self.base, timeout=5)

    def cli(self, *args: str, stdin: str | None = None) -> Any:
        """Run ``authgate *args --json`` and return its parsed output."""
        done = subprocess.run(
            [*AUTHGATE, *args, "--json"],
            env=self.env,
            capture_output=True,
            text=True,
            input=stdin,
            check=False,
        )
        assert done.returncode == 0, f"authgate {' '.join(args)}: {done.stderr}{done.stdout}"
        return json.loads(done.stdout) if done.stdout.strip() else None

    def start(self) -> LiveServer:
        """Start the server and wait until ``/healthz`` answers."""
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(
                [*AUTHGATE, "serve"], stdout=out, stderr=subprocess.STDOUT, env=self.env
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.http.get("/healthz").status_code == 200:
                    return self
            except httpx2.TransportError:
                pass
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "authgate serve did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM and wait."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        self.http.close()

    @classmethod
    @contextmanager
    def running(cls, home: Path, env: Mapping[str, str] | None = None) -> Iterator[LiveServer]:
        """``authgate init`` on ``home``, a started server, closed afterwards."""
        server = cls(home, env)
        server.cli("init")
        server.start()
        try:
            yield server
        finally:
            server.close()

    # -- credentials ------------------------------------------------------------------

    def status(self, path: str, headers: Mapping[str, str]) -> int:
        """The status of ``GET path`` with ``headers``."""
        return self.http.get(path, headers=dict(headers)).status_code

    def pair_token(self, pair: Mapping[str, str]) -> str:
        """An access token bought with a key pair (``POST /auth``)."""
        r = self.http.post("/auth", json={"api_key": pair["key"], "api_secret": pair["secret"]})
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def client_token(self, client: Mapping[str, str]) -> str:
        """An access token of the client credentials grant."""
        r = self.http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client["client_id"], client["client_secret"]),
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
