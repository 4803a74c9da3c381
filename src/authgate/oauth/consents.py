"""Consents: the scopes a user approved for a client, remembered per (user, client).

OIDC Core §3.1.2.4 (the authorization server obtains the end-user's consent; it may rely
on consent given earlier) and §3.1.2.6 (``consent_required`` for ``prompt=none``). A new
request is covered when every scope it asks for was approved before; approving adds the
new scopes to the remembered ones. ``prompt=consent`` always asks again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from authgate.store.db import Database
from authgate.store.models_authz import ConsentRecord

__all__ = ["Consents"]


class Consents:
    """Remembered consents (database-backed, shared by every instance)."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def granted(self, user_id: str, client_id: str) -> tuple[str, ...] | None:
        """The scopes ``user_id`` approved for ``client_id``; None when never asked."""
        async with self._db.session() as s:
            scopes = await s.scalar(
                select(ConsentRecord.scopes).where(
                    ConsentRecord.user_id == user_id, ConsentRecord.client_id == client_id
                )
            )
        return None if scopes is None else tuple(scopes)

    async def covers(self, user_id: str, client_id: str, scopes: Sequence[str]) -> bool:
        """True when the user approved this client before, for every scope in ``scopes``.

        A client the user never approved is not covered even for no scopes: identifying
        the user to a client (its ``sub``, user name) needs consent too.
        """
        granted = await self.granted(user_id, client_id)
        return granted is not None and set(scopes) <= set(granted)

    async def remember(self, user_id: str, client_id: str, scopes: Sequence[str]) -> None:
        """Add ``scopes`` to what ``user_id`` approved for ``client_id``."""
        now = datetime.fromtimestamp(self._clock(), UTC)
        for _ in range(2):  # a concurrent first approval may insert the row under us
            try:
                async with self._db.session() as s, s.begin():
                    row = await s.scalar(
                        select(ConsentRecord)
                        .where(
                            ConsentRecord.user_id == user_id,
                            ConsentRecord.client_id == client_id,
                        )
                        .with_for_update()
                    )
                    if row is None:
                        s.add(
                            ConsentRecord(
                                id=uuid.uuid4().hex,
                                user_id=user_id,
                                client_id=client_id,
                                scopes=list(dict.fromkeys(scopes)),
                                created_at=now,
                                updated_at=now,
                            )
                        )
                    else:
                        row.scopes = list(dict.fromkeys([*row.scopes, *scopes]))
                        row.updated_at = now
                return
            except IntegrityError:
                continue

    async def forget(self, user_id: str, client_id: str | None = None) -> int:
        """Drop a user's consent for one client (or all); returns how many were dropped."""
        async with self._db.session() as s, s.begin():
            query = delete(ConsentRecord).where(ConsentRecord.user_id == user_id)
            if client_id is not None:
                query = query.where(ConsentRecord.client_id == client_id)
            result = await s.execute(query)
        return int(getattr(result, "rowcount", 0) or 0)
