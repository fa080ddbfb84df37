"""A project manager's project administration: launch, deliver, dates, basic data, orderer,
reference files, deletion and export.

Like the artwork tools: checked before sending (state, ownership of the artworks, people by
username), repeated calls are no-ops where the annotation says idempotent, changes that replace or
remove something are confirmed with the user where the client can show a form, and every tool
reads the project back from Cway.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from cway_tools import documents as D
from cway_tools.confirm import confirm_change
from cway_tools.gateway_protocol import CwayGateway
from cway_tools.tool_models import Person, person
from cway_tools.tool_support import (
    Out,
    ProjectId,
    Username,
    optional_date,
    optional_text,
    require_text,
    require_uuid,
    require_uuids,
    tool_result,
    visible_object,
    writes,
)

TOOLSET = "projects"
#: The ones in the small day-to-day set (docs/mcp.md#toolsets).
DEFAULT_TOOLS: frozenset[str] = frozenset({"launch_projects", "set_project_dates"})

ProjectIds = Annotated[list[str], Field(min_length=1, max_length=100, description="Project ids (UUIDs), 1-100.")]
FileIds = Annotated[list[str], Field(min_length=1, max_length=100, description="File ids (UUIDs), 1-100.")]


class ProjectFile(Out):
    id: str
    name: str | None = None
    size: int | None = None
    content_type: str | None = None


class ProjectAdmin(Out):
    id: str
    name: str | None = None
    state: str | None = None
    order_no: str | None = None
    description: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    orderer: Person | None = None
    project_manager: Person | None = None
    files: list[ProjectFile] = Field(default_factory=list)
    unchanged: bool | None = Field(default=None, description="True: nothing needed to change, nothing was sent.")
    confirmed_by_user: bool | None = None


class ProjectStates(Out):
    accepted: bool | None = Field(default=None, description="Cway's answer; absent when nothing needed sending.")
    confirmed_by_user: bool = False
    projects: list[ProjectAdmin]


class Exported(Out):
    project_id: str
    file_id: str = Field(description="The export file; get_file_download_url gives a link.")


def _admin_row(p: dict[str, Any], **flags: Any) -> ProjectAdmin:
    files = [
        ProjectFile(id=f["id"], name=f.get("name"), size=f.get("size"), content_type=f.get("contentType"))
        for f in p.get("files") or []
        if isinstance(f, dict)
    ]
    return ProjectAdmin(
        id=p["id"],
        name=p.get("name"),
        state=p.get("state"),
        order_no=p.get("orderNo"),
        description=p.get("description"),
        start_date=p.get("startDate"),
        end_date=p.get("endDate"),
        orderer=person(p.get("orderer")),
        project_manager=person(p.get("projectManager")),
        files=files,
        **flags,
    )


def register(server: MCPServer, gateway: CwayGateway) -> None:
    """Register the project-administration tools on ``server``."""

    async def _project(pid: str, username: str | None) -> dict[str, Any]:
        return await visible_object(gateway, D.PROJECT_ADMIN, "project", pid, "Project", username)

    async def _gone_or_row(pid: str, username: str | None) -> ProjectAdmin:
        try:  # Cway answers a deleted id with null or with a "not found" error
            found = (await gateway.execute(D.PROJECT_ADMIN, {"id": pid}, username=username)).get("project")
        except ToolError:
            found = None
        return _admin_row(found) if isinstance(found, dict) else ProjectAdmin(id=pid, state="DELETED")

    @server.tool(title="Launch projects", annotations=writes(destructive=False, idempotent=True))
    async def launch_projects(
        project_ids: ProjectIds, username: Username = None
    ) -> Annotated[CallToolResult, ProjectStates]:
        """Launch PLANNED projects (state IN_PROGRESS). Already launched ones are left as they are."""
        ids = require_uuids(project_ids, "project_ids")
        before = [await _project(pid, username) for pid in ids]
        closed = [p for p in before if p.get("state") in ("CLOSED", "DELIVERED")]
        if closed:
            raise ToolError(f"Project {closed[0].get('name')} is {closed[0].get('state')}; nothing was launched.")
        todo = [p["id"] for p in before if p.get("state") == "PLANNED"]
        accepted = None
        if todo:
            accepted = bool(
                (await gateway.execute(D.LAUNCH_PROJECTS, {"projectIds": todo}, username=username)).get(
                    "launchProjects"
                )
            )
        rows = [
            _admin_row(await _project(p["id"], username), unchanged=True if p["id"] not in todo else None)
            for p in before
        ]
        return tool_result(ProjectStates(accepted=accepted, projects=rows))

    @server.tool(title="Deliver a project", annotations=writes(destructive=True, idempotent=True))
    async def deliver_project(
        project_id: ProjectId, username: Username = None
    ) -> Annotated[CallToolResult, ProjectStates]:
        """Mark a project as delivered to the client (all its artworks delivered or canceled). Confirm with
        the user first. Project orderer/manager only."""
        pid = require_uuid(project_id, "project_id")
        p = await _project(pid, username)
        if p.get("state") == "DELIVERED":
            return tool_result(ProjectStates(projects=[_admin_row(p, unchanged=True)]))
        open_ = [a for a in p.get("artworks") or [] if a.get("state") not in ("DELIVERED", "CANCELED")]
        if open_:
            names = ", ".join(f"{a.get('name')} ({a.get('state')})" for a in open_[:5])
            raise ToolError(f"Project {p.get('name')} still has artworks to deliver or cancel: {names}.")
        asked = await confirm_change(f"Mark project {p.get('name')} as delivered to the client.")
        accepted = bool(
            (await gateway.execute(D.DELIVER_PROJECT, {"projectId": pid}, username=username)).get("deliverProject")
        )
        out = ProjectStates(
            accepted=accepted, confirmed_by_user=asked, projects=[_admin_row(await _project(pid, username))]
        )
        return tool_result(out)

    @server.tool(title="Set project dates", annotations=writes(destructive=False, idempotent=True))
    async def set_project_dates(
        project_id: ProjectId,
        start_date: Annotated[str | None, Field(description="YYYY-MM-DD; omit to keep.")] = None,
        end_date: Annotated[str | None, Field(description="YYYY-MM-DD; omit to keep.")] = None,
        username: Username = None,
    ) -> Annotated[CallToolResult, ProjectAdmin]:
        """Set a project's start and/or end date. Project orderer/manager only."""
        pid = require_uuid(project_id, "project_id")
        start, end = optional_date(start_date, "start_date"), optional_date(end_date, "end_date")
        if start is None and end is None:
            raise ToolError("Give start_date, end_date or both.")
        p = await _project(pid, username)
        if (
            (start or p.get("startDate"))
            and (end or p.get("endDate"))
            and (end or p["endDate"]) < (start or p["startDate"])
        ):
            raise ToolError(
                f"The end date {end or p.get('endDate')} would be before the start date {start or p.get('startDate')}."
            )
        if (start in (None, p.get("startDate"))) and (end in (None, p.get("endDate"))):
            return tool_result(_admin_row(p, unchanged=True))
        await gateway.execute(D.SET_PROJECT_DATES, {"id": pid, "startDate": start, "endDate": end}, username=username)
        return tool_result(_admin_row(await _project(pid, username)))

    @server.tool(title="Edit project data", annotations=writes(destructive=True, idempotent=True))
    async def edit_project(
        project_id: ProjectId,
        name: Annotated[str | None, Field(max_length=255)] = None,
        description: Annotated[str | None, Field(max_length=5000, description="Replaces the description.")] = None,
        order_number: Annotated[str | None, Field(max_length=100)] = None,
        start_date: Annotated[str | None, Field(description="YYYY-MM-DD.")] = None,
        end_date: Annotated[str | None, Field(description="YYYY-MM-DD.")] = None,
        username: Username = None,
    ) -> Annotated[CallToolResult, ProjectAdmin]:
        """Change a project's name, description, order number or dates (omitted ones are kept). Replacing
        text is confirmed with the user. Project orderer/manager only."""
        pid = require_uuid(project_id, "project_id")
        wanted: dict[str, Any] = {
            "name": optional_text(name),
            "description": optional_text(description),
            "orderNumber": optional_text(order_number),
            "startDate": optional_date(start_date, "start_date"),
            "endDate": optional_date(end_date, "end_date"),
        }
        wanted = {k: v for k, v in wanted.items() if v is not None}
        if not wanted:
            raise ToolError("Give at least one of name, description, order_number, start_date, end_date.")
        p = await _project(pid, username)
        current = {"name": p.get("name"), "description": p.get("description"), "orderNumber": p.get("orderNo"),
                   "startDate": p.get("startDate"), "endDate": p.get("endDate")}  # fmt: skip
        changes = {k: v for k, v in wanted.items() if current.get(k) != v}
        if not changes:
            return tool_result(_admin_row(p, unchanged=True))
        replaced = [f"{k}: {current[k]!r} -> {v!r}" for k, v in changes.items() if current.get(k)]
        asked = False
        if replaced:
            asked = await confirm_change(f"Change project {p.get('name')}: " + "; ".join(replaced) + ".")
        await gateway.execute(D.CHANGE_BASIC_PROJECT_DATA, {"input": {"projectId": pid, **changes}}, username=username)
        return tool_result(_admin_row(await _project(pid, username), confirmed_by_user=asked))

    @server.tool(title="Change the orderer", annotations=writes(destructive=True, idempotent=True))
    async def change_project_orderer(
        project_id: ProjectId,
        user: Annotated[str, Field(description="Username of the new orderer (find it with find_users).")],
        username: Username = None,
    ) -> Annotated[CallToolResult, ProjectAdmin]:
        """Make someone else the orderer (client) of a project. Confirmed with the user. Project orderer/manager only."""
        pid = require_uuid(project_id, "project_id")
        who = require_text(user, "user", max_chars=320)
        p = await _project(pid, username)
        if str((p.get("orderer") or {}).get("username") or "").lower() == who.lower():
            return tool_result(_admin_row(p, unchanged=True))
        found = (await gateway.execute(D.GET_USER, {"username": who}, username=username)).get("getUser")
        if not isinstance(found, dict) or not found.get("id"):
            raise ToolError(f"No Cway user {who!r} in this organisation; find the right username with find_users.")
        was = (p.get("orderer") or {}).get("username")
        asked = await confirm_change(f"Make {who} the orderer of {p.get('name')}, replacing {was}.")
        await gateway.execute(D.CHANGE_ORDERER, {"projectId": pid, "ordererId": found["id"]}, username=username)
        return tool_result(_admin_row(await _project(pid, username), confirmed_by_user=asked))

    @server.tool(title="Attach files to a project", annotations=writes(destructive=False, idempotent=True))
    async def add_files_to_project(
        project_id: ProjectId, file_ids: FileIds, username: Username = None
    ) -> Annotated[CallToolResult, ProjectAdmin]:
        """Attach files already in Cway (e.g. from the media center) to a project as reference files."""
        pid = require_uuid(project_id, "project_id")
        ids = require_uuids(file_ids, "file_ids")
        p = await _project(pid, username)
        attached = {f.get("id") for f in p.get("files") or []}
        todo = [f for f in ids if f not in attached]
        if not todo:
            return tool_result(_admin_row(p, unchanged=True))
        await gateway.execute(D.ATTACH_PROJECT_FILES, {"projectId": pid, "files": todo}, username=username)
        return tool_result(_admin_row(await _project(pid, username)))

    @server.tool(title="Detach files from a project", annotations=writes(destructive=True, idempotent=True))
    async def remove_files_from_project(
        project_id: ProjectId, file_ids: FileIds, username: Username = None
    ) -> Annotated[CallToolResult, ProjectAdmin]:
        """Remove reference files from a project. Confirmed with the user. Project orderer/manager only."""
        pid = require_uuid(project_id, "project_id")
        ids = require_uuids(file_ids, "file_ids")
        p = await _project(pid, username)
        attached = {f.get("id"): f for f in p.get("files") or []}
        todo = [f for f in ids if f in attached]
        if not todo:
            return tool_result(_admin_row(p, unchanged=True))
        names = ", ".join(str(attached[f].get("name")) for f in todo)
        asked = await confirm_change(f"Remove {len(todo)} file(s) from project {p.get('name')}: {names}.")
        await gateway.execute(D.DETACH_PROJECT_FILES, {"projectId": pid, "files": todo}, username=username)
        return tool_result(_admin_row(await _project(pid, username), confirmed_by_user=asked))

    @server.tool(title="Delete projects", annotations=writes(destructive=True, idempotent=False))
    async def delete_projects(
        project_ids: ProjectIds,
        force: Annotated[
            bool, Field(description="Also delete projects still in progress. Ask the user first.")
        ] = False,
        username: Username = None,
    ) -> Annotated[CallToolResult, ProjectStates]:
        """Permanently delete projects with all their artworks. Confirmed with the user. Without force only
        PLANNED or CLOSED projects can go. Project orderer/manager only."""
        ids = require_uuids(project_ids, "project_ids")
        before = [await _project(pid, username) for pid in ids]
        if not force:
            busy = [p for p in before if p.get("isInDeleteableState") is False]
            if busy:
                raise ToolError(
                    f"Project {busy[0].get('name')} is {busy[0].get('state')}; close it first or pass force "
                    "(after asking the user). Nothing was deleted."
                )
        names = ", ".join(f"{p.get('name')} ({len(p.get('artworks') or [])} artworks)" for p in before)
        asked = await confirm_change(f"Permanently delete {len(ids)} project(s): {names}. This cannot be undone.")
        data = await gateway.execute(D.DELETE_PROJECTS, {"projectIds": ids, "force": force}, username=username)
        rows = [await _gone_or_row(pid, username) for pid in ids]
        return tool_result(
            ProjectStates(accepted=bool(data.get("deleteProjects")), confirmed_by_user=asked, projects=rows)
        )

    @server.tool(title="Export a project", annotations=writes(destructive=False, idempotent=False))
    async def export_project(project_id: ProjectId, username: Username = None) -> Annotated[CallToolResult, Exported]:
        """Export a project and its artworks to a new file in Cway; returns the file id for download."""
        pid = require_uuid(project_id, "project_id")
        await _project(pid, username)
        file_id = (await gateway.execute(D.EXPORT_PROJECT, {"projectId": pid}, username=username)).get(
            "exportProjectToFile"
        )
        if not file_id:
            raise ToolError("Cway did not return an export file.")
        return tool_result(Exported(project_id=pid, file_id=str(file_id)))
