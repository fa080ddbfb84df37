"""``cway-mcp serve``: the Cway tools as a remote MCP server (Streamable HTTP, MCP authorization).

This room owns secrets (per-user Cway tokens, the server's own OAuth tokens), so it lives beside
the daemon, not in the shim: the stdio shim imports nothing from here (``cway-mcp serve`` imports
it lazily). Every replica is stateless between requests; PostgreSQL holds everything shared.
"""
