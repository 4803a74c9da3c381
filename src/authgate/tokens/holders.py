"""The holder deny-list: key pairs, users and OAuth clients whose tokens are refused.

An authgate access token names its holders in two claims: ``sub`` (the user, or the
client for the client-credentials grant) and ``client_id`` (the key pair it was bought
with, or the OAuth client). Revoking a key pair, ending a rotation grace, disabling a
user or deleting a client denies that holder from a moment ``at`` on: every token naming
it is refused once ``at`` has passed, whatever its ``exp``. Checking is two dict lookups
(none while the list is empty), on every request (:mod:`authgate.schemes.own_tokens`)
and every introspection (:class:`~authgate.tokens.access.AccessTokenVerifier`).

Entries are rebuilt at start-up from the ``changes`` table and kept up to date by the
change feed (:mod:`authgate.cache.change_feed`); an entry is dropped once every token
issued before it has expired (:data:`HOLDER_RETENTION`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

__all__ = ["HOLDER_RETENTION", "HolderDenyList"]

#: Seconds a denial is kept after it takes effect: the longest access-token lifetime
#: (``access_token_lifetime`` is at most one day) plus leeway.
HOLDER_RETENTION = 86400.0 + 300.0


class HolderDenyList:
    """Holder id → the time (seconds since the epoch) from which its tokens are refused.

    Args:
        clock: returns the current time in seconds since the epoch.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._at: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._at)

    def deny(self, holder: str, at: float) -> None:
        """Refuse ``holder``'s tokens from ``at`` on (the earliest denial wins)."""
        current = self._at.get(holder)
        if current is None or at < current:
            self._at[holder] = at

    def denied_at(self, holder: str) -> float | None:
        """When ``holder`` is (or will be) denied, or None."""
        return self._at.get(holder)

    def denies(self, claims: Mapping[str, object]) -> bool:
        """True when the token's ``sub`` or ``client_id`` is denied now."""
        entries = self._at
        if not entries:
            return False
        now = -1.0
        for claim in ("client_id", "sub"):
            holder = claims.get(claim)
            at = entries.get(holder) if type(holder) is str else None
            if at is not None:
                if now < 0:
                    now = self._clock()
                if at <= now:
                    return True
        return False

    def prune(self) -> int:
        """Drop denials every token of which has expired; returns how many."""
        horizon = self._clock() - HOLDER_RETENTION
        old = [h for h, at in self._at.items() if at < horizon]
        for holder in old:
            del self._at[holder]
        return len(old)
