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

from cway_tools import documents as D
from cway_tools.gateway_protocol import CwayGateway
from cway_tools.organisations import StaticOrganisations
from cway_tools.tool_support import (
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
    writes,
)

#: The toolset these tools come in (``CWAY_TOOLSETS``, toolsets.py).
TOOLSET = "admin"
#: The ones in the small day-to-day set (docs/mcp.md#toolsets).
DEFAULT_TOOLS: frozenset[str] = frozenset({"find_users"})


class Organisation(Out):
    id: str
    name: str
    current: bool = Field(description="The organisation this account currently works in.")


class ConfiguredToken(Out):
    name: str = Field(description="'default' (CWAY_API_TOKEN) or the <org> of CWAY_TOKEN_<ORG>.")
    active: bool = Field(description="The token every call uses now; switch_organisation changes it.")


class Organisations(Out):
    username: str | None = None
    current_organisation_id: str | None = None
    current_organisation_name: str | None = None
    organisations: list[Organisation]
    tokens: list[ConfiguredToken] | None = Field(
        default=None, description="AUTH_METHOD=static only: the organisations' API tokens this server has."
    )
    can_switch: bool = Field(description="Whether switch_organisation works in this setup.")


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

    statics = getattr(gateway, "static_organisations", None)

    async def _organisations(username: str | None) -> Organisations:
        login = (await gateway.execute(D.LOGIN_INFO, username=username)).get("loginInfo") or {}
        current = login.get("currentOrganisation") or {}
        rows = [
            Organisation(
                id=m["organisationId"], name=m.get("name") or "", current=m["organisationId"] == current.get("id")
            )
            for m in dicts(login.get("organisationMemberships"))
        ]
        # ``organisations`` (every organisation in Cway) is for system admins; graphql_query reaches it.
        tokens = None
        if isinstance(statics, StaticOrganisations):
            tokens = [ConfiguredToken(name=n, active=n == statics.active) for n in statics.names]
        return Organisations(
            username=(login.get("user") or {}).get("username"),
            current_organisation_id=current.get("id"),
            current_organisation_name=current.get("name"),
            organisations=rows,
            tokens=tokens,
            can_switch=tokens is not None and len(tokens) > 1,
        )

    @server.tool(title="List organisations", annotations=read_only())
    async def list_organisations(username: Username = None) -> Annotated[CallToolResult, Organisations]:
        """The Cway organisations this account belongs to, marking the one it currently works in.

        Use for "which organisation am I working in?" or before questions that depend on it (projects,
        users and statistics are always those of the current organisation). With static API tokens
        (AUTH_METHOD=static) it also lists the organisations this server has a token for; switch with
        switch_organisation. (Who the account is and how long its sign-in lasts: use whoami.)
        """
        return tool_result(await _organisations(username))

    @server.tool(title="Switch organisation", annotations=writes(destructive=False, idempotent=True))
    async def switch_organisation(
        organisation: Annotated[
            str, Field(description="A token name from list_organisations' ``tokens`` (e.g. default, fabrikam).")
        ],
    ) -> Annotated[CallToolResult, Organisations]:
        """Make every later call act in another Cway organisation (static API tokens only).

        Use when the user says "now look at Fabrikam" and list_organisations shows a token for it. Returns
        the organisation Cway now reports as current. With per-user sign-in this is not possible: Cway's
        API offers no way to change a signed-in user's organisation; tell the user to switch in Cway itself.
        """
        if not isinstance(statics, StaticOrganisations):
            raise ToolError(
                "Switching organisation needs per-organisation API tokens (AUTH_METHOD=static with CWAY_TOKEN_<ORG>). "
                "With per-user sign-in Cway's API has no operation to change the current organisation: switch it "
                "in Cway's web app, then call list_organisations to see the current one."
            )
        previous = statics.active
        statics.switch(require_text(organisation, "organisation", max_chars=100))
        try:
            return tool_result(await _organisations(None))
        except ToolError:
            statics.active = previous  # the token does not work: keep the one that did
            raise

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
