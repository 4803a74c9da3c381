"""Engine and sessions for SQLite (embedded default) and PostgreSQL (asyncpg).

A SQLite database file holds password hashes and credential digests, so it is created
0600 before SQLite first opens it: SQLite gives its ``-wal`` and ``-shm`` files the
database file's mode, so they are 0600 too (a file SQLite created itself would be 0644
under the usual umask). An existing file that others can read is tightened to 0600.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from authgate.errors import SetupError

__all__ = ["Database"]

log = logging.getLogger("authgate.store")


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"pool_pre_ping": not self.is_sqlite}
        try:
            self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        except ModuleNotFoundError as exc:
            raise SetupError(_missing_driver(url, exc.name or "")) from None
        if self.is_sqlite:
            _private_sqlite_files(url)
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> AsyncSession:
        return self.sessions()

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the CLI and a running server share the file; busy_timeout waits for locks
    # instead of failing; foreign keys are off by default in SQLite.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _private_sqlite_files(url: str) -> None:
    """Create the database file 0600 if missing; make it and its -wal/-shm files 0600."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.is_dir():
        return  # SQLite reports the missing directory itself
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    for suffix in ("", "-wal", "-shm"):
        part = Path(f"{path}{suffix}")
        try:
            mode = stat.S_IMODE(part.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            os.chmod(part, 0o600)
            log.warning("%s was mode %04o (readable by other users); now 0600", part, mode)


def _missing_driver(url: str, module: str) -> str:
    """One line naming the missing driver and the extra that installs it."""
    extra = {"asyncpg": "postgres"}.get(module)
    if extra is not None:
        return (
            f"the database URL needs the {module} driver, which is not installed: "
            f"pip install 'authgate[{extra}]'"
        )
    scheme = url.split(":", 1)[0]
    return (
        f"the database URL ({scheme}://…) needs the {module} module, which is not installed: "
        "install it, or use postgresql+asyncpg:// (pip install 'authgate[postgres]') or "
        "sqlite+aiosqlite://"
    )
