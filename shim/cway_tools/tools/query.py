"""The long tail: a guarded, read-only ``graphql_query`` tool and the schema as an MCP resource.

The dedicated tools cover what people usually ask; everything else in Cway's 65 queries is
reachable through ``graphql_query``. It is safe to expose because :func:`check_read_only`
refuses anything but one bounded, schema-valid query, and because the answer is capped so a
broad query cannot flood the model's context. The schema resource lets a client (or the model)
read the exact types instead of guessing field names.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from cway_tools.gateway_protocol import CwayGateway
from cway_tools.query_limits import MAX_DEPTH, MAX_DOCUMENT_CHARS, MAX_FIELDS, QueryRejected
from cway_tools.tool_support import Out, Username, read_only, tool_result

#: The toolset these tools come in (``CWAY_TOOLSETS``, toolsets.py).
TOOLSET = "admin"
DEFAULT_TOOLS: frozenset[str] = frozenset()


SCHEMA_URI = "cway://schema.graphql"
SCHEMA_MIME = "application/graphql"
#: Largest answer handed back to the model (characters of compact JSON).
MAX_RESULT_CHARS = 100_000


GRAPHQL_QUERY_DESCRIPTION = f"""\
Run a read-only GraphQL query against Cway for anything the other tools do not cover.

Prefer the dedicated tools (list_projects, get_artwork, ...); use this for the long tail, e.g. \
articles, print specifications, organisation settings. The query is validated against Cway's \
schema first: read the resource {SCHEMA_URI} for exact type, field and argument names (errors \
name the wrong field and suggest the right one). Limits: queries only, one operation (or pick \
one with operation_name), nesting depth {MAX_DEPTH}, at most {MAX_FIELDS} selected fields, \
{MAX_DOCUMENT_CHARS} characters, answers up to {MAX_RESULT_CHARS} characters - narrow the \
selection or page (paging: {{page, pageSize}}, page starts at 0) if refused. Introspection works \
within the same limits, but the schema resource is the better source. Returns Cway's `data` object."""


class QueryResult(Out):
    operation_name: str | None = None
    data: dict[str, Any] = Field(description="The GraphQL `data` object exactly as Cway returned it.")


def register(server: MCPServer, gateway: CwayGateway) -> None:
    """Register ``graphql_query`` on ``server``."""

    @server.tool(title="Read-only GraphQL query", annotations=read_only(), description=GRAPHQL_QUERY_DESCRIPTION)
    async def graphql_query(
        query: Annotated[str, Field(description="One GraphQL query operation (no mutations or subscriptions).")],
        variables: Annotated[
            dict[str, Any] | None, Field(description="Values for the query's $variables, as a JSON object.")
        ] = None,
        operation_name: Annotated[
            str | None, Field(description="Which operation to run when the document defines several.")
        ] = None,
        username: Username = None,
    ) -> Annotated[CallToolResult, QueryResult]:
        from cway_tools.schema import check_read_only  # graphql-core: loaded on first use, not at start

        try:
            checked = check_read_only(query, operation_name, variables)
        except QueryRejected as exc:
            raise ToolError(str(exc)) from None
        data = await gateway.execute_text(checked.text, variables or None, checked.operation_name, username=username)
        size = len(json.dumps(data, separators=(",", ":"), default=str))
        if size > MAX_RESULT_CHARS:
            raise ToolError(
                f"The answer is {size} characters, over the {MAX_RESULT_CHARS} limit. "
                "Select fewer fields, or use paging arguments (paging: {page, pageSize})."
            )
        return tool_result(QueryResult(operation_name=checked.operation_name, data=data))


def register_resources(server: MCPServer) -> None:
    """Expose the schema Cway is validated against as ``cway://schema.graphql``."""

    @server.resource(
        SCHEMA_URI,
        name="cway-schema",
        title="Cway GraphQL schema",
        description=(
            "The Cway GraphQL schema (SDL) every query is validated against: read it to find exact type, "
            "field and argument names for graphql_query."
        ),
        mime_type=SCHEMA_MIME,
    )
    def cway_schema() -> str:
        from cway_tools.schema import schema_sdl

        return schema_sdl()
