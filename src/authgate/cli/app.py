"""``authgate``: init, serve, db, users, keys, master-key (see DESIGN.md "Contracts")."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError

from authgate.cli.output import emit, fail, table
from authgate.cli.policy import policy_app
from authgate.config import Settings
from authgate.crypto.passwords import generate_password
from authgate.durations import parse_duration
from authgate.errors import AuthError, SetupError
from authgate.home import add_master_key, check_home_permissions, ensure_home, secrets_path
from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.store.db import Database
from authgate.store.migrate import upgrade

__all__ = ["app", "main"]

T = TypeVar("T")

app = typer.Typer(
    name="authgate",
    help="API authentication and authorization.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Users.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys and key pairs.", no_args_is_help=True)
master_app = typer.Typer(help="Master keys that seal stored secrets.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(master_app, name="master-key")
app.add_typer(policy_app, name="policy")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def _settings(as_json: bool = False, **overrides: Any) -> Settings:
    try:
        return Settings.load(**overrides)
    except ValidationError as exc:
        fail(f"invalid configuration: {exc.errors()[0].get('msg')}", as_json=as_json)


def _run(as_json: bool, work: Callable[[Runtime], Awaitable[T]], **overrides: Any) -> T:
    settings = _settings(as_json, **overrides)

    async def go() -> T:
        rt = await Runtime.open(settings, batched_audit=False)
        try:
            return await work(rt)
        finally:
            await rt.close()

    try:
        return asyncio.run(go())
    except AuthError as exc:
        fail(exc, as_json=as_json)
    except SetupError as exc:
        fail(str(exc), as_json=as_json)


def _scopes(value: str | None) -> list[str]:
    return [s for s in (value or "").split(",") if s.strip()]


def _read_password_stdin() -> str:
    data = sys.stdin.readline()
    return data.rstrip("\r\n")


# -- init / serve / db ----------------------------------------------------------------


async def _initialise(rt: Runtime) -> dict[str, Any] | None:
    """Create the first admin if there are no users yet; its credentials, once."""
    if await rt.users.list_users(LOCAL_ADMIN):
        return None
    password = generate_password()
    user = await rt.users.create(LOCAL_ADMIN, "admin", role="admin", password=password)
    return {**user.as_json(), "password": password}


def _print_admin(admin: dict[str, Any], home: Path, *, as_json: bool) -> None:
    emit(
        {"home": str(home), "admin": admin},
        as_json=as_json,
        text=(
            f"Initialised {home}\n"
            f"First admin: user 'admin', password: {admin['password']}\n"
            "This password is shown once. Store it now."
        ),
    )


@app.command()
def init(as_json: JsonOpt = False) -> None:
    """Create the data directory, database, master key and a first admin."""
    settings = _settings(as_json)
    admin = _run(as_json, _initialise)
    if admin is None:
        fail(f"{settings.home} is already initialised", as_json=as_json)
    _print_admin(admin, settings.home, as_json=as_json)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind.")] = None,
    database_url: Annotated[str | None, typer.Option(help="SQLAlchemy async URL.")] = None,
    redis_url: Annotated[str | None, typer.Option(help="Redis URL.")] = None,
    config: Annotated[Path | None, typer.Option(help="authgate.toml to read.")] = None,
) -> None:
    """Run the server (initialises an empty AUTHGATE_HOME first)."""
    import uvicorn

    from authgate.server import AuthgateServer

    if config is not None:
        if not config.is_file():
            fail(f"config file {config} not found", as_json=False)
        os.environ["AUTHGATE_CONFIG"] = str(config.resolve())
    overrides = {"host": host, "port": port, "database_url": database_url, "redis_url": redis_url}
    settings = _settings(False, **overrides)
    admin = _run(False, _initialise, **overrides)
    if admin is not None:
        _print_admin(admin, settings.home, as_json=False)
    sys.stdout.flush()
    uvicorn.run(
        AuthgateServer(settings),
        host=settings.host,
        port=settings.port,
        access_log=settings.access_log,
        log_level="info",
        lifespan="on",
        server_header=False,
        # X-Forwarded-For is authgate's to judge (trusted_proxies), not uvicorn's: uvicorn
        # would otherwise rewrite the peer address the trust decisions rest on.
        proxy_headers=False,
    )


@db_app.command("upgrade")
def db_upgrade(as_json: JsonOpt = False) -> None:
    """Apply database migrations."""
    settings = _settings(as_json)

    async def go() -> None:
        db = Database(settings.effective_database_url)
        try:
            await upgrade(db)
        finally:
            await db.dispose()

    try:
        ensure_home(settings.home)
        asyncio.run(go())
    except SetupError as exc:
        fail(str(exc), as_json=as_json)
    emit({"status": "upgraded"}, as_json=as_json, text="Database is up to date.")


# -- users ----------------------------------------------------------------------------


@users_app.command("create")
def users_create(
    name: str,
    role: Annotated[str, typer.Option(help="admin or member")] = "member",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    scopes: Annotated[str | None, typer.Option(help="Scopes the user holds: a,b")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a user; prints a generated password once unless --password-stdin."""
    password = _read_password_stdin() if password_stdin else generate_password()

    async def work(rt: Runtime) -> dict[str, Any]:
        user = await rt.users.create(
            LOCAL_ADMIN, name, role=role, password=password, scopes=_scopes(scopes)
        )
        out = user.as_json()
        if not password_stdin:
            out["password"] = password
        return out

    out = _run(as_json, work)
    text = f"Created {out['role']} {out['name']} ({out['id']})"
    if "password" in out:
        text += f"\nPassword (shown once): {out['password']}"
    emit(out, as_json=as_json, text=text)


