"""``authgate``: the root command, its global options and ``main``.

The commands live in their own modules (:mod:`authgate.cli.setup`,
:mod:`authgate.cli.users`, :mod:`authgate.cli.keys`, :mod:`authgate.cli.audit`, …);
:mod:`authgate.cli` mounts them all.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from authgate import __version__
from authgate.cli.errors import explain, print_traceback

__all__ = ["ENVIRONMENT", "GLOBAL_OPTIONS", "app", "main"]

ENVIRONMENT = (
    "Environment: AUTHGATE_HOME (--home), AUTHGATE_DATABASE_URL (--database-url), "
    "AUTHGATE_CONFIG (authgate.toml to read), AUTHGATE_DEBUG=1 (tracebacks)."
)
GLOBAL_OPTIONS = ("--home", "--database-url")

app = typer.Typer(
    name="authgate",
    help=(
        "API authentication and authorization.\n\n"
        "Every command works on one installation: a home directory (--home, default "
        "./.authgate) and the database recorded in it (--database-url at init, or SQLite "
        "in the home)."
    ),
    epilog=ENVIRONMENT + "\n\nExample: authgate --home /var/lib/authgate users list",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"authgate {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            envvar="AUTHGATE_HOME",
            metavar="DIR",
            readable=False,  # an unreadable home is our one-line error, not click's usage
            help="The installation's home directory. [default: ./.authgate]",
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="AUTHGATE_DATABASE_URL",
            metavar="URL",
            help=(
                "SQLAlchemy async URL, e.g. postgresql+asyncpg://user@host:5432/db. "
                "[default: the one in the home's installation.toml, else SQLite in the home]"
            ),
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Global options: they apply to every command."""
    # The environment carries them to the settings, authgate.toml / installation.toml
    # lookup and the server (flag > environment > authgate.toml > installation.toml).
    if home is not None:
        os.environ["AUTHGATE_HOME"] = str(home.expanduser().resolve())
    if database_url is not None:
        os.environ["AUTHGATE_DATABASE_URL"] = database_url


def hoist_global_options(argv: list[str]) -> list[str]:
    """Move ``--home``/``--database-url`` given after the command in front of it."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        name = arg.split("=", 1)[0]
        if name in GLOBAL_OPTIONS:
            if "=" in arg:
                front.append(arg)
            else:
                front.extend(argv[i : i + 2])
                i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest


def main() -> None:
    args = hoist_global_options(sys.argv[1:])
    try:
        app(args=args, prog_name="authgate")
    except SystemExit:
        raise
    except Exception as exc:
        print_traceback(exc)
        code, text = explain(exc)
        if "--json" in args:
            import json

            sys.stdout.write(json.dumps({"error": code, "error_description": text}) + "\n")
        else:
            sys.stderr.write(f"error: {text}\n")
        sys.exit(1)
