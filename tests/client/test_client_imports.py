"""authgate.client imports only errors, crypto, http and schemes (decision 0012)."""

from __future__ import annotations

import ast
from pathlib import Path

CLIENT = Path(__file__).resolve().parents[2] / "src" / "authgate" / "client"
ALLOWED = {"errors", "crypto", "http", "schemes", "client"}


def test_the_client_imports_no_storage_runtime_or_server() -> None:
    for path in CLIENT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                if name.startswith("authgate."):
                    assert name.split(".")[1] in ALLOWED, f"{path.name} imports {name}"
