"""authgate's packages stay in layers: no import reaches up, no package cycle.

Walks every module of src/authgate with ast — module-level imports, imports inside
functions and ``if TYPE_CHECKING:`` blocks alike — and checks each import against
:data:`LAYERS` (bottom first), the same table as docs/architecture.md (ADR 0007).
A "package" is a subpackage of authgate (``tokens``) or a top-level module (``config``);
``authgate`` is the package's own ``__init__``.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "authgate"
DOC = ROOT / "docs" / "architecture.md"

#: Bottom first. A module may import its own layer and the layers below, never above.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "core",
        frozenset(
            {
                "errors",
                "identity",
                "scopes",
                "timefmt",
                "durations",
                "installation",
                "metrics",
                "registry",
            }
        ),
    ),
    ("crypto", frozenset({"crypto", "home", "credentials"})),
    ("http", frozenset({"http"})),
    ("storage", frozenset({"store", "audit", "replay", "kv"})),
    ("tokens", frozenset({"tokens"})),
    ("accounts", frozenset({"accounts"})),
    ("mfa", frozenset({"mfa"})),
    ("cache", frozenset({"cache"})),
    ("schemes", frozenset({"schemes"})),
    ("services", frozenset({"oauth", "policy", "ratelimit"})),
    ("wiring", frozenset({"config", "scheme_factories", "runtime"})),
    ("embedding", frozenset({"embedding"})),
    ("fronts", frozenset({"server", "cli", "user_removal", "__main__", "authgate"})),
)

#: Imports still allowed against the table, as (importing module, imported package).
#: It may only shrink: an entry that no longer occurs fails the test until removed.
KNOWN_UPWARD: frozenset[tuple[str, str]] = frozenset()
#: Package cycles still allowed (each as the sorted tuple of its packages); same rule.
KNOWN_CYCLES: frozenset[tuple[str, ...]] = frozenset()


def _modules() -> dict[str, tuple[Path, bool]]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        out[".".join(parts)] = (path, is_package)
    return out


MODULES = _modules()


def _known(name: str) -> str:
    """The longest authgate module that ``name`` (a module or a name in one) lies in."""
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _imports(module: str, path: Path, is_package: bool) -> Iterator[str]:
    """The authgate modules ``module`` imports, wherever in the file the import stands."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            names = [f"{source}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name == "authgate" or name.startswith("authgate."):
                yield _known(name)


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "authgate"


def _edges() -> dict[tuple[str, str], set[str]]:
    """(package, imported package) → the modules that import across."""
    edges: dict[tuple[str, str], set[str]] = defaultdict(set)
    for module, (path, is_package) in MODULES.items():
        for target in _imports(module, path, is_package):
            a, b = package_of(module), package_of(target)
            if a != b:
                edges[(a, b)].add(module)
    return edges


def _cycles(nodes: set[str], arcs: set[tuple[str, str]]) -> set[tuple[str, ...]]:
    """The strongly connected components of more than one node (Tarjan)."""
    succ: dict[str, list[str]] = defaultdict(list)
    for a, b in arcs:
        succ[a].append(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[tuple[str, ...]] = set()

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in succ[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.add(tuple(sorted(component)))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return found


def _layer_index() -> dict[str, int]:
    return {pkg: i for i, (_, pkgs) in enumerate(LAYERS) for pkg in pkgs}


def test_every_package_has_a_layer() -> None:
    placed = _layer_index()
    packages = {package_of(m) for m in MODULES}
    assert packages - placed.keys() == set(), "add the new package to LAYERS and the doc"
    assert placed.keys() - packages == set(), "LAYERS names a package that is gone"


def test_no_module_imports_a_layer_above_its_own() -> None:
    layer = _layer_index()
    upward = {
        (module, b)
        for (a, b), modules in _edges().items()
        if layer[b] > layer[a]
        for module in modules
    }
    assert upward - KNOWN_UPWARD == set()
    assert KNOWN_UPWARD - upward == set(), "fixed: remove it from KNOWN_UPWARD"


def test_no_package_cycle() -> None:
    edges = _edges()
    cycles = _cycles({p for arc in edges for p in arc}, set(edges))
    assert cycles - KNOWN_CYCLES == set()
    assert KNOWN_CYCLES - cycles == set(), "fixed: remove it from KNOWN_CYCLES"


def test_no_module_cycle() -> None:
    arcs = {
        (module, target)
        for module, (path, is_package) in MODULES.items()
        for target in _imports(module, path, is_package)
        if target != module
    }
    assert _cycles(set(MODULES), arcs) == set()


def test_the_layer_table_is_the_one_in_docs_architecture() -> None:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if re.match(r"\|\s*\d+\s*\|", line)]
    documented = []
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        documented.append((cells[1], frozenset(re.findall(r"`([\w.]+)`", cells[2]))))
    expected = [
        (name, frozenset(p.removeprefix("authgate.") for p in pkgs)) for name, pkgs in LAYERS
    ]
    found = [
        (name, frozenset(p.removeprefix("authgate.") for p in pkgs)) for name, pkgs in documented
    ]
    assert found == expected
