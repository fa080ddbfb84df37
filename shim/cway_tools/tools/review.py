"""``review_artwork``: one artwork as an approver reviews it, with its preview image.

The answer has three layers, so every client gets the same information: structured content (the
review app and models that read JSON), a short text (clients that show only text) and the preview
as an ``ImageContent`` block (clients that show images; the app shows it too). The image bytes are
fetched here with the caller's bearer through ``tempFileDownloadUrl`` (Cway's only way to a file's
bytes) and inlined, bounded in size: the signed URL itself is never returned, so no client, page
or transcript holds a link that works for whoever has it. Hosts with MCP Apps render
:mod:`review_app` beside the result (``_meta.ui.resourceUri``).
"""

from __future__ import annotations

import base64
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ImageContent, ResourceLink, TextContent
from pydantic import Field

from cway_tools import documents as D
from cway_tools.gateway_protocol import CwayGateway
from cway_tools.links import artwork_link
from cway_tools.review_app import UI_META
from cway_tools.tool_models import ArtworkRow, Event, artwork_row, events_newest_first
from cway_tools.tool_support import ArtworkId, Username, read_only, require_uuid

#: The largest preview inlined into a result (base64 makes it a third bigger on the wire).
MAX_PREVIEW_BYTES = 2 * 1024 * 1024
#: History lines shown; the full history is get_artwork_history's job.
HISTORY_LINES = 20
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


class ArtworkReview(ArtworkRow):
    description: str | None = None
    history: list[Event] = Field(default_factory=list, description=f"Newest first, at most {HISTORY_LINES}.")
    corrections: list[Event] = Field(default_factory=list, description="Correction requests, newest first.")
    preview: str | None = Field(
        default=None, description="How the preview came: 'image' (an image block follows) or why it did not."
    )


def review_text(review: ArtworkReview) -> str:
    """The same review for a client that shows only text."""
    who = ", ".join(p.name or p.username or "?" for p in review.approvers) or "none"
    lines = [
        f"{review.name} ({review.id}) in {review.project_name or 'no project'}: {review.state}"
        + (f", due {review.due_date[:10]}" if review.due_date else ""),
        f"Approvers: {who}",
        "You can approve or reject it now (approve_artwork / reject_artwork)."
        if review.can_approve
        else "No decision is possible in this state.",
    ]
    if review.corrections:
        lines.append("Corrections: " + "; ".join(e.description for e in review.corrections[:5]))
    if review.history:
        lines.append("Latest: " + "; ".join(e.description for e in review.history[:3]))
    if review.preview and review.preview != "image":
        lines.append(f"Preview: {review.preview}")
    return "\n".join(lines)


TOOLSET = "approvals"
DEFAULT_TOOLS = ("review_artwork",)  # the approver's look before a decision


def register(server: MCPServer, gateway: CwayGateway) -> None:
    """Register ``review_artwork`` (the review app's ``ui://`` resource is put on the real server by
    ``cway_tools.register_cway_resources``: tools are first recorded on a scratch server, toolsets.py)."""

    async def _preview(file_id: str | None, username: str | None) -> tuple[ImageContent | None, str]:
        if not file_id:
            return None, "Cway has no preview for this artwork."
        data = await gateway.execute(D.TEMP_FILE_DOWNLOAD_URL, {"fileId": file_id}, username=username)
        url = data.get("tempFileDownloadUrl")
        if not isinstance(url, str) or not url:
            return None, "Cway gave no download URL for the preview."
        try:
            body, kind = await gateway.fetch_file(url, username=username, max_bytes=MAX_PREVIEW_BYTES)
        except ToolError as exc:
            return None, f"the preview could not be fetched: {exc}"
        if kind not in IMAGE_TYPES:
            return None, f"the preview is {kind}, not an image a chat can show."
        return ImageContent(type="image", data=base64.b64encode(body).decode(), mime_type=kind), "image"

    @server.tool(title="Review artwork", annotations=read_only(), meta=UI_META)
    async def review_artwork(
        artwork_id: ArtworkId, username: Username = None
    ) -> Annotated[CallToolResult, ArtworkReview]:
        """Show one artwork for an approval decision: its preview image, state, approvers, corrections
        and recent history.

        Use when the user wants to look at an artwork before deciding ("show me the poster"). Hosts
        with MCP Apps show it with Approve / Reject buttons (which call approve_artwork and
        reject_artwork); others get the text and the image.
        """
        aid = require_uuid(artwork_id, "artwork_id")
        data = await gateway.execute(D.ARTWORK, {"id": aid}, username=username)
        a = data.get("artwork")
        if not isinstance(a, dict):
            raise ToolError(f"Artwork {aid} was not found, or this account cannot see it.")
        history = events_newest_first(
            (await gateway.execute(D.ARTWORK_HISTORY, {"artworkId": aid}, username=username)).get("artworkHistory")
        )
        preview_file = a.get("previewFile")
        file_id = preview_file.get("id") if isinstance(preview_file, dict) else None
        image, how = await _preview(file_id, username)
        review = ArtworkReview(
            **artwork_row(a).model_dump(),
            description=a.get("description") or None,
            history=history[:HISTORY_LINES],
            corrections=[e for e in history if "CORRECTION" in e.name.upper()],
            preview=how,
        )
        content: list[TextContent | ImageContent | ResourceLink] = [TextContent(type="text", text=review_text(review))]
        if image is not None:
            content.append(image)
        content.append(artwork_link(review.id, review.name))
        return CallToolResult(
            content=list(content), structured_content=review.model_dump(mode="json", exclude_none=True)
        )
