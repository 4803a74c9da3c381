"""The examples in docs/schemes/hmac-simple.md run for real and their requests verify.

Each code block is extracted from the markdown and executed (Python with this
interpreter, the shell one with bash, real openssl and curl) against a local HTTP server
that records the request; the recorded request goes through HmacSimpleAuthenticator.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from authgate.crypto.secret import Secret
from authgate.errors import InvalidCredentials
from authgate.identity import Identity
from authgate.replay import MemoryReplayCache
from authgate.schemes.base import Headers, KeyPairCredential, RequestView
from authgate.schemes.hmac_simple import HmacSimpleAuthenticator, canonical_string

DOC = Path(__file__).parents[2] / "docs" / "schemes" / "hmac-simple.md"
KEY, SECRET = "ag_kp_docs_example", "docs-secret-with-ünïcode-and-$pecial'chars"
OWNER = Identity(subject="doc-user", principal_id="u-doc", scheme="?")


def code_block(language: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 1, f"expected one {language} block in {DOC}"
    return blocks[0]


class Store:
    async def resolve_api_key(self, key: str) -> Identity | None:
        return None

    async def resolve_key_pair(self, key: str) -> KeyPairCredential | None:
        return KeyPairCredential(KEY, Secret(SECRET), OWNER) if key == KEY else None

    async def resolve_password(self, username: str, password: str) -> Identity | None:
        return None


class Recorder(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        target = urlsplit(self.path)
        headers = Headers(self.headers.items())
        self.server.seen.append(  # type: ignore[attr-defined]
            RequestView(
                method=self.command,
                scheme="http",
                authority=headers.get("host") or "",
                path=target.path,
                query=target.query,
                headers=headers,
                body=body,
            )
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[RequestView]]]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    httpd.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", httpd.seen  # type: ignore[attr-defined]
    finally:
        httpd.shutdown()
        httpd.server_close()


def env(base: str) -> dict[str, str]:
    return {**os.environ, "AUTHGATE_KEY": KEY, "AUTHGATE_SECRET": SECRET, "AUTHGATE_URL": base}


async def verify(seen: list[RequestView]) -> None:
    assert len(seen) == 1
    view = seen[0]
    auth = HmacSimpleAuthenticator(Store(), MemoryReplayCache())
    assert auth.is_present(view)
    identity = await auth.authenticate(view)
    assert (identity.subject, identity.scheme) == ("doc-user", "hmac")
    # the exact same request again is a replay
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(view)


async def test_python_example_runs_and_verifies(server: tuple[str, list[RequestView]]) -> None:
    base, seen = server
    out = subprocess.run(
        [sys.executable, "-c", code_block("python")],
        env=env(base),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert out.stdout.strip() == '{"ok": true}'
    await verify(seen)


async def test_shell_example_runs_and_verifies(server: tuple[str, list[RequestView]]) -> None:
    missing = [tool for tool in ("bash", "openssl", "curl") if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"missing tools: {missing}")
        pytest.skip(f"the shell example needs {missing}")
    out = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code_block("bash")],
        env=env(base := server[0]),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert out.stdout.strip() == '{"ok": true}', (base, out.stderr)
    await verify(server[1])


def test_canonical_string_example_matches_the_implementation() -> None:
    text = DOC.read_text()
    section = text[text.index("## Canonical string") : text.index("## Responses")]
    printed = re.findall(r"```text\n(.*?)\n```", section, re.S)[0]
    view = RequestView(
        method="POST",
        scheme="http",
        authority="127.0.0.1:8000",
        path="/v1/keys",
        query="",
        headers=Headers(
            [
                ("host", "127.0.0.1:8000"),
                ("x-authgate-date", "1700000000"),
                ("x-authgate-nonce", "5f2b8c0e9d4a7b61c3e8f0a2d4b6c8e0"),
            ]
        ),
        body=b'{"name": "signed", "scopes": ["read"]}',
    )
    assert canonical_string(view, ["host", "x-authgate-date", "x-authgate-nonce"]) == printed
