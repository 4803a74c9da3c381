"""``{{NAME}}`` variables, as API tools write them (Postman, ``authgate request``).

One substitution for ``authgate request`` (the environment, a profile) and ``authgate run``
(a collection, an environment file, the process environment): the caller says where a
name is looked up; a name found nowhere is an error, never sent as the literal ``{{NAME}}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

__all__ = ["VARIABLE", "MissingVariable", "substitute"]

VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}")


class MissingVariable(LookupError):
    """A ``{{NAME}}`` that no source defines."""

    def __init__(self, name: str, where: str) -> None:
        super().__init__(f"variable {{{{{name}}}}} is not set {where}")
        self.name = name


def substitute(
    text: str, values: Mapping[str, str] | Callable[[str], str | None], *, where: str = ""
) -> str:
    """``text`` with each ``{{NAME}}`` replaced by its value.

    Args:
        text: the text.
        values: a mapping, or a function returning a name's value (None when unset).
        where: completes the error message ("in the environment").

    Raises:
        MissingVariable: a name has no value.
    """
    lookup = values.get if isinstance(values, Mapping) else values

    def one(m: re.Match[str]) -> str:
        value = lookup(m.group(1))
        if value is None:
            raise MissingVariable(m.group(1), where)
        return value

    return VARIABLE.sub(one, text)
