"""Cway's GraphQL schema: loading, document validation and the read-only guard.

The schema ships as package data (``cway_contract/data/schema.graphql``) so the shim can validate
before it spends a network round trip: a model that invents a field gets graphql-core's precise
message ("Cannot query field 'x' on type 'Project'. Did you mean ...?") instead of an opaque
Cway error. Building the schema costs ~100 ms, so it happens lazily, once per process, on the
first call that needs it — never at shim start-up; importing graphql-core itself costs another
~100 ms, so the tool modules import this module only inside the tools that validate.

:func:`check_read_only` is what makes the free-form ``graphql_query`` tool safe to expose: only
one query operation, validated, with depth, size and selection limits so a model cannot issue a
mutation or an accidental denial-of-service query against the user's organisation.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    build_schema,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values

from cway_tools.exclusions import EXCLUDED_FIELDS, excluded_reason
from cway_tools.query_limits import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_DOCUMENT_CHARS,
    MAX_FIELDS,
    MAX_TOKENS,
    SIDE_EFFECT_QUERY_FIELDS,
    QueryRejected,
)

SCHEMA_RESOURCE = ("cway_contract", "data", "schema.graphql")

_lock = threading.Lock()
_schema: GraphQLSchema | None = None


def schema_sdl() -> str:
    """The schema text exactly as shipped (also served as the ``cway://schema.graphql`` resource)."""
    package, *parts = SCHEMA_RESOURCE
    return resources.files(package).joinpath(*parts).read_text(encoding="utf-8")


def get_schema() -> GraphQLSchema:
    """The parsed schema, built on first use and cached for the life of the process."""
    global _schema
    if _schema is None:
        with _lock:
            if _schema is None:
                _schema = build_schema(schema_sdl())
    return _schema


def _format(error: GraphQLError) -> str:
    where = ", ".join(f"line {loc.line} col {loc.column}" for loc in error.locations or [])
    return f"{error.message} ({where})" if where else error.message


def validate_document(text: str) -> list[str]:
    """Parse and validate ``text`` against Cway's schema; return readable errors (empty = valid)."""
    try:
        document = parse(text)
    except GraphQLError as exc:
        return [f"Syntax error: {_format(exc)}"]
    return [_format(err) for err in validate(get_schema(), document)]


@dataclass(frozen=True, slots=True)
class CheckedQuery:
    """A document that passed :func:`check_read_only`, with the operation that will run."""

    text: str
    operation_name: str | None
    depth: int
    fields: int


#: How many distinct (document, operation name) pairs keep their verdict. A model tends to send
#: the same few queries again and again (and a hosted server sees many users send the same ones);
#: parsing and validating against the whole schema was a fifth of a remote tool call's CPU.
VERDICT_CACHE_SIZE = 256


def check_read_only(
    text: str, operation_name: str | None = None, variables: Mapping[str, Any] | None = None
) -> CheckedQuery:
    """Accept one read-only, schema-valid, bounded query operation or raise :class:`QueryRejected`.

    Order matters: cheap size checks before parsing, parsing with a token cap (so a huge
    document cannot make the parser work hard), schema validation before the structural
    walk (validation rejects fragment cycles, which the walk relies on), and variables coerced
    against their declared types so a wrong variable fails here with graphql-core's message.
    Everything but the variables depends on the text alone, so its verdict is cached.
    """
    if not text.strip():
        raise QueryRejected("The query is empty.")
    if len(text) > MAX_DOCUMENT_CHARS:
        raise QueryRejected(f"The query is {len(text)} characters; the limit is {MAX_DOCUMENT_CHARS}.")
    verdict = _document_verdict(text, operation_name)
    if isinstance(verdict, str):
        raise QueryRejected(verdict)
    coerced = get_variable_values(get_schema(), verdict.operation.variable_definitions or (), dict(variables or {}), 10)
    if isinstance(coerced, list):
        raise QueryRejected("Bad variables: " + "; ".join(_format(e) for e in coerced))
    return verdict.checked


@dataclass(frozen=True, slots=True)
class _Accepted:
    operation: OperationDefinitionNode
    checked: CheckedQuery


@lru_cache(maxsize=VERDICT_CACHE_SIZE)
def _document_verdict(text: str, operation_name: str | None) -> _Accepted | str:
    """What the text alone decides: the accepted operation, or the refusal's message (a fresh
    exception is raised per call: a cached exception object would grow its traceback)."""
    try:
        return _accept_document(text, operation_name)
    except QueryRejected as exc:
        return str(exc)


def _accept_document(text: str, operation_name: str | None) -> _Accepted:
    try:
        document = parse(text, max_tokens=MAX_TOKENS)
    except GraphQLError as exc:
        raise QueryRejected(f"Syntax error: {_format(exc)}") from exc

    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    operation = _pick_operation(operations, operation_name)
    # The whole text goes to Cway, so a mutation next to the picked query would reach it too, and
    # only Cway's handling of ``operationName`` would keep it from running: refuse the document.
    writing = next((op for op in operations if op.operation is not OperationType.QUERY), None)
    if writing is not None:
        kind = writing.operation.value
        raise QueryRejected(
            f"Only read-only queries are allowed here; this document contains a {kind}. "
            "Use the dedicated tools (approve_artwork, reject_artwork, close_projects, ...) to change data."
        )

    errors = validate(get_schema(), document, max_errors=10)
    if errors:
        raise QueryRejected("The query does not match Cway's schema: " + "; ".join(_format(e) for e in errors))

    walker = _Walker(document)
    depth = walker.depth(operation.selection_set, level=1, root=True)
    if depth > MAX_DEPTH:
        raise QueryRejected(f"The query nests {depth} levels deep; the limit is {MAX_DEPTH}. Select fewer levels.")
    name = operation.name.value if operation.name else None
    checked = CheckedQuery(text=text, operation_name=operation_name or name, depth=depth, fields=walker.fields)
    return _Accepted(operation=operation, checked=checked)


def _pick_operation(operations: list[OperationDefinitionNode], operation_name: str | None) -> OperationDefinitionNode:
    if not operations:
        raise QueryRejected("The document contains no operation (only fragments?).")
    if operation_name is not None:
        matching = [op for op in operations if op.name and op.name.value == operation_name]
        if not matching:
            names = ", ".join(op.name.value for op in operations if op.name) or "none named"
            raise QueryRejected(f"No operation named {operation_name!r} in the document (found: {names}).")
        return matching[0]
    if len(operations) > 1:
        raise QueryRejected("The document has several operations; pass operation_name to pick one.")
    return operations[0]


class _Walker:
    """Measures a validated operation with fragments expanded: depth, field and alias counts.

    Counting stops as soon as a limit is exceeded, so a "fragment bomb" (fragments spreading
    each other many times) costs at most MAX_FIELDS steps.
    """

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.fields = 0
        self.aliases = 0

    def depth(self, selection_set: SelectionSetNode | None, level: int, root: bool = False) -> int:
        if selection_set is None:
            return level - 1
        deepest = level - 1
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self._count(selection, root)
                deepest = max(deepest, self.depth(selection.selection_set, level + 1))
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, self.depth(selection.selection_set, level, root))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]  # validation guarantees it exists
                deepest = max(deepest, self.depth(fragment.selection_set, level, root))
        return deepest

    def _count(self, field: FieldNode, root: bool) -> None:
        self.fields += 1
        if field.alias is not None:
            self.aliases += 1
        if root and field.name.value in SIDE_EFFECT_QUERY_FIELDS:
            raise QueryRejected(f"{field.name.value} has side effects and is not available through graphql_query.")
        reason = excluded_reason(field.name.value) if root else EXCLUDED_FIELDS.get(field.name.value)
        if reason:
            raise QueryRejected(f"{field.name.value} is not available through this assistant: {reason}")
        if self.fields > MAX_FIELDS:
            raise QueryRejected(f"The query selects more than {MAX_FIELDS} fields; select fewer.")
        if self.aliases > MAX_ALIASES:
            raise QueryRejected(f"The query uses more than {MAX_ALIASES} aliases; use fewer.")
