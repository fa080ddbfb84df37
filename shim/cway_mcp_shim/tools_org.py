"""Organisation and people tools: the user's organisations, statistics, user look-up ("who is
bob?", "find the Fabrikam printer contact"), and Cway's system status for system admins.

Identity itself ("who am I signed in as") is the auth tools' ``whoami``; these tools answer the
questions about the organisation around that identity.
"""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from cway_mcp_shim import documents as D
from cway_mcp_shim.gateway_protocol import CwayGateway
from cway_mcp_shim.tool_support import (
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
    tool_result,
)


class Organisation(Out):
    id: str
    name: str
    current: bool = Field(description="The organisation this account currently works in.")


class Organisations(Out):
    username: str | None = None
    current_organisation_id: str | None = None
    organisations: list[Organisation]


class MonthCount(Out):
    month: str
    open_projects: int


class Statistics(Out):
    approved_artworks: int | None = None
    average_approval_time: str | None = None
    average_revisions: float | None = None
    file_storage_bytes: int | None = None
    media_center_items: int | None = None
    media_center_artworks: int | None = None
    open_projects_by_month: list[MonthCount] = Field(default_factory=list)


class UserRow(Out):
    id: str
    username: str
    name: str | None = None
    email: str | None = None
    enabled: bool | None = None


class UsersPage(Paged):
    users: list[UserRow]


class UserDetail(UserRow):
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    job_title: str | None = None
    department: str | None = None


class Renderer(Out):
    hostname: str
    active: bool | None = None
    last_seen: str | None = None


class SystemStatus(Out):
    viewer_version: str | None = None
    desktop_version: str | None = None
    renderers: list[Renderer] = Field(default_factory=list, description="Cway's file renderers and their health.")


def register(server: MCPServer, gateway: CwayGateway) -> None:
    """Register the organisation and user tools on ``server``."""

    @server.tool(title="List organisations", annotations=read_only())
    async def list_organisations(username: Username = None) -> Annotated[CallToolResult, Organisations]:
        """The Cway organisations this account belongs to, marking the one it currently works in.

        Use for "which organisation am I working in?" or before questions that depend on it. (Who the
        account is and how long its sign-in lasts: use whoami.)
        """
        login = (await gateway.execute(D.LOGIN_INFO, username=username)).get("loginInfo") or {}
        current = (login.get("currentOrganisation") or {}).get("id")
        rows = [
            Organisation(id=m["organisationId"], name=m.get("name") or "", current=m["organisationId"] == current)
            for m in dicts(login.get("organisationMemberships"))
        ]
        # ``organisations`` (every organisation in Cway) is for system admins; graphql_query reaches it.
        user = login.get("user") or {}
        return tool_result(
            Organisations(username=user.get("username"), current_organisation_id=current, organisations=rows)
        )

    @server.tool(title="Organisation statistics", annotations=read_only())
    async def get_statistics(username: Username = None) -> Annotated[CallToolResult, Statistics]:
        """Key numbers of the current organisation: approvals (count, average time, average revisions),
        storage, media center size and open projects per month.

        Use for "how are we doing?", "how long do approvals take?", "how many projects are open?".
        """
        stats = (await gateway.execute(D.STATISTICS, username=username)).get("statistics") or {}
        months = (await gateway.execute(D.OPEN_PROJECTS_BY_MONTH, username=username)).get("openProjectsCountByMonth")
        approval = stats.get("approvalStats") or {}
        media = stats.get("mediaCenter") or {}
        return tool_result(
            Statistics(
                approved_artworks=approval.get("approvedArtworks"),
                average_approval_time=approval.get("averageApprovalTime"),
                average_revisions=approval.get("averageRevisions"),
                file_storage_bytes=stats.get("fileStorage"),
                media_center_items=media.get("totalItems"),
                media_center_artworks=media.get("artworks"),
                open_projects_by_month=[
                    MonthCount(month=str(m["month"]), open_projects=int(m["count"])) for m in dicts(months)
                ],
            )
        )

    @server.tool(title="Find users", annotations=read_only())
    async def find_users(
        search: Annotated[
            str | None, Field(description="Part of a username, name or e-mail; omit to list all.")
        ] = None,
        page: Page = 1,
        page_size: PageSize = 25,
        username: Username = None,
    ) -> Annotated[CallToolResult, UsersPage]:
        """Search the organisation's users by username, name or e-mail, one page at a time.

        Use to find the exact username of a person ("who is Dave?", an orderer for create_project).
        Paged: page, page_size, total, has_more.
        """
        variables = {"username": optional_text(search), "paging": {"page": page - 1, "pageSize": page_size}}
        result = (await gateway.execute(D.FIND_USERS_PAGE, variables, username=username)).get("findUsersPage") or {}
        rows = [
            UserRow(
                id=u["id"], username=u["username"], name=u.get("name"), email=u.get("email"), enabled=u.get("enabled")
            )
            for u in dicts(result.get("users"))
        ]
        return tool_result(UsersPage(users=rows, **paging(page, page_size, int(result.get("totalHits") or 0))))

    @server.tool(title="Get user", annotations=read_only())
    async def get_user(
        user: Annotated[str, Field(description="The exact Cway username (usually an e-mail address).")],
        username: Username = None,
    ) -> Annotated[CallToolResult, UserDetail]:
        """One user's profile: name, e-mail, company, job title, department, enabled.

        Use when you have an exact username (from find_users, a project or an artwork).
        """
        who = require_text(user, "user", max_chars=320)
        u = (await gateway.execute(D.GET_USER, {"username": who}, username=username)).get("getUser")
        if not isinstance(u, dict):
            raise ToolError(f"No Cway user {who!r} is visible to this account; try find_users.")
        work = u.get("workInformation") or {}
        return tool_result(
            UserDetail(
                id=u["id"],
                username=u["username"],
                name=u.get("name"),
                email=u.get("email"),
                enabled=u.get("enabled"),
                first_name=u.get("firstName"),
                last_name=u.get("lastName"),
                company=work.get("companyName"),
                job_title=work.get("jobTitle"),
                department=work.get("department"),
            )
        )

    @server.tool(title="Cway system status", annotations=read_only())
    async def get_system_status(username: Username = None) -> Annotated[CallToolResult, SystemStatus]:
        """Cway's own health for system administrators: renderer hosts (active, last seen) and the
        current viewer and desktop-app versions.

        Only Cway system admins may read it; for anyone else the answer says so. Use for "is Cway's
        rendering working?" or "which desktop version is current?".
        """
        try:
            status = (await gateway.execute(D.SYSTEM_STATUS, username=username)).get("status") or {}
        except ToolError:
            # Cway's wording for "not an admin" is not documented: ask for the permission instead
            # of parsing the message, and keep the original error for every other failure.
            login = (await gateway.execute(D.LOGIN_INFO, username=username)).get("loginInfo") or {}
            if (login.get("permissions") or {}).get("isSystemAdmin") is False:
                who = (login.get("user") or {}).get("username") or "This account"
                raise ToolError(f"{who} cannot read Cway's system status: it needs Cway system-admin rights.") from None
            raise
        return tool_result(
            SystemStatus(
                viewer_version=status.get("getViewerVersion"),
                desktop_version=status.get("getDesktopVersion"),
                renderers=[
                    Renderer(hostname=str(r.get("hostname") or ""), active=r.get("active"), last_seen=r.get("lastSeen"))
                    for r in dicts(status.get("rendererStatus"))
                ],
            )
        )
