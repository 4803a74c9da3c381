"""The docs are true: every example in README.md and docs/**/*.md runs (docs/README.md).

Each page's ```sh/```bash and ```python blocks run in order against a real
``authgate serve`` that this test starts on a temp home (one for all pages), with
``$AUTHGATE_URL``, ``$AUTHGATE_HOME`` and ``$ADMIN_PASSWORD`` set. Shell variables a block
sets are visible to the next blocks of the page. A block preceded by
``<!-- example: skip REASON -->`` or ``<!-- example: needs SERVICE -->`` is not run. Static
checks: every fence is labelled, the docs name only what exists, every ``authgate.X`` name
of a Python example imports, the README's test command is what CI runs.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
RUNNABLE = {"sh", "bash", "python"}
# every fence names its language; these are the ones the docs may use
LABELS = RUNNABLE | {"text", "toml", "yaml", "json", "nginx", "http", "ini"}
FENCE = re.compile(r"^\s*(`{3,})(.*)$")
MARKER = re.compile(r"^<!--\s*example:\s*(?P<kind>skip|needs|file)\s+(?P<why>\S.*?)\s*-->\s*$")
BLOCK_TIMEOUT = 60
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    label: str
    code: str
    marker: str | None  # "skip: why" / "needs: what" / "file: name"

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def runs(self) -> bool:
        return self.label in RUNNABLE and self.marker is None

    @property
    def file(self) -> str | None:
        """The name this block is saved under for the page's later blocks, if any."""
        if self.marker is None or not self.marker.startswith("file: "):
            return None
        return self.marker.removeprefix("file: ")


