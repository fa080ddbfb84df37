"""Every day-to-day Cway operation (issue 19) has a tool that sends it, or a documented exclusion.

Reads the real schema, the document registry, the registered tools and docs/mcp.md: a listed
operation with no tool and no exclusion fails here, and so does an exclusion that the docs do not
explain or that a document still sends.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from cway_tools import registry as cway_tools
from cway_tools.documents import ALL_DOCUMENTS
from cway_tools.exclusions import EXCLUDED as EXCLUDED_OPERATIONS
from cway_tools.exclusions import REASONS
from cway_tools.lazy_tools import LazyServer
from cway_tools.query_limits import QueryRejected
from cway_tools.schema import check_read_only, get_schema
from tests.helpers.repo import REPO
from tests.helpers.schema_coverage import coverage, root_fields
from tests.shim_tools.coverage_manifest import EXCLUDED, GENERIC, MANIFEST, PENDING, PENDING_OWNERS
from tests.shim_tools.coverage_manifest_media_people_catalogue import LEFT_TO_GENERIC_TOOL

DOCS = REPO / "docs" / "mcp.md"
ENTRIES = [(group, op, target) for group, ops in MANIFEST.items() for op, target in ops.items()]


def _tool_modules() -> dict[str, str]:
    """Tool name -> the module that registers it (tools are registered, not built: cheap)."""
    server = LazyServer(name="coverage")
    cway_tools.register_cway_tools(server, None)  # type: ignore[arg-type]  # registered, never called
    return {name: reg.fn.__module__ for name, reg in server.lazy_tools.registrations.items()}


def _documents_sent_by(tool: str, module_name: str) -> set[str]:
    """Operation names of the registered documents the tool's own function can reach as ``D.NAME``.

    Follows, transitively, the names its body uses that are functions or module-level constants of
    the same module (helpers such as ``_transition`` and tables such as ``CANCEL``), so a document
    used only by a sibling tool of the module does not count.
    """
    from cway_tools import documents

    path = Path(__import__(module_name, fromlist=["_"]).__file__ or "")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    defs: dict[str, ast.AST] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            defs.setdefault(node.name, node)
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    defs.setdefault(target.id, node)
    seen: set[str] = set()
    pending, found = [tool], set()
    while pending:
        name = pending.pop()
        if name in seen or name not in defs:
            continue
        seen.add(name)
        for node in ast.walk(defs[name]):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "D":
                found.add(node.attr)
            elif isinstance(node, ast.Name):
                pending.append(node.id)
    return {getattr(documents, n).name for n in found if hasattr(documents, n)}


TOOLS = _tool_modules()


def _schema_operations() -> set[str]:
    schema = get_schema()
    return {name for root in (schema.query_type, schema.mutation_type) if root for name in root.fields}


@pytest.mark.parametrize(("group", "operation", "target"), ENTRIES, ids=[f"{g}:{o}" for g, o, _ in ENTRIES])
def test_each_listed_operation_has_a_tool_that_sends_it_or_an_exclusion(
    group: str, operation: str, target: str
) -> None:
    assert operation in _schema_operations(), f"{operation} is not an operation of Cway's schema"
    if target == PENDING:
        assert group in PENDING_OWNERS, f"{operation}: only {sorted(PENDING_OWNERS)} may wait for a tool"
        return
    if target == EXCLUDED:
        assert operation in EXCLUDED_OPERATIONS, f"{operation} is marked excluded but not in exclusions.py"
        return
    if target == GENERIC:  # a mutation the generic tool may send (it refuses exclusions), with a reason
        schema = get_schema()
        assert schema.mutation_type is not None and operation in schema.mutation_type.fields, operation
        assert operation not in EXCLUDED_OPERATIONS and LEFT_TO_GENERIC_TOOL.get(operation), operation
        return
    assert target in TOOLS, f"{operation}: no tool {target!r} is registered"
    sent = {
        field
        for name in _documents_sent_by(target, TOOLS[target])
        for fields in root_fields([ALL_DOCUMENTS[name].text]).values()
        for field in fields
    }
    assert operation in sent, f"{target} ({TOOLS[target]}) sends no document with {operation}"


def test_every_exclusion_is_explained_in_the_docs_and_sent_by_nothing() -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("### What stays out, and why", 1)[1]
    listed = {m for m in re.findall(r"`(\w+)`", section)}
    assert set(EXCLUDED_OPERATIONS) <= listed, set(EXCLUDED_OPERATIONS) - listed
    for reason in REASONS.values():
        assert reason in section
    assert set(EXCLUDED_OPERATIONS) <= _schema_operations()
    sent = {f for fields in root_fields(d.text for d in ALL_DOCUMENTS.values()).values() for f in fields}
    assert not sent & set(EXCLUDED_OPERATIONS)


@pytest.mark.parametrize(
    "query",
    [
        "{ hubSpotCompanies { id } }",
        "{ organisation { webhooks { url bearerToken signingSecret } } }",
        "{ organisation { apiKeys { id } } }",
        "{ webhookEventTypes { name } }",
    ],
)
def test_graphql_query_refuses_what_is_out(query: str) -> None:
    with pytest.raises(QueryRejected, match="is not available through this assistant"):
        check_read_only(query)


def test_coverage_grew_by_the_lifecycle_and_project_operations() -> None:
    """The registry reaches every operation of the two groups built here (26 mutations beyond main's 15)."""
    kinds = {k.kind: k for k in coverage(get_schema(), [d.text for d in ALL_DOCUMENTS.values()])}
    mine = {op for group in ("artwork lifecycle", "projects") for op in MANIFEST[group]}
    assert mine <= kinds["mutation"].used
    assert len(kinds["mutation"].used) >= 15 + len(mine)
    print("schema coverage:", ", ".join(str(k) for k in kinds.values()))
