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
    tools_artwork_lifecycle,
    tools_artworks,
    tools_catalogue,
    tools_downloads,
    tools_folders,
    tools_generic_mutation,
    tools_media,
    tools_org,
    tools_pending,
    tools_people,
    tools_project_admin,
    tools_project_work,
    tools_projects,
    tools_query,
    tools_review,
    tools_shares,
    tools_uploads,
)
from cway_mcp_shim.gateway_protocol import CwayGateway
from cway_mcp_shim.review_app import register_app
from cway_mcp_shim.toolsets import ToolSelection, select_tools

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
    tools_artwork_lifecycle,
    tools_project_admin,
    tools_generic_mutation,
    tools_folders,
    tools_shares,
    tools_people,
    tools_catalogue,
    tools_uploads,
    tools_review,
)


def register_cway_tools(
    server: MCPServer, gateway: CwayGateway, selection: ToolSelection | None = None
) -> ToolSelection:
    """Register the Cway tools ``selection`` picks (default: every one; ``CWAY_TOOLSETS`` /
    ``CWAY_READ_ONLY`` through ``ToolSelection.from_settings``) and the ``cway://schema.graphql``
    resource on ``server``; every tool call goes through ``gateway``."""
    chosen = select_tools(server, TOOL_MODULES, gateway, selection or ToolSelection.everything())
    prompts.register(server, gateway)  # the recurring jobs as prompts, and argument completion
    register_cway_resources(server)
    return chosen


def register_cway_resources(server: MCPServer) -> None:
    """Register the Cway resources only (the schema, the review app's page); called by
    :func:`register_cway_tools`."""
    tools_query.register_resources(server)
    register_app(server)
