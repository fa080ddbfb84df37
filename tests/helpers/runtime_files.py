"""Which files the shipped packages open at run time, read from their code (``ast``), not from a list.

A file the code reads through ``importlib.resources`` or beside ``__file__`` exists in the
repository whether or not it reaches a wheel, so tests run from the tree never miss it; this
finder lists those files so a test can look for each one in the built distributions.

It understands the forms the packages use: ``resources.files(PKG).joinpath(A, B)`` and
``resources.files(PKG) / A / B``, ``Path(__file__).with_name(A)``, ``.parent`` / ``.parents[n]``,
``.resolve()``, ``/`` and ``.joinpath`` on such a path. Arguments may be literals, names bound to
literals in the function or module (``package, *parts = SCHEMA_RESOURCE`` too), or a parameter
of the enclosing function as the *last* part, which means "any file in that folder". Anything
else that touches ``__file__``, ``importlib.resources``, ``pkgutil`` or ``pkg_resources`` raises
:class:`UnresolvedPattern` naming the file and line: a new way of reading package data must be
taught to the finder, never silently skipped.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from setuptools import find_packages

from tests.helpers.repo import REPO


class UnresolvedPattern(Exception):
    """A use of ``__file__`` or package resources the finder cannot turn into file names."""


class _Any:
    """An argument not known until run time (a parameter): any file in the folder."""


ANY = _Any()
_RESOURCE_MODULES = {"importlib.resources"}
_FORBIDDEN_MODULES = {"pkgutil", "pkg_resources", "importlib_resources"}


@dataclass(frozen=True)
class Use:
    """One place the code reads package data: ``path`` is relative to the wheel's root; ``folder``
    is True when any file under it may be read (the last part was a parameter)."""

    module: Path
    line: int
    path: PurePosixPath
    folder: bool


def shipped_packages(repo: Path = REPO) -> dict[str, Path]:
    """Package name -> source folder, as pyproject.toml's ``[tool.setuptools.packages.find]`` finds them."""
    config = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))
    find = config["tool"]["setuptools"]["packages"]["find"]
    found: dict[str, Path] = {}
    for where in find["where"]:
        for name in find_packages(str(repo / where), exclude=find.get("exclude", ())):
            found[name] = repo / where / name.replace(".", "/")
    return found


class _Module:
    def __init__(self, path: Path, name: str, package: str) -> None:
        self.path, self.name, self.package = path, name, package
        self.tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        self.parents: dict[ast.AST, ast.AST] = {
            child: node for node in ast.walk(self.tree) for child in ast.iter_child_nodes(node)
        }
        self.resource_modules: set[str] = set()  # names bound to importlib.resources
        self.files_functions: set[str] = set()  # names bound to importlib.resources.files
        self.path_classes = {"Path"}

    def where(self, node: ast.AST) -> str:
        return f"{self.path}:{getattr(node, 'lineno', '?')}"

    def fail(self, node: ast.AST, why: str) -> UnresolvedPattern:
        return UnresolvedPattern(f"{self.where(node)}: {why}: {ast.unparse(node)[:120]!r}")


def _scan_imports(module: _Module) -> None:
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in _FORBIDDEN_MODULES:
                    raise module.fail(node, f"reads package data through {alias.name}, which the finder does not know")
                if alias.name in _RESOURCE_MODULES and alias.asname:
                    module.resource_modules.add(alias.asname)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in _FORBIDDEN_MODULES:
                raise module.fail(node, f"reads package data through {node.module}, which the finder does not know")
            for alias in node.names:
                bound = alias.asname or alias.name
                if node.module == "importlib" and alias.name == "resources":
                    module.resource_modules.add(bound)
                elif node.module in _RESOURCE_MODULES:
                    if alias.name != "files":
                        raise module.fail(node, f"importlib.resources.{alias.name} is not understood (use files())")
                    module.files_functions.add(bound)
                elif node.module == "pathlib" and alias.name == "Path":
                    module.path_classes.add(bound)


def _is_resources_module(module: _Module, node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return node.id in module.resource_modules
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "resources"
        and isinstance(node.value, ast.Name)
        and node.value.id == "importlib"
    )


