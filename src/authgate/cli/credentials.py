"""What the credential commands share (``keys``, ``clients``, ``certs``, ``public-keys``):
running one change and printing its result, and printing a listing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from authgate.cli.common import run
from authgate.cli.output import emit, table
from authgate.runtime import Runtime

__all__ = ["show", "show_list"]


class _View(Protocol):
    def as_json(self) -> dict[str, Any]: ...


def show(
    as_json: bool,
    work: Callable[[Runtime], Awaitable[_View]],
    text: Callable[[dict[str, Any]], str],
) -> None:
    """Do ``work`` (see :func:`~authgate.cli.common.run`); print what it returns as JSON
    or as ``text`` of that JSON."""
    data = run(as_json, work).as_json()
    emit(data, as_json=as_json, text=text(data))


def show_list(
    as_json: bool,
    work: Callable[[Runtime], Awaitable[Sequence[_View]]],
    name: str,
    columns: Sequence[str],
    title: str,
    *,
    wide: bool = False,
    id_column: str = "id",
) -> None:
    """List what ``work`` returns: ``{name: [...]}`` as JSON, else a table of ``columns``."""
    rows = [v.as_json() for v in run(as_json, work)]
    if as_json:
        emit({name: rows}, as_json=True)
    else:
        table(rows, columns, title, wide=wide, id_columns=(id_column,))
