"""GraphQL execution against the REAL Cway schema.

Every document is parsed and validated with graphql-core against the production SDL before
anything runs, so a query that would fail at app.cway.se fails here too. Parse and
validation errors answer **HTTP 200 with ``errors`` and no ``data``** (graphql-java style,
which is what Cway runs); only requests that are not GraphQL at all (no JSON, no ``query``)
get HTTP 400. ``UUID`` arguments are checked for UUID syntax, as graphql-java's scalar does.

Fields without a resolver read the same-named key of the parent record; when the record
lacks it the emulator answers the type's zero value (null if nullable, ``[]``/``""``/``0``/
``false``/first enum value/empty object otherwise) instead of crashing. Mutations without a
resolver are refused with "not implemented by the emulator" rather than silently succeeding.
Subscriptions are refused over HTTP POST; the WebSocket endpoint (``graphql_ws``) runs them,
through the same :func:`prepare`, so they too must validate against the real schema.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib.resources import files
from inspect import isawaitable
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationType,
    build_schema,
    execute,
    get_operation_ast,
    is_abstract_type,
    is_enum_type,
    is_list_type,
    is_non_null_type,
    is_scalar_type,
    parse,
    subscribe,
    validate,
)
from graphql.language import StringValueNode, ValueNode

import cway_emulator.resolvers_ai as resolvers_ai
import cway_emulator.resolvers_artworks as resolvers_artworks
import cway_emulator.resolvers_catalogue as resolvers_catalogue
import cway_emulator.resolvers_downloads as resolvers_downloads
import cway_emulator.resolvers_folders as resolvers_folders
import cway_emulator.resolvers_identity as resolvers_identity
import cway_emulator.resolvers_lifecycle as resolvers_lifecycle
import cway_emulator.resolvers_live as resolvers_live
import cway_emulator.resolvers_media as resolvers_media
import cway_emulator.resolvers_people as resolvers_people
import cway_emulator.resolvers_projects as resolvers_projects
import cway_emulator.resolvers_uploads as resolvers_uploads
import cway_emulator.resolvers_workflows as resolvers_workflows
from cway_emulator.gql_context import Ctx, Resolver, merge

SCALAR_ZERO: dict[str, Any] = {
    "String": "",
    "Int": 0,
    "Float": 0.0,
    "Boolean": False,
    "Long": 0,
    "BigDecimal": "0",
    "UUID": "00000000-0000-0000-0000-000000000000",
    "Date": "1970-01-01",
    "LocalDate": "1970-01-01",
    "DateTime": "1970-01-01T00:00:00Z",
    "LocalDateTime": "1970-01-01T00:00:00",
}

RESOLVERS: dict[str, dict[str, Resolver]] = merge(
    resolvers_identity.RESOLVERS,
    resolvers_projects.RESOLVERS,
    resolvers_artworks.RESOLVERS,
    resolvers_media.RESOLVERS,
    resolvers_ai.RESOLVERS,
    resolvers_workflows.RESOLVERS,
    resolvers_downloads.RESOLVERS,
    resolvers_lifecycle.RESOLVERS,
    resolvers_people.RESOLVERS,
    resolvers_folders.RESOLVERS,
    resolvers_catalogue.RESOLVERS,
    resolvers_uploads.RESOLVERS,
    resolvers_live.RESOLVERS,
)


def schema_sdl() -> str:
    return (files("cway_contract") / "data" / "schema.graphql").read_text(encoding="utf-8")


def _parse_uuid(value: Any) -> str:
    if not isinstance(value, str):
        raise GraphQLError("UUID must be a string")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise GraphQLError(f"Invalid UUID: {value!r}") from None


def _parse_uuid_literal(node: ValueNode, _variables: Any = None) -> str:
    if not isinstance(node, StringValueNode):
        raise GraphQLError("UUID must be a string literal")
    return _parse_uuid(node.value)


@functools.cache
def cway_schema() -> GraphQLSchema:
    """The production schema with the emulator's resolvers bound (built once per process)."""
    schema = build_schema(schema_sdl())
    uuid_type: Any = schema.type_map["UUID"]
    uuid_type.parse_value = _parse_uuid
    uuid_type.parse_literal = _parse_uuid_literal
    for type_name, fields in RESOLVERS.items():
        gql_type: Any = schema.type_map[type_name]
        for field_name, resolver in fields.items():
            gql_type.fields[field_name].resolve = resolver
    for table in (resolvers_ai.SUBSCRIPTIONS, resolvers_downloads.SUBSCRIPTIONS, resolvers_live.SUBSCRIPTIONS):
        for type_name, fields in table.items():
            gql_type = schema.type_map[type_name]
            for field_name, source in fields.items():
                gql_type.fields[field_name].subscribe = source
    return schema