def _enclosing_function(module: _Module, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    current: ast.AST | None = node
    while current is not None:
        current = module.parents.get(current)
        if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef):
            return current
    return None


def _bindings(body: list[ast.stmt], name: str) -> list[tuple[ast.expr, int | None, bool]]:
    """Assignments to ``name`` directly in ``body``: (value, index in a tuple target, starred)."""
    found: list[tuple[ast.expr, int | None, bool]] = []
    for statement in body:
        if isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None:
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id == name:
                    found.append((statement.value, None, False))
                elif isinstance(target, ast.Tuple | ast.List):
                    for index, element in enumerate(target.elts):
                        if isinstance(element, ast.Name) and element.id == name:
                            found.append((statement.value, index, False))
                        elif isinstance(element, ast.Starred) and getattr(element.value, "id", None) == name:
                            found.append((statement.value, index, True))
    return found


def _value(module: _Module, node: ast.expr, context: ast.AST) -> object:
    """A literal, a tuple of values, or :data:`ANY` (a parameter of the enclosing function)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Tuple | ast.List):
        return tuple(_value(module, element, context) for element in node.elts)
    if isinstance(node, ast.Name):
        function = _enclosing_function(module, context)
        if function is not None:
            arguments = function.args
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            if any(argument.arg == node.id for argument in every):
                return ANY
            local = _bindings(function.body, node.id)
            if local:
                return _bound(module, node, local, context)
        glob = _bindings(module.tree.body, node.id)
        if glob:
            return _bound(module, node, glob, module.tree)
        if node.id in ("__package__",):
            return module.package
    raise module.fail(node, "an argument that is not a literal, a literal constant or a parameter")


def _bound(
    module: _Module, name: ast.Name, bindings: list[tuple[ast.expr, int | None, bool]], context: ast.AST
) -> object:
    if len(bindings) != 1:
        raise module.fail(name, "a name bound more than once")
    value_node, index, starred = bindings[0]
    value = _value(module, value_node, context)
    if index is None:
        return value
    if not isinstance(value, tuple):
        raise module.fail(name, "unpacked from something that is not a literal tuple")
    return value[index:] if starred else value[index]


def _parts(module: _Module, args: list[ast.expr], context: ast.AST) -> list[object]:
    parts: list[object] = []
    for arg in args:
        if isinstance(arg, ast.Starred):
            value = _value(module, arg.value, context)
            if not isinstance(value, tuple):
                raise module.fail(arg, "a starred argument that is not a tuple")
            parts.extend(value)
        else:
            parts.append(_value(module, arg, context))
    return parts


def _append(
    module: _Module, node: ast.AST, path: PurePosixPath, folder: bool, part: object
) -> tuple[PurePosixPath, bool]:
    """``path / part``; a parameter (:data:`ANY`) makes it a folder, and nothing may follow one."""
    if folder:
        raise module.fail(node, "a path part after a parameter")
    if part is ANY:
        return path, True
    if not isinstance(part, str):
        raise module.fail(node, "a path part that is not a string")
    return path / part, False


def _walk_path(module: _Module, start: ast.AST, path: PurePosixPath) -> tuple[PurePosixPath, bool, ast.AST]:
    """Follow ``.parent``, ``.with_name()``, ``/``, ``.joinpath()`` ... up from ``start``."""
    node, folder = start, False
    while True:
        parent = module.parents.get(node)
        call = module.parents.get(parent) if parent is not None else None
        if isinstance(parent, ast.Attribute) and parent.attr in ("resolve", "absolute") and isinstance(call, ast.Call):
            node = call
        elif isinstance(parent, ast.Attribute) and parent.attr == "parent":
            path, node = path.parent, parent
        elif isinstance(parent, ast.Attribute) and parent.attr == "parents" and isinstance(call, ast.Subscript):
            level = call.slice
            if not (isinstance(level, ast.Constant) and isinstance(level.value, int)):
                raise module.fail(call, "parents[] with an index that is not a literal")
            path, node = path.parents[level.value], call
        elif (
            isinstance(parent, ast.Attribute)
            and parent.attr in ("with_name", "joinpath")
            and isinstance(call, ast.Call)
        ):
            parts = _parts(module, call.args, call)
            if parent.attr == "with_name":
                path = path.parent
            for part in parts:
                path, folder = _append(module, call, path, folder, part)
            node = call
        elif isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Div) and parent.left is node:
            path, folder = _append(module, parent, path, folder, _value(module, parent.right, parent))
            node = parent
        else:
            return path, folder, node


def _uses(module: _Module, package_root: str) -> Iterator[Use]:
    _scan_imports(module)
    own = PurePosixPath(package_root.replace(".", "/"))
    module_file = own / module.path.name
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Name) and node.id == "__file__":
            call = module.parents.get(node)
            if not (
                isinstance(call, ast.Call)
                and call.args == [node]
                and isinstance(call.func, ast.Name)
                and call.func.id in module.path_classes
            ):
                raise module.fail(call or node, "__file__ used other than as Path(__file__)")
            path, folder, end = _walk_path(module, call, module_file)
            if path == module_file and not folder:
                raise module.fail(end, "Path(__file__) that names no file beside the module")
            yield Use(module.path, node.lineno, path, folder)
        elif isinstance(node, ast.Call) and (
            (isinstance(node.func, ast.Name) and node.func.id in module.files_functions)
            or (
                isinstance(node.func, ast.Attribute)
                and node.func.attr == "files"
                and _is_resources_module(module, node.func.value)
            )
        ):
            if len(node.args) != 1:
                raise module.fail(node, "files() without exactly one argument")
            anchor = node.args[0]
            if isinstance(anchor, ast.Name) and anchor.id == "__name__":
                package = module.name
            else:
                package = _value(module, anchor, node)  # type: ignore[assignment]
            if not isinstance(package, str):
                raise module.fail(node, "files() of something that is not a package name")
            path, folder, _ = _walk_path(module, node, PurePosixPath(package.replace(".", "/")))
            yield Use(module.path, node.lineno, path, folder)
        elif isinstance(node, ast.Attribute) and _is_resources_module(module, node.value) and node.attr != "files":
            raise module.fail(node, f"importlib.resources.{node.attr} is not understood (use files())")


def runtime_uses(packages: dict[str, Path] | None = None) -> list[Use]:
    """Every place a shipped module reads package data (raises :class:`UnresolvedPattern`)."""
    packages = shipped_packages() if packages is None else packages
    found: list[Use] = []
    for name, folder in sorted(packages.items()):
        for path in sorted(folder.glob("*.py")):
            module_name = name if path.stem == "__init__" else f"{name}.{path.stem}"
            found.extend(_uses(_Module(path, module_name, name), name))
    return found


def runtime_files(packages: dict[str, Path] | None = None) -> dict[str, Use]:
    """Each file (wheel-relative, posix) the packages may open at run time -> the first code that reads it.

    A folder read through a parameter contributes every file in it; a named file or folder that is
    not in the source tree raises: the code would fail from the tree too.
    """
    packages = shipped_packages() if packages is None else packages
    roots = {name.replace(".", "/"): folder for name, folder in packages.items()}
    files: dict[str, Use] = {}
    for use in runtime_uses(packages):
        top = next((key for key in sorted(roots, key=len, reverse=True) if use.path.is_relative_to(key)), None)
        if top is None:
            raise UnresolvedPattern(f"{use.module}:{use.line}: {use.path} is outside the shipped packages")
        source = roots[top] / use.path.relative_to(top)
        if source.is_file() and not use.folder:
            files.setdefault(str(use.path), use)
        elif source.is_dir():
            inside = [p for p in sorted(source.rglob("*")) if p.is_file() and "__pycache__" not in p.parts]
            if not inside:
                raise UnresolvedPattern(f"{use.module}:{use.line}: the folder {use.path} is empty")
            for path in inside:
                files.setdefault(str(use.path / path.relative_to(source).as_posix()), use)
        else:
            raise UnresolvedPattern(f"{use.module}:{use.line}: {use.path} does not exist in the source tree")
    return files
