"""Media center (folders, files, items), shares and downloads.

Download URLs are plain strings pointing back at the emulator; nothing serves them, because
the point is to see that a tool passes them on, not to move bytes. Zip jobs and the ``download``
subscription are in ``resolvers_downloads``.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from cway_emulator.fixtures import Record
from cway_emulator.folder_access import rights, visible_folder
from cway_emulator.gql_context import Ctx, Resolver, contains, ctx_of, in_org, org_records, paginate
from cway_emulator.previews import download_signature, find_preview


def _folder(ctx: Ctx, ident: str) -> Record:
    return visible_folder(ctx, ident)


def _visible(ctx: Ctx) -> list[Record]:
    return [f for f in org_records(ctx, ctx.store.folders) if rights(ctx, f) is not None]


def _children(ctx: Ctx, folder_id: str) -> list[Record]:
    return [f for f in _visible(ctx) if f["parentId"] == folder_id]


def _lineage(ctx: Ctx, folder_id: str | None) -> list[Record]:
    chain: list[Record] = []
    while folder_id:
        folder = ctx.store.folders[folder_id]
        chain.insert(0, folder)
        folder_id = folder["parentId"]
    return chain


def _subtree(ctx: Ctx, folder_id: str) -> list[str]:
    ids = [folder_id]
    for child in _children(ctx, folder_id):
        ids.extend(_subtree(ctx, child["id"]))
    return ids


def q_items_for_folder(
    _: Any,
    info: GraphQLResolveInfo,
    input: Record,
    sorting: Record | None = None,
    paging: Record | None = None,
) -> Record:
    ctx = ctx_of(info)
    root = _folder(ctx, input["folderId"])
    recursive = input.get("recursive", True) is not False
    scope = set(_subtree(ctx, root["id"]) if recursive else [root["id"]])
    items: list[Record] = []
    for f in org_records(ctx, ctx.store.files):
        if f["_folder"] in scope:
            items.append({"__typename": "FileFolderItem", "file": f, **_item(ctx, f)})
    for a in org_records(ctx, ctx.store.mc_artworks):
        if a["_folder"] in scope:
            items.append({"__typename": "ArtworkFolderItem", "artwork": a, **_item(ctx, a)})
    items = [i for i in items if contains([i["name"]], input.get("searchString"))]
    field = (sorting or {}).get("field", "NAME")
    items.sort(key=lambda i: i["name"].lower() if field == "NAME" else i["created"])
    if (sorting or {}).get("direction") == "DESC":
        items.reverse()
    page_items, page = paginate(items, paging)
    return {"items": page_items, "page": page, "totalHits": len(items)}


def _item(ctx: Ctx, record: Record) -> Record:
    return {
        "id": record["id"],
        "name": record["name"],
        "obsolete": False,
        "created": record["created"],
        "lineage": _lineage(ctx, record["_folder"]),
    }


def q_find_shares(
    _: Any,
    info: GraphQLResolveInfo,
    fileNameFilter: str | None = None,
    sharedToUser: str | None = None,
    sharedByUser: str | None = None,
    includeRead: bool | None = None,
) -> list[Record]:
    ctx = ctx_of(info)
    shares = [s for s in org_records(ctx, ctx.store.shares) if ctx.username in (s["sharedFrom"], s["sharedTo"])]
    shares = [s for s in shares if contains([s["name"]], fileNameFilter)]
    shares = [s for s in shares if contains([s["sharedTo"]], sharedToUser)]
    shares = [s for s in shares if contains([s["sharedFrom"]], sharedByUser)]
    if not includeRead:
        shares = [s for s in shares if not s["read"]]
    return sorted(shares, key=lambda s: s["created"], reverse=True)


def q_share(_: Any, info: GraphQLResolveInfo, id: str) -> Record:
    ctx = ctx_of(info)
    share = in_org(ctx, ctx.store.shares, id, "Share")
    if ctx.username not in (share["sharedFrom"], share["sharedTo"]):
        raise GraphQLError(f"Share {id} not found", extensions={"classification": "NOT_FOUND"})
    return share


def q_temp_download_url(_: Any, info: GraphQLResolveInfo, fileId: str) -> str:
    ctx = ctx_of(info)
    preview = find_preview(ctx.store.artworks, fileId)
    f = preview if preview and preview["_org"] == ctx.org_id else in_org(ctx, ctx.store.files, fileId, "File")
    expires = ctx.now_ms() // 1000 + 900
    sig = download_signature(f["id"], expires, ctx.username)
    return f"{ctx.base_url}/_emulator/download/{f['id']}/{f['name']}?expires={expires}&sig={sig}"


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "Query": {
        "tree": lambda _, info: _visible(ctx_of(info)),
        "folder": lambda _, info, id: _folder(ctx_of(info), id),
        "itemsForFolder": q_items_for_folder,
        "file": lambda _, info, uuid: in_org(ctx_of(info), ctx_of(info).store.files, uuid, "File"),
        "findShares": q_find_shares,
        "share": q_share,
        "tempFileDownloadUrl": q_temp_download_url,
    },
    "Folder": {
        "folders": lambda f, info: _children(ctx_of(info), f["id"]),
        "permissions": lambda f, info: rights(ctx_of(info), f),
    },
    "Share": {"organisation": lambda s, info: ctx_of(info).store.orgs[s["_org"]]},
}
