"""``authgate users``: create, list, disable, enable, delete, set-password."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from authgate.cli.common import JsonOpt, read_password_stdin, run, scopes_of
from authgate.cli.output import emit, fail, table
from authgate.crypto.passwords import generate_password
from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.user_removal import delete_user

__all__ = ["users_app"]

users_app = typer.Typer(help="Users.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The user's name.")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from stdin.")
]


@users_app.command("create")
def users_create(
    name: NameArg,
    role: Annotated[str, typer.Option(metavar="ROLE", help="admin or member.")] = "member",
    password_stdin: PasswordStdin = False,
    scopes: Annotated[
        str | None,
        typer.Option(metavar="SCOPES", help="Scopes the user holds, comma-separated: a,b."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a user; prints a generated password once unless --password-stdin."""
    password = read_password_stdin() if password_stdin else generate_password()

    async def work(rt: Runtime) -> dict[str, Any]:
        user = await rt.users.create(
            LOCAL_ADMIN, name, role=role, password=password, scopes=scopes_of(scopes)
        )
        out = user.as_json()
        if not password_stdin:
            out["password"] = password
        return out

    out = run(as_json, work)
    text = f"Created {out['role']} {out['name']} ({out['id']})"
    if "password" in out:
        text += f"\nPassword (shown once): {out['password']}"
    emit(out, as_json=as_json, text=text)


@users_app.command("list")
def users_list(
    wide: Annotated[bool, typer.Option("--wide", help="Full ids, no truncation.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List users."""
    users = run(as_json, lambda rt: rt.users.list_users(LOCAL_ADMIN))
    rows = [u.as_json() for u in users]
    if as_json:
        emit({"users": rows}, as_json=True)
    else:
        cols = ["id", "name", "role", "scopes", "disabled", "created_at"]
        table(rows, cols, "Users", wide=wide, id_columns=("id",))


@users_app.command("disable")
def users_disable(name: NameArg, as_json: JsonOpt = False) -> None:
    """Disable a user: every credential of theirs stops working (keys show 'disabled')."""
    user = run(as_json, lambda rt: rt.users.disable(LOCAL_ADMIN, name))
    emit(user.as_json(), as_json=as_json, text=f"Disabled {name}")


@users_app.command("enable")
def users_enable(name: NameArg, as_json: JsonOpt = False) -> None:
    """Enable a disabled user: their keys work again (revoked tokens stay revoked)."""
    user = run(as_json, lambda rt: rt.users.enable(LOCAL_ADMIN, name))
    emit(user.as_json(), as_json=as_json, text=f"Enabled {name}")


@users_app.command("delete")
def users_delete(
    name: NameArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete a user: first revoke all their keys, key pairs, clients, public keys,
    certificates and tokens, then delete the account (its audit events stay)."""
    if not yes:
        if as_json or not typer.get_text_stream("stdin").isatty():
            fail("deleting a user needs --yes when not asked on a terminal", as_json=as_json)
        typer.confirm(f"Delete user {name} and revoke everything they hold?", abort=True, err=True)
    removal = run(as_json, lambda rt: delete_user(rt, LOCAL_ADMIN, name))
    out = removal.as_json()
    emit(
        out,
        as_json=as_json,
        text=(
            f"Deleted {name}: revoked {out['keys_revoked']} keys, deleted "
            f"{out['clients_deleted']} clients, revoked {out['public_keys_revoked']} public "
            f"keys and {out['certificates_revoked']} certificates"
        ),
    )


@users_app.command("set-password")
def users_set_password(
    name: NameArg, password_stdin: PasswordStdin = False, as_json: JsonOpt = False
) -> None:
    """Set a user's password (generated and printed once unless --password-stdin)."""
    password = read_password_stdin() if password_stdin else generate_password()
    run(as_json, lambda rt: rt.users.set_password(LOCAL_ADMIN, name, password))
    out: dict[str, Any] = {"name": name}
    if not password_stdin:
        out["password"] = password
    text = f"Password set for {name}" + (
        f"\nPassword (shown once): {password}" if not password_stdin else ""
    )
    emit(out, as_json=as_json, text=text)