@users_app.command("list")
def users_list(as_json: JsonOpt = False) -> None:
    """List users."""
    users = _run(as_json, lambda rt: rt.users.list_users(LOCAL_ADMIN))
    rows = [u.as_json() for u in users]
    if as_json:
        emit({"users": rows}, as_json=True)
    else:
        table(rows, ["id", "name", "role", "scopes", "disabled", "created_at"], "Users")


@users_app.command("disable")
def users_disable(name: str, as_json: JsonOpt = False) -> None:
    """Disable a user: every credential of theirs stops working."""
    user = _run(as_json, lambda rt: rt.users.disable(LOCAL_ADMIN, name))
    emit(user.as_json(), as_json=as_json, text=f"Disabled {name}")


@users_app.command("set-password")
def users_set_password(
    name: str,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Set a user's password (generated and printed once unless --password-stdin)."""
    password = _read_password_stdin() if password_stdin else generate_password()
    _run(as_json, lambda rt: rt.users.set_password(LOCAL_ADMIN, name, password))
    out: dict[str, Any] = {"name": name}
    if not password_stdin:
        out["password"] = password
    text = f"Password set for {name}" + (
        f"\nPassword (shown once): {password}" if not password_stdin else ""
    )
    emit(out, as_json=as_json, text=text)


# -- keys -----------------------------------------------------------------------------


def _issued_text(data: dict[str, Any]) -> str:
    lines = [f"Created {data['type']} {data['id']} ({data['prefix']})", f"key:    {data['key']}"]
    if "secret" in data:
        lines.append(f"secret: {data['secret']}")
    lines.append("Shown once: store it now.")
    return "\n".join(lines)


@keys_app.command("create")
def keys_create(
    user: Annotated[str, typer.Option(help="Owner of the key.")],
    name: Annotated[str | None, typer.Option(help="A label.")] = None,
    scopes: Annotated[str | None, typer.Option(help="Scopes: a,b (default: the user's)")] = None,
    expires_in: Annotated[str | None, typer.Option(help="Lifetime: 90s, 15m, 24h, 30d")] = None,
    type: Annotated[str, typer.Option("--type", help="api-key or key-pair")] = "api-key",
    as_json: JsonOpt = False,
) -> None:
    """Create an API key or key pair; the key (and secret) are printed once."""
    try:
        lifetime = parse_duration(expires_in) if expires_in else None
    except ValueError as exc:
        fail(str(exc), as_json=as_json)

    async def work(rt: Runtime) -> dict[str, Any]:
        issued = await rt.keys.create(
            LOCAL_ADMIN,
            user=user,
            name=name,
            scopes=_scopes(scopes),
            expires_in=lifetime,
            type=type,
        )
        return issued.as_json()

    data = _run(as_json, work)
    emit(data, as_json=as_json, text=_issued_text(data))


@keys_app.command("temporary")
def keys_temporary(
    user: Annotated[str, typer.Option(help="Owner of the credentials.")],
    duration: Annotated[str, typer.Option(help="Lifetime, 15m to 12h.")] = "1h",
    scopes: Annotated[str | None, typer.Option(help="Scopes: a,b (default: the user's)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue temporary SigV4 credentials (key, secret, session token), printed once."""
    try:
        lifetime = parse_duration(duration)
    except ValueError as exc:
        fail(str(exc), as_json=as_json)

    async def work(rt: Runtime) -> dict[str, Any]:
        issued = await rt.keys.create_session(
            LOCAL_ADMIN, user=user, scopes=_scopes(scopes), duration=lifetime
        )
        return issued.as_json()

    data = _run(as_json, work)
    text = _issued_text(data).replace(
        "Shown once", f"session token: {data['session_token']}\nShown once"
    )
    emit(data, as_json=as_json, text=text)


@keys_app.command("list")
def keys_list(
    user: Annotated[str | None, typer.Option(help="Only this user's keys.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List keys (never the keys themselves)."""
    keys = _run(as_json, lambda rt: rt.keys.list_keys(LOCAL_ADMIN, user=user))
    rows = [k.as_json() for k in keys]
    if as_json:
        emit({"keys": rows}, as_json=True)
    else:
        cols = ["id", "type", "prefix", "name", "user", "scopes", "status", "expires_at"]
        table(rows, [*cols, "last_used_at"], "Keys")


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(metavar="ID")], as_json: JsonOpt = False
) -> None:
    """Revoke a key."""
    view = _run(as_json, lambda rt: rt.keys.revoke(LOCAL_ADMIN, key_id))
    emit(view.as_json(), as_json=as_json, text=f"Revoked {view.id} ({view.prefix})")


@keys_app.command("rotate")
def keys_rotate(
    key_id: Annotated[str, typer.Argument(metavar="ID")],
    grace: Annotated[str, typer.Option(help="How long the old key keeps working.")] = "0",
    as_json: JsonOpt = False,
) -> None:
    """Replace a key with a new one; the old one works for --grace."""
    try:
        grace_delta = parse_duration(grace)
    except ValueError as exc:
        fail(str(exc), as_json=as_json)

    async def work(rt: Runtime) -> dict[str, Any]:
        return (await rt.keys.rotate(LOCAL_ADMIN, key_id, grace=grace_delta)).as_json()

    data = _run(as_json, work)
    emit(data, as_json=as_json, text=_issued_text(data))


# -- master keys ----------------------------------------------------------------------


@master_app.command("rotate")
def master_key_rotate(as_json: JsonOpt = False) -> None:
    """Add a new master key for sealing; values sealed before still open."""
    settings = _settings(as_json)
    if not secrets_path(settings.home).exists():
        fail("initialise first (authgate init)", as_json=as_json)
    try:
        check_home_permissions(settings.home)
    except SetupError as exc:
        fail(str(exc), as_json=as_json)
    kid = add_master_key(settings.home)
    emit({"active_master_key": kid}, as_json=as_json, text=f"New master key {kid} is active.")


def main() -> None:
    app()
