"""Media-center changes: folders (create, rename, move, copy, delete), their items (move, copy,
remove), who may use a folder, shares of media (to people and anonymous links) and comments
on media-center artworks.

Every change is checked against the caller's rights on the folders involved (``folder_access``):
``write`` to add or take out items or subfolders, ``manage`` to rename, move or delete a folder or
change its users, ``share`` to share what is in it. A share may only contain what the caller can
see, goes to well-formed addresses only, and only its sender (or an organisation admin) removes
it; only its recipient marks it read. Anonymous shares expire after the ``anonymous_share_days`` knob.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from cway_emulator.email_list import parse_addresses
from cway_emulator.fixtures import Record
from cway_emulator.folder_access import (
    FULL,
    READ_ONLY,
    check_folder_name,
    is_org_admin,
    require_right,
    rights,
    visible_folder,
)
from cway_emulator.gql_context import Ctx, Resolver, ctx_of, forbidden, in_org, not_found, require

#: How long a share to named people works.
SHARE_DAYS = 30
DAY_MS = 86_400_000


def _subtree(ctx: Ctx, folder_id: str) -> list[str]:
    ids = [folder_id]
    for f in list(ctx.store.folders.values()):
        if f["parentId"] == folder_id:
            ids.extend(_subtree(ctx, f["id"]))
    return ids


def _new_id(given: str | None, taken: dict[str, Record], kind: str) -> str:
    ident = str(given).lower() if given else str(uuid.uuid4())
    if ident in taken:
        raise GraphQLError(f"{kind} {ident} already exists")
    return ident


def _child_access(ctx: Ctx, parent: Record) -> Record | None:
    """A new folder inherits its parent's user list (an organisation-wide parent: organisation-wide)."""
    access = parent.get("_access")
    if access is None:
        return None
    inherited = copy.deepcopy(access)
    inherited[ctx.user["id"]] = dict(FULL)  # whoever creates a folder manages it
    return dict(inherited)


def _new_folder(ctx: Ctx, ident: str, name: str, parent: Record | None, access: Record | None) -> Record:
    folder: Record = {
        "id": ident,
        "parentId": parent["id"] if parent else None,
        "name": name,
        "shared": False,
        "permissions": dict(READ_ONLY),
        "_org": ctx.org_id,
    }
    if parent is not None and access is None:
        folder["permissions"] = dict(parent.get("permissions") or READ_ONLY)
    if access is not None:
        folder["_access"] = access
    ctx.store.folders[ident] = folder
    return folder


def m_create_folder(_: Any, info: GraphQLResolveInfo, input: Record) -> bool:
    ctx = ctx_of(info)
    parent = visible_folder(ctx, input["parentFolderId"])
    require_right(ctx, parent, "write")
    name = check_folder_name(ctx, parent["id"], input.get("name"))
    ident = _new_id(input.get("folderId"), ctx.store.folders, "Folder")
    _new_folder(ctx, ident, name, parent, _child_access(ctx, parent))
    return True


def m_create_root_folder(_: Any, info: GraphQLResolveInfo, name: str) -> bool:
    ctx = ctx_of(info)
    require(ctx, "canCreateTopFolder")
    title = check_folder_name(ctx, None, name)
    _new_folder(ctx, str(uuid.uuid4()), title, None, {ctx.user["id"]: dict(FULL)})
    return True


def m_rename_folder(_: Any, info: GraphQLResolveInfo, folderId: str, name: str) -> bool:
    ctx = ctx_of(info)
    folder = visible_folder(ctx, folderId)
    require_right(ctx, folder, "manage")
    folder["name"] = check_folder_name(ctx, folder["parentId"], name, except_id=folder["id"])
    return True


def _target_for(ctx: Ctx, source: Record, target: Record, what: str) -> None:
    if target["id"] in _subtree(ctx, source["id"]):
        raise GraphQLError(f"Cannot {what} folder {source['name']!r} into itself or one of its subfolders")


def m_move_folder(
    _: Any,
    info: GraphQLResolveInfo,
    sourceFolderId: str,
    targetFolderId: str,
    child: bool | None = None,
    before: bool | None = None,
) -> bool:
    """``child`` (default): into the target; otherwise beside it (same parent; ``before`` orders)."""
    ctx = ctx_of(info)
    source = visible_folder(ctx, sourceFolderId)
    target = visible_folder(ctx, targetFolderId)
    require_right(ctx, source, "manage")
    _target_for(ctx, source, target, "move")
    new_parent_id = target["id"] if child is not False else target["parentId"]
    if new_parent_id is None:
        require(ctx, "canCreateTopFolder")
    else:
        require_right(ctx, ctx.store.folders[new_parent_id], "write")
    check_folder_name(ctx, new_parent_id, source["name"], except_id=source["id"])
    source["parentId"] = new_parent_id
    return True


