"""The lookup every credential resolver shares: cache, negative cache, one join, state check.

:class:`~authgate.accounts.resolver.StoreResolver` (API keys, key pairs) and
:class:`~authgate.accounts.pki.PkiResolver` (public keys, certificates) answer the
schemes the same way: a cached answer first; a lookup known to miss is not repeated;
otherwise one query reads the row with its owner, and a row that can never be valid
again (revoked, say) is remembered as unknown, so that retries keep away from the
database. What each resolver builds from the row, and caches, is its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, select

from authgate.accounts.caches import CredentialCache, NegativeCache
from authgate.identity import Identity
from authgate.store.db import Database
from authgate.store.models import Credential, User
from authgate.store.models_pki import ClientCertificate, PublicKey

__all__ = ["fill", "load_owned"]

Row = TypeVar("Row", Credential, PublicKey, ClientCertificate)
Hit = TypeVar("Hit")


async def load_owned(
    db: Database,
    model: type[Row],
    condition: ColumnElement[bool],
    *,
    dead: Callable[[Row, User], bool],
    unknown: NegativeCache,
    cache_key: str,
) -> tuple[Row, User] | None:
    """The one ``model`` row ``condition`` matches, with its owner.

    None when there is none or it is ``dead`` (can never be valid again): then
    ``cache_key`` is added to ``unknown``.
    """
    async with db.session() as s:
        found = (
            await s.execute(
                select(model, User).join(User, User.id == model.user_id).where(condition)
            )
        ).first()
    if found is None or dead(found[0], found[1]):
        unknown.add(cache_key)
        return None
    return found[0], found[1]


async def fill(
    cache: CredentialCache[Hit],
    unknown: NegativeCache,
    cache_key: str,
    load: Callable[[], Awaitable[Hit | None]],
    identity: Callable[[Hit], Identity],
    *,
    epoch: Callable[[], Any] = lambda: None,
) -> Hit | None:
    """After a miss in ``cache``: what ``load`` finds, cached under ``cache_key``.

    None at once when ``cache_key`` is in ``unknown``. What ``load`` read is not cached
    when ``epoch()`` changed meanwhile (an invalidation came while it waited: the
    credential may have been revoked).
    """
    if cache_key in unknown:
        return None
    start = epoch()
    hit = await load()
    if hit is not None and epoch() == start:
        who = identity(hit)
        cache.put(cache_key, hit, principal_id=who.principal_id, credential_id=who.credential_id)
    return hit
