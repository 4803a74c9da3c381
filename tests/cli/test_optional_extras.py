"""Issue 8 item 15: the base install (no ``redis``/``asyncpg``) runs the CLI and the server.

A subprocess hides the optional back ends from the import system, as a base install
would lack them; ``.ci/base_install`` proves the same on a real fresh venv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BLOCK = """
import importlib.abc, sys
class _Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("redis", "asyncpg"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
for _name in [m for m in sys.modules if m.split(".")[0] in ("redis", "asyncpg")]:
    del sys.modules[_name]
sys.meta_path.insert(0, _Absent())
sys.argv = ["authgate", *sys.argv[1:]]
from authgate.cli import main
main()
"""


def _authgate(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHGATE_")}
    env["AUTHGATE_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-c", BLOCK, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_help_and_init_without_redis_or_asyncpg(tmp_path: Path) -> None:
    assert _authgate(tmp_path / "h", "--help").returncode == 0
    done = _authgate(tmp_path / "h", "init", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["admin"]["name"] == "admin"
    listed = _authgate(tmp_path / "h", "users", "list", "--json")
    assert listed.returncode == 0, listed.stderr


def test_postgres_url_without_its_extra_is_one_clear_line(tmp_path: Path) -> None:
    done = _authgate(
        tmp_path / "h",
        "serve",
        "--port",
        "1",
        "--database-url",
        "postgresql+asyncpg://root@127.0.0.1:5432/test",
    )
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "pip install 'authgate[postgres]'" in lines[0]
    assert "Traceback" not in done.stderr
