"""Who may see and change a media-center folder: the per-user rights every folder resolver checks.

Cway's media center gives each user rights per folder (write, manage, share, download delivery
files). A folder either lists its users (``_access``: user id -> rights), and then nobody else
sees it, or it is open to the whole organisation with the same rights for every member (the seed's
folders: ``permissions``). Organisation admins have every right on every folder of their
organisation. A folder one cannot see is "not found", as objects of another organisation are.
"""

from __future__ import annotations

from graphql import GraphQLError

from cway_emulator.fixtures import Record
from cway_emulator.gql_context import Ctx, forbidden, not_found

RIGHTS = ("write", "manage", "share", "downloadDeliveryFiles")
FULL: Record = dict.fromkeys(RIGHTS, True)
READ_ONLY: Record = dict.fromkeys(RIGHTS, False)


def is_org_admin(ctx: Ctx) -> bool:
    return bool(ctx.permissions.get("organisationUserAdministration"))


def rights(ctx: Ctx, folder: Record) -> Record | None:
    """The caller's rights on ``folder``, or None when the caller may not see it at all."""
    if folder.get("_org") != ctx.org_id:
        return None
    if is_org_admin(ctx):
        return dict(FULL)
    access = folder.get("_access")
    if access is None:
        return dict(folder.get("permissions") or READ_ONLY)
    own = access.get(ctx.user["id"])
    return dict(own) if own is not None else None


def visible_folder(ctx: Ctx, ident: str) -> Record:
    """A folder the caller can see, or "not found"."""
    folder = ctx.store.folders.get(str(ident).lower())
    if folder is None or rights(ctx, folder) is None:
        raise not_found("Folder", ident)
    return folder


def require_right(ctx: Ctx, folder: Record, right: str) -> None:
    if not (rights(ctx, folder) or {}).get(right):
        raise forbidden(f"no {right} permission on folder {folder['name']!r}")


def check_folder_name(ctx: Ctx, parent_id: str | None, name: str | None, *, except_id: str | None = None) -> str:
    """A non-blank name (at most 255 characters) no sibling the caller can see already has.

    Only visible siblings count: refusing a name because of a folder the caller may not see
    would tell them it exists."""
    text = (name or "").strip()
    if not text:
        raise GraphQLError("Folder name must not be empty")
    if len(text) > 255 or "/" in text:
        raise GraphQLError("Folder name must be at most 255 characters and contain no '/'")
    for other in ctx.store.folders.values():
        if (
            other["_org"] == ctx.org_id
            and other["parentId"] == parent_id
            and other["id"] != except_id
            and other["name"].lower() == text.lower()
            and rights(ctx, other) is not None
        ):
            raise GraphQLError(f"A folder named {text!r} already exists there")
    return text
