"""authgate's public names: ``__all__`` (lazy, via ``_EXPORTS``) and what the docs import."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import authgate

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "docs").rglob("*.py")])
# `authgate.Name` in prose, inline code and docstrings: a class (capitalised) or a get_ helper
_DOTTED = re.compile(r"\bauthgate\.([A-Z][A-Za-z0-9_]*|get_[a-z_]+)\b")
_FROM = re.compile(r"^[ \t]*from authgate import (\([^)]*\)|[^\n]+)", re.MULTILINE)


def test_exported_members_are_exactly_these() -> None:
    assert set(authgate.__all__) == {
        "ApiKeyAuthenticator",
        "AuthError",
        "AuthMiddleware",
        "Authenticator",
        "BasicAuthenticator",
        "Conflict",
        "CredentialResolver",
        "Forbidden",
        "Identity",
        "InsufficientScope",
        "InvalidCredentials",
        "InvalidRequest",
        "InvalidScope",
        "NotFound",
        "PayloadTooLarge",
        "RateLimited",
        "RequestView",
        "Runtime",
        "RuntimeMiddleware",
        "SchemeChain",
        "Settings",
        "SignatureMismatch",
        "Unauthorized",
        "__version__",
        "get_identity",
        "get_runtime",
    }


def test_all_is_sorted_and_matches_the_lazy_exports() -> None:
    assert authgate.__all__ == sorted(authgate.__all__)
    assert len(set(authgate.__all__)) == len(authgate.__all__)
    assert set(authgate.__all__) == {*authgate._EXPORTS, "__version__"}


@pytest.mark.parametrize("name", authgate.__all__)
def test_every_exported_name_resolves(name: str) -> None:
    value = getattr(authgate, name)
    if name != "__version__":
        # the name is the object of the module _EXPORTS names, not a copy
        assert value is getattr(importlib.import_module(authgate._EXPORTS[name]), name)
    assert name in dir(authgate)


def _docs_imports() -> set[str]:
    names: set[str] = set()
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in _FROM.finditer(text):
            statement = "from authgate import " + match.group(1).strip()
            tree = ast.parse(statement.split("#")[0] if "(" not in statement else statement)
            node = tree.body[0]
            assert isinstance(node, ast.ImportFrom), (path, statement)
            names.update(alias.name for alias in node.names)
        names.update(_DOTTED.findall(text))
    return names - {"X"}  # docs/README.md's placeholder in "every `authgate.X` name"


def test_every_name_the_docs_import_from_authgate_is_exported() -> None:
    names = _docs_imports()
    assert {"AuthMiddleware", "RuntimeMiddleware", "Settings", "get_identity"} <= names
    assert names <= set(authgate.__all__), sorted(names - set(authgate.__all__))
    for name in names:
        assert getattr(authgate, name) is not None


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        authgate.Nope  # noqa: B018 - the attribute access is the test
