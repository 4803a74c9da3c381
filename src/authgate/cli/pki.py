"""``authgate certs`` and ``authgate public-keys``: register client certificates and
public keys (RFC 9421 ed25519 / ecdsa-p256-sha256, OAuth 1.0a rsa-sha256)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from authgate.accounts.lifecycle import CredentialView
from authgate.accounts.pki import CertificateView, PkiService, PublicKeyView
from authgate.cli.common import JsonOpt
from authgate.cli.credentials import show, show_list
from authgate.cli.ids import match_id
from authgate.cli.output import fail
from authgate.identity import Identity
from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.store.models_pki import PUBLIC_KEY_ALGORITHMS

__all__ = ["certs_app", "public_keys_app"]

certs_app = typer.Typer(help="Client certificates (mTLS).", no_args_is_help=True)
public_keys_app = typer.Typer(
    help="Public keys for signed requests (RFC 9421, OAuth 1.0a RSA-SHA256).",
    no_args_is_help=True,
)

FileArg = Annotated[Path, typer.Argument(metavar="FILE", help="PEM (or DER) file to register.")]
IdArg = Annotated[
    str, typer.Argument(metavar="ID", help="The id or a unique prefix of it (as listed).")
]
_MAX_FILE = 64 * 1024


def _service(rt: Runtime) -> PkiService:
    # the CLI process caches nothing: running servers see changes within their cache TTL
    return PkiService(rt.db, rt.users, rt.audit)


def _read(path: Path, as_json: bool) -> bytes:
    try:
        if path.stat().st_size > _MAX_FILE:
            fail(f"{path} is larger than {_MAX_FILE} bytes", as_json=as_json)
        return path.read_bytes()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}", as_json=as_json)


# -- certificates ---------------------------------------------------------------------


@certs_app.command("add")
def certs_add(
    file: FileArg,
    user: Annotated[str, typer.Option(metavar="USER", help="Owner of the certificate.")],
    name: Annotated[str | None, typer.Option(metavar="NAME", help="A label.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a client certificate; requests presenting it authenticate as --user."""
    data = _read(file, as_json)

    async def work(rt: Runtime) -> CertificateView:
        return await _service(rt).add_certificate(LOCAL_ADMIN, data, user=user, name=name)

    show(
        as_json,
        work,
        lambda out: (
            f"Registered certificate {out['id']} for {out['user']}\n"
            f"subject:    {out['subject']}\nsha256:     {out['thumbprint_sha256']}\n"
            f"not after:  {out['not_after']}"
        ),
    )


@certs_app.command("list")
def certs_list(
    user: Annotated[
        str | None, typer.Option(metavar="USER", help="Only this user's certificates.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List registered client certificates."""
    cols = ["id", "name", "user", "subject", "status", "not_after", "thumbprint_sha256"]
    show_list(
        as_json,
        lambda rt: _service(rt).list_certificates(LOCAL_ADMIN, user=user),
        "certificates",
        cols,
        "Certificates",
    )


@certs_app.command("revoke")
def certs_revoke(cert_id: IdArg, as_json: JsonOpt = False) -> None:
    """Revoke a client certificate: it stops authenticating at once on this host."""

    _revoke(
        cert_id,
        "certificate",
        PkiService.list_certificates,
        PkiService.revoke_certificate,
        as_json,
        lambda view: f"Revoked certificate {view['id']} ({view['subject']})",
    )


# -- public keys ----------------------------------------------------------------------


@public_keys_app.command("add")
def public_keys_add(
    file: FileArg,
    user: Annotated[str, typer.Option(metavar="USER", help="Owner of the key.")],
    algorithm: Annotated[
        str, typer.Option(metavar="ALGORITHM", help=" | ".join(PUBLIC_KEY_ALGORITHMS))
    ],
    key_id: Annotated[
        str, typer.Option("--key-id", metavar="KEYID", help="The keyid clients will send.")
    ],
    name: Annotated[str | None, typer.Option(metavar="NAME", help="A label.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a public key under --key-id, pinned to --algorithm."""
    data = _read(file, as_json)

    async def work(rt: Runtime) -> PublicKeyView:
        return await _service(rt).add_public_key(
            LOCAL_ADMIN,
            user=user,
            key_id=key_id,
            algorithm=algorithm,
            public_key_pem=data,
            name=name,
        )

    show(
        as_json,
        work,
        lambda out: (
            f"Registered {out['algorithm']} key {out['key_id']} ({out['id']}) for {out['user']}"
        ),
    )


@public_keys_app.command("list")
def public_keys_list(
    user: Annotated[str | None, typer.Option(metavar="USER", help="Only this user's keys.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List registered public keys."""
    cols = ["id", "key_id", "algorithm", "name", "user", "status"]
    show_list(
        as_json,
        lambda rt: _service(rt).list_public_keys(LOCAL_ADMIN, user=user),
        "public_keys",
        cols,
        "Public keys",
    )


@public_keys_app.command("revoke")
def public_keys_revoke(key_id: IdArg, as_json: JsonOpt = False) -> None:
    """Revoke a public key (by its ID, as listed)."""

    _revoke(
        key_id,
        "public key",
        PkiService.list_public_keys,
        PkiService.revoke_public_key,
        as_json,
        lambda view: f"Revoked public key {view['key_id']} ({view['id']})",
    )


def _revoke(
    typed: str,
    what: str,
    listed: Callable[[PkiService, Identity], Awaitable[Sequence[CredentialView]]],
    revoke: Callable[[PkiService, Identity, str], Awaitable[CredentialView]],
    as_json: bool,
    text: Callable[[dict[str, Any]], str],
) -> None:
    """Revoke the entry ``typed`` names (its id or a unique prefix, as listed)."""

    async def work(rt: Runtime) -> CredentialView:
        service = _service(rt)
        full = match_id(typed, ((v.id, ()) for v in await listed(service, LOCAL_ADMIN)), what)
        return await revoke(service, LOCAL_ADMIN, full)

    show(as_json, work, text)
