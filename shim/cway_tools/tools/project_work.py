"""A project manager's changes to a project: close/reopen, new artworks, who works on them, notes,
the manager.

* ``create_artwork``: add an artwork to a project (category by name; Cway needs its id);
* ``assign_users_to_artworks``: approvers, suppliers and receivers on several artworks at once;
* ``update_project_notes``: replace or append to the project's internal notes;
* ``set_project_manager``: hand the project to another manager.

People are named by username (what the model has from find_users or a project); the tools look
up the user ids Cway's mutations need. Changes that remove or replace something are confirmed
with the user where the client can show a form, and every tool reads the result back.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from cway_tools import documents as D
from cway_tools.confirm import can_confirm, confirm_change
from cway_tools.gateway_protocol import CwayGateway
from cway_tools.tool_models import Person, people, person
from cway_tools.tool_support import (
    In,
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

#: The toolset these tools come in (``CWAY_TOOLSETS``, toolsets.py).
TOOLSET = "projects"
#: The ones in the small day-to-day set (docs/mcp.md#toolsets).
DEFAULT_TOOLS: frozenset[str] = frozenset({"create_artwork", "assign_users_to_artworks"})


Change = Literal["assign", "unassign", "leave"]
ACTIONS = {"assign": "ASSIGN", "unassign": "UN_ASSIGN", "leave": "LEAVE_UNCHANGED"}
ROLES = ("approver", "supplier", "receiver")


class Assignment(In):
    user: str = Field(description="The person's Cway username (find it with find_users).")
    approver: Change = Field(default="leave", description="assign, unassign or leave as is.")
    supplier: Change = "leave"
    receiver: Change = "leave"


class ArtworkPeople(Out):
    id: str
    name: str
    state: str | None = None
    category: str | None = None
    approvers: list[Person] = Field(default_factory=list)
    suppliers: list[Person] = Field(default_factory=list)
    receivers: list[Person] = Field(default_factory=list)


class ArtworkCreated(Out):
    project_id: str
    created: bool
    artwork: ArtworkPeople | None = Field(default=None, description="The new artwork as Cway shows it now.")


class Assigned(Out):
    project_id: str
    accepted: bool
    confirmed_by_user: bool
    artworks: list[ArtworkPeople] = Field(description="The artworks' people read back after the change.")


class ProjectNotes(Out):
    project_id: str
    name: str | None = None
    notes: str | None = None
    project_manager: Person | None = None
    confirmed_by_user: bool = False
    unchanged: bool | None = Field(default=None, description="True when nothing needed to change.")


ProjectIds = Annotated[list[str], Field(min_length=1, max_length=100, description="Project ids (UUIDs), 1-100.")]


class ProjectStateRow(Out):
    id: str
    name: str | None = None
    state: str | None = Field(default=None, description="State read back after the change (None if unreadable).")


class ProjectsChanged(Out):
    accepted: bool = Field(description="What Cway answered to the change request.")
    projects: list[ProjectStateRow]


def _artwork_people(a: dict[str, Any]) -> ArtworkPeople:
    return ArtworkPeople(
        id=a["id"],
        name=a.get("name") or "",
        state=a.get("state"),
        category=(a.get("category") or {}).get("name"),
        approvers=people(a.get("approvers")),
        suppliers=people(a.get("suppliers")),
        receivers=people(a.get("receivers")),
    )


def _project_notes(pid: str, project: dict[str, Any], **flags: bool) -> ProjectNotes:
    """The notes tools' answer, from the project as read back from Cway."""
    return ProjectNotes(
        project_id=pid,
        name=project.get("name"),
        notes=project.get("notes"),
        project_manager=person(project.get("projectManager")),
        **flags,
    )