def m_copy_folder(_: Any, info: GraphQLResolveInfo, sourceFolderId: str, targetFolderId: str) -> bool:
    """Copy a folder with its subfolders and items into the target (a name clash gets " (copy)")."""
    ctx = ctx_of(info)
    source = visible_folder(ctx, sourceFolderId)
    target = visible_folder(ctx, targetFolderId)
    require_right(ctx, target, "write")
    _target_for(ctx, source, target, "copy")
    name = source["name"]
    siblings = {f["name"].lower() for f in ctx.store.folders.values() if f["parentId"] == target["id"]}
    while name.lower() in siblings:
        name += " (copy)"
    _copy_tree(ctx, source, target, name)
    return True


def _copy_tree(ctx: Ctx, source: Record, parent: Record, name: str) -> None:
    folder = _new_folder(ctx, str(uuid.uuid4()), name, parent, _child_access(ctx, parent))
    for collection in (ctx.store.files, ctx.store.mc_artworks):
        for item in [i for i in collection.values() if i.get("_folder") == source["id"]]:
            _copy_item(ctx, collection, item, folder["id"])
    for child in [f for f in list(ctx.store.folders.values()) if f["parentId"] == source["id"]]:
        if rights(ctx, child) is not None:
            _copy_tree(ctx, child, folder, child["name"])


def _copy_item(ctx: Ctx, collection: dict[str, Record], item: Record, folder_id: str) -> None:
    clone = copy.deepcopy(item)
    clone.update(id=str(uuid.uuid4()), _folder=folder_id, created=ctx.now_ms())
    collection[clone["id"]] = clone


def m_delete_folder(_: Any, info: GraphQLResolveInfo, folderId: str) -> bool:
    ctx = ctx_of(info)
    folder = visible_folder(ctx, folderId)
    require_right(ctx, folder, "manage")
    doomed = set(_subtree(ctx, folder["id"]))
    for collection in (ctx.store.files, ctx.store.mc_artworks):
        for ident in [i for i, r in collection.items() if r.get("_folder") in doomed]:
            del collection[ident]
    for ident in doomed:
        ctx.store.folders.pop(ident, None)
    return True


def _items_in(ctx: Ctx, folder: Record, item_ids: list[str]) -> list[tuple[dict[str, Record], Record]]:
    if not item_ids:
        raise GraphQLError("folderItems must not be empty")
    found = []
    for ident in item_ids:
        key = str(ident).lower()
        for collection in (ctx.store.files, ctx.store.mc_artworks):
            item = collection.get(key)
            if item is not None and item.get("_folder") == folder["id"]:
                found.append((collection, item))
                break
        else:
            raise not_found(f"Item in folder {folder['name']!r}:", ident)
    return found


def m_move_items(
    _: Any, info: GraphQLResolveInfo, sourceFolderId: str, targetFolderId: str, folderItems: list[str]
) -> bool:
    ctx = ctx_of(info)
    source, target = visible_folder(ctx, sourceFolderId), visible_folder(ctx, targetFolderId)
    require_right(ctx, source, "write")
    require_right(ctx, target, "write")
    for _collection, item in _items_in(ctx, source, folderItems):
        item["_folder"] = target["id"]
    return True


def m_copy_items(
    _: Any, info: GraphQLResolveInfo, sourceFolderId: str, targetFolderId: str, folderItems: list[str]
) -> bool:
    ctx = ctx_of(info)
    source, target = visible_folder(ctx, sourceFolderId), visible_folder(ctx, targetFolderId)
    require_right(ctx, target, "write")
    for collection, item in _items_in(ctx, source, folderItems):
        _copy_item(ctx, collection, item, target["id"])
    return True


def m_remove_item(_: Any, info: GraphQLResolveInfo, folderId: str, folderItemId: str) -> bool:
    ctx = ctx_of(info)
    folder = visible_folder(ctx, folderId)
    require_right(ctx, folder, "write")
    ((collection, item),) = _items_in(ctx, folder, [folderItemId])
    del collection[item["id"]]
    return True


# --- who may use a folder ------------------------------------------------------------------


def _folder_users(ctx: Ctx, folder: Record) -> list[Record]:
    members = [u for u in ctx.store.users.values() if folder["_org"] in u["_orgs"]]
    access = folder.get("_access")
    rows = []
    for user in sorted(members, key=lambda u: u["username"]):
        admin = bool(user["_permissions"].get("organisationUserAdministration"))
        if access is None:
            perms = dict(FULL) if admin else dict(folder.get("permissions") or READ_ONLY)
        elif user["id"] in access:
            perms = dict(FULL) if admin else dict(access[user["id"]])
        else:
            continue
        rows.append({"userId": user["id"], "username": user["username"], "name": user["name"], "permissions": perms})
    return rows


