"""The rooms of the house, checked: which package may import which, only through its surface, and no cycle.

docs/architecture.md draws the map; this test is its fence. Over every package of the product and
the emulator, counting every import a module runs (at the top or inside a function, so an import
moved into a function to dodge a rule is still found; ``if TYPE_CHECKING:`` bodies left out):

* a package reaches another only through its ``__init__`` (``from cway_tools import X`` with ``X``
  in ``cway_tools.__all__``); its modules are private to it, as httpx's are;
* the packages depend on each other only along the allowed edges below (which makes the package
  graph acyclic), and no module imports itself back through others;
* each module imports first, alone (order-dependent imports fail).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.repo import with_emulator_path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "cway_contract": ROOT / "contract",
    "cway_auth_core": ROOT / "daemon",
    "cway_tools": ROOT / "shim",
    "cway_mcp_shim": ROOT / "shim",
    "cway_authd": ROOT / "daemon",
    "cway_remote": ROOT / "daemon",
    "cway_emulator": ROOT / "daemon",
}
#: Which packages each one may import. The contract is imported by all and imports none; the auth
#: core and the tool layer sit on the contract; the daemon, the shim and the remote server on those.
ALLOWED = {
    "cway_contract": set(),
    "cway_auth_core": {"cway_contract"},
    "cway_tools": {"cway_contract"},
    "cway_mcp_shim": {"cway_contract", "cway_tools"},
    "cway_authd": {"cway_contract", "cway_auth_core"},
    "cway_remote": {"cway_contract", "cway_auth_core", "cway_tools"},
    "cway_emulator": {"cway_contract"},
}


@dataclass(frozen=True)
class Edge:
    """One import a module runs: ``names`` taken from ``target`` (empty for ``import target``)."""

    module: str
    line: int
    target: str
    names: tuple[str, ...]


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


def edges_of(name: str, source: str, *, is_package: bool) -> list[Edge]:
    """The imports module ``name`` runs, relative ones resolved to absolute names."""
    package = name if is_package else name.rpartition(".")[0]
    edges: list[Edge] = []
    for node in _runtime_nodes(ast.parse(source)):
        if isinstance(node, ast.Import):
            edges.extend(Edge(name, node.lineno, alias.name, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            edges.append(Edge(name, node.lineno, target, tuple(alias.name for alias in node.names)))
    return edges


def _edges() -> list[Edge]:
    return [
        edge
        for name, path in MODULES.items()
        for edge in edges_of(name, path.read_text(), is_package=path.name == "__init__.py")
    ]


def surface(package: str) -> set[str]:
    """The names a package's ``__init__`` lists in ``__all__`` (read, not imported)."""
    tree = ast.parse((PACKAGES[package] / package / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return {ast.literal_eval(element) for element in node.value.elts}  # type: ignore[attr-defined]
    return set()


def private_imports(edges: list[Edge], surfaces: dict[str, set[str]]) -> list[str]:
    """Imports that reach into another package's modules, or take a name its surface does not list."""
    found = []
    for edge in edges:
        own, other = edge.module.split(".")[0], edge.target.split(".")[0]
        if other not in PACKAGES or other == own:
            continue
        where = f"{edge.module}:{edge.line}"
        if edge.target != other:
            found.append(f"{where} imports {edge.target}, a module private to {other}")
            continue
        for name in edge.names:
            if name not in surfaces[other]:
                found.append(f"{where} imports {other}.{name}, which {other}.__all__ does not list")
    return sorted(
        found, key=lambda line: (line.split(" ")[0].rpartition(":")[0], int(line.split(" ")[0].rpartition(":")[2]))
    )


def package_edges(edges: list[Edge]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {package: set() for package in PACKAGES}
    for edge in edges:
        own, other = edge.module.split(".")[0], edge.target.split(".")[0]
        if other in PACKAGES and other != own:
            graph[own].add(other)
    return graph


def module_graph(edges: list[Edge]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for edge in edges:
        # "from pkg import module" needs the module (Python imports it even while pkg's __init__ is
        # still running); "from pkg import Name" needs pkg's __init__ to have run.
        submodules = [f"{edge.target}.{name}" for name in edge.names if f"{edge.target}.{name}" in MODULES]
        needs_target = not edge.names or len(submodules) < len(edge.names)
        for target in [*([edge.target] if needs_target else []), *submodules]:
            while target and target not in MODULES:  # "a.b.Class" -> "a.b"
                target = target.rpartition(".")[0]
            if target and target != edge.module:
                graph[edge.module].add(target)
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
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


EDGES = _edges()


def test_the_checks_can_fail() -> None:
    """Each rule finds what it is for, on made-up modules (a checker that finds nothing passes nothing)."""
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None
    reaching = edges_of(
        "cway_remote.x",
        "from cway_tools.gateway import CwayHttpGateway\nfrom cway_tools import Secret, Bearer\nimport cway_authd.core\n"
        "def late():\n    from cway_auth_core.records import TokenRecord\n",
        is_package=False,
    )
    assert private_imports(reaching, {"cway_tools": {"Bearer"}, "cway_auth_core": set(), "cway_authd": set()}) == [
        "cway_remote.x:1 imports cway_tools.gateway, a module private to cway_tools",
        "cway_remote.x:2 imports cway_tools.Secret, which cway_tools.__all__ does not list",
        "cway_remote.x:3 imports cway_authd.core, a module private to cway_authd",
        "cway_remote.x:5 imports cway_auth_core.records, a module private to cway_auth_core",
    ]
    typed_only = edges_of(
        "cway_tools.x",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import cway_mcp_shim\n",
        is_package=False,
    )
    assert package_edges(typed_only)["cway_tools"] == set()
    assert package_edges(edges_of("cway_tools.x", "import cway_mcp_shim.server\n", is_package=False))["cway_tools"] == {
        "cway_mcp_shim"
    }


def test_every_package_is_checked() -> None:
    """The fence covers all seven packages, each with modules (a renamed folder would silently drop out)."""
    tops = {name.split(".")[0] for name in MODULES}
    assert tops == set(PACKAGES)
    on_disk = {p.parent.name for root in {*PACKAGES.values()} for p in root.glob("cway_*/__init__.py")}
    assert on_disk == set(PACKAGES), "a package folder this test does not know"


def test_no_package_imports_another_packages_private_module() -> None:
    surfaces = {package: surface(package) for package in PACKAGES}
    assert private_imports(EDGES, surfaces) == []


def test_each_surface_lists_only_names_that_exist() -> None:
    """``__all__`` is what the package offers: every name in it is defined or imported by the ``__init__``."""
    missing = {}
    for package in PACKAGES:
        tree = ast.parse((PACKAGES[package] / package / "__init__.py").read_text())
        defined: set[str] = set()
        for node in tree.body:
            if isinstance(node, ast.ImportFrom):
                defined.update(alias.asname or alias.name for alias in node.names)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, ast.Assign):
                defined.update(t.id for t in node.targets if isinstance(t, ast.Name))
        if surface(package) - defined:
            missing[package] = sorted(surface(package) - defined)
    assert missing == {}


def test_packages_depend_only_along_the_allowed_edges_and_without_a_cycle() -> None:
    graph = package_edges(EDGES)
    unexpected = {
        package: sorted(graph[package] - ALLOWED[package]) for package in PACKAGES if graph[package] - ALLOWED[package]
    }
    assert unexpected == {}
    assert cycle(graph) is None
    assert cycle(ALLOWED) is None


def test_no_module_imports_itself_back() -> None:
    # A package's __init__ re-exporting its modules is not a cycle of its own: a module importing
    # "from .store import X" depends on the package, which depends on its modules, not back.
    graph = module_graph(EDGES)
    assert cycle(graph) is None, " -> ".join(cycle(graph) or [])


ALONE = """
import importlib, json, sys, traceback
tops = set(sys.argv[1].split(","))
failed = {}
for module in sys.argv[2:]:
    for loaded in [m for m in sys.modules if m.split(".")[0] in tops]:
        del sys.modules[loaded]  # third-party modules stay loaded: only our own import order matters
    try:
        importlib.import_module(module)
    except Exception:
        failed[module] = traceback.format_exc(limit=3)
print(json.dumps(failed))
"""


def test_each_module_imports_alone() -> None:
    """Each module first, with none of the project's modules loaded before it (one interpreter, for speed)."""
    runnable = sorted(name for name in MODULES if not name.endswith(".__main__"))
    done = subprocess.run(
        [sys.executable, "-c", ALONE, ",".join(PACKAGES), *runnable],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env=with_emulator_path(),  # the emulator is not installed: it is imported from the repository
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {}
