"""``authgate init``, ``serve``, ``db upgrade`` and ``master-key rotate``: setting up and
running an installation."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from authgate import __version__
from authgate.cli.common import (
    JsonOpt,
    fail_code,
    fail_with,
    read_password_stdin,
    require_home,
    run,
    settings,
)
from authgate.cli.output import emit, fail
from authgate.config import Settings
from authgate.crypto.passwords import generate_password
from authgate.home import add_master_key, ensure_home
from authgate.installation import (
    installation_path,
    is_initialised,
    mask_url,
    record_installation,
    write_password_file,
)
from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.store.db import Database
from authgate.store.migrate import upgrade

__all__ = ["db_app", "db_upgrade", "init", "master_app", "master_key_rotate", "serve"]

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
master_app = typer.Typer(help="Master keys that seal stored secrets.", no_args_is_help=True)


def _record(conf: Settings, *, replace: bool = False) -> None:
    """Remember the database of a home set up now (``installation.toml``, 0600).

    ``replace``: the first admin was just created in this database, so this is the
    installation's database even if ``db upgrade`` recorded another one before.
    """
    if replace or not installation_path(conf.home).exists():
        record_installation(conf.home, conf.effective_database_url, __version__)


def _first_admin(password: str | None) -> Any:
    async def work(rt: Runtime) -> dict[str, Any] | None:
        """Create the first admin if there are no users yet; its credentials, once."""
        if await rt.users.list_users(LOCAL_ADMIN):
            return None
        chosen = password or generate_password()
        user = await rt.users.create(LOCAL_ADMIN, "admin", role="admin", password=chosen)
        return {**user.as_json(), "password": chosen}

    return work


def _set_up(conf: Settings, password: str | None, as_json: bool) -> dict[str, Any] | None:
    """Create the home (if needed), migrate, record the installation, make the first admin.

    Returns:
        The first admin with ``password`` and ``password_file`` (None when given on
        stdin), or None when the home already had users.
    """
    created = not is_initialised(conf.home)
    admin: dict[str, Any] | None = run(as_json, _first_admin(password), create=True)
    if created or admin is not None:
        try:
            _record(conf, replace=admin is not None)
        except OSError as exc:
            fail_with(exc, as_json=as_json)
    if admin is None:
        return None
    admin["password_file"] = (
        None if password is not None else str(write_password_file(conf.home, admin["password"]))
    )
    return admin


def _admin_text(admin: dict[str, Any]) -> str:
    if admin["password_file"] is None:
        return "First admin: user 'admin', with the password given on stdin."
    return (
        f"First admin: user 'admin'; its password is in {admin['password_file']} (0600).\n"
        "Store it somewhere safe, then delete that file."
    )


def init(
    admin_password_stdin: Annotated[
        bool,
        typer.Option(
            "--admin-password-stdin",
            help="Read the first admin's password from stdin instead of generating one.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create the home, its database and master key, and a first admin.

    The generated admin password goes to the file initial-admin-password (0600) in the
    home, never to the terminal; --json prints it as admin.password too.
    """
    conf = settings(as_json)
    password = read_password_stdin() if admin_password_stdin else None
    admin = _set_up(conf, password, as_json)
    if admin is None:
        fail_code(
            "already_initialised",
            f"{conf.home} is already initialised (database "
            f"{mask_url(conf.effective_database_url)}): nothing to do",
            as_json,
        )
    password_file = admin.pop("password_file")
    if password is not None:
        admin.pop("password")
    database = mask_url(conf.effective_database_url)
    emit(
        {
            "home": str(conf.home),
            "database_url": database,
            "password_file": password_file,
            "admin": admin,
        },
        as_json=as_json,
        text=(
            f"Initialised {conf.home}\n"
            f"Database: {database}\n" + _admin_text({**admin, "password_file": password_file})
        ),
    )


def serve(
    host: Annotated[
        str | None, typer.Option(metavar="ADDRESS", help="Address to bind. [default: 127.0.0.1]")
    ] = None,
    port: Annotated[
        int | None, typer.Option(metavar="PORT", help="Port to bind. [default: 8000]")
    ] = None,
    redis_url: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            envvar="AUTHGATE_REDIS_URL",
            help="Redis URL for state shared by several instances. [default: none, in memory]",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            envvar="AUTHGATE_CONFIG",
            help="authgate.toml to read. [default: authgate.toml in the home]",
        ),
    ] = None,
) -> None:
    """Run the server; an empty home is initialised first (like init).

    Prints the home, the database and Redis URLs (passwords masked) and the address it
    listens on.
    """
    import uvicorn

    from authgate.server import AuthgateServer

    if config is not None:
        if not config.is_file():
            fail(f"config file {config} not found: pass an existing --config", as_json=False)
        os.environ["AUTHGATE_CONFIG"] = str(config.resolve())
    overrides = {"host": host, "port": port, "redis_url": redis_url}
    conf = settings(False, **overrides)
    admin = _set_up(conf, None, False)
    lines = [
        f"authgate {__version__}",
        f"home:      {conf.home}",
        f"database:  {mask_url(conf.effective_database_url)}",
        f"redis:     {mask_url(conf.redis_url) if conf.redis_url else 'none (one instance)'}",
        f"listening: http://{conf.host}:{conf.port}",
    ]
    if admin is not None:
        lines.insert(1, f"Initialised {conf.home}")
        lines.insert(-1, _admin_text(admin))
    typer.echo("\n".join(lines))
    sys.stdout.flush()
    uvicorn.run(
        AuthgateServer(conf),
        host=conf.host,
        port=conf.port,
        access_log=conf.access_log,
        log_level="info",
        lifespan="on",
        server_header=False,
        # X-Forwarded-For is authgate's to judge (trusted_proxies), not uvicorn's: uvicorn
        # would otherwise rewrite the peer address the trust decisions rest on.
        proxy_headers=False,
    )


@db_app.command("upgrade")
def db_upgrade(as_json: JsonOpt = False) -> None:
    """Apply database migrations (creates the home if it does not exist yet)."""
    conf = settings(as_json)
    url = conf.effective_database_url

    async def go() -> None:
        db = Database(url)
        try:
            await upgrade(db)
        finally:
            await db.dispose()

    if conf.home.exists() and not conf.home.is_dir():
        require_home(conf.home, as_json)
    try:
        created = ensure_home(conf.home)
        asyncio.run(go())
        if created:
            _record(conf)
    except Exception as exc:
        fail_with(exc, as_json=as_json, database_url=url)
    text = "Database is up to date."
    if created:
        text = f"Created home {conf.home} for database {mask_url(url)}\n{text}"
    emit({"status": "upgraded"}, as_json=as_json, text=text)


@master_app.command("rotate")
def master_key_rotate(as_json: JsonOpt = False) -> None:
    """Add a new master key for sealing; values sealed before still open."""
    conf = settings(as_json)
    require_home(conf.home, as_json)
    try:
        kid = add_master_key(conf.home)
    except Exception as exc:
        fail_with(exc, as_json=as_json)
    emit({"active_master_key": kid}, as_json=as_json, text=f"New master key {kid} is active.")
