"""One call to put every Cway tool and resource on an MCP server.

The runtime (``server.py``) owns the server and the gateway; this module owns *which* tools
exist. Tool modules import only the SDK, pydantic and graphql-core (lazily, for validation), so
registering them keeps the shim's cold start close to the SDK's own import time.
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from cway_tools import prompts
from cway_tools.gateway_protocol import CwayGateway
from cway_tools.object_resources import register_object_resources
from cway_tools.review_app import register_app
from cway_tools.tools import ai as tools_ai
from cway_tools.tools import approvals as tools_approvals
from cway_tools.tools import artwork_lifecycle as tools_artwork_lifecycle
from cway_tools.tools import artworks as tools_artworks
from cway_tools.tools import catalogue as tools_catalogue
from cway_tools.tools import downloads as tools_downloads
from cway_tools.tools import folders as tools_folders
from cway_tools.tools import generic_mutation as tools_generic_mutation
from cway_tools.tools import media as tools_media
from cway_tools.tools import org as tools_org
from cway_tools.tools import pending as tools_pending
from cway_tools.tools import people as tools_people
from cway_tools.tools import project_admin as tools_project_admin
from cway_tools.tools import project_work as tools_project_work
from cway_tools.tools import projects as tools_projects
from cway_tools.tools import query as tools_query
from cway_tools.tools import review as tools_review
from cway_tools.tools import shares as tools_shares
from cway_tools.tools import uploads as tools_uploads
from cway_tools.toolsets import ToolSelection, select_tools

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
    ``CWAY_READ_ONLY`` through ``ToolSelection.from_settings``), the ``cway://schema.graphql``
    resource and the ``cway://artworks|projects/{id}`` templates on ``server``; every tool call and
    resource read goes through ``gateway``."""
    chosen = select_tools(server, TOOL_MODULES, gateway, selection or ToolSelection.everything())
    prompts.register(server, gateway)  # the recurring jobs as prompts, and argument completion
    register_cway_resources(server)
    register_object_resources(server, gateway)
    return chosen


def register_cway_resources(server: MCPServer) -> None:
    """Register the Cway resources only (the schema, the review app's page); called by
    :func:`register_cway_tools`."""
    tools_query.register_resources(server)
    register_app(server)
