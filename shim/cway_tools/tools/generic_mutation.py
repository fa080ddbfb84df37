"""``run_graphql_mutation``: any other change a person needs, never without their say-so.

The dedicated tools cover the day-to-day operations; Cway has ~190 mutations and people need the
odd one nobody wrapped. This tool sends one schema-valid mutation (:mod:`mutation_guard`), and
only after the person confirmed it in a form that shows the operation and its variables. So:

* clients that cannot show a form (no form elicitation) are refused: there is nobody to ask,
  and a model must not be the one that says yes;
* operations listed in :mod:`cway_tools.exclusions` (billing, API keys, webhooks...) are refused;
* read-only mode (``CWAY_READ_ONLY`` / ``--read-only``) never lists it, whatever its annotations
  say: :mod:`cway_tools.toolsets` leaves it out by name.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from cway_tools import request_scope
from cway_tools.confirm import confirm_change
from cway_tools.gateway_protocol import CwayGateway
from cway_tools.tool_support import Out, Username, tool_result, writes

TOOLSET = "admin"

MAX_RESULT_CHARS = 20_000
MAX_SHOWN_VARIABLES = 4_000

DESCRIPTION = """\
Run one Cway GraphQL mutation that no other tool covers, after the user confirms it in a form \
showing the operation and variables. Prefer the dedicated tools. Validated against Cway's schema \
(read cway://schema.graphql); one operation, at most 5 mutation fields. Needs a client that can \
ask the user; billing, API keys, webhooks and similar are refused."""


class MutationResult(Out):
    operations: list[str] = Field(description="The Cway mutations that ran.")
    confirmed_by_user: bool
    data: dict[str, Any] = Field(description="The GraphQL `data` object as Cway returned it.")


def _question(operations: tuple[str, ...], text: str, variables: dict[str, Any] | None, account: str | None) -> str:
    shown = json.dumps(variables or {}, indent=2, sort_keys=True, default=str)
    if len(shown) > MAX_SHOWN_VARIABLES:
        shown = shown[:MAX_SHOWN_VARIABLES] + "\n… (truncated)"
    who = f" as {account}" if account else ""
    return (
        f"Run the Cway mutation {', '.join(operations)}{who}?\n\n{text.strip()}\n\nVariables:\n{shown}\n\n"
        "This changes data in Cway."
    )


def register(server: MCPServer, gateway: CwayGateway) -> None:
    """Register ``run_graphql_mutation`` on ``server`` (read-only mode leaves it out: toolsets.py)."""

    @server.tool(
        title="Run a GraphQL mutation (asks the user)",
        annotations=writes(destructive=True, idempotent=False),
        description=DESCRIPTION,
    )
    async def run_graphql_mutation(
        mutation: Annotated[str, Field(description="One GraphQL mutation operation.")],
        variables: Annotated[dict[str, Any] | None, Field(description="Values for its $variables.")] = None,
        operation_name: str | None = None,
        username: Username = None,
    ) -> Annotated[CallToolResult, MutationResult]:
        from cway_tools.mutation_guard import check_mutation  # graphql-core: loaded on first use
        from cway_tools.query_limits import QueryRejected

        if not request_scope.supports_form_elicitation():
            raise ToolError(
                "run_graphql_mutation needs a client that can ask the user to confirm (form elicitation); "
                "this client cannot, so nothing was sent. Use a dedicated tool or the Cway web app."
            )
        try:
            checked = check_mutation(mutation, operation_name, variables)
        except QueryRejected as exc:
            raise ToolError(f"{exc} Nothing was sent.") from None
        asked = await confirm_change(_question(checked.operations, checked.text, variables, username))
        if not asked:  # the capability vanished between the check and the question: never send unasked
            raise ToolError("The user could not be asked; nothing was sent.")
        data = await gateway.execute_text(checked.text, variables or None, checked.operation_name, username=username)
        size = len(json.dumps(data, separators=(",", ":"), default=str))
        if size > MAX_RESULT_CHARS:
            data = {"note": f"Cway's answer was {size} characters; select fewer fields to see it."}
        return tool_result(MutationResult(operations=list(checked.operations), confirmed_by_user=True, data=data))