def q_users_for_folder(_: Any, info: GraphQLResolveInfo, folderId: str) -> list[Record]:
    ctx = ctx_of(info)
    return _folder_users(ctx, visible_folder(ctx, folderId))


def _member(ctx: Ctx, user_id: str) -> Record:
    user = ctx.store.cway_user_by_id(str(user_id).lower())
    if user is None or ctx.org_id not in user["_orgs"]:
        raise not_found("User", user_id)
    return user


def _explicit_access(ctx: Ctx, folder: Record) -> Record:
    """The folder's user list, written out first if it was open to the whole organisation."""
    if folder.get("_access") is None:
        folder["_access"] = {r["userId"]: r["permissions"] for r in _folder_users(ctx, folder)}
    access: Record = folder["_access"]
    return access


def m_add_user_to_folder(
    _: Any, info: GraphQLResolveInfo, folderId: str, userId: str, permissions: Record | None = None
) -> bool:
    ctx = ctx_of(info)
    folder = visible_folder(ctx, folderId)
    require_right(ctx, folder, "manage")
    user = _member(ctx, userId)
    access = _explicit_access(ctx, folder)
    if user["id"] in access and not ctx.knobs.folder_add_user_updates:
        raise GraphQLError(f"{user['username']} is already a user of folder {folder['name']!r}")
    access[user["id"]] = {k: bool((permissions or READ_ONLY)[k]) for k in READ_ONLY}
    return True


def m_change_folder_user_permission(
    _: Any, info: GraphQLResolveInfo, folderId: str, userId: str, permissions: Record
) -> bool:
    ctx = ctx_of(info)
    folder = visible_folder(ctx, folderId)
    require_right(ctx, folder, "manage")
    user = _member(ctx, userId)
    access = _explicit_access(ctx, folder)
    if user["id"] not in access:
        raise GraphQLError(f"{user['username']} is not a user of folder {folder['name']!r}")
    access[user["id"]] = {k: bool(permissions[k]) for k in READ_ONLY}
    return True


def m_remove_user_from_folder(_: Any, info: GraphQLResolveInfo, folderId: str, userId: str) -> bool:
    ctx = ctx_of(info)
    folder = visible_folder(ctx, folderId)
    require_right(ctx, folder, "manage")
    user = _member(ctx, userId)
    access = _explicit_access(ctx, folder)
    if user["id"] not in access:
        raise GraphQLError(f"{user['username']} is not a user of folder {folder['name']!r}")
    del access[user["id"]]
    return True


# --- shares --------------------------------------------------------------------------------


def _shareable(ctx: Ctx, media: Record) -> Record:
    """A file, media-center artwork or project artwork the caller may see and share."""
    kind, ident = media["mediaType"], media["id"]
    if kind == "PROJECT_ARTWORK":
        return in_org(ctx, ctx.store.artworks, ident, "Artwork")
    collection = ctx.store.files if kind == "FILE" else ctx.store.mc_artworks
    item = in_org(ctx, collection, ident, "File" if kind == "FILE" else "MediaCenterArtwork")
    folder = ctx.store.folders.get(item.get("_folder") or "")
    if folder is not None:
        perms = rights(ctx, folder)
        if perms is None:
            raise not_found("File" if kind == "FILE" else "MediaCenterArtwork", ident)
        if not perms["share"]:
            raise forbidden(f"no share permission on folder {folder['name']!r}")
    return item


def _share_items(ctx: Ctx, input: Record) -> tuple[str, list[Record]]:
    require(ctx, "canCreateShare")
    title = (input.get("title") or "").strip()
    if not title:
        raise GraphQLError("Share title must not be empty")
    if not input.get("items"):
        raise GraphQLError("A share needs at least one item")
    return title, [_shareable(ctx, m) for m in input["items"]]


def _share_record(ctx: Ctx, ident: str, title: str, items: list[Record], to: str, days: int) -> Record:
    now = ctx.now_ms()
    record: Record = {
        "id": ident,
        "name": title,
        "size": sum(int(i.get("size") or 0) for i in items),
        "created": now,
        "validToDate": now + days * DAY_MS,
        "sharedTo": to,
        "sharedFrom": ctx.username,
        "partialDownloadAllowed": True,
        "read": False,
        "_org": ctx.org_id,
        "_items": [i["id"] for i in items],
    }
    ctx.store.shares[ident] = record
    return record


def m_create_share(_: Any, info: GraphQLResolveInfo, input: Record) -> bool:
    """One share per recipient; a given ``shareId`` is the first recipient's, the others' derive from it."""
    ctx = ctx_of(info)
    title, items = _share_items(ctx, input)
    recipients = parse_addresses([input.get("emails") or ""], "emails")
    first = _new_id(input.get("shareId"), ctx.store.shares, "Share")
    ids = [first] + [str(uuid.uuid5(uuid.UUID(first), r)) for r in recipients[1:]]
    for ident, to in zip(ids, recipients, strict=True):
        _share_record(ctx, ident, title, items, to, SHARE_DAYS)
    return True


