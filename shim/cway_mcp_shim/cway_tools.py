"""One call to put every Cway tool and resource on an MCP server.

The runtime (``server.py``) owns the server and the gateway; this module owns *which* tools
exist. Tool modules import only the SDK, pydantic and graphql-core (lazily, for validation), so
registering them keeps the shim's cold start close to the SDK's own import time.
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from cway_mcp_shim import (
    prompts,
    tools_ai,
    tools_approvals,
    tools_artworks,
    tools_downloads,
    tools_media,
    tools_org,
    tools_pending,
    tools_project_work,
    tools_projects,
    tools_query,
    tools_review,
)
from cway_mcp_shim.gateway_protocol import CwayGateway

TOOL_MODULES = (
    tools_projects,
    tools_project_work,
    tools_artworks,
    tools_approvals,
    tools_ai,
    tools_pending,
    tools_org,
    tools_media,
    tools_downloads,
    tools_query,
    tools_review,
)


def register_cway_tools(server: MCPServer, gateway: CwayGateway) -> None:
    """Register all Cway tools (projects, artworks, AI, organisation, media, graphql_query) and the
    ``cway://schema.graphql`` resource on ``server``; every tool call goes through ``gateway``."""
    for module in TOOL_MODULES:
        module.register(server, gateway)
    prompts.register(server, gateway)  # the recurring jobs as prompts, and argument completion
    register_cway_resources(server)


def register_cway_resources(server: MCPServer) -> None:
    """Register the Cway resources only (the schema); called by :func:`register_cway_tools`."""
    tools_query.register_resources(server)
