"""``authgate signing-keys``: the keys that sign authgate's own tokens."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from authgate.cli.common import JsonOpt
from authgate.cli.common import run as _run
from authgate.cli.output import emit, table
from authgate.errors import InvalidRequest
from authgate.runtime import Runtime
from authgate.timefmt import iso_utc

__all__ = ["signing_keys_app"]

signing_keys_app = typer.Typer(help="Keys that sign authgate's tokens.", no_args_is_help=True)


def _when(ts: float | None) -> str | None:
    return iso_utc(datetime.fromtimestamp(ts, UTC)) if ts is not None else None


async def _listing(rt: Runtime) -> list[dict[str, Any]]:
    ring = await rt.tokens.signing.load()
    now = time.time()
    return [
        {
            "kid": k.kid,
            "algorithm": k.algorithm,
            "state": k.state(now),
            "activated_at": _when(k.activated_at),
            "retired_at": _when(k.retired_at),
            "expires_at": _when(k.expires_at),
        }
        for k in ring.keys
    ]


@signing_keys_app.command("list")
def signing_keys_list(as_json: JsonOpt = False) -> None:
    """List signing keys and their state (next, active, retired)."""
    rows = _run(as_json, _listing)
    if as_json:
        emit({"signing_keys": rows}, as_json=True)
    else:
        table(rows, ["kid", "algorithm", "state", "activated_at", "retired_at"], "Signing keys")


@signing_keys_app.command("rotate")
def signing_keys_rotate(
    algorithm: Annotated[
        list[str] | None,
        typer.Option(
            metavar="ALGORITHM", help="EdDSA, ES256 or RS256 (repeatable). [default: all]"
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Publish new signing keys now; they sign after the publish delay, and the old ones
    stay published until every token they signed has expired."""

    async def work(rt: Runtime) -> dict[str, Any]:
        try:
            new = await rt.tokens.signing.rotate(algorithm or None)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from exc
        return {"rotated": new, "signing_keys": await _listing(rt)}

    out = _run(as_json, work)
    emit(out, as_json=as_json, text=f"New signing keys published: {', '.join(out['rotated'])}")
