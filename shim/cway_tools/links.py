"""Resource links: what a tool returns that can be fetched travels as a ``resource_link`` content
block, not only as a URL inside JSON.

A client can show a link block as a link or attachment, fetch it, or offer to open it; a bare URL
in text is only text to the model, which then has to copy it (and sometimes mangles it). So a
download answer carries the file's URL as a link with its name, type and size, and an artwork or
project answer links its ``cway://artworks/{id}`` / ``cway://projects/{id}`` resource (the
templates :mod:`toolsets` serves), which a client can read or subscribe to. The structured content
is unchanged: the link is an addition, for clients that use it.
"""

from __future__ import annotations

from mcp.types import CallToolResult, ResourceLink

from cway_tools.tool_models import FileInfo


def file_link(url: str, file: FileInfo | None, *, description: str) -> ResourceLink:
    """A download URL with what is known about the file behind it."""
    return ResourceLink(
        type="resource_link",
        uri=url,
        name=file.name if file else "download",
        mime_type=file.content_type if file else None,
        size=file.size_bytes if file else None,
        description=description,
    )


def artwork_link(artwork_id: str, name: str | None) -> ResourceLink:
    return ResourceLink(
        type="resource_link",
        uri=f"cway://artworks/{artwork_id}",
        name=name or artwork_id,
        mime_type="application/json",
        description="The artwork in Cway (read it or subscribe to changes).",
    )


def project_link(project_id: str, name: str | None) -> ResourceLink:
    return ResourceLink(
        type="resource_link",
        uri=f"cway://projects/{project_id}",
        name=name or project_id,
        mime_type="application/json",
        description="The project in Cway (read it or subscribe to changes).",
    )


def with_links(result: CallToolResult, *links: ResourceLink) -> CallToolResult:
    """``result`` with the links appended to its content (nothing else changes)."""
    result.content = [*result.content, *links]
    return result
