"""What a revocation does to one server: the handler of the change feed.

Shared by the change feed (changes of other processes) and the
:class:`~authgate.tokens.changes.ChangeLog` (this process's own, applied at once).
"""

from __future__ import annotations

from collections.abc import Callable

from authgate.cache.notices import parse_notice
from authgate.tokens.changes import Change
from authgate.tokens.durable_revocation import DurableRevocationList
from authgate.tokens.holders import HolderDenyList
from authgate.tokens.revocation import MemoryRevocationList, RevocationList

__all__ = ["revocation_handler"]


def revocation_handler(
    holders: HolderDenyList,
    revocation: RevocationList,
    *,
    credential_changed: Callable[[str], None],
    principal_changed: Callable[[str], None],
    everything_changed: Callable[[], None] | None = None,
) -> Callable[[Change], None]:
    """A handler that applies a change to the deny-lists and drops what was cached of it.

    Args:
        holders: the holder deny-list.
        revocation: the ``jti`` deny-list (its memory part is updated; a shared list
            such as Redis's needs nothing).
        credential_changed: drops cached verifications of a credential or client.
        principal_changed: drops cached verifications of a user's credentials.
        everything_changed: drops every cached verification (a ``cache`` notice of ``all``).
    """
    memory: MemoryRevocationList | None = None
    if isinstance(revocation, DurableRevocationList):
        memory = revocation.memory
    elif isinstance(revocation, MemoryRevocationList):
        memory = revocation

    def apply(change: Change) -> None:
        if change.kind == "cache":  # nothing denied: only stale cache entries to drop
            notice = parse_notice(change.subject)
            if notice is None:
                return
            target, ident = notice
            if target == "credential":
                credential_changed(ident)
            elif target == "principal":
                principal_changed(ident)
            elif everything_changed is not None:
                everything_changed()
            return
        if change.kind == "token":
            if memory is not None and change.expires_at is not None:
                memory.add(change.subject, change.expires_at)
            return
        holders.deny(change.subject, change.at)
        if change.kind == "user":
            principal_changed(change.subject)
        else:  # "credential", "client"
            credential_changed(change.subject)

    return apply
