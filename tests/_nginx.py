"""A real nginx for tests (Debian's nginx-light: it has ``auth_request`` and TLS), and a
small upstream that answers with what it received."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.conftest import IN_CI

__all__ = ["HTTP_SKELETON", "EchoUpstream", "free_port", "nginx_binary", "running_nginx"]

NGINX = "/usr/sbin/nginx"

#: the ``http {}`` context around a test's ``server {}`` blocks: everything in ``{dir}``
HTTP_SKELETON = """
daemon off;
master_process off;
worker_processes 1;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/tmp-body;
    proxy_temp_path {dir}/tmp-proxy;
    fastcgi_temp_path {dir}/tmp-fastcgi;
    uwsgi_temp_path {dir}/tmp-uwsgi;
    scgi_temp_path {dir}/tmp-scgi;
{servers}
}}
"""


def nginx_binary() -> str:
    """nginx, installed on demand when we are root; a failure under CI, else a skip."""
    found = shutil.which("nginx") or (NGINX if os.path.exists(NGINX) else None)
    if found is None and os.geteuid() == 0 and not IN_CI:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "nginx-light"],
            check=False,
            env=env,
            capture_output=True,
        )
        found = NGINX if os.path.exists(NGINX) else None
    if found is None:
        message = "nginx is not installed (apt-get install -y nginx-light)"
        if IN_CI:
            pytest.fail(message + " — required under CI=true")
        pytest.skip(message)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, alive: Any, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"{what} exited during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}")


@contextmanager
def running_nginx(directory: Path, servers: str, port: int) -> Iterator[None]:
    """nginx with ``servers`` (``server {}`` blocks) in :data:`HTTP_SKELETON`, listening
    on ``port``; stopped afterwards."""
    binary = nginx_binary()
    conf = directory / "nginx.conf"
    conf.write_text(HTTP_SKELETON.format(dir=directory, servers=servers))
    proc = subprocess.Popen(
        [binary, "-p", str(directory), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        try:
            wait_for_port(port, lambda: proc.poll() is None, "nginx")
        except RuntimeError:
            log = directory / "error.log"
            stderr = proc.stderr.read().decode() if proc.poll() is not None and proc.stderr else ""
            pytest.fail(f"nginx did not start: {stderr}{log.read_text() if log.exists() else ''}")
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()


class EchoUpstream:
    """uvicorn in a thread: every request is answered with JSON of its method, raw path,
    query and headers, so a test sees exactly what a proxy passed upstream."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests = 0
        config = uvicorn.Config(
            self._app,
            host="127.0.0.1",
            port=self.port,
            lifespan="off",
            log_level="warning",
            access_log=False,
            ws="none",
            proxy_headers=False,
            interface="asgi3",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()), daemon=True)

    async def _app(self, scope: Any, receive: Any, send: Any) -> None:
        self.requests += 1
        headers: dict[str, list[str]] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.decode("latin-1"), []).append(value.decode("latin-1"))
        body = json.dumps(
            {
                "method": scope["method"],
                "path": (scope.get("raw_path") or b"").decode("latin-1"),
                "query": scope["query_string"].decode("latin-1"),
                "headers": headers,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def __enter__(self) -> EchoUpstream:
        self.thread.start()
        wait_for_port(self.port, self.thread.is_alive, "upstream")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
