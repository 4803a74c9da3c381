"""Printing for the CLI: one JSON document with ``--json``, Rich text otherwise."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from authgate.errors import AuthError

__all__ = ["emit", "fail", "table"]

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False)


def emit(data: Any, *, as_json: bool, text: str | None = None) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    elif text is not None:
        console.print(text, markup=False)


def table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    title: str,
    *,
    wide: bool = False,
    id_columns: Sequence[str] = (),
) -> None:
    """A table; ids in ``id_columns`` are shortened to a prefix the commands accept,
    unless ``wide`` (which also never truncates a column)."""
    from authgate.cli.ids import short_id

    t = Table(title=title)
    for c in columns:
        t.add_column(c, no_wrap=c in id_columns or c in ("prefix", "event", "status"))
    for r in rows:
        t.add_row(
            *(
                short_id(str(r[c]))
                if c in id_columns and r.get(c) and not wide
                else _cell(r.get(c))
                for c in columns
            )
        )
    if wide:
        Console(highlight=False, soft_wrap=True, width=max(console.width, 400)).print(t)
    else:
        console.print(t)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return " ".join(str(v) for v in value) or "-"
    return str(value)


def fail(error: AuthError | str, *, as_json: bool) -> NoReturn:
    code, description = (
        (error.code, error.description) if isinstance(error, AuthError) else ("error", error)
    )
    if as_json:
        sys.stdout.write(json.dumps({"error": code, "error_description": description}) + "\n")
    else:
        err_console.print(f"error: {description}", markup=False, soft_wrap=True)
    raise typer.Exit(1)
