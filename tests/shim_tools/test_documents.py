"""Every GraphQL document the product sends is valid against Cway's real schema, and the tools
send nothing that is not in the registry (the failure of the earlier public Cway MCP server)."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from graphql import GraphQLError, OperationDefinitionNode, parse

from cway_tools import registry as cway_tools
from cway_tools.documents import ALL_DOCUMENTS, Document
from cway_tools.schema import schema_sdl, validate_document
from tests.helpers.repo import shared_dir
from tests.helpers.summary import summary_line

SHIM_DIR = Path(cway_tools.__file__).parent
KNOWN_UNUSED = {"Organisations", "RejectArtworks"}
LOOKS_LIKE_GRAPHQL = re.compile(r"^\s*(query|mutation|subscription|fragment)\b|^\s*\{\s*[_A-Za-z]\w*\s*[{(]")


def test_every_registered_document_is_valid_against_the_real_schema() -> None:
    """One test over the whole registry: validates, is one named operation, kind and name agree."""
    assert len(ALL_DOCUMENTS) >= 30
    problems: dict[str, list[str]] = {}
    for name, doc in ALL_DOCUMENTS.items():
        errors = validate_document(doc.text)
        operations = [d for d in parse(doc.text).definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) != 1:
            errors.append(f"expected exactly one operation, found {len(operations)}")
        else:
            (op,) = operations
            if op.name is None or op.name.value != name or doc.name != name:
                errors.append(f"operation name {op.name and op.name.value!r} != registry key {name!r}")
            if op.operation.value != doc.kind:
                errors.append(f"kind {doc.kind!r} but the operation is a {op.operation.value}")
        if errors:
            problems[name] = errors
    assert problems == {}


def test_validation_catches_what_the_old_server_sent() -> None:
    """The validator really rejects the historical mistakes (so the test above can fail)."""
    assert validate_document("query { loginInfo { email } }")
    assert validate_document('query { searchArtworks(query: "x") { id } }')
    assert validate_document('query { projectMembers(projectId: "x") { id } }')
    assert validate_document('mutation { updateProject(id: "x") }')
    assert validate_document("query {") and validate_document("query {")[0].startswith("Syntax error")


def test_entry_points_from_the_brief_are_covered() -> None:
    """Each Cway entry point the product is meant to use appears in some registered document."""
    wanted = {
        "loginInfo", "organisations", "statistics", "status", "projects", "project", "projectHistory",
        "openAIProjectSummary", "projectHistorySummary", "plannerProjects", "openProjectsCountByMonth",
        "artwork", "artworksToApprove", "artworksToUpload", "artworkHistory", "artworkAIAnalysis",
        "approveArtwork", "rejectArtwork", "approveArtworks", "rejectArtworks", "createProject",
        "closeProjects", "reopenProjects", "findUsersPage", "getUser", "tree", "folder", "itemsForFolder",
        "findShares", "share", "createDownloadJob", "tempFileDownloadUrl",
        # the approver's and project manager's workflows (issue 11)
        "remindApprover", "revokeArtworkApprovalOrRejection", "addCorrection", "createArtwork",
        "assignUsersToArtworks", "updateProjectNotes", "setProjectManager", "organisation", "download",
    }  # fmt: skip
    roots: set[str] = set()
    for doc in ALL_DOCUMENTS.values():
        for definition in parse(doc.text).definitions:
            if isinstance(definition, OperationDefinitionNode):
                roots |= {sel.name.value for sel in definition.selection_set.selections if hasattr(sel, "name")}
    assert wanted - roots == set()


def test_shipped_schema_is_the_reference_schema(request: pytest.FixtureRequest) -> None:
    """The schema the shim ships (and validates against) equals the reference copy of Cway's, where that
    copy lies beside the repository (``shared/cway/``). The shipped copy is the source of truth: a clone
    without the reference skips this, and the run summary says so; ``make update-schema`` refreshes it."""
    shared = shared_dir()
    reference = shared / "cway" / "schema.graphql" if shared else None
    if reference is None or not reference.is_file():
        why = "no shared/cway/schema.graphql beside the repository"
        summary_line(request, "reference schema", f"not compared ({why}; the shipped copy is the source of truth)")
        pytest.skip(why)
    summary_line(request, "reference schema", f"the shipped schema was compared with {reference}")
    assert schema_sdl() == reference.read_text(encoding="utf-8")


def _document_names_used(path: Path) -> set[str]:
    """Names referenced as ``D.<NAME>`` (the tools' way of naming documents) in one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("D", "documents")
    }


#: Modules besides the tools that send documents: the resource reads and the follows.
OTHER_SENDERS = ("cway_tools.object_resources", "cway_mcp_shim.live")


