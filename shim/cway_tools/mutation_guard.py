"""What the generic ``run_graphql_mutation`` tool accepts: one schema-valid, bounded mutation.

The counterpart of :func:`cway_tools.schema.check_read_only` for writes. Needs graphql-core, so
the tool imports it only when it runs (the shim's start stays free of it).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    ListTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    TypeNode,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values

from cway_tools.exclusions import excluded_reason
from cway_tools.query_limits import MAX_DEPTH, MAX_DOCUMENT_CHARS, MAX_TOKENS, QueryRejected
from cway_tools.schema import _format, _pick_operation, _Walker, get_schema

#: Root fields per document: each is a separate change, and all of them are shown to the user.
MAX_MUTATIONS = 5
MAX_VARIABLES_CHARS = 20_000


@dataclass(frozen=True, slots=True)
class CheckedMutation:
    text: str
    operation_name: str | None
    operations: tuple[str, ...]  # the root fields, i.e. Cway's mutation names


def check_mutation(
    text: str, operation_name: str | None = None, variables: Mapping[str, Any] | None = None
) -> CheckedMutation:
    """Accept one mutation operation that validates against Cway's schema, or raise :class:`QueryRejected`."""
    if not text.strip():
        raise QueryRejected("The mutation is empty.")
    if len(text) > MAX_DOCUMENT_CHARS:
        raise QueryRejected(f"The document is {len(text)} characters; the limit is {MAX_DOCUMENT_CHARS}.")
    if len(json.dumps(variables or {}, default=str)) > MAX_VARIABLES_CHARS:
        raise QueryRejected(f"The variables are over {MAX_VARIABLES_CHARS} characters.")
    try:
        document = parse(text, max_tokens=MAX_TOKENS)
    except GraphQLError as exc:
        raise QueryRejected(f"Syntax error: {_format(exc)}") from exc
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    operation = _pick_operation(operations, operation_name)
    if len(operations) != 1 or operation.operation is not OperationType.MUTATION:
        raise QueryRejected(
            "Send exactly one mutation operation (use graphql_query to read; subscriptions are not available)."
        )
    errors = validate(get_schema(), document, max_errors=10)
    if errors:
        raise QueryRejected("The mutation does not match Cway's schema: " + "; ".join(_format(e) for e in errors))
    roots = tuple(s.name.value for s in operation.selection_set.selections if isinstance(s, FieldNode))
    if len(roots) != len(operation.selection_set.selections):
        raise QueryRejected("Name each mutation directly in the operation (no fragments at the top level).")
    if len(roots) > MAX_MUTATIONS:
        raise QueryRejected(f"The document runs {len(roots)} mutations; the limit is {MAX_MUTATIONS}.")
    for root in roots:
        reason = excluded_reason(root)
        if reason:
            raise QueryRejected(f"{root} is not available through this assistant: {reason}")
    depth = _Walker(document).depth(operation.selection_set, level=1)
    if depth > MAX_DEPTH:
        raise QueryRejected(f"The mutation nests {depth} levels deep; the limit is {MAX_DEPTH}.")
    coerced = get_variable_values(get_schema(), operation.variable_definitions or (), dict(variables or {}), 10)
    if isinstance(coerced, list):
        raise QueryRejected("Bad variables: " + "; ".join(_format(e) for e in coerced))
    for definition in operation.variable_definitions or ():
        key = definition.variable.name.value
        if _is_uuid_type(definition.type) and not _all_uuids((variables or {}).get(key)):
            raise QueryRejected(f"Bad variables: ${key} must be UUIDs such as 0000000d-0000-4000-8000-000000000001.")
    name = operation.name.value if operation.name else None
    return CheckedMutation(text=text, operation_name=operation_name or name, operations=roots)


def _is_uuid_type(node: TypeNode) -> bool:
    """Cway's ``UUID`` scalar (possibly in lists): the schema alone accepts any string for it."""
    while isinstance(node, NonNullTypeNode | ListTypeNode):
        node = node.type
    return getattr(getattr(node, "name", None), "value", None) == "UUID"


def _all_uuids(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, list):
        return all(_all_uuids(v) for v in value)
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
