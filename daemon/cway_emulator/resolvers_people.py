"""People: users and teams of an organisation, inviting users, permission groups.

The rules are those of an organisation's user administration, as strict as Cway's: only an
organisation admin (``organisationUserAdministration``) invites users, creates teams or sets
permission groups; a team's own admins may change who is in their team; everything is scoped
to the caller's current organisation, and a user or team of another organisation is "not found".
Nobody can leave an organisation without an admin by changing permission groups.
"""

from __future__ import annotations

import uuid
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from cway_emulator.email_list import parse_addresses
from cway_emulator.fixtures import ADMIN_GROUP, MEMBER_GROUP, PERMISSION_GROUPS, Record, group_permissions
from cway_emulator.gql_context import (
    Ctx,
    Resolver,
    contains,
    ctx_of,
    forbidden,
    in_org,
    not_found,
    org_records,
    paginate,
    require,
)

USER_ADMIN = "organisationUserAdministration"


def _members(ctx: Ctx, org_id: str | None) -> list[Record]:
    return [u for u in ctx.store.users.values() if org_id in u["_orgs"]]


def _member_by_id(ctx: Ctx, user_id: str, org_id: str | None = None) -> Record:
    user = ctx.store.cway_user_by_id(str(user_id).lower())
    if user is None or (org_id or ctx.org_id) not in user["_orgs"]:
        raise not_found("User", user_id)
    return user


def _team(ctx: Ctx, team_id: str) -> Record:
    return in_org(ctx, ctx.store.teams, team_id, "Team")


def _name(value: str | None, what: str, max_chars: int = 255) -> str:
    text = (value or "").strip()
    if not text:
        raise GraphQLError(f"{what} must not be empty")
    if len(text) > max_chars:
        raise GraphQLError(f"{what} is longer than {max_chars} characters")
    return text


def q_find_users_and_teams(
    _: Any, info: GraphQLResolveInfo, search: str | None = None, paging: Record | None = None
) -> Record:
    ctx = ctx_of(info)
    require(ctx, "canSearchUsers")
    users = [
        {**u, "__typename": "User"}
        for u in sorted(_members(ctx, ctx.org_id), key=lambda u: u["username"])
        if contains([u["username"], u["name"], u["email"]], search)
    ]
    teams = [
        {**t, "__typename": "UserTeam"}
        for t in sorted(org_records(ctx, ctx.store.teams), key=lambda t: t["name"].lower())
        if contains([t["name"], t["description"]], search)
    ]
    rows = teams + users
    page_items, page = paginate(rows, paging)
    return {"usersOrTeams": page_items, "page": page, "totalHits": len(rows)}


def m_create_users_from_email_string(_: Any, info: GraphQLResolveInfo, emails: list[str]) -> bool:
    """Invite people by e-mail: new users are created, users of other organisations join this one."""
    ctx = ctx_of(info)
    require(ctx, USER_ADMIN)
    addresses = parse_addresses(emails)
    org = ctx.store.orgs[str(ctx.org_id)]
    members = _members(ctx, org["id"])
    joining = [a for a in addresses if org["id"] not in (ctx.store.cway_user(a) or {}).get("_orgs", [])]
    limit = int((org.get("limits") or {}).get("maxUsers") or 0)
    if limit and len(members) + len(joining) > limit:
        raise GraphQLError(f"The organisation's user limit ({limit}) would be exceeded")
    for address in joining:
        existing = ctx.store.cway_user(address)
        if existing is not None:
            existing["_orgs"].append(org["id"])
            continue
        local = address.split("@", 1)[0]
        ctx.store.users[address] = {
            "id": str(uuid.uuid4()),
            "enabled": True,
            "username": address,
            "email": address,
            "firstName": "",
            "lastName": "",
            "name": local,
            "acceptedTerms": False,
            "isSSO": False,
            "createdAt": ctx.now_ms(),
            "_orgs": [org["id"]],
            "_permissions": group_permissions(MEMBER_GROUP),
            "permissionGroupId": MEMBER_GROUP,
            "_added_by": ctx.username,
        }
    return True


def m_create_user_team(
    _: Any,
    info: GraphQLResolveInfo,
    name: str,
    description: str,
    teamId: str | None = None,
    approvalMode: str | None = None,
) -> bool:
    ctx = ctx_of(info)
    require(ctx, USER_ADMIN)
    title = _name(name, "Team name")
    if any(t["name"].lower() == title.lower() for t in org_records(ctx, ctx.store.teams)):
        raise GraphQLError(f"A team named {title!r} already exists")
    ident = str(teamId).lower() if teamId else str(uuid.uuid4())
    if ident in ctx.store.teams:
        raise GraphQLError(f"Team {ident} already exists")
    ctx.store.teams[ident] = {
        "id": ident,
        "name": title,
        "description": (description or "").strip(),
        "approvalMode": approvalMode or "ALL_REQUIRED",
        "_org": ctx.org_id,
        "_members": {},
    }
    return True


