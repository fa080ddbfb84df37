"""No import cycles in cway-mcp's packages, counting every import a module runs, at the top or
inside a function, so an import moved into a function to dodge a cycle is still found. Imports
under ``if TYPE_CHECKING:`` are left out: they never run, and naming a type is not depending on
a module at run time. Each module is also imported first, alone: order-dependent imports fail."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from tests.helpers.repo import with_emulator_path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "cway_contract": ROOT / "shim",
    "cway_mcp_shim": ROOT / "shim",
    "cway_authd": ROOT / "daemon",
    "cway_remote": ROOT / "daemon",
    "cway_emulator": ROOT / "daemon",
}


def _module_name(path: Path, base: Path) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package, base in PACKAGES.items():
        for path in sorted((base / package).rglob("*.py")):
            found[_module_name(path, base)] = path
    return found


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node, except the bodies of ``if TYPE_CHECKING:`` blocks (their ``else`` still runs)."""
    found: list[ast.AST] = []
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        found.append(node)
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            pending.extend(node.orelse)
            continue
        pending.extend(ast.iter_child_nodes(node))
    return found


def _imports(name: str, path: Path) -> set[str]:
    """The project modules ``name`` imports (resolving relative imports and ``from pkg import module``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            targets.add(source)
            targets.update(f"{source}.{alias.name}" for alias in node.names)
    resolved = set()
    for target in targets:
        while target and target not in MODULES:  # "a.b.Class" -> "a.b"
            target = target.rpartition(".")[0]
        if target and target != name:
            resolved.add(target)
    return resolved


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_checker_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_imports_itself_back() -> None:
    # A package's __init__ re-exporting its modules is not a cycle of its own: a module importing
    # "from .store import X" depends on the package, which depends on its modules, not back.
    graph = {name: _imports(name, path) for name, path in MODULES.items()}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


ALONE = """
import importlib, json, sys, traceback
failed = {}
for module in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m.split(".")[0] in ("cway_contract", "cway_mcp_shim", "cway_authd", "cway_remote", "cway_emulator")]:
        del sys.modules[loaded]  # third-party modules stay loaded: only our own import order matters
    try:
        importlib.import_module(module)
    except Exception:
        failed[module] = traceback.format_exc(limit=3)
print(json.dumps(failed))
"""


def test_each_module_imports_alone() -> None:
    """Each module first, with none of the project's modules loaded before it (one interpreter, for speed)."""
    done = subprocess.run(
        [sys.executable, "-c", ALONE, *sorted(MODULES)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env=with_emulator_path(),  # the emulator is not installed: it is imported from the repository
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {}
