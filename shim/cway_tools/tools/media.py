"""Media center and share tools: "find the artwork files", "what was shared with me".

Cway's media center is a folder tree with files and master artworks; shares are files sent to
people outside or inside the organisation. Downloads (links and zips) are in ``tools_downloads``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from cway_tools import documents as D
from cway_tools.gateway_protocol import CwayGateway
from cway_tools.tool_models import FileInfo, file_info
from cway_tools.tool_support import (
    EXAMPLE_UUID,
    Out,
    Page,
    Paged,
    PageSize,
    Username,
    dicts,
    millis_to_iso,
    optional_text,
    page_slice,
    paging,
    read_only,
    require_uuid,
    tool_result,
)

#: The toolset these tools come in (``CWAY_TOOLSETS``, toolsets.py).
TOOLSET = "media"
DEFAULT_TOOLS: frozenset[str] = frozenset()


FolderId = Annotated[str, Field(description=f"Media center folder id (UUID such as {EXAMPLE_UUID}).")]


class FolderNode(Out):
    id: str
    name: str
    parent_id: str | None = None
    shared: bool | None = None
    subfolders: list[FolderNode] = Field(default_factory=list)


class FolderTree(Out):
    folders: list[FolderNode] = Field(description="Top-level folders, with two levels of subfolders.")


class FolderPermissions(Out):
    write: bool
    manage: bool
    share: bool
    download_delivery_files: bool


class FolderDetail(FolderNode):
    permissions: FolderPermissions | None = None


class MediaItem(Out):
    id: str
    name: str
    kind: Literal["file", "artwork"]
    obsolete: bool | None = None
    created: str | None = None
    file: FileInfo | None = Field(default=None, description="For kind=file: use file.id with get_file_download_url.")
    artwork_id: str | None = Field(default=None, description="For kind=artwork: the media center artwork id.")
    project_name: str | None = None


class MediaItemsPage(Paged):
    folder_id: str
    items: list[MediaItem]


class Share(Out):
    id: str
    name: str
    size_bytes: int | None = None
    created: str | None = None
    valid_until: str | None = None
    shared_to: str | None = None
    shared_from: str | None = None
    partial_download_allowed: bool | None = None
    read: bool | None = None


class SharesPage(Paged):
    shares: list[Share]


def _folder(f: dict[str, Any], depth: int = 0) -> FolderNode:
    return FolderNode(
        id=f["id"],
        name=f["name"],
        parent_id=f.get("parentId"),
        shared=f.get("shared"),
        subfolders=[_folder(c, depth + 1) for c in dicts(f.get("folders"))],
    )


def _share(s: dict[str, Any]) -> Share:
    return Share(
        id=s["id"],
        name=s["name"],
        size_bytes=s.get("size"),
        created=millis_to_iso(s.get("created")),
        valid_until=millis_to_iso(s.get("validToDate")),
        shared_to=s.get("sharedTo"),
        shared_from=s.get("sharedFrom"),
        partial_download_allowed=s.get("partialDownloadAllowed"),
        read=s.get("read"),
    )


def _item(i: dict[str, Any]) -> MediaItem:
    art = i.get("artwork") if isinstance(i.get("artwork"), dict) else None
    return MediaItem(
        id=i["id"],
        name=i["name"],
        kind="artwork" if i.get("__typename") == "ArtworkFolderItem" else "file",
        obsolete=i.get("obsolete"),
        created=millis_to_iso(i.get("created")),
        file=file_info(i.get("file")),
        artwork_id=art.get("id") if art else None,
        project_name=art.get("projectName") if art else None,
    )


def register(server: MCPServer, gateway: CwayGateway) -> None:
    """Register the media center and share tools on ``server``."""

    @server.tool(title="Media center folders", annotations=read_only())
    async def list_media_folders(username: Username = None) -> Annotated[CallToolResult, FolderTree]:
        """The media center folder tree (top level plus two levels of subfolders) with folder ids.

        Start here to "find the artwork files / the logos": pick a folder, then find_media_items.
        """
        data = await gateway.execute(D.MEDIA_TREE, username=username)
        folders = list(dicts(data.get("tree")))
        # Keep only roots: a folder whose parent is also listed already appears nested under it.
        listed = {f.get("id") for f in folders}
        roots = [f for f in folders if f.get("parentId") not in listed]
        return tool_result(FolderTree(folders=[_folder(f) for f in roots]))

    @server.tool(title="Media center folder", annotations=read_only())
    async def get_media_folder(
        folder_id: FolderId, username: Username = None
    ) -> Annotated[CallToolResult, FolderDetail]:
        """One media center folder: its direct subfolders and what this account may do in it."""
        fid = require_uuid(folder_id, "folder_id")
        f = (await gateway.execute(D.MEDIA_FOLDER, {"id": fid}, username=username)).get("folder")
        if not isinstance(f, dict):
            raise ToolError(f"Folder {fid} was not found, or this account cannot see it.")
        perms = f.get("permissions")
        detail = FolderDetail(
            **_folder(f).model_dump(),
            permissions=FolderPermissions(
                write=perms["write"],
                manage=perms["manage"],
                share=perms["share"],
                download_delivery_files=perms["downloadDeliveryFiles"],
            )
            if isinstance(perms, dict)
            else None,
        )
        return tool_result(detail)

    @server.tool(title="Find media items", annotations=read_only())
    async def find_media_items(
        folder_id: FolderId,
        search: Annotated[str | None, Field(description="Text to search for in item names.")] = None,
        recursive: Annotated[bool, Field(description="Also search subfolders.")] = True,
        include_obsolete: bool = False,
        sort: Literal["NAME", "CREATED"] = "NAME",
        direction: Literal["ASC", "DESC"] = "ASC",
        page: Page = 1,
        page_size: PageSize = 25,
        username: Username = None,
    ) -> Annotated[CallToolResult, MediaItemsPage]:
        """Files and master artworks in a media center folder (and its subfolders), searchable.

        Use for "find the logo files" or "what is in the Logos folder?" after list_media_folders.
        Files carry ids for get_file_download_url. Paged: page, page_size, total, has_more.
        """
        fid = require_uuid(folder_id, "folder_id")
        find: dict[str, Any] = {"folderId": fid, "recursive": recursive, "includeObsolete": include_obsolete}
        if text := optional_text(search):
            find["searchString"] = text
        variables = {
            "input": find,
            "sorting": {"field": sort, "direction": direction},
            "paging": {"page": page - 1, "pageSize": page_size},
        }
        result = (await gateway.execute(D.ITEMS_FOR_FOLDER, variables, username=username)).get("itemsForFolder") or {}
        items = [_item(i) for i in dicts(result.get("items"))]
        total = int(result.get("totalHits") or 0)
        return tool_result(MediaItemsPage(folder_id=fid, items=items, **paging(page, page_size, total)))

    @server.tool(title="List shares", annotations=read_only())
    async def list_shares(
        file_name: Annotated[str | None, Field(description="Only shares whose file name contains this.")] = None,
        shared_to: Annotated[str | None, Field(description="Only shares sent to this username/e-mail.")] = None,
        shared_by: Annotated[str | None, Field(description="Only shares sent by this username.")] = None,
        include_read: Annotated[bool, Field(description="Also shares already opened by the recipient.")] = True,
        page: Page = 1,
        page_size: PageSize = 25,
        username: Username = None,
    ) -> Annotated[CallToolResult, SharesPage]:
        """File shares (files sent to people) visible to this account, newest first.

        Use for "what was shared with me?" (shared_to=<me>) or "did the printer get the logo pack?".
        Paged: page, page_size, total, has_more.
        """
        variables = {
            "fileNameFilter": optional_text(file_name),
            "sharedToUser": optional_text(shared_to),
            "sharedByUser": optional_text(shared_by),
            "includeRead": include_read,
        }
        data = await gateway.execute(D.FIND_SHARES, variables, username=username)
        rows = sorted(dicts(data.get("findShares")), key=lambda s: s.get("created") or 0, reverse=True)
        shown, info = page_slice([_share(s) for s in rows], page, page_size)
        return tool_result(SharesPage(shares=shown, **info))

    @server.tool(title="Get share", annotations=read_only())
    async def get_share(
        share_id: Annotated[str, Field(description="Share id (UUID).")], username: Username = None
    ) -> Annotated[CallToolResult, Share]:
        """One share: what was sent, by whom, to whom, until when, and whether it was opened."""
        sid = require_uuid(share_id, "share_id")
        s = (await gateway.execute(D.SHARE, {"id": sid}, username=username)).get("share")
        if not isinstance(s, dict):
            raise ToolError(f"Share {sid} was not found, or this account cannot see it.")
        return tool_result(_share(s))