def test_tools_use_only_registered_documents() -> None:
    """Statically: every ``D.X`` in a tool module is a registered Document (not an ad-hoc string)."""
    from cway_tools import documents

    registered = {id(d) for d in ALL_DOCUMENTS.values()}
    used: dict[str, set[str]] = {}
    for module in cway_tools.TOOL_MODULES:
        used[module.__name__] = _document_names_used(Path(str(module.__file__))) - {"Document"}
    for name in OTHER_SENDERS:
        used[name] = _document_names_used(Path(str(importlib.import_module(name).__file__))) - {"Document"}
    no_documents = {
        "cway_tools.tools.query",
        "cway_tools.tools.pending",
        "cway_tools.tools.generic_mutation",
    }  # free text; jobs of other tools
    assert all(names for module, names in used.items() if module not in no_documents), used
    sent: set[str] = set()
    for module_name, names in used.items():
        for name in names:
            value = getattr(documents, name, None)
            assert isinstance(value, Document), f"{module_name} uses D.{name}, which is not a Document"
            assert id(value) in registered, f"{module_name} uses D.{name}, which is not in ALL_DOCUMENTS"
            sent.add(value.name)
    # Registered on purpose but not sent by any tool (see documents.py for why each one waits).
    assert set(ALL_DOCUMENTS) - sent == KNOWN_UNUSED


def test_no_graphql_text_outside_the_registry() -> None:
    """No shim module (ours or the runtime's) carries its own GraphQL string literal."""
    offenders: list[str] = []
    for path in sorted(SHIM_DIR.rglob("*.py")):
        if path.name.startswith("documents"):  # the registry itself (documents.py, documents_*.py)
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and LOOKS_LIKE_GRAPHQL.match(node.value):
                try:
                    parse(node.value)
                except GraphQLError:
                    continue
                offenders.append(f"{path.name}:{node.lineno}: {node.value[:60]!r}")
    assert offenders == []


def test_no_two_document_modules_define_the_same_constant() -> None:
    """``documents.py`` star-imports its sibling modules, so a name defined twice silently sends the
    other module's operation (it happened: two CHANGE_ARTWORK_CATEGORY constants, one per module)."""
    import ast as _ast
    from pathlib import Path as _Path

    import cway_mcp_shim

    seen: dict[str, str] = {}
    clashes = []
    for path in sorted(_Path(cway_mcp_shim.__file__).parent.glob("documents*.py")):
        for node in _ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, _ast.Assign):
                for target in node.targets:
                    if isinstance(target, _ast.Name) and target.id.isupper():
                        if target.id in seen:
                            clashes.append(f"{target.id}: {seen[target.id]} and {path.name}")
                        seen[target.id] = path.name
    assert not clashes, clashes


GRAPHQL_DIR = SHIM_DIR / "graphql"


def test_every_graphql_file_is_loaded_by_exactly_one_constant_and_every_fragment_is_used() -> None:
    """A file nobody loads is an operation nobody sends (or a forgotten line in documents.py); two
    constants for one file are two names for one call; an unused fragment is dead text."""
    from cway_tools import documents

    operations = {p.stem for p in GRAPHQL_DIR.glob("*/*.graphql") if p.parent.name != "fragments"}
    constants: dict[str, list[str]] = {}
    for name, value in vars(documents).items():
        if isinstance(value, Document):
            constants.setdefault(value.name, []).append(name)
    assert set(constants) == operations
    assert {name: names for name, names in constants.items() if len(names) > 1} == {}
    assert len(operations) == len(list(GRAPHQL_DIR.glob("*/*.graphql"))) - len(list(GRAPHQL_DIR.glob("fragments/*")))
    used = {f for doc in ALL_DOCUMENTS.values() for f in re.findall(r"^fragment (\w+) on", doc.text, re.M)}
    assert used == {p.stem for p in GRAPHQL_DIR.glob("fragments/*.graphql")}


def test_a_file_is_read_only_as_the_operation_its_name_says() -> None:
    from cway_tools.document_registry import operation

    assert operation("core/Artwork").text.startswith("query Artwork(")
    with pytest.raises(ValueError, match="must hold one operation named ArtworkRow"):
        _ = operation("fragments/ArtworkRow").text  # a fragment is not an operation (read on first use)
    with pytest.raises(FileNotFoundError):
        _ = operation("core/NoSuchOperation").text


def test_importing_the_documents_reads_no_file() -> None:
    """Every shim start imports documents.py; the files are read when a document is first sent."""
    probe = (
        "import cway_tools.documents as d, cway_tools.document_registry as r; "
        "before = r._compose.cache_info().currsize; d.ARTWORK.text; "
        "print(before, r._compose.cache_info().currsize)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["0", "1"]
