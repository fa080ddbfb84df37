"""One call to put every Cway tool and resource on an MCP server.

The runtime (``server.py``) owns the server and the gateway; this module owns *which* tools
exist. Tool modules import only the SDK, pydantic and graphql-core (lazily, for validation), so
registering them keeps the shim's cold start close to the SDK's own import time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

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
from cway_mcp_shim.icons import icon_for_toolset

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
        with toolset_icons(server, toolset_of(module)):
            module.register(server, gateway)
    prompts.register(server, gateway)  # the recurring jobs as prompts, and argument completion
    register_cway_resources(server)


def register_cway_resources(server: MCPServer) -> None:
    """Register the Cway resources only (the schema); called by :func:`register_cway_tools`."""
    tools_query.register_resources(server)


#: Until every tool module declares its ``TOOLSET``: the toolset each module's tools belong to.
_MODULE_TOOLSETS = {
    "tools_projects": "projects",
    "tools_project_work": "projects",
    "tools_artworks": "artworks",
    "tools_approvals": "approvals",
    "tools_review": "approvals",
    "tools_ai": "ai",
    "tools_pending": "ai",
    "tools_org": "admin",
    "tools_media": "media",
    "tools_downloads": "media",
    "tools_query": "admin",
}


def toolset_of(module: ModuleType) -> str | None:
    """A module's toolset: its ``TOOLSET`` constant, else the table above."""
    declared = getattr(module, "TOOLSET", None)
    return declared if isinstance(declared, str) else _MODULE_TOOLSETS.get(module.__name__.rsplit(".", 1)[-1])


@contextlib.contextmanager
def toolset_icons(server: MCPServer, toolset: str | None) -> Iterator[None]:
    """Give every tool registered inside the block its toolset's icon (unless it names its own)."""
    icons = icon_for_toolset(toolset) if toolset else None
    if icons is None:
        yield
        return
    add_tool = server.add_tool

    def with_icons(fn: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["icons"] = kwargs.get("icons") or icons
        add_tool(fn, *args, **kwargs)

    server.add_tool = with_icons  # type: ignore[method-assign]
    try:
        yield
    finally:
        del server.add_tool  # back to the class's method
