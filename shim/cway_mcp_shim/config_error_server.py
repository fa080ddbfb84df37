"""The server a shim with a bad configuration runs, so the person reads the problem in the chat.

MCP clients show a server that exits at start as "Connection closed", with the reason buried in a
log file few people find. Instead the shim starts anyway, answers ``initialize`` (its instructions
carry the error), lists one ``configuration_error`` tool, and answers *every* tool call, whatever
its name (a client may remember the real tools from an earlier start), with the one-line
configuration error and its fix. Nothing else runs: no daemon access, no Cway client.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult

from cway_contract import ConfigError, __version__

SERVER_NAME = "cway"


def explain(error: ConfigError) -> str:
    return (
        f"The Cway MCP server is not configured correctly: {error}. Fix it in this server's `env` block in "
        "the MCP client's config, in ~/.config/cway-mcp/config.toml, or in a .env file, then restart the "
        "server (`cway-auth doctor` checks the configuration)."
    )


class ConfigErrorServer(MCPServer):
    """Every tool call answers with the configuration error (``isError: true``)."""

    def __init__(self, error: ConfigError) -> None:
        self.message = explain(error)
        super().__init__(name=SERVER_NAME, title="Cway", version=__version__, instructions=self.message)
        message = self.message

        @self.tool(name="configuration_error", description="Explains why this server cannot work yet.")
        def configuration_error() -> str:
            raise ToolError(message)

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult:
        raise ToolError(self.message)