def m_create_anonymous_share(_: Any, info: GraphQLResolveInfo, input: Record) -> bool:
    ctx = ctx_of(info)
    title, items = _share_items(ctx, input)
    ident = _new_id(input.get("shareId"), ctx.store.shares, "Share")
    _share_record(ctx, ident, title, items, "anonymous", ctx.knobs.anonymous_share_days)["_anonymous"] = True
    return True


def q_anonymous_share(_: Any, info: GraphQLResolveInfo, id: str) -> Record:
    """Anyone with the link sees an anonymous share until it expires; then it is gone."""
    ctx = ctx_of(info)
    share = ctx.store.shares.get(str(id).lower())
    if share is None or not share.get("_anonymous") or share["validToDate"] <= ctx.now_ms():
        raise not_found("Share", id)
    return share


def m_remove_shares(_: Any, info: GraphQLResolveInfo, shareIds: list[str]) -> bool:
    ctx = ctx_of(info)
    if not shareIds:
        raise GraphQLError("shareIds must not be empty")
    shares = []
    for ident in shareIds:
        share = in_org(ctx, ctx.store.shares, ident, "Share")
        if ctx.username not in (share["sharedFrom"], share["sharedTo"]) and not is_org_admin(ctx):
            raise not_found("Share", ident)
        if share["sharedFrom"] != ctx.username and not is_org_admin(ctx):
            raise forbidden(f"only the sender of share {share['name']!r} may remove it")
        shares.append(share)
    for share in shares:
        ctx.store.shares.pop(share["id"], None)
    return True


def m_mark_share_as_read(_: Any, info: GraphQLResolveInfo, shareId: str) -> bool:
    ctx = ctx_of(info)
    share = in_org(ctx, ctx.store.shares, shareId, "Share")
    if ctx.username not in (share["sharedFrom"], share["sharedTo"]):
        raise not_found("Share", shareId)
    if share["sharedTo"] != ctx.username:
        raise forbidden("only the recipient marks a share as read")
    share["read"] = True
    return True


# --- media-center artworks and their comments -----------------------------------------------


def _mc_artwork(ctx: Ctx, ident: str) -> Record:
    art = in_org(ctx, ctx.store.mc_artworks, ident, "MediaCenterArtwork")
    folder = ctx.store.folders.get(art.get("_folder") or "")
    if folder is not None and rights(ctx, folder) is None:
        raise not_found("MediaCenterArtwork", ident)
    return art


def m_comment_mc_artworks(_: Any, info: GraphQLResolveInfo, comments: list[Record]) -> bool:
    ctx = ctx_of(info)
    if not comments:
        raise GraphQLError("comments must not be empty")
    checked = []
    for c in comments:
        art = _mc_artwork(ctx, c["artworkId"])
        text = (c.get("text") or "").strip()
        if not text:
            raise GraphQLError("Comment text must not be empty")
        if c.get("markers"):
            raise GraphQLError("Comment markers are not implemented by the Cway emulator")
        files = [in_org(ctx, ctx.store.files, f, "File") for f in c.get("fileIds") or []]
        checked.append((art, text, files))
    created = datetime.fromtimestamp(ctx.now_ms() / 1000, tz=UTC).isoformat().replace("+00:00", "Z")
    for art, text, files in checked:
        thread = art.setdefault("comments", [])
        thread.append(
            {
                "id": str(uuid.uuid4()),
                "text": text,
                "files": files,
                "markers": [],
                "number": len(thread) + 1,
                "commentedBy": ctx.user,
                "created": created,
                "valid": True,
            }
        )
    return True


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "Query": {
        "usersForFolder": q_users_for_folder,
        "anonymousShare": q_anonymous_share,
        "mediaCenterArtwork": lambda _, info, artworkId: _mc_artwork(ctx_of(info), artworkId),
    },
    "Mutation": {
        "createFolder": m_create_folder,
        "createRootFolder": m_create_root_folder,
        "renameFolder": m_rename_folder,
        "moveFolder": m_move_folder,
        "copyFolder": m_copy_folder,
        "deleteFolder": m_delete_folder,
        "moveFolderItems": m_move_items,
        "copyFolderItems": m_copy_items,
        "removeFolderItem": m_remove_item,
        "addUserToFolder": m_add_user_to_folder,
        "changeFolderUserPermission": m_change_folder_user_permission,
        "removeUserFromFolder": m_remove_user_from_folder,
        "createShare": m_create_share,
        "createAnonymousShare": m_create_anonymous_share,
        "removeShares": m_remove_shares,
        "markShareAsRead": m_mark_share_as_read,
        "commentMediaCenterArtworks": m_comment_mc_artworks,
    },
}
