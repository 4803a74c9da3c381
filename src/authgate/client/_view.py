"""An outgoing ``httpx2.Request`` seen as the server will see it: a :class:`RequestView`.

The signing classes compute their canonical strings with the same sans-I/O functions the
server's schemes verify with (:mod:`authgate.schemes`), over this view, so a client and a
server of one authgate version agree by construction; independent peers (botocore, oauthlib,
``http-message-signatures``, the AWS vectors) check that both are right.
"""

from __future__ import annotations

import httpx2

from authgate.http.headers import Headers
from authgate.http.request import RequestView

__all__ = ["request_view", "set_query"]


def request_view(request: httpx2.Request) -> RequestView:
    """The view of ``request`` as sent (raw path and query, lower-case header names)."""
    target = request.url.raw_path.decode("ascii")
    path, _, query = target.partition("?")
    headers = Headers((k.lower(), v) for k, v in request.headers.multi_items())
    return RequestView(
        method=request.method.upper(),
        scheme=request.url.scheme,
        authority=request.headers.get("host") or request.url.netloc.decode("ascii"),
        path=path or "/",
        query=query,
        headers=headers,
        body=request.content,
    )


def set_query(request: httpx2.Request, query: str) -> None:
    """Replace the raw query of ``request`` (no re-encoding, order kept)."""
    request.url = request.url.copy_with(query=query.encode("ascii") or None)