def zero_value(info: GraphQLResolveInfo) -> Any:
    gtype = info.return_type
    if not is_non_null_type(gtype):
        return None
    inner: Any = gtype.of_type
    if is_list_type(inner):
        return []
    if is_scalar_type(inner):
        return SCALAR_ZERO.get(inner.name, "")
    if is_enum_type(inner):
        return next(iter(inner.values))
    if is_abstract_type(inner):
        return {"__typename": info.schema.get_possible_types(inner)[0].name}
    return {}


def default_resolver(source: Any, info: GraphQLResolveInfo, **_args: Any) -> Any:
    if info.parent_type.name == "Mutation":
        raise GraphQLError(f"Mutation {info.field_name} is not implemented by the Cway emulator")
    if isinstance(source, dict):
        value = source.get(info.field_name)
        if value is not None:
            return value
    return zero_value(info)


@dataclass(frozen=True)
class Prepared:
    """A request that parsed and validated against the real schema, ready to run."""

    document: DocumentNode
    variables: dict[str, Any] | None
    operation_name: str | None
    is_subscription: bool


def prepare(body: Any) -> Prepared | tuple[int, dict[str, Any]]:
    """Parse and validate ``{query, variables, operationName}``; an error is ``(status, payload)``.

    One function for HTTP and WebSocket, so a subscription is held to the same schema as a query.
    """
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return 400, {"errors": [{"message": "Request body must be JSON with a string 'query'"}]}
    variables = body.get("variables")
    op_name = body.get("operationName")
    if variables is not None and not isinstance(variables, dict):
        return 400, {"errors": [{"message": "'variables' must be an object"}]}
    if op_name is not None and not isinstance(op_name, str):
        return 400, {"errors": [{"message": "'operationName' must be a string"}]}
    schema = cway_schema()
    try:
        document = parse(body["query"])
    except GraphQLError as exc:
        return 200, {"errors": [exc.formatted]}
    errors = validate(schema, document)
    if errors:
        return 200, {"errors": [e.formatted for e in errors]}
    operation = get_operation_ast(document, op_name)
    is_subscription = operation is not None and operation.operation == OperationType.SUBSCRIPTION
    return Prepared(document, variables, op_name, is_subscription)


def execute_prepared(request: Prepared, ctx: Ctx) -> dict[str, Any]:
    """Run a query or mutation (synchronous resolvers only); the formatted result."""
    result = execute(
        cway_schema(),
        request.document,
        variable_values=request.variables,
        operation_name=request.operation_name,
        context_value=ctx,
        field_resolver=default_resolver,
    )
    if not hasattr(result, "formatted"):  # pragma: no cover - all resolvers are synchronous
        raise RuntimeError("asynchronous resolver result")
    return dict(result.formatted)


async def subscribe_prepared(request: Prepared, ctx: Ctx) -> AsyncIterator[dict[str, Any]] | dict[str, Any]:
    """Start a subscription: a stream of formatted results, or the formatted errors that stopped it."""
    outcome = subscribe(
        cway_schema(),
        request.document,
        variable_values=request.variables,
        operation_name=request.operation_name,
        context_value=ctx,
        field_resolver=default_resolver,
    )
    if isawaitable(outcome):
        outcome = await outcome
    if isinstance(outcome, ExecutionResult):
        return dict(outcome.formatted)
    return _formatted(outcome)


async def _formatted(stream: AsyncIterator[ExecutionResult]) -> AsyncIterator[dict[str, Any]]:
    try:
        async for result in stream:
            yield dict(result.formatted)
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


def execute_request(body: Any, ctx: Ctx) -> tuple[int, dict[str, Any], bool]:
    """Run one GraphQL-over-HTTP request; returns (status, payload, rejected_before_execution)."""
    request = prepare(body)
    if not isinstance(request, Prepared):
        status, payload = request
        return status, payload, True
    if request.is_subscription:
        return 200, {"errors": [{"message": "Subscriptions are not supported over HTTP POST"}]}, True
    return 200, execute_prepared(request, ctx), False
