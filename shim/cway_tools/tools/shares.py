"""Sharing media: send files or media-center artworks to people by e-mail, make an anonymous
link, take shares back, mark a received share as read.

Listing and reading shares is ``tools_media`` (``list_shares``, ``get_share``). A share sends
files out of the organisation, so creating one is confirmed with the user where the client can
ask, like the destructive changes.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from cway_tools import documents as D
from cway_tools.confirm import confirm_change
from cway_tools.gateway_protocol import CwayGateway
from cway_tools.tool_support import (
    MAX_BULK_IDS,
    Out,
    Username,
    millis_to_iso,
    optional_text,
    require_text,
    require_uuid,
    require_uuids,
    tool_result,
    writes,
)

TOOLSET = "media"

FileIds = Annotated[list[str], Field(description="File ids (file.id from find_media_items).")]
ArtworkIds = Annotated[list[str], Field(description="Media center artwork ids (artwork_id from find_media_items).")]


class CreatedShare(Out):
    share_id: str
    title: str
    recipients: list[str] = Field(default_factory=list, description="One share per recipient; see list_shares.")
    size_bytes: int | None = None
    valid_until: str | None = None
    confirmed_by_user: bool | None = None


class SharesRemoved(Out):
    share_ids: list[str]
    confirmed_by_user: bool | None = None


class ShareRead(Out):
    share_id: str
    read: bool


def _items(file_ids: list[str], artwork_ids: list[str]) -> list[dict[str, Any]]:
    if not file_ids and not artwork_ids:
        raise ToolError("Give at least one file id or media center artwork id to share.")
    if len(file_ids) + len(artwork_ids) > MAX_BULK_IDS:
        raise ToolError(f"A share may hold at most {MAX_BULK_IDS} items.")
    files = require_uuids(file_ids, "file_ids") if file_ids else []
    arts = require_uuids(artwork_ids, "artwork_ids") if artwork_ids else []
    return [{"mediaType": "FILE", "id": f} for f in files] + [{"mediaType": "MC_ARTWORK", "id": a} for a in arts]


def _recipients(emails: str) -> list[str]:
    """Split like Cway does (commas, semicolons, spaces); Cway itself refuses malformed ones."""
    parts = [p for p in emails.replace(";", ",").replace("\n", ",").replace(" ", ",").split(",") if p]
    if not parts:
        raise ToolError("emails must name at least one recipient, e.g. 'anna@printer.example'.")
    return parts


def register(server: MCPServer, gateway: CwayGateway) -> None:
    """Register the share tools on ``server``."""

    @server.tool(title="Share media", annotations=writes(destructive=False, idempotent=False))
    async def share_media(
        title: Annotated[str, Field(description="Share title the recipients see.")],
        emails: Annotated[str, Field(description="Recipients' e-mail addresses, comma-separated.")],
        message: Annotated[str, Field(description="Message to the recipients.")] = "",
        file_ids: FileIds | None = None,
        artwork_ids: ArtworkIds | None = None,
        include_source_files: bool = False,
        username: Username = None,
    ) -> Annotated[CallToolResult, CreatedShare]:
        """E-mail files/media artworks to people (one share per recipient). Confirm with the user first."""
        name = require_text(title, "title", max_chars=255)
        items = _items(file_ids or [], artwork_ids or [])
        recipients = _recipients(require_text(emails, "emails", max_chars=5_000))
        asked = await confirm_change(f"Share {len(items)} item(s) as {name!r} with {', '.join(recipients)}.")
        share_id = str(uuid.uuid4())
        share_input = {
            "shareId": share_id,
            "title": name,
            "emails": ", ".join(recipients),
            "message": optional_text(message) or "",
            "includeSourceFiles": include_source_files,
            "items": items,
        }
        await gateway.execute(D.CREATE_SHARE, {"input": share_input}, username=username)
        first = (await gateway.execute(D.SHARE, {"id": share_id}, username=username)).get("share") or {}
        return tool_result(
            CreatedShare(
                share_id=share_id,
                title=name,
                recipients=recipients,
                size_bytes=first.get("size"),
                valid_until=millis_to_iso(first.get("validToDate")),
                confirmed_by_user=asked,
            )
        )

    @server.tool(title="Create share link", annotations=writes(destructive=False, idempotent=False))
    async def create_share_link(
        title: Annotated[str, Field(description="Share title.")],
        message: Annotated[str, Field(description="Message shown with the files.")] = "",
        file_ids: FileIds | None = None,
        artwork_ids: ArtworkIds | None = None,
        include_source_files: bool = False,
        username: Username = None,
    ) -> Annotated[CallToolResult, CreatedShare]:
        """An anonymous share: anyone with the link may download until it expires. Confirm with the user first."""
        name = require_text(title, "title", max_chars=255)
        items = _items(file_ids or [], artwork_ids or [])
        asked = await confirm_change(f"Make an anonymous download link for {len(items)} item(s) as {name!r}.")
        share_id = str(uuid.uuid4())
        share_input = {
            "shareId": share_id,
            "title": name,
            "message": optional_text(message) or "",
            "includeSourceFiles": include_source_files,
            "items": items,
        }
        await gateway.execute(D.CREATE_ANONYMOUS_SHARE, {"input": share_input}, username=username)
        made = (await gateway.execute(D.ANONYMOUS_SHARE, {"id": share_id}, username=username)).get("anonymousShare")
        made = made if isinstance(made, dict) else {}
        return tool_result(
            CreatedShare(
                share_id=share_id,
                title=name,
                size_bytes=made.get("size"),
                valid_until=millis_to_iso(made.get("validToDate")),
                confirmed_by_user=asked,
            )
        )

    @server.tool(title="Remove shares", annotations=writes(destructive=True, idempotent=False))
    async def remove_shares(
        share_ids: Annotated[list[str], Field(description="Share ids from list_shares.")], username: Username = None
    ) -> Annotated[CallToolResult, SharesRemoved]:
        """Take shares back: recipients can no longer download. Only the sender may. Confirm with the user first."""
        ids = require_uuids(share_ids, "share_ids")
        asked = await confirm_change(f"Remove {len(ids)} share(s); recipients lose access to the files.")
        await gateway.execute(D.REMOVE_SHARES, {"shareIds": ids}, username=username)
        return tool_result(SharesRemoved(share_ids=ids, confirmed_by_user=asked))

    @server.tool(title="Mark share read", annotations=writes(destructive=False, idempotent=True))
    async def mark_share_read(
        share_id: Annotated[str, Field(description="Share id (sent to this account).")], username: Username = None
    ) -> Annotated[CallToolResult, ShareRead]:
        """Mark a share received by this account as read (only its recipient may)."""
        sid = require_uuid(share_id, "share_id")
        await gateway.execute(D.MARK_SHARE_AS_READ, {"shareId": sid}, username=username)
        return tool_result(ShareRead(share_id=sid, read=True))
