"""What the credential routes share (``/v1/keys``, ``/v1/clients``, ``/v1/public-keys``,
``/v1/certificates``): the owner filter of a listing, the list shape, and the answer that
carries a secret shown once (``Cache-Control: no-store``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Protocol

from fastapi import Query, Response

__all__ = ["OwnerFilter", "listing", "shown_once"]

OwnerFilter = Annotated[str | None, Query(max_length=128)]
"""``?user=``: whose credentials to list (a member may name only themself)."""


class _View(Protocol):
    def as_json(self) -> dict[str, Any]: ...


def listing(name: str, views: Iterable[_View]) -> dict[str, Any]:
    """``{name: [view, ...]}``, the shape of every credential listing."""
    return {name: [v.as_json() for v in views]}


def shown_once(response: Response, issued: _View) -> dict[str, Any]:
    """``issued`` (a new key, client or secret) as JSON, never to be stored by a cache."""
    response.headers["cache-control"] = "no-store"
    return issued.as_json()
