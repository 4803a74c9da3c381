"""What every command shares: the global options, settings, opening the runtime, errors.

The global options ``--home`` and ``--database-url`` (``AUTHGATE_HOME``,
``AUTHGATE_DATABASE_URL``) are stored in the environment by the root callback, so the
settings, ``authgate.toml`` and ``installation.toml`` of that home agree everywhere
(including in the server ``authgate serve`` starts).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from authgate.cli.errors import explain, print_traceback
from authgate.cli.output import fail
from authgate.config import Settings, config_path
from authgate.home import check_home_permissions, secrets_path
from authgate.runtime import Runtime

__all__ = [
    "JsonOpt",
    "fail_code",
    "fail_with",
    "read_password_stdin",
    "require_home",
    "run",
    "scopes_of",
    "settings",
]

T = TypeVar("T")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def fail_with(exc: BaseException, *, as_json: bool, database_url: str = "") -> NoReturn:
    """One line for ``exc`` (the traceback too with AUTHGATE_DEBUG=1), exit 1."""
    print_traceback(exc)
    code, text = explain(exc, database_url=database_url, config_file=str(config_path()))
    fail_code(code, text, as_json)


def fail_code(code: str, text: str, as_json: bool) -> NoReturn:
    if as_json:
        sys.stdout.write(json.dumps({"error": code, "error_description": text}) + "\n")
        raise typer.Exit(1)
    fail(text, as_json=False)


def settings(as_json: bool = False, **overrides: Any) -> Settings:
    """The settings (flags > environment > authgate.toml > installation.toml > defaults)."""
    try:
        return Settings.load(**overrides)
    except Exception as exc:
        fail_with(exc, as_json=as_json)


def require_home(home: Path, as_json: bool) -> None:
    """Refuse a home that is not a readable, initialised authgate home (one line)."""
    try:
        if home.exists() and not home.is_dir():
            fail_code(
                "home_not_a_directory",
                f"the home {home} is a file, not a directory: pass --home (or AUTHGATE_HOME) "
                "naming a directory",
                as_json,
            )
        if not home.exists():
            fail_code(
                "not_initialised",
                f"{home} is not an authgate home (it does not exist): run "
                f"'authgate --home {home} init' first, or pass the right --home / AUTHGATE_HOME",
                as_json,
            )
        check_home_permissions(home)
        path = secrets_path(home)
        if not path.exists():
            fail_code(
                "not_initialised",
                f"{home} is not an initialised authgate home (no secrets.json): run "
                f"'authgate --home {home} init' first, or pass the right --home / AUTHGATE_HOME",
                as_json,
            )
        data = json.loads(path.read_text("utf-8"))
        if not isinstance(data, dict) or "digest_key" not in data:
            raise ValueError("digest_key is missing")
    except typer.Exit:
        raise
    except PermissionError as exc:
        fail_code(
            "permission_denied",
            f"cannot read {exc.filename or home}: permission denied; run authgate as the "
            "user that owns the home (or fix its owner/mode)",
            as_json,
        )
    except ValueError as exc:
        fail_code(
            "invalid_secrets",
            f"{secrets_path(home)} is damaged ({exc}): restore it from a backup "
            "(without it nothing sealed in the database can be read)",
            as_json,
        )
    except Exception as exc:
        fail_with(exc, as_json=as_json)


def run(
    as_json: bool,
    work: Callable[[Runtime], Awaitable[T]],
    *,
    create: bool = False,
    **overrides: Any,
) -> T:
    """Open the runtime on the configured home and database, do ``work``, close.

    Without ``create`` (every command but init/serve/db upgrade) an uninitialised home is
    refused instead of silently set up.
    """
    conf = settings(as_json, **overrides)
    if not create:
        require_home(conf.home, as_json)
    elif conf.home.exists() and not conf.home.is_dir():
        require_home(conf.home, as_json)

    async def go() -> T:
        rt = await Runtime.open(conf, batched_audit=False)
        try:
            return await work(rt)
        finally:
            await rt.close()

    try:
        return asyncio.run(go())
    except typer.Exit:
        raise
    except Exception as exc:
        fail_with(exc, as_json=as_json, database_url=conf.effective_database_url)


def scopes_of(value: str | None) -> list[str]:
    return [s for s in (value or "").split(",") if s.strip()]


def read_password_stdin() -> str:
    data = sys.stdin.readline()
    return data.rstrip("\r\n")