def parse(page: Path) -> list[Block]:
    lines = page.read_text("utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m is None:
            i += 1
            continue
        ticks, label = m.group(1), m.group(2).strip()
        end = i + 1
        while end < len(lines) and lines[end].strip() != ticks:
            end += 1
        if end == len(lines):
            raise AssertionError(f"{page.relative_to(ROOT)}:{i + 1}: unclosed fence")
        marker = None
        back = i - 1
        while back >= 0 and not lines[back].strip():
            back -= 1
        if back >= 0:
            mm = MARKER.match(lines[back].strip())
            if mm is not None:
                marker = f"{mm.group('kind')}: {mm.group('why')}"
        indent = len(lines[i]) - len(lines[i].lstrip())
        code = "\n".join(line[indent:] for line in lines[i + 1 : end]) + "\n"
        blocks.append(Block(page, i + 1, label, code, marker))
        i = end + 1
    return blocks


BLOCKS = [b for page in PAGES for b in parse(page)]
RUN_PAGES = sorted({b.page for b in BLOCKS if b.runs})


def test_saved_files_are_not_commands() -> None:
    wrong = [b.where for b in BLOCKS if b.file is not None and b.label in RUNNABLE]
    assert not wrong, f"a `file` marker saves data (toml, yaml, json, text), not code: {wrong}"
    names = [b.file for b in BLOCKS if b.file is not None]
    assert all(re.fullmatch(r"[\w.-]+", n) for n in names), names


# -- static checks ---------------------------------------------------------------------


def test_every_fence_is_labelled() -> None:
    bad = [f"{b.where} ```{b.label}" for b in BLOCKS if b.label not in LABELS]
    assert not bad, f"label every fence with one of {sorted(LABELS)}: {bad}"


def test_markers_precede_a_fence() -> None:
    for page in PAGES:
        lines = page.read_text("utf-8").splitlines()
        inside: set[int] = set()
        for b in parse(page):
            inside |= set(range(b.line, b.line + b.code.count("\n") + 1))
        for n, line in enumerate(lines):
            if not re.match(r"\s*<!--\s*example", line) or n in inside:
                continue
            where = f"{page.relative_to(ROOT)}:{n + 1}"
            assert MARKER.match(line.strip()), f"{where}: malformed marker {line!r}"
            rest = [x for x in lines[n + 1 :] if x.strip()]
            assert rest and FENCE.match(rest[0]), f"{where}: a marker must precede a fence"


def _docs_text() -> Iterator[tuple[str, str]]:
    for page in PAGES:
        yield str(page.relative_to(ROOT)), page.read_text("utf-8")
    for example in sorted((ROOT / "docs").rglob("*.py")):
        yield str(example.relative_to(ROOT)), example.read_text("utf-8")


# What does not exist (yet): no request-signing client command.
# Signing examples sign real routes.
NOT_THERE = {
    "the `authgate request` command": re.compile(r"\bauthgate request\b"),
    "/v1/orders (no such route)": re.compile(r"/v1/orders\b"),
    "DESIGN.md / SECURITY.md (not in the project)": re.compile(r"\b(DESIGN|SECURITY)\.md\b"),
}


def test_docs_name_only_what_exists() -> None:
    found = [
        f"{where}:{text[: m.start()].count(chr(10)) + 1}: {what}"
        for where, text in _docs_text()
        for what, pattern in NOT_THERE.items()
        for m in pattern.finditer(text)
    ]
    assert not found, found


def test_src_cites_no_missing_documents() -> None:
    pattern = NOT_THERE["DESIGN.md / SECURITY.md (not in the project)"]
    found = []
    for path in sorted((ROOT / "src").rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        text = path.read_text("utf-8")
        found += [f"{rel}:{text[: m.start()].count(chr(10)) + 1}" for m in pattern.finditer(text)]
    assert not found, found


def _authgate_names(code: str) -> set[str]:
    # not in a string literal ("authgate.toml", "authgate.identity" scope keys)
    names = set(re.findall(r"(?<![\"'/\w])authgate(?:\.[A-Za-z_]\w*)+", code))
    try:
        tree = ast.parse(code)
    except SyntaxError:  # a fragment: the regex above still sees dotted names
        for m in re.finditer(r"^\s*from (authgate[\w.]*) import \(?([\w, \n]+)\)?", code, re.M):
            names |= {f"{m.group(1)}.{n.strip()}" for n in m.group(2).split(",") if n.strip()}
        return names
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "authgate":
            names |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names if a.name.split(".")[0] == "authgate"}
    return names


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def test_authgate_names_in_python_examples_exist() -> None:
    missing = [
        f"{b.where}: {name}"
        for b in BLOCKS
        if b.label == "python"
        for name in sorted(_authgate_names(b.code))
        if not _resolves(name)
    ]
    assert not missing, missing


def test_runnable_examples_use_authgate_url() -> None:
    """authgate serve's address only as the default of $AUTHGATE_URL: examples run anywhere."""
    fixed = re.compile(r"(127\.0\.0\.1|localhost):8000")
    wrong = [
        f"{b.where}: {line.strip()}"
        for b in BLOCKS
        if b.label in RUNNABLE
        for line in b.code.splitlines()
        if fixed.search(line) and "AUTHGATE_URL" not in line and b.marker is None
    ]
    assert not wrong, wrong


# `authgate.X` in inline code that is not a Python name: files, ASGI scope keys
_NOT_PYTHON = re.compile(r"""["']authgate\.|\bauthgate\.(db|toml|X)\b""")


def test_authgate_names_in_inline_code_exist() -> None:
    missing = []
    for page in PAGES:
        text = page.read_text("utf-8")
        for span in re.findall(r"`([^`\n]+)`", text):
            if _NOT_PYTHON.search(span):
                continue
            missing += [
                f"{page.relative_to(ROOT)}: {name}"
                for name in re.findall(r"\bauthgate(?:\.[A-Za-z_]\w*)+", span)
                if not _resolves(name)
            ]
    assert not missing, missing


def _cli_problem(line: str) -> str | None:
    """Why ``authgate ...`` in ``line`` is not a command of the CLI (None: it is)."""
    import typer

    from authgate.cli import app

    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        words = line.split()
    command: Any = typer.main.get_command(app)
    path = ["authgate"]
    rest = words[1:]
    while hasattr(command, "commands") and rest and not rest[0].startswith(("-", "[")):
        word = rest.pop(0)
        options = [command.commands.get(w) for w in word.split("/")]  # `policy check/test`
        if None in options:
            return f"no command `{' '.join([*path, word])}`"
        if len(options) > 1:
            return None
        command = options[0]
        path.append(word)
    if hasattr(command, "commands"):
        return None  # a group named in prose
    known = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
    for word in rest:
        if word in ("|", ">", "&&", ";", "\\"):
            break
        name = word.strip("[]").split("=")[0]
        if name.startswith("--") and name not in known:
            return f"`{' '.join(path)}` has no option {name}"
    return None


def test_cli_commands_in_the_docs_exist() -> None:
    lines = [
        (b.where, m.group(1))
        for b in BLOCKS
        if b.label in ("sh", "bash", "text")
        for line in b.code.splitlines()
        for m in re.finditer(r"(?:^|\$\(|\|\s*|^\$\s+)(authgate\s[^|)#]*)", line.strip())
    ]
    lines += [
        (str(page.relative_to(ROOT)), span)
        for page in PAGES
        for span in re.findall(r"`(authgate [^`\n]+)`", page.read_text("utf-8"))
    ]
    assert len(lines) > 20
    wrong = [
        f"{where}: {line.strip()} — {why}" for where, line in lines if (why := _cli_problem(line))
    ]
    assert not wrong, wrong


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("## Test it", 1)[1]
    block = next(b for b in parse(ROOT / "README.md") if b.code.strip() in section)
    command = block.code.strip().split("&&")[-1].strip()
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert command in ci, f"README's test command {command!r} is not a line of .ci/run"


# -- running the examples ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    env: dict[str, str]
    proc: subprocess.Popen[bytes]
    log: Path


def _start_server(work: Path) -> Server:
    home = work / ".authgate"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHGATE_")}
    env |= {
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "AUTHGATE_HOME": str(home),
        "AUTHGATE_PORT": str(port),
        # the floors of argon2id's cost: the examples create users and check passwords
        "AUTHGATE_ARGON2_TIME_COST": "2",
        "AUTHGATE_ARGON2_MEMORY_KIB": "19456",
    }
    init = subprocess.run(
        [str(BIN / "authgate"), "init", "--json"],
        cwd=work,
        env=env,
        capture_output=True,
        check=True,
        timeout=60,
    )
    env["ADMIN_PASSWORD"] = json.loads(init.stdout)["admin"]["password"]
    url = f"http://127.0.0.1:{port}"
    env["AUTHGATE_URL"] = url
    log = work / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "authgate"), "serve"],
            cwd=work,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx2.get(f"{url}/readyz", timeout=2).status_code == 200:
                break
        except httpx2.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"authgate serve did not start: {log.read_text()}")
        time.sleep(0.1)
    return Server(url, env, proc, log)


