"""Project tools: find projects, see how one is going, who is on it, its history, AI summaries,
the planner timeline, and creating a project (closing, reopening and the other changes to an
existing project are in ``tools_project_work``).

Designed around what project managers and orderers ask ("how is the spring campaign going?",
"summarise it for the orderer", "who is working on it?", "close the finished ones").
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from cway_tools import documents as D
from cway_tools import pending
from cway_tools.gateway_protocol import CwayGateway
from cway_tools.links import project_link, with_links
from cway_tools.tool_models import ArtworkRow, Event, Person, ProjectRow, artwork_row, events_newest_first, project_row
from cway_tools.tool_models import people as to_people
from cway_tools.tool_models import person as to_person
from cway_tools.tool_support import (
    Out,
    Page,
    Paged,
    PageSize,
    ProjectId,
    Username,
    dicts,
    optional_date,
    optional_text,
    page_slice,
    paging,
    read_only,
    require_text,
    require_uuid,
    tool_result,
    writes,
)

#: The toolset these tools come in (``CWAY_TOOLSETS``, toolsets.py).
TOOLSET = "projects"
#: The ones in the small day-to-day set (docs/mcp.md#toolsets).
DEFAULT_TOOLS: frozenset[str] = frozenset({"list_projects", "get_project", "get_project_history", "create_project"})


ProjectStateName = Literal["PLANNED", "IN_PROGRESS", "STAND_BY", "DELIVERED", "CLOSED"]
Audience = Literal["ORDERER", "PROJECT_MANAGER", "GRAPHICS_CREATOR"]


class ProjectsPage(Paged):
    projects: list[ProjectRow]


class ProjectDetail(ProjectRow):
    description: str | None = None
    notes: str | None = None
    created: str | None = None
    closable: bool | None = Field(default=None, description="Cway says the project can be closed now.")
    artworks_by_state: dict[str, int] = Field(default_factory=dict)
    artworks: list[ArtworkRow] = Field(default_factory=list)


class TeamMember(Out):
    username: str
    name: str | None = None
    roles: list[str] = Field(description="approver, supplier and/or receiver (on at least one artwork).")
    artworks: list[str] = Field(description="Names of the artworks the person has a role on.")


class ProjectTeam(Out):
    project_id: str
    project_name: str
    orderer: Person | None = None
    project_manager: Person | None = None
    members: list[TeamMember]


class HistoryPage(Paged):
    project_id: str
    events: list[Event] = Field(description="Newest first.")


class ProjectSummary(Out):
    project_id: str
    audience: str | None = None
    summary: str


class PlannerArtwork(Out):
    id: str | None = None
    name: str
    state: str
    category: str | None = None
    start_date: str | None = None
    end_date: str | None = None


class PlannerProject(Out):
    id: str | None = None
    name: str
    state: str
    percent_done: float | None = None
    start_date: str | None = None
    end_date: str | None = None
    artworks: list[PlannerArtwork]


class PlannerPage(Paged):
    projects: list[PlannerProject]


class ProjectCreated(Out):
    project_id: str
    created: bool
    project: ProjectRow | None = None


def register(server: MCPServer, gateway: CwayGateway) -> None:
    """Register the project tools on ``server``; every call goes through ``gateway``."""

    @server.tool(title="List projects", annotations=read_only())
    async def list_projects(
        search: Annotated[str | None, Field(description="Text in name, description, file content or barcodes.")] = None,
        order_no: Annotated[str | None, Field(description="Cway order number, e.g. CO-1001.")] = None,
        orderer: Annotated[str | None, Field(description="Orderer's username.")] = None,
        states: Annotated[
            list[ProjectStateName] | None, Field(description="Only these states; omit for all states.")
        ] = None,
        only_mine: Annotated[bool, Field(description="Only projects the user orders or manages.")] = False,
        page: Page = 1,
        page_size: PageSize = 25,
        username: Username = None,
    ) -> Annotated[CallToolResult, ProjectsPage]:
        """Find Cway projects by name/text, order number, orderer or state, one page at a time.

        Use it to find a project's id ("how is the spring campaign going?" → list_projects(search="spring")
        then get_project), or to answer "which projects are in progress / mine?". Returns for each
        project its state, traffic-light status, dates, orderer, project manager and artwork progress,
        plus page, page_size, total and has_more (ask again with page + 1 while has_more is true).
        """
        filter_: dict[str, Any] = {}
        for key, value in (("name", search), ("orderNo", order_no), ("orderer", orderer)):
            if text := optional_text(value):
                filter_[key] = text
        if states:
            filter_["states"] = list(dict.fromkeys(states))
        if only_mine:
            filter_["onlyMine"] = True
        variables = {"filter": filter_ or None, "paging": {"page": page - 1, "pageSize": page_size}}
        data = await gateway.execute(D.PROJECTS, variables, username=username)
        result = data.get("projects") or {}
        rows = [project_row(p) for p in dicts(result.get("projects"))]
        total = int(result.get("totalHits") or 0)
        return tool_result(ProjectsPage(projects=rows, **paging(page, page_size, total)))

    @server.tool(title="Get project", annotations=read_only())
    async def get_project(project_id: ProjectId, username: Username = None) -> Annotated[CallToolResult, ProjectDetail]:
        """How a project is going: state, status, dates, people, progress and every artwork with its state.

        Use after list_projects (or with a known id) for "how is project X going?", "what is still open
        in X?". ``artworks_by_state`` gives the counts at a glance; each artwork says who approves and
        who supplies it and whether it can be approved or rejected now.
        """
        pid = require_uuid(project_id, "project_id")
        data = await gateway.execute(D.PROJECT, {"id": pid}, username=username)
        p = data.get("project")
        if not isinstance(p, dict):
            raise ToolError(f"Project {pid} was not found, or this account cannot see it.")
        artworks = [artwork_row(a) for a in dicts(p.get("artworks"))]
        detail = ProjectDetail(
            **project_row(p).model_dump(),
            description=p.get("description"),
            notes=p.get("notes"),
            created=p.get("created"),
            closable=p.get("isInClosableState"),
            artworks_by_state=dict(Counter(a.state for a in artworks)),
            artworks=artworks,
        )
        return with_links(tool_result(detail), project_link(detail.id, detail.name))

    @server.tool(title="Who is on a project", annotations=read_only())
    async def get_project_team(
        project_id: ProjectId, username: Username = None
    ) -> Annotated[CallToolResult, ProjectTeam]:
        """Who is on a project: orderer, project manager, and everyone approving, supplying or receiving
        its artworks (with their roles and the artworks they are on).

        Use for "who is working on X?", "who approves the poster?", "who do I chase?".
        """
        pid = require_uuid(project_id, "project_id")
        data = await gateway.execute(D.PROJECT_TEAM, {"id": pid}, username=username)
        p = data.get("project")
        if not isinstance(p, dict):
            raise ToolError(f"Project {pid} was not found, or this account cannot see it.")
        members: dict[str, TeamMember] = {}
        for artwork in dicts(p.get("artworks")):
            for role, key in (("approver", "approvers"), ("supplier", "suppliers"), ("receiver", "receivers")):
                for who in to_people(artwork.get(key)):
                    m = members.setdefault(
                        who.username, TeamMember(username=who.username, name=who.name, roles=[], artworks=[])
                    )
                    if role not in m.roles:
                        m.roles.append(role)
                    if artwork.get("name") and artwork["name"] not in m.artworks:
                        m.artworks.append(artwork["name"])
        team = ProjectTeam(
            project_id=p["id"],
            project_name=p["name"],
            orderer=to_person(p.get("orderer")),
            project_manager=to_person(p.get("projectManager")),
            members=sorted(members.values(), key=lambda m: m.username),
        )
        return tool_result(team)

    @server.tool(title="Project history", annotations=read_only())
    async def get_project_history(
        project_id: ProjectId, page: Page = 1, page_size: PageSize = 25, username: Username = None
    ) -> Annotated[CallToolResult, HistoryPage]:
        """What happened in a project, newest first (created, artworks added, approvals, deliveries...).

        Use for "what happened lately in X?". Paged: page, page_size, total, has_more.
        """
        pid = require_uuid(project_id, "project_id")
        data = await gateway.execute(D.PROJECT_HISTORY, {"projectId": pid}, username=username)
        rows, info = page_slice(events_newest_first(data.get("projectHistory")), page, page_size)
        return tool_result(HistoryPage(project_id=pid, events=rows, **info))

    @server.tool(title="Summarise project", annotations=read_only())
    async def summarize_project(
        project_id: ProjectId,
        audience: Annotated[
            Audience, Field(description="Who the summary is for: ORDERER, PROJECT_MANAGER or GRAPHICS_CREATOR.")
        ] = "PROJECT_MANAGER",
        username: Username = None,
    ) -> Annotated[CallToolResult, ProjectSummary]:
        """Cway's AI-written status summary of a project, tailored to an audience.

        Use for "summarise project X for the orderer" (audience=ORDERER). Cway generates the text,
        which can take several seconds; the answer is prose to quote or adapt.
        """
        pid = require_uuid(project_id, "project_id")
        ask = gateway.execute(D.PROJECT_AI_SUMMARY, {"projectId": pid, "audience": audience}, username=username)
        data = await pending.with_progress(ask, "Cway's AI is writing the summary")
        return tool_result(ProjectSummary(project_id=pid, audience=audience, summary=data["openAIProjectSummary"]))

    @server.tool(title="Project planner", annotations=read_only())
    async def list_planner_projects(
        states: Annotated[list[ProjectStateName] | None, Field(description="Only these states.")] = None,
        page: Page = 1,
        page_size: PageSize = 25,
        username: Username = None,
    ) -> Annotated[CallToolResult, PlannerPage]:
        """The planner timeline: projects with start/end dates, percent done and their artworks' dates.

        Use for scheduling questions ("what is due this month?", "which projects overlap in May?").
        Paged: page, page_size, total, has_more.
        """
        data = await gateway.execute(D.PLANNER_PROJECTS, username=username)
        rows = [
            PlannerProject(
                id=p.get("id"),
                name=p["name"],
                state=p["state"],
                percent_done=p.get("percentageDone"),
                start_date=p.get("startDate"),
                end_date=p.get("endDate"),
                artworks=[
                    PlannerArtwork(
                        id=a.get("id"),
                        name=a["name"],
                        state=a["state"],
                        category=a.get("category"),
                        start_date=a.get("startDate"),
                        end_date=a.get("endDate"),
                    )
                    for a in dicts(p.get("artworks"))
                ],
            )
            for p in dicts(data.get("plannerProjects"))
            if not states or p.get("state") in states
        ]
        shown, info = page_slice(rows, page, page_size)
        return tool_result(PlannerPage(projects=shown, **info))

    @server.tool(title="Create project", annotations=writes(destructive=False, idempotent=False))
    async def create_project(
        name: Annotated[str, Field(description="Project name.")],
        description: str | None = None,
        order_no: Annotated[str | None, Field(description="Order number; Cway generates one if omitted.")] = None,
        start_date: Annotated[str | None, Field(description="YYYY-MM-DD.")] = None,
        end_date: Annotated[str | None, Field(description="YYYY-MM-DD (the deadline).")] = None,
        orderer_username: Annotated[
            str | None, Field(description="Who orders the project; defaults to the acting account.")
        ] = None,
        username: Username = None,
    ) -> Annotated[CallToolResult, ProjectCreated]:
        """Create an empty project (artworks are added in Cway). Confirm name and dates with the user first.

        Returns the new project's id and, when Cway lets this account read it back, its summary row.
        """
        title = require_text(name, "name", max_chars=200)
        start = optional_date(start_date, "start_date")
        end = optional_date(end_date, "end_date")
        if start and end and end < start:
            raise ToolError(f"end_date {end} is before start_date {start}.")
        if who := optional_text(orderer_username):
            user = (await gateway.execute(D.GET_USER, {"username": who}, username=username)).get("getUser")
            if not isinstance(user, dict):
                raise ToolError(f"No Cway user {who!r}; find the right username with find_users.")
        else:
            login = (await gateway.execute(D.CURRENT_USER, username=username)).get("loginInfo") or {}
            user = login.get("user") or {}
        if not user.get("id"):
            raise ToolError("Cway did not say who the orderer is; pass orderer_username.")
        pid = str(uuid.uuid4())
        payload: dict[str, Any] = {"projectId": pid, "name": title, "ordererId": user["id"]}
        for key, value in (
            ("description", optional_text(description)),
            ("orderNo", optional_text(order_no)),
            ("startDate", start),
            ("endDate", end),
        ):
            if value is not None:
                payload[key] = value
        data = await gateway.execute(D.CREATE_PROJECT, {"input": payload}, username=username)
        created = bool(data.get("createProject"))
        row = None
        if created:
            try:
                p = (await gateway.execute(D.PROJECT, {"id": pid}, username=username)).get("project")
                row = project_row(p) if isinstance(p, dict) else None
            except ToolError:
                row = None
        return tool_result(ProjectCreated(project_id=pid, created=created, project=row))
