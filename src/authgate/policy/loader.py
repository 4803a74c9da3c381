"""Reading policy files: TOML (``tomllib``) or YAML (``yaml.safe_load``), by file suffix.

Every problem is reported with where it is: a syntax error with its line and column, a
validation error with its location in the document (``routes[2].ip_allow[0]``, plus the
route's path so it can be found in a long file). All of them are collected, not just the
first, so one ``authgate policy check`` run shows everything to fix.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml  # type: ignore[import-untyped, unused-ignore]  # types-PyYAML optional
from pydantic import BaseModel, ValidationError

from authgate.policy.model import Policy

__all__ = ["PolicyError", "load_document", "load_model", "load_policy", "parse_policy"]

M = TypeVar("M", bound=BaseModel)

_MAX_FILE = 4 * 1024 * 1024  # a policy is code, not data: anything larger is a mistake


class PolicyError(ValueError):
    """A policy (or test-case) file could not be read or is invalid.

    Attributes:
        source: the file (or a label) the problems are in.
        problems: one line per problem, each starting with its location.
    """

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__(f"{source}: " + "; ".join(self.problems))


def load_document(path: str | Path) -> dict[str, Any]:
    """Read a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file into a mapping.

    Raises:
        PolicyError: unreadable file, unknown suffix, syntax error or not a mapping.
    """
    path = Path(path)
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml"):
        raise PolicyError(source, ["unknown format: use a .toml, .yaml or .yml file"])
    try:
        if path.stat().st_size > _MAX_FILE:
            raise PolicyError(source, [f"file larger than {_MAX_FILE} bytes"])
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(source, [f"cannot read: {exc}"]) from None
    data: Any
    if suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(source, [f"TOML syntax: {exc}"]) from None
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise PolicyError(source, [f"YAML syntax: {_yaml_problem(exc)}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(source, ["the document must be a table/mapping at the top level"])
    return data


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
    return str(exc)


def load_model(model: type[M], data: Mapping[str, Any], source: str) -> M:
    """Validate ``data`` as ``model``, turning every validation error into a located problem.

    Raises:
        PolicyError: listing every problem.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = dict.fromkeys(_problem(err, data) for err in exc.errors())
        raise PolicyError(source, list(problems)) from None


def parse_policy(data: Mapping[str, Any], source: str = "<policy>") -> Policy:
    """Validate an already parsed policy document.

    Raises:
        PolicyError: listing every problem with its location.
    """
    return load_model(Policy, data, source)


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file.

    Raises:
        PolicyError: listing every problem with its location.
    """
    return parse_policy(load_document(path), str(path))


def _problem(err: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    loc: tuple[Any, ...] = tuple(err.get("loc", ()))
    # drop pydantic's union/validator branch names ("tuple[...]", "function-after[...]")
    loc = tuple(p for p in loc if isinstance(p, int) or "[" not in p)
    where = _format_loc(loc) or "policy"
    context = _route_context(loc, data)
    message = str(err.get("msg", "invalid"))
    message = message.removeprefix("Value error, ")
    if err.get("type") == "extra_forbidden":
        message = "unknown key"
    elif err.get("type") == "tuple_type":
        message = "Input should be a list"
    return f"{where}{context}: {message}"


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _route_context(loc: tuple[Any, ...], data: Mapping[str, Any]) -> str:
    """`` (path '/admin')`` when the location is inside a route that has a path."""
    if len(loc) < 2 or not isinstance(loc[1], int):
        return ""
    items = data.get(loc[0])
    if not isinstance(items, list) or not 0 <= loc[1] < len(items):
        return ""
    item = items[loc[1]]
    if isinstance(item, dict):
        for key in ("path", "name"):
            if isinstance(item.get(key), str) and loc[2:3] != (key,):
                return f" ({key} {item[key]!r})"
    return ""
