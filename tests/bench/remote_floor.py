"""The floor for ``cway-mcp serve``: a bare SDK ``MCPServer`` with one tool that POSTs the query to Cway.

Stateless Streamable HTTP with JSON responses and logging at WARNING, as the remote server runs;
no OAuth, no database, a static token: what any MCP server that forwards a GraphQL query costs on
this machine. Run as its own process (``python -m tests.bench.remote_floor PORT API_URL TOKEN``)
so it pays the same process boundaries as a replica.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import httpx
import uvicorn
from mcp.server.mcpserver import MCPServer


def build(api_url: str, token: str) -> Any:
    server = MCPServer(name="floor", log_level="WARNING")
    http = httpx.AsyncClient(timeout=30, headers={"Authorization": f"Bearer {token}"})

    @server.tool()
    async def graphql_query(query: str) -> dict[str, Any]:
        """Run a GraphQL query against Cway."""
        response = await http.post(api_url, json={"query": query})
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    return server.streamable_http_app(stateless_http=True, json_response=True)


def main(argv: list[str]) -> int:
    port, api_url, token = int(argv[0]), argv[1], argv[2]
    logging.basicConfig(level=logging.WARNING)
    uvicorn.run(build(api_url, token), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