def _may_manage_team(ctx: Ctx, team: Record) -> None:
    if ctx.permissions.get(USER_ADMIN) or team["_members"].get(ctx.user["id"]) is True:
        return
    raise forbidden("only an organisation admin or an admin of the team may change its members")


def m_add_users_to_team(_: Any, info: GraphQLResolveInfo, teamId: str, users: list[Record]) -> bool:
    ctx = ctx_of(info)
    team = _team(ctx, teamId)
    _may_manage_team(ctx, team)
    if not users:
        raise GraphQLError("users must not be empty")
    checked = [(_member_by_id(ctx, u["userId"])["id"], bool(u.get("admin"))) for u in users]
    for user_id, admin in checked:
        team["_members"][user_id] = admin
    return True


def m_remove_users_from_team(_: Any, info: GraphQLResolveInfo, teamId: str, userIds: list[str]) -> bool:
    ctx = ctx_of(info)
    team = _team(ctx, teamId)
    _may_manage_team(ctx, team)
    if not userIds:
        raise GraphQLError("userIds must not be empty")
    missing = [u for u in userIds if str(u).lower() not in team["_members"]]
    if missing:
        raise GraphQLError(f"Not members of team {team['name']!r}: {', '.join(missing)}")
    for user_id in userIds:
        team["_members"].pop(str(user_id).lower())
    return True


def q_permission_groups(_: Any, info: GraphQLResolveInfo) -> list[Record]:
    ctx_of(info)  # any signed-in member may see the group names
    return [{"id": gid, "name": name} for gid, (name, _admin) in PERMISSION_GROUPS.items()]


def m_set_permission_group(
    _: Any,
    info: GraphQLResolveInfo,
    usernames: list[str],
    permissionGroupId: str,
    organisationId: str | None = None,
) -> bool:
    ctx = ctx_of(info)
    org_id = str(organisationId).lower() if organisationId else ctx.org_id
    if org_id not in ctx.user["_orgs"]:
        raise not_found("Organisation", organisationId)
    require(ctx, USER_ADMIN)
    group = str(permissionGroupId).lower()
    if group not in PERMISSION_GROUPS:
        raise not_found("PermissionGroup", permissionGroupId)
    if not usernames:
        raise GraphQLError("usernames must not be empty")
    targets = []
    for name in usernames:
        user = ctx.store.cway_user(name)
        if user is None or org_id not in user["_orgs"]:
            raise not_found("User", name)
        targets.append(user)
    target_ids = {u["id"] for u in targets}
    admins_after = {
        u["id"]
        for u in _members(ctx, org_id)
        if u.get("permissionGroupId") == ADMIN_GROUP and u["id"] not in target_ids
    }
    if group != ADMIN_GROUP and not admins_after:
        raise GraphQLError("The organisation must keep at least one user in the Administrator group")
    for user in targets:
        user["permissionGroupId"] = group
        user["_permissions"] = group_permissions(group, system_admin=bool(user["_permissions"].get("isSystemAdmin")))
    return True


def _team_users(team: Record, info: GraphQLResolveInfo) -> list[Record]:
    ctx = ctx_of(info)
    rows = []
    for user_id, admin in team["_members"].items():
        user = ctx.store.cway_user_by_id(user_id)
        if user is not None:
            rows.append({"user": user, "admin": admin})
    return sorted(rows, key=lambda r: r["user"]["username"])


def _org_teams(org: Record, info: GraphQLResolveInfo) -> list[Record]:
    ctx = ctx_of(info)
    if org["id"] != ctx.org_id:
        raise forbidden("teams of another organisation")
    return sorted(org_records(ctx, ctx.store.teams), key=lambda t: t["name"].lower())


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "Query": {
        "findUsersAndTeamsPage": q_find_users_and_teams,
        "getPermissionGroups": q_permission_groups,
    },
    "Mutation": {
        "createUsersFromEmailString": m_create_users_from_email_string,
        "createUserTeam": m_create_user_team,
        "addUsersToTeam": m_add_users_to_team,
        "removeUsersFromTeam": m_remove_users_from_team,
        "setPermissionGroupForUsers": m_set_permission_group,
    },
    "UserTeam": {"users": _team_users},
    "Organisation": {"teams": _org_teams},
}
