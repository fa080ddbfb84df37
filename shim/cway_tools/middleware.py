"""The shim's one request middleware: request scope, strict arguments, input-required answers.

* It remembers the request being served (:mod:`request_scope`), so code without a ``Context``
  can see the client's revision and capabilities, report progress and send log notifications.
* For ``tools/call`` it checks the arguments first (:mod:`strict_args`): an unknown or invalid
  argument is answered with one plain sentence before the tool runs.
* For a Cway tool in ``oauth2`` mode it then sends the bearer request to the daemon before the
  tool starts (:mod:`bearer_prefetch`), so the daemon answers while the tool does its own work.
* A tool that needs the user's input on a 2026-07-28 session (a sign-in, a confirmation) raises
  :class:`~cway_tools.request_scope.AskClient`, possibly deep inside the gateway; this turns
  it into the input-required result. The SDK's ``RequestStateBoundary`` runs outside this middleware, so
  the result's ``requestState`` is sealed before it leaves and unsealed before it comes back.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, SetLevelRequestParams, TextContent

from cway_tools import request_scope, sdk_adapter, strict_args
from cway_tools.request_scope import AskClient


class Prefetch(Protocol):
    """Starts a tool call's bearer look-up early (the stdio shim's ``BearerPrefetch``); the tool layer
    only needs to know when a call starts and ends."""

    def started(self, tool: str, arguments: Mapping[str, Any]) -> AbstractAsyncContextManager[None]: ...


class ShimMiddleware:
    """See the module docstring; ``server`` is where the tools' argument models are looked up."""

    def __init__(self, server: MCPServer | None = None, prefetch: Prefetch | None = None) -> None:
        self.server = server
        self.prefetch = prefetch

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        token = request_scope._current.set(ctx)
        try:
            if ctx.method == "tools/call" and self.server is not None and isinstance(ctx.params, dict):
                arguments = ctx.params.get("arguments") or {}
                name = str(ctx.params.get("name", ""))
                problem = (
                    strict_args.argument_problem(self.server, name, arguments) if isinstance(arguments, dict) else None
                )
                if problem:
                    return CallToolResult(content=[TextContent(type="text", text=problem)], is_error=True)
                if self.prefetch is not None and isinstance(arguments, dict):
                    async with self.prefetch.started(name, arguments):
                        return await self._call(ctx, call_next)
            return await self._call(ctx, call_next)
        finally:
            request_scope._current.reset(token)

    @staticmethod
    async def _call(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        try:
            return await call_next(ctx)
        except AskClient as asked:
            return asked.result


def install(server: MCPServer, prefetch: Prefetch | None = None) -> None:
    """Put the middleware on ``server``, close its tools' input schemas and declare logging.

    Call after every tool is registered. Declaring logging means answering ``logging/setLevel``
    (2025-11-25 clients); 2026-07-28 clients opt in to log messages per request instead.
    """
    server.middleware.append(ShimMiddleware(server, prefetch))
    strict_args.close_input_schemas(server)

    async def set_level(ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams) -> dict[str, Any]:
        request_scope.set_legacy_level(params.level, ctx.session)
        return {}

    if sdk_adapter.served_handler(server, "logging/setLevel") is None:
        sdk_adapter.serve_method(server, "logging/setLevel", SetLevelRequestParams, set_level)
