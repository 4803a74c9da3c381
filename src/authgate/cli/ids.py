"""Ids as operators type them: the full id, a unique prefix of it (as ``keys list``
shows it), or a key's public prefix (``agk_…`` for API keys, ``agp_…`` for key pairs).

A prefix that matches several ids is refused with the candidates named; one that
matches none answers like an unknown id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from authgate.errors import InvalidRequest, NotFound
from authgate.runtime import LOCAL_ADMIN, Runtime

__all__ = ["SHORT_ID", "match_id", "resolve_client_id", "resolve_key_id", "short_id"]

SHORT_ID = 12
"""Characters of an id shown by the text tables (``--wide`` and ``--json`` show all)."""

_MIN_PREFIX = 4


def short_id(value: str) -> str:
    return value if len(value) <= SHORT_ID else value[:SHORT_ID]


def _clean(typed: str) -> str:
    # a prefix copied from a table may carry Rich's ellipsis
    return typed.strip().rstrip("…").rstrip(".")


def match_id(typed: str, candidates: Iterable[tuple[str, Sequence[str]]], what: str) -> str:
    """The one id among ``candidates`` (``(id, [other names])``) that ``typed`` names.

    Raises:
        NotFound: nothing matches.
        InvalidRequest: the prefix is too short or matches several.
    """
    typed = _clean(typed)
    pool = list(candidates)
    for ident, aliases in pool:
        if typed == ident or typed in aliases:
            return ident
    if len(typed) < _MIN_PREFIX:
        raise InvalidRequest(f"give at least {_MIN_PREFIX} characters of the {what} id")
    hits = sorted(
        {ident for ident, aliases in pool if any(n.startswith(typed) for n in (ident, *aliases))}
    )
    if not hits:
        raise NotFound(f"no such {what}")
    if len(hits) > 1:
        shown = ", ".join(hits[:5]) + (", …" if len(hits) > 5 else "")
        raise InvalidRequest(
            f"{typed!r} matches {len(hits)} {what}s ({shown}): give more characters"
        )
    return hits[0]


async def resolve_key_id(rt: Runtime, typed: str) -> str:
    """A key's full id from its id, a unique id prefix or its public ``agk_``/``agp_`` prefix."""
    keys = await rt.keys.list_keys(LOCAL_ADMIN)
    return match_id(typed, ((k.id, (k.prefix,)) for k in keys), "key")


async def resolve_client_id(rt: Runtime, typed: str) -> str:
    """A client's full ``client_id`` from itself or a unique prefix."""
    clients = await rt.oauth.clients.list_clients(LOCAL_ADMIN)
    return match_id(typed, ((c.client_id, ()) for c in clients), "client")
