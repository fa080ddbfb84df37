"""cway-mcp's MCP stdio server ("the shim"): stateless; tokens come from the cway-auth daemon."""

from cway_mcp_shim import _lean

_lean.install()
