"""cway-mcp's MCP stdio server ("the shim"): stateless; tokens come from the cway-auth daemon."""
