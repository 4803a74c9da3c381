"""Alembic migrations applied programmatically (``authgate db upgrade``, serve, init)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from authgate.store.db import Database

__all__ = ["upgrade"]


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "authgate.store:migrations")
    return cfg


async def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the database schema to ``revision`` on the database's own connection."""

    def run(conn: Connection) -> None:
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(run)
