"""``authgate keys``: API keys, key pairs and temporary SigV4 credentials.

``revoke`` and ``rotate`` take the full id, a unique prefix of it (as ``keys list``
shows it) or the key's public prefix (``agk_…`` API keys, ``agp_…`` key pairs).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import typer

from authgate.accounts.keys import IssuedKey, KeyView
from authgate.cli.common import JsonOpt, scopes_of
from authgate.cli.credentials import show, show_list
from authgate.cli.ids import resolve_key_id
from authgate.cli.output import fail
from authgate.durations import parse_duration
from authgate.runtime import LOCAL_ADMIN, Runtime

__all__ = ["keys_app"]

keys_app = typer.Typer(help="API keys and key pairs.", no_args_is_help=True)

KeyIdArg = Annotated[
    str,
    typer.Argument(
        metavar="ID",
        help="Full id, a unique prefix of it, or the key's public prefix (agk_…, agp_…).",
    ),
]
ScopesOpt = Annotated[
    str | None,
    typer.Option(metavar="SCOPES", help="Scopes, comma-separated: a,b. [default: the user's]"),
]


def _issued_text(data: dict[str, Any]) -> str:
    lines = [f"Created {data['type']} {data['id']} ({data['prefix']})", f"key:    {data['key']}"]
    if "secret" in data:
        lines.append(f"secret: {data['secret']}")
    lines.append("Shown once: store it now.")
    return "\n".join(lines)


@keys_app.command("create")
def keys_create(
    user: Annotated[str, typer.Option(metavar="USER", help="Owner of the key (a user name).")],
    name: Annotated[str | None, typer.Option(metavar="NAME", help="A label.")] = None,
    scopes: ScopesOpt = None,
    expires_in: Annotated[
        str | None,
        typer.Option(metavar="DURATION", help="Lifetime: 90s, 15m, 24h, 30d. [default: no expiry]"),
    ] = None,
    type: Annotated[
        str, typer.Option("--type", metavar="TYPE", help="api-key or key-pair.")
    ] = "api-key",
    as_json: JsonOpt = False,
) -> None:
    """Create an API key or key pair; the key (and secret) are printed once."""
    lifetime = _duration(expires_in, as_json) if expires_in else None

    async def work(rt: Runtime) -> IssuedKey:
        return await rt.keys.create(
            LOCAL_ADMIN,
            user=user,
            name=name,
            scopes=scopes_of(scopes),
            expires_in=lifetime,
            type=type,
        )

    show(as_json, work, _issued_text)


@keys_app.command("temporary")
def keys_temporary(
    user: Annotated[
        str, typer.Option(metavar="USER", help="Owner of the credentials (a user name).")
    ],
    duration: Annotated[str, typer.Option(metavar="DURATION", help="Lifetime, 15m to 12h.")] = "1h",
    scopes: ScopesOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue temporary SigV4 credentials (key, secret, session token), printed once."""
    lifetime = _duration(duration, as_json)

    async def work(rt: Runtime) -> IssuedKey:
        return await rt.keys.create_session(
            LOCAL_ADMIN, user=user, scopes=scopes_of(scopes), duration=lifetime
        )

    def text(data: dict[str, Any]) -> str:
        token = f"session token: {data['session_token']}\nShown once"
        return _issued_text(data).replace("Shown once", token)

    show(as_json, work, text)


@keys_app.command("list")
def keys_list(
    user: Annotated[
        str | None, typer.Option(metavar="USER", help="Only this user's keys. [default: all]")
    ] = None,
    wide: Annotated[bool, typer.Option("--wide", help="Full ids, no truncation.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List keys (never the keys themselves). Status: active, expired, revoked, or
    disabled (the owner is disabled)."""
    cols = ["id", "type", "prefix", "name", "user", "scopes", "status", "expires_at"]
    show_list(
        as_json,
        lambda rt: rt.keys.list_keys(LOCAL_ADMIN, user=user),
        "keys",
        [*cols, "last_used_at"],
        "Keys",
        wide=wide,
    )


@keys_app.command("revoke")
def keys_revoke(key_id: KeyIdArg, as_json: JsonOpt = False) -> None:
    """Revoke a key."""

    async def work(rt: Runtime) -> KeyView:
        return await rt.keys.revoke(LOCAL_ADMIN, await resolve_key_id(rt, key_id))

    show(as_json, work, lambda view: f"Revoked {view['id']} ({view['prefix']})")


@keys_app.command("rotate")
def keys_rotate(
    key_id: KeyIdArg,
    grace: Annotated[
        str,
        typer.Option(
            metavar="DURATION", help="How long the old key keeps working (0: not at all)."
        ),
    ] = "0",
    as_json: JsonOpt = False,
) -> None:
    """Replace a key with a new one; the old one works for --grace."""
    grace_delta = _duration(grace, as_json)

    async def work(rt: Runtime) -> IssuedKey:
        full = await resolve_key_id(rt, key_id)
        return await rt.keys.rotate(LOCAL_ADMIN, full, grace=grace_delta)

    show(as_json, work, _issued_text)


def _duration(text: str, as_json: bool) -> timedelta:
    """A duration option's value, or the one-line error naming what is wrong with it."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        fail(str(exc), as_json=as_json)
