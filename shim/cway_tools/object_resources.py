"""Projects and artworks as MCP resources: ``cway://projects/{id}`` and ``cway://artworks/{id}``.

The tools that answer with an artwork or a project add a ``resource_link`` to it (``links.py``);
these templates are what such a link opens. Reading one is the object as Cway answers it now, as
the session's account (the same gateway and bearer rule as every tool), in JSON. Both servers
list them; following one (being told when it changes) is the stdio shim's
(``cway_mcp_shim.live``): ``cway-mcp serve`` keeps no session to hold a Cway subscription for.
"""

from __future__ import annotations

import json
import re

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from cway_tools import documents as D
from cway_tools.document_registry import Document
from cway_tools.gateway_protocol import CwayGateway
from cway_tools.tool_support import require_uuid

ARTWORK_TEMPLATE = "cway://artworks/{id}"
PROJECT_TEMPLATE = "cway://projects/{id}"
#: What a follow or a read accepts: the two templates with a UUID in them (any case).
OBJECT_URI = re.compile(r"^cway://(artworks|projects)/([0-9A-Fa-f-]{36})$")


def register_object_resources(server: MCPServer, gateway: CwayGateway) -> None:
    async def read(document: Document, field: str, kind: str, ident: str) -> str:
        oid = require_uuid(ident, "id")
        found = (await gateway.execute(document, {"id": oid})).get(field)
        if not isinstance(found, dict):
            raise ToolError(f"{kind} {oid} was not found, or this account cannot see it.")
        return json.dumps(found, separators=(",", ":"))

    @server.resource(
        ARTWORK_TEMPLATE,
        name="cway-artwork",
        title="Cway artwork",
        description="An artwork as Cway answers it now: state, people, current revision, files. "
        "Subscribe to be told when it changes.",
        mime_type="application/json",
    )
    async def read_artwork(id: str) -> str:
        return await read(D.ARTWORK, "artwork", "Artwork", id)

    @server.resource(
        PROJECT_TEMPLATE,
        name="cway-project",
        title="Cway project",
        description="A project as Cway answers it now: state, dates, people, artworks. "
        "Subscribe to be told when it changes.",
        mime_type="application/json",
    )
    async def read_project(id: str) -> str:
        return await read(D.PROJECT, "project", "Project", id)
