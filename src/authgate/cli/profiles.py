"""``authgate profiles set|list|show|delete``: named auth settings for ``authgate request``.

A profile holds an auth type, options named as ``authgate request``'s (``-o region=...``)
and ``{{variables}}`` (``--var base=https://...``); ``authgate request --profile NAME``
uses them, its own options winning. Secrets are stored as references to environment
variables (``-o secret={{PROD_SECRET}}``) unless ``--store-secret`` is given; ``show``
redacts any stored in plain text. The file: :func:`authgate.client.profiles.profiles_path`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from authgate.cli.common import JsonOpt
from authgate.cli.output import emit, fail, table
from authgate.cli.request import AUTH_TYPES, OPTION_NAMES
from authgate.client.profiles import (
    Profile,
    ProfileError,
    check_secrets,
    load_profiles,
    profiles_path,
    save_profiles,
)

__all__ = ["profiles_app"]

profiles_app = typer.Typer(
    help="Named auth settings and variables for authgate request --profile.",
    no_args_is_help=True,
)


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    out = {}
    for raw in values or []:
        name, sep, value = raw.partition("=")
        if not sep or not name.strip():
            raise ProfileError(f"{what} expects NAME=VALUE, got {raw!r}")
        out[name.strip()] = value
    return out


def _option_name(name: str) -> str:
    key = "location" if name == "in" else name.replace("-", "_")
    if key not in OPTION_NAMES:
        raise ProfileError(
            f"unknown option {name!r} (authgate request's: key, secret, region, ...)"
        )
    return key


@profiles_app.command("set")
def set_profile(
    name: Annotated[str, typer.Argument(help="The profile's name.")],
    auth: Annotated[
        str | None, typer.Option(metavar="TYPE", help="One of: " + ", ".join(AUTH_TYPES) + ".")
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option("-o", "--option", help="NAME=VALUE, an authgate request option; repeatable."),
    ] = None,
    var: Annotated[
        list[str] | None, typer.Option("--var", help="NAME=VALUE, a {{NAME}}; repeatable.")
    ] = None,
    store_secret: Annotated[
        bool,
        typer.Option(help="Allow a secret option in plain text (by default: {{ENV_NAME}} only)."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create or replace a profile.

    Example: authgate profiles set prod --auth aws -o key=AKIDEXAMPLE
    -o 'secret={{PROD_AWS_SECRET}}' -o region=eu-west-1 --var base=https://api.example.com
    """
    path = profiles_path()
    try:
        if auth is not None and auth not in AUTH_TYPES:
            raise ProfileError(f"--auth must be one of {', '.join(AUTH_TYPES)}")
        options = {_option_name(k): v for k, v in _pairs(option, "-o").items()}
        profile = Profile(auth, options, _pairs(var, "--var"))
        check_secrets(profile, store_secret=store_secret)
        profiles = load_profiles(path)
        profiles[name] = profile
        save_profiles(path, profiles)
    except ProfileError as exc:
        fail(str(exc), as_json=as_json)
    emit({"name": name, "path": str(path)}, as_json=as_json, text=f"profile {name} saved in {path}")


@profiles_app.command("list")
def list_profiles(as_json: JsonOpt = False) -> None:
    """The profiles: name, auth type, options and variables set."""
    try:
        profiles = load_profiles(profiles_path())
    except ProfileError as exc:
        fail(str(exc), as_json=as_json)
    rows = [
        {"name": n, "auth": p.auth, "options": sorted(p.options), "variables": sorted(p.variables)}
        for n, p in sorted(profiles.items())
    ]
    if as_json:
        emit(rows, as_json=True)
    else:
        table(rows, ["name", "auth", "options", "variables"], "Profiles")


def _one(name: str, as_json: bool) -> tuple[dict[str, Profile], Profile]:
    try:
        profiles = load_profiles(profiles_path())
    except ProfileError as exc:
        fail(str(exc), as_json=as_json)
    if name not in profiles:
        fail(f"no profile named {name!r} (authgate profiles list)", as_json=as_json)
    return profiles, profiles[name]


@profiles_app.command("show")
def show_profile(
    name: Annotated[str, typer.Argument(help="The profile's name.")], as_json: JsonOpt = False
) -> None:
    """A profile, with any secret stored in plain text redacted."""
    _, profile = _one(name, as_json)
    shown = profile.redacted()
    lines = [f"profile {name}", f"auth: {shown['auth'] or '-'}"]
    lines += [f"-o {k}={v}" for k, v in sorted(shown["options"].items())]
    lines += [f"--var {k}={v}" for k, v in sorted(shown["variables"].items())]
    emit({"name": name, **shown}, as_json=as_json, text="\n".join(lines))


@profiles_app.command("delete")
def delete_profile(
    name: Annotated[str, typer.Argument(help="The profile's name.")], as_json: JsonOpt = False
) -> None:
    """Delete a profile."""
    profiles, _ = _one(name, as_json)
    del profiles[name]
    try:
        save_profiles(profiles_path(), profiles)
    except (ProfileError, OSError) as exc:
        fail(str(exc), as_json=as_json)
    emit({"name": name, "deleted": True}, as_json=as_json, text=f"profile {name} deleted")
