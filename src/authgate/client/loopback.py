"""The loopback redirect of a native app (RFC 8252 §7.3): an HTTP listener on 127.0.0.1.

The authorization server redirects the user's browser to ``http://127.0.0.1:PORT/callback``;
this listener, on a port the system picks, takes the one redirect's query parameters and
answers the browser with a page saying it may be closed. It serves in a daemon thread
until closed, so a token flow can poll :attr:`Loopback.params` between short waits.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit

__all__ = ["Loopback"]

_PAGE = (
    b"<!doctype html><meta charset=utf-8><title>authgate</title>"
    b"<p>Signed in: you may close this window and return to the terminal.</p>"
)


class Loopback:
    """A one-redirect listener at ``http://127.0.0.1:{port}{path}``.

    Args:
        path: the redirect URI's path.
        port: 0 for one the system picks (RFC 8252 §7.3 lets the port vary).
    """

    def __init__(self, path: str = "/callback", port: int = 0) -> None:
        self.path = path
        self.params: dict[str, str] | None = None
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path != owner.path or owner.params is not None:
                    self.send_error(404)
                    return
                owner.params = dict(parse_qsl(url.query))
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(_PAGE)))
                self.end_headers()
                self.wfile.write(_PAGE)

            def log_message(self, format: str, *args: object) -> None:
                pass  # the query holds the authorization code: never logged

        self._server = HTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.path}"

    def __enter__(self) -> Loopback:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
