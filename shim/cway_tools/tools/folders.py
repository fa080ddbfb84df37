"""Media center changes: folders (create, rename, move, copy, delete), their items (move, copy,
remove), who may use a folder, and comments on media-center artworks.

Reading the media center (tree, folder, items, shares) is ``tools_media``; these tools change it.
Every change is checked by Cway against the caller's rights on the folders involved; the tools
validate ids first and read back what changed, so the answer shows the result, not a bare "true".
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from cway_tools import documents as D
from cway_tools.confirm import confirm_change
from cway_tools.gateway_protocol import CwayGateway
from cway_tools.tool_support import (
    EXAMPLE_UUID,
    Out,
    Username,
    dicts,
    read_only,
    require_text,
    require_uuid,
    require_uuids,
    tool_result,
    writes,
)

TOOLSET = "media"

FolderId = Annotated[str, Field(description=f"Media center folder id (UUID such as {EXAMPLE_UUID}).")]
ItemIds = Annotated[list[str], Field(description="Item ids from find_media_items (1-100).")]
UserName = Annotated[str, Field(description="The user's exact Cway username (see find_users).")]


class FolderChange(Out):
    folder_id: str
    name: str
    parent_id: str | None = None
    confirmed_by_user: bool | None = None


class ItemsChange(Out):
    source_folder_id: str
    target_folder_id: str | None = None
    item_ids: list[str]
    confirmed_by_user: bool | None = None


class FolderRights(Out):
    write: bool
    manage: bool
    share: bool
    download_delivery_files: bool


class FolderUser(Out):
    user_id: str
    username: str
    name: str | None = None
    rights: FolderRights


class FolderUsers(Out):
    folder_id: str
    users: list[FolderUser]
    unchanged: bool | None = Field(default=None, description="Nothing needed changing; nothing was sent.")


class MediaComment(Out):
    id: str
    number: int
    text: str
    by: str | None = None
    created: str | None = None
    valid: bool | None = None


class MediaArtwork(Out):
    id: str
    name: str
    draft: bool | None = None
    category: str | None = None
    project_name: str | None = None
    comments: list[MediaComment] = Field(default_factory=list)


def _users(folder_id: str, rows: Any, unchanged: bool | None = None) -> FolderUsers:
    users = [
        FolderUser(
            user_id=u["userId"],
            username=u["username"],
            name=u.get("name"),
            rights=FolderRights(
                write=u["permissions"]["write"],
                manage=u["permissions"]["manage"],
                share=u["permissions"]["share"],
                download_delivery_files=u["permissions"]["downloadDeliveryFiles"],
            ),
        )
        for u in dicts(rows)
    ]
    return FolderUsers(folder_id=folder_id, users=users, unchanged=unchanged)


def _artwork(a: dict[str, Any]) -> MediaArtwork:
    return MediaArtwork(
        id=a["id"],
        name=a["name"],
        draft=a.get("draft"),
        category=(a.get("category") or {}).get("name"),
        project_name=a.get("projectName"),
        comments=[
            MediaComment(
                id=c["id"],
                number=c["number"],
                text=c["text"],
                by=(c.get("commentedBy") or {}).get("username"),
                created=c.get("created"),
                valid=c.get("valid"),
            )
            for c in dicts(a.get("comments"))
        ],
    )


def register(server: MCPServer, gateway: CwayGateway) -> None:
    """Register the media center change tools on ``server``."""

    async def folder(fid: str, username: str | None) -> dict[str, Any]:
        found = (await gateway.execute(D.MEDIA_FOLDER, {"id": fid}, username=username)).get("folder")
        if not isinstance(found, dict):
            raise ToolError(f"Folder {fid} was not found, or this account cannot see it.")
        return found

    def changed(f: dict[str, Any], asked: bool | None = None) -> CallToolResult:
        return tool_result(
            FolderChange(folder_id=f["id"], name=f["name"], parent_id=f.get("parentId"), confirmed_by_user=asked)
        )

    async def media_artwork(aid: str, username: str | None) -> CallToolResult:
        found = (await gateway.execute(D.MEDIA_CENTER_ARTWORK, {"artworkId": aid}, username=username)).get(
            "mediaCenterArtwork"
        )
        if not isinstance(found, dict):
            raise ToolError(f"Media center artwork {aid} was not found, or this account cannot see it.")
        return tool_result(_artwork(found))

    async def user_id(user: str, username: str | None) -> str:
        who = require_text(user, "user", max_chars=320)
        found = (await gateway.execute(D.GET_USER, {"username": who}, username=username)).get("getUser")
        if not isinstance(found, dict):
            raise ToolError(f"No Cway user {who!r} in this organisation; try find_users.")
        return str(found["id"])

    @server.tool(title="Create media folder", annotations=writes(destructive=False, idempotent=False))
    async def create_media_folder(
        name: Annotated[str, Field(description="Folder name.")],
        parent_folder_id: Annotated[str | None, Field(description="Parent folder id; omit for a top folder.")] = None,
        username: Username = None,
    ) -> Annotated[CallToolResult, FolderChange]:
        """Create a media center folder (inside parent_folder_id, or at the top)."""
        title = require_text(name, "name", max_chars=255)
        if parent_folder_id is None:
            # createRootFolder answers only "true": the new folder is the top folder of that name
            # that was not in the tree before.
            before = {f.get("id") for f in dicts((await gateway.execute(D.MEDIA_TREE, username=username)).get("tree"))}
            await gateway.execute(D.CREATE_ROOT_FOLDER, {"name": title}, username=username)
            tree = (await gateway.execute(D.MEDIA_TREE, username=username)).get("tree")
            made = next(
                (
                    f
                    for f in dicts(tree)
                    if f.get("parentId") is None and f.get("name") == title and f.get("id") not in before
                ),
                None,
            )
            if made is None:
                raise ToolError(
                    f"Cway accepted the folder {title!r} but it is not in the tree; try list_media_folders."
                )
            return changed(made)
        parent = require_uuid(parent_folder_id, "parent_folder_id")
        new_id = str(uuid.uuid4())
        await gateway.execute(
            D.CREATE_FOLDER, {"input": {"parentFolderId": parent, "folderId": new_id, "name": title}}, username=username
        )
        return changed(await folder(new_id, username))

    @server.tool(title="Rename media folder", annotations=writes(destructive=False, idempotent=True))
    async def rename_media_folder(
        folder_id: FolderId, name: Annotated[str, Field(description="New name.")], username: Username = None
    ) -> Annotated[CallToolResult, FolderChange]:
        """Rename a media center folder; needs manage rights on the folder."""
        fid = require_uuid(folder_id, "folder_id")
        title = require_text(name, "name", max_chars=255)
        current = await folder(fid, username)
        if current["name"] != title:
            await gateway.execute(D.RENAME_FOLDER, {"folderId": fid, "name": title}, username=username)
            current = await folder(fid, username)
        return changed(current)

    @server.tool(title="Move media folder", annotations=writes(destructive=False, idempotent=True))
    async def move_media_folder(
        folder_id: FolderId,
        target_folder_id: Annotated[str, Field(description="Folder to move into (or beside).")],
        position: Literal["inside", "before", "after"] = "inside",
        username: Username = None,
    ) -> Annotated[CallToolResult, FolderChange]:
        """Move a folder with everything in it into another folder, or before/after it."""
        fid = require_uuid(folder_id, "folder_id")
        target = require_uuid(target_folder_id, "target_folder_id")
        variables = {
            "sourceFolderId": fid,
            "targetFolderId": target,
            "child": position == "inside",
            "before": position == "before" if position != "inside" else None,
        }
        await gateway.execute(D.MOVE_FOLDER, variables, username=username)
        return changed(await folder(fid, username))

    @server.tool(title="Copy media folder", annotations=writes(destructive=False, idempotent=False))
    async def copy_media_folder(
        folder_id: FolderId,
        target_folder_id: Annotated[str, Field(description="Folder to copy into.")],
        username: Username = None,
    ) -> Annotated[CallToolResult, FolderChange]:
        """Copy a folder with its subfolders and items into another folder; returns the target."""
        fid = require_uuid(folder_id, "folder_id")
        target = require_uuid(target_folder_id, "target_folder_id")
        await gateway.execute(D.COPY_FOLDER, {"sourceFolderId": fid, "targetFolderId": target}, username=username)
        return changed(await folder(target, username))

    @server.tool(title="Delete media folder", annotations=writes(destructive=True, idempotent=False))
    async def delete_media_folder(
        folder_id: FolderId, username: Username = None
    ) -> Annotated[CallToolResult, FolderChange]:
        """Delete a folder with its subfolders and every item in them. Confirm with the user first."""
        fid = require_uuid(folder_id, "folder_id")
        current = await folder(fid, username)
        asked = await confirm_change(f"Delete the media folder {current['name']!r} with all its subfolders and items.")
        await gateway.execute(D.DELETE_FOLDER, {"folderId": fid}, username=username)
        return changed(current, asked)

    async def items_change(
        doc: Any, source: str, target: str, item_ids: list[str], username: str | None
    ) -> CallToolResult:
        src = require_uuid(source, "source_folder_id")
        dst = require_uuid(target, "target_folder_id")
        ids = require_uuids(item_ids, "item_ids")
        await gateway.execute(
            doc, {"sourceFolderId": src, "targetFolderId": dst, "folderItems": ids}, username=username
        )
        return tool_result(ItemsChange(source_folder_id=src, target_folder_id=dst, item_ids=ids))

    @server.tool(title="Move media items", annotations=writes(destructive=False, idempotent=False))
    async def move_media_items(
        source_folder_id: FolderId, target_folder_id: FolderId, item_ids: ItemIds, username: Username = None
    ) -> Annotated[CallToolResult, ItemsChange]:
        """Move files/artworks from one media center folder into another one."""
        return await items_change(D.MOVE_FOLDER_ITEMS, source_folder_id, target_folder_id, item_ids, username)

    @server.tool(title="Copy media items", annotations=writes(destructive=False, idempotent=False))
    async def copy_media_items(
        source_folder_id: FolderId, target_folder_id: FolderId, item_ids: ItemIds, username: Username = None
    ) -> Annotated[CallToolResult, ItemsChange]:
        """Copy files/artworks from one media center folder into another."""
        return await items_change(D.COPY_FOLDER_ITEMS, source_folder_id, target_folder_id, item_ids, username)

    @server.tool(title="Remove media items", annotations=writes(destructive=True, idempotent=False))
    async def remove_media_items(
        folder_id: FolderId, item_ids: ItemIds, username: Username = None
    ) -> Annotated[CallToolResult, ItemsChange]:
        """Remove files/artworks from a media center folder. Confirm with the user first."""
        fid = require_uuid(folder_id, "folder_id")
        ids = require_uuids(item_ids, "item_ids")
        current = await folder(fid, username)
        asked = await confirm_change(f"Remove {len(ids)} item(s) from the media folder {current['name']!r}.")
        for item in ids:
            await gateway.execute(D.REMOVE_FOLDER_ITEM, {"folderId": fid, "folderItemId": item}, username=username)
        return tool_result(ItemsChange(source_folder_id=fid, item_ids=ids, confirmed_by_user=asked))

    @server.tool(title="Folder users", annotations=read_only())
    async def list_folder_users(
        folder_id: FolderId, username: Username = None
    ) -> Annotated[CallToolResult, FolderUsers]:
        """Who may use a media center folder, with each user's rights in it."""
        fid = require_uuid(folder_id, "folder_id")
        rows = (await gateway.execute(D.USERS_FOR_FOLDER, {"folderId": fid}, username=username)).get("usersForFolder")
        return tool_result(_users(fid, rows))

    @server.tool(title="Set folder user", annotations=writes(destructive=False, idempotent=True))
    async def set_folder_user(
        folder_id: FolderId,
        user: UserName,
        write: bool = False,
        manage: bool = False,
        share: bool = False,
        download_delivery_files: bool = False,
        username: Username = None,
    ) -> Annotated[CallToolResult, FolderUsers]:
        """Give a user access to a folder with these rights (or change their rights). Needs manage rights."""
        fid = require_uuid(folder_id, "folder_id")
        uid = await user_id(user, username)
        perms = {"write": write, "manage": manage, "share": share, "downloadDeliveryFiles": download_delivery_files}
        rows = (await gateway.execute(D.USERS_FOR_FOLDER, {"folderId": fid}, username=username)).get("usersForFolder")
        current = next((r for r in dicts(rows) if r.get("userId") == uid), None)
        if current is not None and current.get("permissions") == perms:
            return tool_result(_users(fid, rows, unchanged=True))
        doc = D.ADD_USER_TO_FOLDER if current is None else D.CHANGE_FOLDER_USER_PERMISSION
        await gateway.execute(doc, {"folderId": fid, "userId": uid, "permissions": perms}, username=username)
        rows = (await gateway.execute(D.USERS_FOR_FOLDER, {"folderId": fid}, username=username)).get("usersForFolder")
        return tool_result(_users(fid, rows))

    @server.tool(title="Remove folder user", annotations=writes(destructive=False, idempotent=True))
    async def remove_folder_user(
        folder_id: FolderId, user: UserName, username: Username = None
    ) -> Annotated[CallToolResult, FolderUsers]:
        """Take a user's access to a folder away (set_folder_user gives it back)."""
        fid = require_uuid(folder_id, "folder_id")
        uid = await user_id(user, username)
        rows = (await gateway.execute(D.USERS_FOR_FOLDER, {"folderId": fid}, username=username)).get("usersForFolder")
        if all(r.get("userId") != uid for r in dicts(rows)):
            return tool_result(_users(fid, rows, unchanged=True))
        await gateway.execute(D.REMOVE_USER_FROM_FOLDER, {"folderId": fid, "userId": uid}, username=username)
        rows = (await gateway.execute(D.USERS_FOR_FOLDER, {"folderId": fid}, username=username)).get("usersForFolder")
        return tool_result(_users(fid, rows))

    @server.tool(title="Media artwork", annotations=read_only())
    async def get_media_artwork(
        artwork_id: Annotated[str, Field(description="Media center artwork id (artwork_id from find_media_items).")],
        username: Username = None,
    ) -> Annotated[CallToolResult, MediaArtwork]:
        """A media center (master) artwork with its comments, numbered and by whom."""
        return await media_artwork(require_uuid(artwork_id, "artwork_id"), username)

    @server.tool(title="Comment media artwork", annotations=writes(destructive=False, idempotent=False))
    async def comment_media_artwork(
        artwork_id: Annotated[str, Field(description="Media center artwork id.")],
        text: Annotated[str, Field(description="The comment.")],
        username: Username = None,
    ) -> Annotated[CallToolResult, MediaArtwork]:
        """Comment on a media center artwork; returns the artwork with its comments."""
        aid = require_uuid(artwork_id, "artwork_id")
        body = require_text(text, "text")
        await gateway.execute(
            D.COMMENT_MEDIA_CENTER_ARTWORKS, {"comments": [{"artworkId": aid, "text": body}]}, username=username
        )
        return await media_artwork(aid, username)