def _stop(server: Server) -> None:
    server.proc.send_signal(signal.SIGTERM)
    try:
        server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


def _read_env(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in path.read_bytes().split(b"\0"):
        name, sep, value = item.partition(b"=")
        if sep and re.fullmatch(rb"[A-Za-z_][A-Za-z0-9_]*", name):
            out[name.decode()] = value.decode("utf-8", "replace")
    return out


def _run_block(block: Block, work: Path, env: dict[str, str]) -> dict[str, str]:
    """Run one block; returns the environment for the next block of the page."""
    state = work / ".example-env"
    if block.label == "python":
        script = work / f"example_{block.line}.py"
        script.write_text(block.code)
        # not as __main__: an app's `if __name__ == "__main__": uvicorn.run(...)` stays off
        run = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='docs_example')"
        cmd = [sys.executable, "-c", run, str(script)]
    else:
        script = work / f"example_{block.line}.sh"
        # every variable a block sets is exported (set -a), so later blocks see it
        script.write_text(
            f"set -euo pipefail -a\n{block.code}\nenv -0 > {json.dumps(str(state))}\n"
        )
        cmd = ["bash", str(script)]
    state.unlink(missing_ok=True)
    try:
        done = subprocess.run(
            cmd, cwd=work, env=env, capture_output=True, timeout=BLOCK_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{block.where}: timed out after {BLOCK_TIMEOUT}s:\n{block.code}")
    output = (done.stdout + done.stderr).decode("utf-8", "replace")
    assert done.returncode == 0, f"{block.where} exited {done.returncode}:\n{block.code}\n{output}"
    assert "Traceback" not in output, f"{block.where}:\n{output}"
    if block.label == "python" or not state.exists():
        return env
    new = _read_env(state)
    for internal in ("_", "SHLVL", "PWD", "OLDPWD"):
        new.pop(internal, None)
    return {**env, **new}


def _page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


TOOLS = ("curl", "jq", "openssl", "oathtool")  # what the examples use (.ci/run installs them)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        message = f"the examples need {missing} (.ci/run installs them)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    work = tmp_path_factory.mktemp("docs-server")
    server = _start_server(work)
    try:
        yield server
    finally:
        _stop(server)
    log = server.log.read_text("utf-8", "replace")
    assert "Traceback" not in log, log


@pytest.mark.parametrize("page", RUN_PAGES, ids=_page_id)
def test_examples_run(page: Path, server: Server, tmp_path: Path) -> None:
    """One server for every page (startup is most of the cost): pages use their own names."""
    env = dict(server.env)
    for block in (b for b in BLOCKS if b.page == page):
        if block.file is not None:
            (tmp_path / block.file).write_text(block.code)
        elif block.runs:
            env = _run_block(block, tmp_path, env)


def test_summary_of_blocks() -> None:
    """Not a check: keeps the count visible (``pytest -rP``)."""
    ran = sum(b.runs for b in BLOCKS)
    skipped = [b for b in BLOCKS if b.label in RUNNABLE and b.marker is not None]
    print(f"{sum(b.file is not None for b in BLOCKS)} blocks saved as files")
    print(f"{ran} blocks run, {len(skipped)} runnable-language blocks marked:")
    for b in skipped:
        print(f"  {b.where}: {b.marker}")
    assert ran > 0
