"""Identity, organisations, users, statistics and system status.

``organisations`` and ``status`` are documented as "System admin only" in the schema, so a
regular user gets an access-denied error there, as the real API promises.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from cway_emulator.fixtures import Record
from cway_emulator.gql_context import (
    FINISHED_ARTWORK_STATES,
    Ctx,
    Resolver,
    contains,
    ctx_of,
    forbidden,
    not_found,
    org_records,
    paginate,
    require,
)


def _members(ctx: Ctx, org_id: str | None) -> list[Record]:
    return [u for u in ctx.store.users.values() if org_id in u["_orgs"]]


def _memberships(ctx: Ctx, user: Record) -> list[Record]:
    return [{"organisationId": o, "name": ctx.store.orgs[o]["name"]} for o in user["_orgs"]]


def q_login_info(_: Any, info: GraphQLResolveInfo) -> Record:
    ctx = ctx_of(info)
    return {
        "id": ctx.user["id"],
        "user": ctx.user,
        "settings": {"locale": "en", "startUrl": "/projects", "desktopUrl": "/desktop"},
        "organisationMemberships": _memberships(ctx, ctx.user),
        "currentOrganisation": ctx.store.orgs.get(ctx.org_id or ""),
        "impersonatedBy": None,
        "shouldProvideName": False,
        "permissions": ctx.permissions,
    }


def q_organisation(_: Any, info: GraphQLResolveInfo, id: str | None = None) -> Record:
    ctx = ctx_of(info)
    org_id = str(id).lower() if id else ctx.org_id
    if org_id is None or org_id not in ctx.user["_orgs"]:
        raise not_found("Organisation", id)
    org: Record = ctx.store.orgs[org_id]
    return org


def q_organisations(_: Any, info: GraphQLResolveInfo) -> list[Record]:
    ctx = ctx_of(info)
    require(ctx, "isSystemAdmin")
    return list(ctx.store.orgs.values())


def q_status(_: Any, info: GraphQLResolveInfo) -> Record:
    ctx = ctx_of(info)
    require(ctx, "isSystemAdmin")
    renderer = {
        "rendererId": "emu-renderer-1",
        "hostname": "renderer-1.emulator.invalid",
        "ip": "127.0.0.1",
        "lastSeen": ctx.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "active": True,
    }
    return {"getViewerVersion": "emulator", "getDesktopVersion": "emulator", "rendererStatus": [renderer]}


def q_statistics(_: Any, info: GraphQLResolveInfo) -> Record:
    ctx = ctx_of(info)
    arts = org_records(ctx, ctx.store.artworks)
    files = org_records(ctx, ctx.store.files)
    mc = org_records(ctx, ctx.store.mc_artworks)
    return {
        "approvalStats": {
            "approvedArtworks": sum(a["state"] in FINISHED_ARTWORK_STATES for a in arts),
            "averageApprovalTime": "2d 4h",
            "averageRevisions": 1.5,
        },
        "fileStorage": sum(int(f["size"]) for f in files),
        "mediaCenter": {"totalItems": len(files) + len(mc), "artworks": len(mc), "itemsPerMonth": []},
    }


def _find_users(ctx: Ctx, username: str | None) -> list[Record]:
    require(ctx, "canSearchUsers")
    users = [u for u in _members(ctx, ctx.org_id) if contains([u["username"], u["name"]], username)]
    return sorted(users, key=lambda u: u["username"])


def q_find_users_page(
    _: Any, info: GraphQLResolveInfo, username: str | None = None, paging: Record | None = None
) -> Record:
    users = _find_users(ctx_of(info), username)
    page_items, page = paginate(users, paging)
    return {"users": page_items, "page": page, "totalHits": len(users)}


def q_get_user(_: Any, info: GraphQLResolveInfo, username: str | None = None) -> Record | None:
    ctx = ctx_of(info)
    user = ctx.store.cway_user(username)
    if user is None or ctx.org_id not in user["_orgs"]:
        return None
    return user


def _org_users(org: Record, info: GraphQLResolveInfo) -> list[Record]:
    ctx = ctx_of(info)
    if not ctx.permissions.get("organisationUserAdministration") and org["id"] != ctx.org_id:
        raise forbidden("not a member")
    return _members(ctx, org["id"])


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "Query": {
        "loginInfo": q_login_info,
        "organisation": q_organisation,
        "organisations": q_organisations,
        "status": q_status,
        "statistics": q_statistics,
        "findUsersPage": q_find_users_page,
        "findUsers": lambda _, info, username=None: _find_users(ctx_of(info), username),
        "getUser": q_get_user,
    },
    "User": {
        "organisationMemberships": lambda u, info: _memberships(ctx_of(info), u),
    },
    "Organisation": {
        "users": _org_users,
        "numberOfUsers": lambda o, info: len(_members(ctx_of(info), o["id"])),
        "numberOfFullUsers": lambda o, info: len(_members(ctx_of(info), o["id"])),
    },
}
