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

__all__ = ["CLOCK_LEEWAY", "HOLDER_RETENTION", "HolderDenyList"]

#: Seconds by which the clock of the process that denied a holder may lag behind the
#: clock of the server that issued its tokens: tokens issued up to this long after the
#: denial's moment are refused too.
CLOCK_LEEWAY = 2.0

#: Seconds a denial is kept after it takes effect: the longest access-token lifetime
#: (``access_token_lifetime`` is at most one day) plus leeway.
HOLDER_RETENTION = 86400.0 + 300.0


class HolderDenyList:
    """Holder id → the moments (seconds since the epoch) its tokens were denied.

    A denial at ``at`` refuses, once ``at`` has passed, every token naming the holder
    that was issued no later than ``at`` plus :data:`CLOCK_LEEWAY` (its ``iat``; a token
    without one is refused):
    a revoked key pair or deleted client cannot buy newer tokens anyway, and a user
    enabled again gets working tokens while the ones they held stay refused. A holder
    can carry several denials (a rotation grace ending later, a revocation now; a user
    disabled, enabled and disabled again); each is checked.

    Args:
        clock: returns the current time in seconds since the epoch.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._at: dict[str, list[float]] = {}

    def __len__(self) -> int:
        return len(self._at)

    def deny(self, holder: str, at: float) -> None:
        """Refuse ``holder``'s tokens issued until ``at``, from ``at`` on."""
        moments = self._at.setdefault(holder, [])
        if at not in moments:
            moments.append(at)
            moments.sort()

    def denied_at(self, holder: str) -> float | None:
        """When ``holder`` is (or will be) first denied, or None."""
        moments = self._at.get(holder)
        return moments[0] if moments else None

    def denies(self, claims: Mapping[str, object]) -> bool:
        """True when the token's ``sub`` or ``client_id`` is denied now for its ``iat``."""
        entries = self._at
        if not entries:
            return False
        now = -1.0
        for claim in ("client_id", "sub"):
            holder = claims.get(claim)
            moments = entries.get(holder) if type(holder) is str else None
            if not moments:
                continue
            if now < 0:
                now = self._clock()
            iat = claims.get("iat")
            issued = float(iat) if type(iat) in (int, float) else None  # type: ignore[arg-type]
            for at in moments:
                if at <= now and (issued is None or issued <= at + CLOCK_LEEWAY):
                    return True
        return False

    def prune(self) -> int:
        """Drop denials every token of which has expired; returns how many."""
        horizon = self._clock() - HOLDER_RETENTION
        dropped = 0
        for holder in list(self._at):
            moments = self._at[holder]
            kept = [at for at in moments if at >= horizon]
            dropped += len(moments) - len(kept)
            if kept:
                self._at[holder] = kept
            else:
                del self._at[holder]
        return dropped
