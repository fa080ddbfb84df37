"""People of the organisation: users and teams, inviting users, team members, permission groups.

Looking one user up is ``tools_org`` (``find_users``, ``get_user``); these tools cover teams and
the organisation admin's work. Cway decides who may: only organisation admins invite users,
create teams or change permission groups; a team's admins may change its members.
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
    MAX_BULK_IDS,
    Out,
    Page,
    Paged,
    PageSize,
    Username,
    dicts,
    optional_text,
    paging,
    read_only,
    require_text,
    require_uuid,
    tool_result,
    writes,
)

TOOLSET = "people"

TeamId = Annotated[str, Field(description="Team id (from find_users_and_teams).")]
Usernames = Annotated[list[str], Field(description="Exact Cway usernames (1-100).")]


class TeamMember(Out):
    username: str
    admin: bool = Field(description="Team admin: may change the team's members.")


class Team(Out):
    id: str
    name: str
    description: str | None = None
    approval_mode: str | None = None
    members: list[TeamMember] = Field(default_factory=list)


class Person(Out):
    id: str
    username: str
    name: str | None = None
    email: str | None = None
    enabled: bool | None = None
    permission_group_id: str | None = None


class UsersAndTeams(Paged):
    teams: list[Team]
    users: list[Person]


class Invited(Out):
    emails: list[str]


class PermissionGroup(Out):
    id: str
    name: str


class PermissionGroups(Out):
    groups: list[PermissionGroup]


class GroupSet(Out):
    usernames: list[str]
    permission_group_id: str
    confirmed_by_user: bool | None = None


def _team(t: dict[str, Any]) -> Team:
    return Team(
        id=t["id"],
        name=t["name"],
        description=t.get("description") or None,
        approval_mode=t.get("approvalMode"),
        members=[
            TeamMember(username=m["user"]["username"], admin=bool(m.get("admin")))
            for m in dicts(t.get("users"))
            if isinstance(m.get("user"), dict)
        ],
    )


def _usernames(values: list[str]) -> list[str]:
    if not values:
        raise ToolError("usernames must contain at least one username.")
    if len(values) > MAX_BULK_IDS:
        raise ToolError(f"usernames may contain at most {MAX_BULK_IDS} names.")
    return list(dict.fromkeys(require_text(v, "username", max_chars=320) for v in values))


async def user_ids(gateway: CwayGateway, names: list[str], username: str | None) -> dict[str, str]:
    """Username -> user id for users of the current organisation, or a ToolError naming who is unknown."""
    found: dict[str, str] = {}
    for name in names:
        user = (await gateway.execute(D.GET_USER, {"username": name}, username=username)).get("getUser")
        if not isinstance(user, dict):
            raise ToolError(f"No Cway user {name!r} in this organisation; try find_users.")
        found[name] = str(user["id"])
    return found


def register(server: MCPServer, gateway: CwayGateway) -> None:
    """Register the people tools on ``server``."""

    async def team(tid: str, username: str | None) -> dict[str, Any]:
        org = (await gateway.execute(D.TEAMS, username=username)).get("organisation") or {}
        found = next((t for t in dicts(org.get("teams")) if t.get("id") == tid), None)
        if found is None:
            raise ToolError(f"Team {tid} was not found in this organisation; try find_users_and_teams.")
        return found

    @server.tool(title="Find users and teams", annotations=read_only())
    async def find_users_and_teams(
        search: Annotated[str | None, Field(description="Part of a name, username or e-mail.")] = None,
        page: Page = 1,
        page_size: PageSize = 25,
        username: Username = None,
    ) -> Annotated[CallToolResult, UsersAndTeams]:
        """Search the organisation's teams (with members) and users. Paged."""
        variables = {"search": optional_text(search), "paging": {"page": page - 1, "pageSize": page_size}}
        result = (await gateway.execute(D.FIND_USERS_AND_TEAMS, variables, username=username)).get(
            "findUsersAndTeamsPage"
        ) or {}
        rows = list(dicts(result.get("usersOrTeams")))
        teams = [_team(r) for r in rows if r.get("__typename") == "UserTeam"]
        users = [
            Person(
                id=r["id"],
                username=r["username"],
                name=r.get("name"),
                email=r.get("email"),
                enabled=r.get("enabled"),
                permission_group_id=r.get("permissionGroupId"),
            )
            for r in rows
            if r.get("__typename") == "User"
        ]
        total = int(result.get("totalHits") or 0)
        return tool_result(UsersAndTeams(teams=teams, users=users, **paging(page, page_size, total)))

    @server.tool(title="Invite users", annotations=writes(destructive=False, idempotent=True))
    async def invite_users(
        emails: Annotated[str, Field(description="E-mail addresses, comma-separated.")], username: Username = None
    ) -> Annotated[CallToolResult, Invited]:
        """Add people to the organisation by e-mail (organisation admins only); existing members are kept."""
        text = require_text(emails, "emails", max_chars=10_000)
        await gateway.execute(D.CREATE_USERS_FROM_EMAILS, {"emails": [text]}, username=username)
        parts = [p.lower() for p in text.replace(";", ",").replace("\n", ",").replace(" ", ",").split(",") if p]
        return tool_result(Invited(emails=list(dict.fromkeys(parts))))

    @server.tool(title="Create team", annotations=writes(destructive=False, idempotent=False))
    async def create_team(
        name: Annotated[str, Field(description="Team name.")],
        description: str = "",
        approval_mode: Literal["ALL_REQUIRED", "ANY_MEMBER"] = "ALL_REQUIRED",
        username: Username = None,
    ) -> Annotated[CallToolResult, Team]:
        """Create a user team (organisation admins only); add people with add_team_members."""
        tid = str(uuid.uuid4())
        variables = {
            "teamId": tid,
            "name": require_text(name, "name", max_chars=255),
            "description": (description or "").strip(),
            "approvalMode": approval_mode,
        }
        await gateway.execute(D.CREATE_USER_TEAM, variables, username=username)
        return tool_result(_team(await team(tid, username)))

    @server.tool(title="Add team members", annotations=writes(destructive=False, idempotent=True))
    async def add_team_members(
        team_id: TeamId,
        usernames: Usernames,
        admin: Annotated[bool, Field(description="Make them team admins.")] = False,
        username: Username = None,
    ) -> Annotated[CallToolResult, Team]:
        """Add users to a team, or change whether they are the team's admins."""
        tid = require_uuid(team_id, "team_id")
        ids = await user_ids(gateway, _usernames(usernames), username)
        users = [{"userId": i, "admin": admin} for i in ids.values()]
        await gateway.execute(D.ADD_USERS_TO_TEAM, {"teamId": tid, "users": users}, username=username)
        return tool_result(_team(await team(tid, username)))

    @server.tool(title="Remove team members", annotations=writes(destructive=False, idempotent=True))
    async def remove_team_members(
        team_id: TeamId, usernames: Usernames, username: Username = None
    ) -> Annotated[CallToolResult, Team]:
        """Take users out of a team; usernames not in the team are skipped."""
        tid = require_uuid(team_id, "team_id")
        names = _usernames(usernames)
        current = await team(tid, username)
        members = {m["user"]["username"].lower(): m["user"]["id"] for m in dicts(current.get("users"))}
        ids = [members[n.lower()] for n in names if n.lower() in members]
        if not ids:
            return tool_result(_team(current))
        await gateway.execute(D.REMOVE_USERS_FROM_TEAM, {"teamId": tid, "userIds": ids}, username=username)
        return tool_result(_team(await team(tid, username)))

    @server.tool(title="Permission groups", annotations=read_only())
    async def list_permission_groups(username: Username = None) -> Annotated[CallToolResult, PermissionGroups]:
        """The organisation's permission groups (what a user may do), with ids for set_permission_group."""
        rows = (await gateway.execute(D.PERMISSION_GROUPS, username=username)).get("getPermissionGroups")
        return tool_result(PermissionGroups(groups=[PermissionGroup(id=g["id"], name=g["name"]) for g in dicts(rows)]))

    @server.tool(title="Set permission group", annotations=writes(destructive=True, idempotent=True))
    async def set_permission_group(
        usernames: Usernames,
        permission_group_id: Annotated[str, Field(description="Group id from list_permission_groups.")],
        username: Username = None,
    ) -> Annotated[CallToolResult, GroupSet]:
        """Put users in a permission group, replacing their rights (organisation admins only). Confirm first."""
        names = _usernames(usernames)
        gid = require_uuid(permission_group_id, "permission_group_id")
        groups = (await gateway.execute(D.PERMISSION_GROUPS, username=username)).get("getPermissionGroups")
        group = next((g for g in dicts(groups) if g.get("id") == gid), None)
        if group is None:
            raise ToolError(f"Permission group {gid} does not exist; see list_permission_groups.")
        asked = await confirm_change(
            f"Put {', '.join(names)} in the permission group {group['name']!r}; their current rights are replaced."
        )
        await gateway.execute(D.SET_PERMISSION_GROUP, {"usernames": names, "permissionGroupId": gid}, username=username)
        return tool_result(GroupSet(usernames=names, permission_group_id=gid, confirmed_by_user=asked))
