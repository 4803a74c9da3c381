"""Turning failures into one line that names the cause and the fix.

:func:`explain` maps what can go wrong before a command gets to its work — an unreachable
or missing database, an unparsable URL, a missing driver extra, an unreadable home,
a read-only database, an unknown setting — to an error code and one line of text.
``AUTHGATE_DEBUG=1`` prints the traceback as well.
"""

from __future__ import annotations

import os
import tomllib
import traceback
from collections.abc import Iterator

from pydantic import ValidationError

from authgate.errors import AuthError, SetupError
from authgate.installation import mask_url

__all__ = ["debug_enabled", "explain", "print_traceback"]


def debug_enabled() -> bool:
    return os.environ.get("AUTHGATE_DEBUG", "").lower() in ("1", "true", "yes", "on")


def print_traceback(exc: BaseException) -> None:
    if debug_enabled():
        traceback.print_exception(exc)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        orig = getattr(e, "orig", None)
        todo.extend([orig if isinstance(orig, BaseException) else None, e.__cause__, e.__context__])


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _validation(exc: ValidationError, config_file: str) -> tuple[str, str]:
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first.get("loc", ())) or "?"
    if first.get("type") == "extra_forbidden":
        return (
            "unknown_setting",
            f"unknown setting {key!r} in {config_file} or the environment: remove it "
            "(the valid settings are listed in docs/configuration.md)",
        )
    return (
        "invalid_setting",
        f"invalid setting {key!r}: {first.get('msg')} (in {config_file}, an AUTHGATE_* "
        "variable or a flag)",
    )


def explain(
    exc: BaseException, *, database_url: str = "", config_file: str = "authgate.toml"
) -> tuple[str, str]:
    """``(code, one line)`` for ``exc``; unknown failures get a generic line."""
    if isinstance(exc, AuthError):
        return exc.code, exc.description
    if isinstance(exc, SetupError):
        return "setup_error", str(exc)
    if isinstance(exc, ValidationError):
        return _validation(exc, config_file)
    if isinstance(exc, tomllib.TOMLDecodeError):
        return "invalid_config", f"cannot parse {config_file} ({exc}): fix its TOML syntax"
    db = mask_url(database_url)
    flag = "--database-url / AUTHGATE_DATABASE_URL"
    for e in _chain(exc):
        names = _names(e)
        text = str(e)
        if "ArgumentError" in names or "NoSuchModuleError" in names:
            return (
                "invalid_database_url",
                f"cannot use the database URL {db!r} ({text.splitlines()[0]}): give one like "
                f"postgresql+asyncpg://user@host:5432/authgate or "
                f"sqlite+aiosqlite:////var/lib/authgate/authgate.db ({flag})",
            )
        if "InvalidCatalogNameError" in names:
            return (
                "database_missing",
                f"{text} ({db}): create it (e.g. createdb) or point {flag} at an existing one",
            )
        if "InvalidAuthorizationSpecificationError" in names or "InvalidPasswordError" in names:
            return (
                "database_login_refused",
                f"the database refused the login ({text}) at {db}: fix the user or password "
                f"in {flag}",
            )
        if "ReadOnlySQLTransactionError" in names or "readonly database" in text:
            return (
                "database_read_only",
                f"the database {db} is read-only ({text.splitlines()[0]}): point {flag} at a "
                "writable primary, or make the SQLite file writable by this user",
            )
        if "unable to open database file" in text:
            return (
                "database_unavailable",
                f"cannot open the SQLite database {db}: check that its directory exists and "
                "is writable by this user",
            )
        if isinstance(e, PermissionError):
            where = e.filename or "a file in the home"
            return (
                "permission_denied",
                f"cannot read {where}: permission denied; run authgate as the user that owns "
                "the home (or fix its owner/mode)",
            )
        if isinstance(e, ConnectionError | TimeoutError) or "gaierror" in names:
            return (
                "database_unreachable",
                f"cannot connect to the database at {db} ({e.__class__.__name__}: {text}): "
                f"start it or fix host/port in {flag}",
            )
        if isinstance(e, OSError) and ("Connect call failed" in text or "connect" in text):
            return (
                "database_unreachable",
                f"cannot connect to the database at {db} ({text}): start it or fix host/port "
                f"in {flag}",
            )
    first = str(exc).splitlines()[0] if str(exc) else ""
    return (
        "internal_error",
        f"{exc.__class__.__name__}: {first} (run with AUTHGATE_DEBUG=1 for the traceback)",
    )
