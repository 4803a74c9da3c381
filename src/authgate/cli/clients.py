"""``authgate clients``: register OAuth 2.0 clients (RFC 6749 §2), list them, rotate their
secrets, delete them. ``clients create --json`` prints the contract shape
``{"client_id", "client_secret" (confidential only), "grants", "redirect_uris", "scopes",
...}``; the secret is shown once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from authgate.cli.common import JsonOpt
from authgate.cli.common import scopes_of as _scopes
from authgate.cli.credentials import show, show_list
from authgate.cli.ids import resolve_client_id
from authgate.cli.output import fail
from authgate.oauth.clients import ClientView, IssuedClient
from authgate.runtime import LOCAL_ADMIN, Runtime

__all__ = ["clients_app"]

clients_app = typer.Typer(help="OAuth 2.0 clients.", no_args_is_help=True)

IdArg = Annotated[
    str, typer.Argument(metavar="CLIENT_ID", help="The client_id or a unique prefix of it.")
]
_MAX_JWKS_FILE = 64 * 1024


def _issued_text(data: dict[str, Any]) -> str:
    lines = [f"client_id:     {data['client_id']}"]
    if "client_secret" in data:
        lines.append(f"client_secret: {data['client_secret']}")
        lines.append("Shown once: store the secret now.")
    return "\n".join(lines)


def _jwks(path: Path | None, as_json: bool) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        if path.stat().st_size > _MAX_JWKS_FILE:
            fail(f"{path} is larger than {_MAX_JWKS_FILE} bytes", as_json=as_json)
        value = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        fail(f"cannot read a JWK Set from {path}: {exc}", as_json=as_json)
    if not isinstance(value, dict):
        fail("the JWK Set must be a JSON object", as_json=as_json)
    return value


@clients_app.command("create")
def clients_create(
    name: str,
    grant: Annotated[
        list[str],
        typer.Option(
            "--grant",
            metavar="GRANT",
            help="client_credentials, authorization_code, refresh_token, device_code (repeatable).",
        ),
    ],
    redirect_uri: Annotated[
        list[str] | None,
        typer.Option("--redirect-uri", metavar="URI", help="Exact redirect URI (repeatable)."),
    ] = None,
    scopes: Annotated[
        str | None, typer.Option(metavar="SCOPES", help="Allowed scopes, comma-separated: a,b.")
    ] = None,
    public: Annotated[bool, typer.Option("--public", help="A public client (no secret).")] = False,
    auth_method: Annotated[
        str | None,
        typer.Option(
            "--auth-method",
            metavar="METHOD",
            help="client_secret_basic (default), client_secret_post, private_key_jwt.",
        ),
    ] = None,
    jwks_file: Annotated[
        Path | None,
        typer.Option("--jwks", metavar="FILE", help="Public JWK Set file (private_key_jwt)."),
    ] = None,
    user: Annotated[
        str | None, typer.Option(metavar="USER", help="Owner user. [default: none]")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a client; a confidential client's secret is printed once."""
    jwks = _jwks(jwks_file, as_json)

    async def work(rt: Runtime) -> IssuedClient:
        return await rt.oauth.clients.create(
            LOCAL_ADMIN,
            name,
            grants=grant,
            redirect_uris=redirect_uri or [],
            scopes=_scopes(scopes),
            public=public,
            token_endpoint_auth_method=auth_method,
            jwks=jwks,
            user=user,
        )

    show(as_json, work, _issued_text)


@clients_app.command("list")
def clients_list(
    user: Annotated[
        str | None, typer.Option(metavar="USER", help="Only this user's clients.")
    ] = None,
    wide: Annotated[bool, typer.Option("--wide", help="Full ids, no truncation.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List clients (never their secrets)."""
    cols = ["client_id", "name", "grants", "scopes", "token_endpoint_auth_method", "user"]
    show_list(
        as_json,
        lambda rt: rt.oauth.clients.list_clients(LOCAL_ADMIN, user=user),
        "clients",
        [*cols, "created_at"],
        "OAuth clients",
        wide=wide,
        id_column="client_id",
    )


@clients_app.command("rotate-secret")
def clients_rotate_secret(client_id: IdArg, as_json: JsonOpt = False) -> None:
    """Replace a client's secret; the old one stops working (servers: within the cache TTL,
    at once with Redis)."""

    async def work(rt: Runtime) -> IssuedClient:
        full = await resolve_client_id(rt, client_id)
        return await rt.oauth.clients.rotate_secret(LOCAL_ADMIN, full)

    show(as_json, work, _issued_text)


@clients_app.command("delete")
def clients_delete(client_id: IdArg, as_json: JsonOpt = False) -> None:
    """Delete a client."""

    async def work(rt: Runtime) -> ClientView:
        full = await resolve_client_id(rt, client_id)
        return await rt.oauth.clients.delete(LOCAL_ADMIN, full)

    show(as_json, work, lambda view: f"Deleted {view['client_id']} ({view['name']})")
