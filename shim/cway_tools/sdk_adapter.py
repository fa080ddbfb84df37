"""Everything we need from the mcp SDK that it does not offer publicly, in one place.

``MCPServer`` is the SDK's high-level server; a few things both our servers do reach below it: the
low-level ``Server`` (to serve a method the high level has no decorator for, to declare a
capability ``MCPServer.run`` gives no way to pass, to advertise an extension registered after
construction) and the tool manager (to build tools lazily and to check arguments against the
tool's own schema before the SDK coerces them). Each function below says which internal it uses
and why no public road exists; ``tests/shim/test_sdk_adapter.py`` checks every one of those
assumptions against the installed SDK, so an upgrade that moves them fails there, by name, and
not in a user's session. pyproject.toml bounds ``mcp`` to the minor versions that test has seen.

Nothing else in the product touches an SDK attribute whose name starts with ``_`` (the same test
reads every module to make sure).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.lowlevel import NotificationOptions, Server
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool, ToolManager
from mcp.server.mcpserver.tools import tool_manager as tool_manager_module

#: The mcp releases whose internals this module was checked against (tests/shim/test_sdk_adapter.py).
VERIFIED_MCP = ("2.3", "2.4")  # at least the first, below the second (pyproject.toml says the same)


def lowlevel_server(server: MCPServer[Any]) -> Server[Any]:
    """``MCPServer._lowlevel_server``: the low-level server every request goes through.

    Needed to serve ``logging/setLevel`` and ``resources/subscribe`` (``MCPServer`` has no
    decorator for either) and to wrap a served method (``subscriptions/listen``)."""
    lowlevel: Server[Any] = server._lowlevel_server
    return lowlevel


def serve_method(
    server: MCPServer[Any], method: str, params_type: type[Any], handler: Callable[..., Awaitable[Any]]
) -> None:
    """Serve ``method`` (replacing the SDK's handler if it has one), through the low-level server."""
    lowlevel_server(server).add_request_handler(method, params_type, handler)


def served_handler(server: MCPServer[Any], method: str) -> Callable[..., Awaitable[Any]] | None:
    """The handler the low-level server runs for ``method`` now, or None."""
    entry = lowlevel_server(server).get_request_handler(method)
    return None if entry is None else entry.handler


def declare_tools_list_changed(server: MCPServer[Any]) -> None:
    """Declare ``tools.listChanged`` in the 2025-11-25 handshake.

    The SDK reads it from ``NotificationOptions``, which ``MCPServer.run`` does not let a caller
    pass; so the low-level ``get_capabilities`` is wrapped to set it. (2026-07-28 derives the flag
    itself from ``subscriptions/listen`` being served.)"""
    lowlevel = lowlevel_server(server)
    original = lowlevel.get_capabilities

    def get_capabilities(notification_options: NotificationOptions | None = None, *args: Any, **kwargs: Any) -> Any:
        options = notification_options or NotificationOptions()
        options.tools_changed = True
        return original(options, *args, **kwargs)

    lowlevel.get_capabilities = get_capabilities  # type: ignore[method-assign]


def advertise_extension(server: MCPServer[Any], identifier: str, settings: dict[str, Any]) -> None:
    """Advertise an extension (MCP Apps) on a server that already exists.

    ``MCPServer(extensions=[...])`` takes them only at construction, before our tools are
    registered; the low-level ``extensions`` map is what the handshake reads."""
    lowlevel_server(server).extensions.setdefault(identifier, settings)


def tool_manager(server: MCPServer[Any]) -> ToolManager:
    """``MCPServer._tool_manager``: the registered tools with their argument models and schemas.

    ``list_tools`` answers with wire ``Tool`` objects only; checking a call's arguments against the
    tool's own input schema before the SDK coerces them needs the registered tool."""
    manager: ToolManager = server._tool_manager
    return manager


def replace_tool_manager(server: MCPServer[Any], manager: ToolManager) -> None:
    """Put ``manager`` (our lazy subclass) in the SDK's place: ``MCPServer`` builds its own in
    ``__init__`` and offers no parameter to pass one."""
    server._tool_manager = manager


def built_tools(manager: ToolManager) -> dict[str, Tool]:
    """The name -> ``Tool`` dict a ``ToolManager`` serves from (``ToolManager._tools``).

    The lazy manager subclasses ``ToolManager`` and puts the tools it builds on first use into this
    dict, so the SDK's own ``get_tool`` / ``list_tools`` / ``remove_tool`` see them; the SDK has no
    public way to add an already built ``Tool``."""
    tools: dict[str, Tool] = manager._tools
    return tools


def tool_manager_logger() -> logging.Logger:
    """The SDK's tool-manager logger (``mcp.server.mcpserver.tools.tool_manager.logger``): the lazy
    manager warns about a duplicate tool with the SDK's own logger and words, so log filters set up
    for the SDK keep working; the module exports no accessor."""
    logger: logging.Logger = tool_manager_module.logger
    return logger
