"""The media/people/catalogue coverage manifest tells the truth: every operation it maps to a tool
is a real Query/Mutation field of Cway's schema, is the root field of a registered document, and
that document is sent by the named tool's module; every excluded operation exists and has no tool;
and every root field the groups' document modules send is in the manifest."""

from __future__ import annotations

import ast
from pathlib import Path

from graphql import FieldNode, OperationDefinitionNode, build_schema, parse

import cway_tools as cway_tools_package
from cway_tools import registry as cway_tools
from cway_tools.document_registry import Document
from cway_tools.documents import ALL_DOCUMENTS
from cway_tools.schema import schema_sdl
from tests.shim_tools.coverage_manifest_media_people_catalogue import LEFT_TO_GENERIC_TOOL, TOOLS_BY_OPERATION
from tests.shim_tools.test_tools_listing import EXPECTED_TOOLS

SHIM_DIR = Path(cway_tools.__file__).parent


def root_fields(doc: Document) -> set[str]:
    (op,) = [d for d in parse(doc.text).definitions if isinstance(d, OperationDefinitionNode)]
    return {s.name.value for s in op.selection_set.selections if isinstance(s, FieldNode)}


def constants_sent_by(tool: str) -> set[str]:
    """The ``D.NAME`` documents the tool's function uses, itself or through the helpers it calls."""
    for path in (SHIM_DIR / "tools").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = {f.name: f for f in ast.walk(tree) if isinstance(f, (ast.AsyncFunctionDef, ast.FunctionDef))}
        if tool not in functions:
            continue
        found: set[str] = set()
        todo, seen = [tool], set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            for node in ast.walk(functions[name]):
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "D":
                    found.add(node.attr)
                elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in functions:
                    todo.append(node.func.id)
        return found
    raise AssertionError(f"no tool module defines {tool}")


#: The areas (folders of graphql/) this manifest covers.
GROUPS = ("media", "people", "catalogue")
GRAPHQL_DIR = Path(cway_tools_package.__file__).with_name("graphql")


def _area(doc: Document) -> str | None:
    """The folder of graphql/ that holds ``doc``'s file."""
    return next((p.parent.name for p in GRAPHQL_DIR.glob(f"*/{doc.name}.graphql")), None)


def test_every_mapped_operation_is_real_and_sent_by_its_tool() -> None:
    schema = build_schema(schema_sdl())
    fields = {**schema.query_type.fields, **schema.mutation_type.fields}  # type: ignore[union-attr]
    from cway_tools import documents

    by_constant = {n: d for n, d in vars(documents).items() if isinstance(d, Document)}
    for operation, tool in TOOLS_BY_OPERATION.items():
        assert operation in fields, operation
        assert tool in EXPECTED_TOOLS, tool
        sent = {c for c in constants_sent_by(tool) if c in by_constant}
        assert any(operation in root_fields(by_constant[c]) for c in sent), (operation, tool)
    for operation in LEFT_TO_GENERIC_TOOL:
        assert operation in fields and operation not in TOOLS_BY_OPERATION, operation
        assert not fields[operation].deprecation_reason, operation


def test_every_operation_the_groups_send_is_in_the_manifest() -> None:
    sent = {field for doc in ALL_DOCUMENTS.values() if _area(doc) in GROUPS for field in root_fields(doc)}
    # ``organisation`` is read here only for its teams and artwork categories; the organisation
    # group of the manifest owns that query.
    assert sent - set(TOOLS_BY_OPERATION) == {"organisation"}