def register(server: MCPServer, gateway: CwayGateway) -> None:
    """Register the project-work tools on ``server``."""

    async def _project(pid: str, username: str | None) -> dict[str, Any]:
        return await visible_object(gateway, D.PROJECT_ARTWORK_PEOPLE, "project", pid, "Project", username)

    async def _notes(pid: str, username: str | None) -> dict[str, Any]:
        return await visible_object(gateway, D.PROJECT_NOTES, "project", pid, "Project", username)

    async def _user_id(name: str, username: str | None) -> str:
        user = (await gateway.execute(D.GET_USER, {"username": name}, username=username)).get("getUser")
        if not isinstance(user, dict) or not user.get("id"):
            raise ToolError(f"No Cway user {name!r} in this organisation; find the right username with find_users.")
        return str(user["id"])

    async def _read_states(ids: list[str], username: str | None) -> list[ProjectStateRow]:
        rows = []
        for pid in ids:
            try:
                p = (await gateway.execute(D.PROJECT_STATE, {"id": pid}, username=username)).get("project")
            except ToolError:
                p = None
            if isinstance(p, dict):
                rows.append(ProjectStateRow(id=pid, name=p.get("name"), state=p.get("state")))
            else:
                rows.append(ProjectStateRow(id=pid))
        return rows

    @server.tool(title="Close projects", annotations=writes(destructive=True, idempotent=True))
    async def close_projects(
        project_ids: ProjectIds,
        force: Annotated[bool, Field(description="Close even if artworks are unfinished. Ask the user first.")] = False,
        username: Username = None,
    ) -> Annotated[CallToolResult, ProjectsChanged]:
        """Close finished projects (state CLOSED). Confirm with the user before calling.

        Without ``force`` Cway refuses projects that still have unfinished artworks. Returns what Cway
        answered and each project's state read back afterwards. Undo with reopen_projects.
        """
        ids = require_uuids(project_ids, "project_ids")
        if can_confirm():
            names = ", ".join(row.name or row.id for row in await _read_states(ids, username))
            forced = " even with unfinished artworks" if force else ""
            await confirm_change(f"Close {len(ids)} project(s){forced}: {names}.")
        data = await gateway.execute(D.CLOSE_PROJECTS, {"projectIds": ids, "force": force}, username=username)
        accepted = bool(data.get("closeProjects"))
        return tool_result(ProjectsChanged(accepted=accepted, projects=await _read_states(ids, username)))

    @server.tool(title="Reopen projects", annotations=writes(destructive=False, idempotent=True))
    async def reopen_projects(
        project_ids: ProjectIds, username: Username = None
    ) -> Annotated[CallToolResult, ProjectsChanged]:
        """Reopen closed projects so work can continue. Returns what Cway answered and each project's state
        afterwards; projects that are not closed are left as they are (a repeat changes nothing)."""
        ids = require_uuids(project_ids, "project_ids")
        before = await _read_states(ids, username)
        closed = [row.id for row in before if row.state in (None, "CLOSED")]  # unreadable: let Cway say why
        if not closed:  # idempotent: reopening what is open changes nothing
            return tool_result(ProjectsChanged(accepted=True, projects=before))
        data = await gateway.execute(D.REOPEN_PROJECTS, {"projectIds": closed}, username=username)
        accepted = bool(data.get("reopenProjects"))
        return tool_result(ProjectsChanged(accepted=accepted, projects=await _read_states(ids, username)))

    @server.tool(title="Create an artwork", annotations=writes(destructive=False, idempotent=False))
    async def create_artwork(
        project_id: ProjectId,
        name: Annotated[str, Field(description="The artwork's name, e.g. 'Poster A1'.")],
        category: Annotated[
            str | None, Field(description="Artwork category name (e.g. Print); omit for the organisation's default.")
        ] = None,
        description: str | None = None,
        start_date: Annotated[str | None, Field(description="YYYY-MM-DD; defaults to the project's.")] = None,
        end_date: Annotated[str | None, Field(description="YYYY-MM-DD due date; defaults to the project's.")] = None,
        username: Username = None,
    ) -> Annotated[CallToolResult, ArtworkCreated]:
        """Add a new artwork to a project (it starts UNSTARTED, with nobody assigned).

        Confirm the name with the user first. Then use assign_users_to_artworks to give it approvers and
        suppliers. Only the project's orderer or manager can add artworks, and not to a closed project.
        An unknown category is refused with the list of the organisation's categories. Returns the new
        artwork as Cway shows it.
        """
        pid = require_uuid(project_id, "project_id")
        title = require_text(name, "name", max_chars=200)
        start, end = optional_date(start_date, "start_date"), optional_date(end_date, "end_date")
        if start and end and end < start:
            raise ToolError(f"end_date {end} is before start_date {start}.")
        org = (await gateway.execute(D.ARTWORK_CATEGORIES, username=username)).get("organisation") or {}
        categories = [c for c in org.get("artworkCategories") or [] if isinstance(c, dict)]
        wanted = optional_text(category)
        if wanted:
            match = [c for c in categories if str(c.get("name", "")).lower() == wanted.lower()]
            if not match:
                known = ", ".join(str(c.get("name")) for c in categories) or "none"
                raise ToolError(f"No artwork category {wanted!r} in this organisation; its categories are: {known}.")
            category_id = match[0]["id"]
        else:
            category_id = (org.get("defaultCategory") or {}).get("id")
            if not category_id:
                raise ToolError("This organisation has no default artwork category; pass category.")
        existing = {a["id"] for a in (await _project(pid, username)).get("artworks") or []}
        payload: dict[str, Any] = {"projectId": pid, "name": title, "categoryId": category_id}
        for key, value in (("description", optional_text(description)), ("startDate", start), ("endDate", end)):
            if value is not None:
                payload[key] = value
        created = bool(
            (await gateway.execute(D.CREATE_ARTWORK, {"input": payload}, username=username)).get("createArtwork")
        )
        new = [a for a in (await _project(pid, username)).get("artworks") or [] if a["id"] not in existing]
        mine = [a for a in new if a.get("name") == title] or new
        row = _artwork_people(mine[0]) if created and mine else None
        return tool_result(ArtworkCreated(project_id=pid, created=created, artwork=row))

    @server.tool(title="Assign people to artworks", annotations=writes(destructive=True, idempotent=True))
    async def assign_users_to_artworks(
        project_id: ProjectId,
        artwork_ids: Annotated[list[str], Field(min_length=1, max_length=100, description="Artwork ids, 1-100.")],
        assignments: Annotated[list[Assignment], Field(min_length=1, max_length=50)],
        username: Username = None,
    ) -> Annotated[CallToolResult, Assigned]:
        """Make people approvers, suppliers or receivers of artworks in one project (or remove them).

        Use for "make Dave the approver of the poster and flyer" or "Alice supplies all three". Each
        assignment names a user and, per role, assign / unassign / leave. Only the project's orderer or
        manager can do this. Removing someone is confirmed with the user where the client can ask.
        Returns each artwork's approvers, suppliers and receivers read back from Cway.
        """
        pid = require_uuid(project_id, "project_id")
        ids = require_uuids(artwork_ids, "artwork_ids")
        if all(getattr(a, role) == "leave" for a in assignments for role in ROLES):
            raise ToolError("Every assignment says 'leave' for every role: there is nothing to change.")
        project = await _project(pid, username)
        known = {a["id"]: a for a in project.get("artworks") or []}
        outside = [aid for aid in ids if aid not in known]
        if outside:
            raise ToolError(f"Artwork {outside[0]} is not in project {project.get('name')}; nothing was changed.")
        wire = []
        removals = []
        for a in assignments:
            who = require_text(a.user, "assignments[].user", max_chars=320)
            entry: dict[str, Any] = {"userId": await _user_id(who, username)}
            for role in ROLES:
                entry[role] = ACTIONS[getattr(a, role)]
                if getattr(a, role) == "unassign":
                    removals.append(f"{who} as {role}")
            wire.append(entry)
        asked = False
        if removals:
            names = ", ".join(str(known[aid].get("name")) for aid in ids)
            asked = await confirm_change(
                f"Remove {', '.join(removals)} from {len(ids)} artwork(s) in project {project.get('name')}: {names}."
            )
        payload = {"projectId": pid, "artworkIds": ids, "assignments": wire}
        data = await gateway.execute(D.ASSIGN_USERS, {"input": payload}, username=username)
        after = {a["id"]: a for a in (await _project(pid, username)).get("artworks") or []}
        rows = [_artwork_people(after[aid]) for aid in ids if aid in after]
        accepted = bool(data.get("assignUsersToArtworks"))
        return tool_result(Assigned(project_id=pid, accepted=accepted, confirmed_by_user=asked, artworks=rows))

    @server.tool(title="Update project notes", annotations=writes(destructive=True, idempotent=False))
    async def update_project_notes(
        project_id: ProjectId,
        notes: Annotated[str, Field(description="The text to write.", max_length=20_000)],
        append: Annotated[
            bool, Field(description="True: add to the end of the existing notes. False: replace them.")
        ] = True,
        username: Username = None,
    ) -> Annotated[CallToolResult, ProjectNotes]:
        """Write the project's internal notes (visible to the project team), appending by default.

        Use for "note on the spring campaign that the printer needs files by Friday". With
        append=false the existing notes are replaced (confirmed with the user where the client can
        ask); get_project shows the current notes. Only the orderer or project manager can change them.
        """
        pid = require_uuid(project_id, "project_id")
        text = require_text(notes, "notes", max_chars=20_000)
        current = await _notes(pid, username)
        old = (current.get("notes") or "").strip()
        new = f"{old}\n{text}" if append and old else text
        asked = False
        if old and not append and old != new:
            asked = await confirm_change(
                f"Replace the notes of project {current.get('name')} ({len(old)} characters now) with the new text."
            )
        await gateway.execute(D.UPDATE_PROJECT_NOTES, {"projectId": pid, "notes": new}, username=username)
        after = await _notes(pid, username)
        return tool_result(_project_notes(pid, after, confirmed_by_user=asked))

    @server.tool(title="Set the project manager", annotations=writes(destructive=True, idempotent=True))
    async def set_project_manager(
        project_id: ProjectId,
        user: Annotated[str, Field(description="Username of the new project manager (find it with find_users).")],
        username: Username = None,
    ) -> Annotated[CallToolResult, ProjectNotes]:
        """Make someone the project manager of a project, replacing the current one.

        Use for "hand the spring campaign over to Dave". The person must be in the same organisation and
        allowed to manage projects; only the current orderer or manager can hand over. Replacing a
        manager is confirmed with the user where the client can ask. Setting the manager they already
        have changes nothing. Returns the project's manager read back from Cway.
        """
        pid = require_uuid(project_id, "project_id")
        who = require_text(user, "user", max_chars=320)
        current = await _notes(pid, username)
        manager = current.get("projectManager") or {}
        if str(manager.get("username") or "").lower() == who.lower():
            return tool_result(_project_notes(pid, current, unchanged=True))
        uid = await _user_id(who, username)
        asked = False
        if manager.get("username"):
            asked = await confirm_change(
                f"Make {who} the project manager of {current.get('name')}, replacing {manager.get('username')}."
            )
        await gateway.execute(D.SET_PROJECT_MANAGER, {"projectId": pid, "projectManagerId": uid}, username=username)
        after = await _notes(pid, username)
        return tool_result(_project_notes(pid, after, confirmed_by_user=asked))
