"""An artwork's life after it is created: start, cancel, deliver (and take back), rename, dates,
people, checkout/checkin, corrections, category, deletion.

Every batch tool reads the project first and refuses, before anything is sent, an artwork that is
not in the project or not in a state the change applies to; artworks already where the change
would put them are reported ``unchanged`` and not sent again, so a repeat is a no-op (the
idempotent annotation is true). Changes that cannot be taken back quietly (cancel, deliver,
revoke/reject a delivery, remove an approver, delete) are confirmed with the user where the
client can show a form. Every tool reads the result back from Cway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from cway_tools import documents as D
from cway_tools.confirm import confirm_change
from cway_tools.document_registry import Document
from cway_tools.gateway_protocol import CwayGateway
from cway_tools.tool_models import Person, people
from cway_tools.tool_support import (
    ArtworkId,
    In,
    Out,
    ProjectId,
    Username,
    optional_date,
    optional_text,
    read_only,
    require_text,
    require_uuid,
    require_uuids,
    tool_result,
    visible_object,
    writes,
)

TOOLSET = "artworks"
#: The ones in the small day-to-day set (docs/mcp.md#toolsets).
DEFAULT_TOOLS: frozenset[str] = frozenset(
    {"start_artworks", "set_artwork_dates", "deliver_artworks", "list_artwork_corrections"}
)

ArtworkIds = Annotated[list[str], Field(min_length=1, max_length=100, description="Artwork ids (UUIDs), 1-100.")]
Role = Literal["approver", "supplier", "receiver"]


class ArtworkStateRow(Out):
    id: str
    name: str | None = None
    was: str | None = Field(default=None, description="State before the call.")
    state: str | None = Field(default=None, description="State read back afterwards.")
    unchanged: bool | None = Field(default=None, description="True: already done, nothing was sent for it.")


class ArtworksChanged(Out):
    project_id: str
    project: str | None = None
    accepted: bool | None = Field(default=None, description="Cway's answer; absent when nothing needed sending.")
    confirmed_by_user: bool = False
    artworks: list[ArtworkStateRow]


class ArtworkPeople(Out):
    id: str
    name: str | None = None
    state: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    category: str | None = None
    approvers: list[Person] = Field(default_factory=list)
    suppliers: list[Person] = Field(default_factory=list)
    receivers: list[Person] = Field(default_factory=list)
    unchanged: bool | None = None
    confirmed_by_user: bool | None = None


class ArtworksData(Out):
    project_id: str
    artworks: list[ArtworkPeople]


class Checked(Out):
    artwork_id: str
    name: str | None = None
    state: str | None = None
    checked_out: bool = Field(description="True after checkout_artwork, False after checkin_artwork.")
    accepted: bool


class Correction(Out):
    id: str
    number: int | None = None
    text: str | None = None
    valid: bool | None = None
    by: str | None = None
    invalidated_by: str | None = None


class Corrections(Out):
    artwork_id: str
    name: str | None = None
    state: str | None = None
    corrections: list[Correction]
    unchanged: bool | None = None


class CheckinFile(In):
    file_id: str = Field(description="Id of a file already uploaded to Cway.")
    filename: str


CheckinFiles = Annotated[list[CheckinFile] | None, Field(max_length=50)]


@dataclass(frozen=True)
class Transition:
    """One state change: which states it applies to, which mean "already done", what it sends."""

    document: Document
    field: str
    applies_to: frozenset[str]
    done: frozenset[str]
    confirm: str | None  # the verb shown to the user; None = no question


#: Started = anything past UNSTARTED except canceled.
STARTED = frozenset({"FOR_REVIEW", "COMMENTED", "REJECTED", "APPROVED", "BUNDLED", "SHIPPED", "DELIVERED"})
START = Transition(D.START_ARTWORKS, "startArtworks", frozenset({"UNSTARTED"}), STARTED, None)
CANCEL = Transition(
    D.CANCEL_ARTWORKS, "cancelArtworks",
    frozenset({"UNSTARTED", "FOR_REVIEW", "COMMENTED", "REJECTED", "APPROVED"}), frozenset({"CANCELED"}), "Cancel",
)  # fmt: skip
DELIVER = Transition(
    D.DELIVER_ARTWORKS, "deliverArtworks", frozenset({"APPROVED", "BUNDLED"}), frozenset({"DELIVERED"}),
    "Deliver to the receivers",
)  # fmt: skip
REVOKE_DELIVERY = Transition(
    D.REVOKE_DELIVERY, "revokeDeliveryOfArtworks", frozenset({"DELIVERED"}), frozenset({"BUNDLED"}),
    "Revoke the delivery of",
)  # fmt: skip
REJECT_DELIVERED = Transition(
    D.REJECT_DELIVERED, "rejectAndChangeDeliveredArtworks", frozenset({"DELIVERED"}), frozenset({"REJECTED"}),
    "Reject (after delivery)",
)  # fmt: skip


def _people_row(a: dict[str, Any], **flags: Any) -> ArtworkPeople:
    return ArtworkPeople(
        id=a["id"],
        name=a.get("name"),
        state=a.get("state"),
        start_date=a.get("startDate"),
        end_date=a.get("endDate"),
        category=(a.get("category") or {}).get("name"),
        approvers=people(a.get("approvers")),
        suppliers=people(a.get("suppliers")),
        receivers=people(a.get("receivers")),
        **flags,
    )


def _correction(c: dict[str, Any]) -> Correction:
    return Correction(
        id=c["id"],
        number=c.get("number"),
        text=c.get("text"),
        valid=c.get("valid"),
        by=(c.get("commentedBy") or {}).get("username"),
        invalidated_by=(c.get("invalidatedBy") or {}).get("username"),
    )


def register(server: MCPServer, gateway: CwayGateway) -> None:
    """Register the artwork-lifecycle tools on ``server``."""

    async def _project(pid: str, username: str | None) -> dict[str, Any]:
        return await visible_object(gateway, D.PROJECT_ADMIN, "project", pid, "Project", username)

    async def _artwork(aid: str, username: str | None) -> dict[str, Any]:
        return await visible_object(gateway, D.ARTWORK_LIFECYCLE, "artwork", aid, "Artwork", username)

    async def _in_project(
        pid: str, ids: list[str], username: str | None
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        project = await _project(pid, username)
        known = {a["id"]: a for a in project.get("artworks") or [] if isinstance(a, dict)}
        outside = [aid for aid in ids if aid not in known]
        if outside:
            raise ToolError(f"Artwork {outside[0]} is not in project {project.get('name')}; nothing was changed.")
        return project, [known[aid] for aid in ids]

    async def _transition(
        t: Transition,
        project_id: str,
        artwork_ids: list[str],
        username: str | None,
        extra: dict[str, Any] | None = None,
    ) -> CallToolResult:
        pid = require_uuid(project_id, "project_id")
        ids = require_uuids(artwork_ids, "artwork_ids")
        project, arts = await _in_project(pid, ids, username)
        for a in arts:
            if a.get("state") not in t.applies_to | t.done:
                allowed = ", ".join(sorted(t.applies_to))
                raise ToolError(
                    f"Artwork {a.get('name')} is {a.get('state')}; this applies to {allowed} artworks. "
                    "Nothing was changed."
                )
        todo = [a for a in arts if a.get("state") in t.applies_to]
        asked, accepted = False, None
        if todo:
            if t.confirm:
                names = ", ".join(str(a.get("name")) for a in todo)
                asked = await confirm_change(f"{t.confirm} {len(todo)} artwork(s) in {project.get('name')}: {names}.")
            variables = {"projectId": pid, "artworkIds": [a["id"] for a in todo], **(extra or {})}
            accepted = bool((await gateway.execute(t.document, variables, username=username)).get(t.field))
        after = {a["id"]: a for a in (await _project(pid, username)).get("artworks") or []}
        rows = [
            ArtworkStateRow(
                id=a["id"], name=a.get("name"), was=a.get("state"), state=(after.get(a["id"]) or {}).get("state"),
                unchanged=True if a not in todo else None,
            )
            for a in arts
        ]  # fmt: skip
        out = ArtworksChanged(
            project_id=pid, project=project.get("name"), accepted=accepted, confirmed_by_user=asked, artworks=rows
        )
        return tool_result(out)

    @server.tool(title="Start artworks", annotations=writes(destructive=False, idempotent=True))
    async def start_artworks(
        project_id: ProjectId, artwork_ids: ArtworkIds, username: Username = None
    ) -> Annotated[CallToolResult, ArtworksChanged]:
        """Start UNSTARTED artworks (work begins; they go to review). Each needs an approver and a supplier.
        Already started ones are left as they are. Project orderer/manager only."""
        return await _transition(START, project_id, artwork_ids, username)

    @server.tool(title="Cancel artworks", annotations=writes(destructive=True, idempotent=True))
    async def cancel_artworks(
        project_id: ProjectId, artwork_ids: ArtworkIds, username: Username = None
    ) -> Annotated[CallToolResult, ArtworksChanged]:
        """Cancel artworks (state CANCELED; they leave active work). Confirm with the user first.
        Delivered artworks cannot be canceled. Project orderer/manager only."""
        return await _transition(CANCEL, project_id, artwork_ids, username)

    @server.tool(title="Deliver artworks", annotations=writes(destructive=True, idempotent=True))
    async def deliver_artworks(
        project_id: ProjectId,
        artwork_ids: ArtworkIds,
        message: Annotated[str | None, Field(description="Optional note to the receivers.", max_length=5000)] = None,
        username: Username = None,
    ) -> Annotated[CallToolResult, ArtworksChanged]:
        """Deliver APPROVED artworks to their receivers (Cway notifies them). Confirm with the user first.
        Each artwork needs a receiver. Project orderer/manager only."""
        note = optional_text(message)
        return await _transition(DELIVER, project_id, artwork_ids, username, {"message": note} if note else None)

    @server.tool(title="Revoke a delivery", annotations=writes(destructive=True, idempotent=True))
    async def revoke_artwork_delivery(
        project_id: ProjectId, artwork_ids: ArtworkIds, username: Username = None
    ) -> Annotated[CallToolResult, ArtworksChanged]:
        """Take back the delivery of DELIVERED artworks (they return to BUNDLED), e.g. a wrong delivery.
        Confirm with the user first. Project orderer/manager only."""
        return await _transition(REVOKE_DELIVERY, project_id, artwork_ids, username)

    @server.tool(title="Reject delivered artworks", annotations=writes(destructive=True, idempotent=True))
    async def reject_delivered_artworks(
        project_id: ProjectId, artwork_ids: ArtworkIds, username: Username = None
    ) -> Annotated[CallToolResult, ArtworksChanged]:
        """Reject DELIVERED artworks so they can be changed again (state REJECTED). Confirm with the user
        first. Project orderer/manager only."""
        return await _transition(REJECT_DELIVERED, project_id, artwork_ids, username)

    @server.tool(title="Delete artworks", annotations=writes(destructive=True, idempotent=False))
    async def delete_artworks(
        project_id: ProjectId, artwork_ids: ArtworkIds, username: Username = None
    ) -> Annotated[CallToolResult, ArtworksChanged]:
        """Permanently delete UNSTARTED or CANCELED artworks from a project. Confirm with the user first.
        Project orderer/manager only."""
        pid = require_uuid(project_id, "project_id")
        ids = require_uuids(artwork_ids, "artwork_ids")
        project, arts = await _in_project(pid, ids, username)
        busy = [a for a in arts if a.get("state") not in ("UNSTARTED", "CANCELED")]
        if busy:
            raise ToolError(
                f"Artwork {busy[0].get('name')} is {busy[0].get('state')}; only UNSTARTED or CANCELED artworks "
                "can be deleted (cancel it first). Nothing was deleted."
            )
        names = ", ".join(str(a.get("name")) for a in arts)
        asked = await confirm_change(
            f"Permanently delete {len(arts)} artwork(s) from {project.get('name')}: {names}. This cannot be undone."
        )
        data = await gateway.execute(D.DELETE_ARTWORKS, {"projectId": pid, "artworkIds": ids}, username=username)
        after = {a["id"]: a for a in (await _project(pid, username)).get("artworks") or []}
        rows = [
            ArtworkStateRow(id=a["id"], name=a.get("name"), was=a.get("state"), state=(after.get(a["id"]) or {}).get("state") or "DELETED")
            for a in arts
        ]  # fmt: skip
        accepted = bool(data.get("deleteArtworks"))
        out = ArtworksChanged(
            project_id=pid, project=project.get("name"), accepted=accepted, confirmed_by_user=asked, artworks=rows
        )
        return tool_result(out)

    @server.tool(title="Rename an artwork", annotations=writes(destructive=False, idempotent=True))
    async def rename_artwork(
        artwork_id: ArtworkId, name: Annotated[str, Field(max_length=255)], username: Username = None
    ) -> Annotated[CallToolResult, ArtworkPeople]:
        """Give an artwork a new name (as people see it in Cway). Project orderer/manager only."""
        aid = require_uuid(artwork_id, "artwork_id")
        new = require_text(name, "name", max_chars=255)
        art = await _artwork(aid, username)
        if art.get("name") == new:
            return tool_result(_people_row(art, unchanged=True))
        variables = {"projectId": art["projectId"], "artworkId": aid, "name": new}
        await gateway.execute(D.CHANGE_ARTWORK_NAME, variables, username=username)
        return tool_result(_people_row(await _artwork(aid, username)))

    @server.tool(title="Set artwork dates", annotations=writes(destructive=False, idempotent=True))
    async def set_artwork_dates(
        project_id: ProjectId,
        artwork_ids: ArtworkIds,
        start_date: Annotated[str | None, Field(description="YYYY-MM-DD; omit to keep.")] = None,
        end_date: Annotated[str | None, Field(description="YYYY-MM-DD due date; omit to keep.")] = None,
        username: Username = None,
    ) -> Annotated[CallToolResult, ArtworksData]:
        """Set the start and/or due date of artworks in one project. Project orderer/manager only."""
        pid = require_uuid(project_id, "project_id")
        ids = require_uuids(artwork_ids, "artwork_ids")
        start, end = optional_date(start_date, "start_date"), optional_date(end_date, "end_date")
        if start is None and end is None:
            raise ToolError("Give start_date, end_date or both.")
        if start and end and end < start:
            raise ToolError(f"end_date {end} is before start_date {start}.")
        _, arts = await _in_project(pid, ids, username)
        if all(start in (None, a.get("startDate")) and end in (None, a.get("endDate")) for a in arts):
            rows = [_people_row(await _artwork(a, username), unchanged=True) for a in ids]
            return tool_result(ArtworksData(project_id=pid, artworks=rows))
        variables = {"projectId": pid, "artworkIds": ids, "startDate": start, "endDate": end}
        await gateway.execute(D.SET_ARTWORK_DATES, variables, username=username)
        return tool_result(
            ArtworksData(project_id=pid, artworks=[_people_row(await _artwork(a, username)) for a in ids])
        )

    @server.tool(title="Change artwork category", annotations=writes(destructive=False, idempotent=True))
    async def change_artwork_category(
        project_id: ProjectId,
        artwork_ids: ArtworkIds,
        category: Annotated[str, Field(description="Category name, e.g. Print.")],
        username: Username = None,
    ) -> Annotated[CallToolResult, ArtworksData]:
        """Move artworks of one project to another artwork category (by name). Project orderer/manager only."""
        pid = require_uuid(project_id, "project_id")
        ids = require_uuids(artwork_ids, "artwork_ids")
        wanted = require_text(category, "category", max_chars=200)
        org = (await gateway.execute(D.ARTWORK_CATEGORIES, username=username)).get("organisation") or {}
        cats = [c for c in org.get("artworkCategories") or [] if isinstance(c, dict)]
        match = [c for c in cats if str(c.get("name", "")).lower() == wanted.lower()]
        if not match:
            known = ", ".join(str(c.get("name")) for c in cats) or "none"
            raise ToolError(f"No artwork category {wanted!r} in this organisation; its categories are: {known}.")
        _, arts = await _in_project(pid, ids, username)
        if all((a.get("category") or {}).get("id") == match[0]["id"] for a in arts):
            rows = [_people_row(await _artwork(a, username), unchanged=True) for a in ids]
            return tool_result(ArtworksData(project_id=pid, artworks=rows))
        variables = {"projectId": pid, "artworkIds": ids, "categoryId": match[0]["id"]}
        await gateway.execute(D.CHANGE_ARTWORK_CATEGORY, variables, username=username)
        return tool_result(
            ArtworksData(project_id=pid, artworks=[_people_row(await _artwork(a, username)) for a in ids])
        )

    @server.tool(title="Add a person to an artwork", annotations=writes(destructive=False, idempotent=True))
    async def assign_artwork_role(
        artwork_id: ArtworkId,
        user: Annotated[str, Field(description="Username (find it with find_users).")],
        role: Role,
        username: Username = None,
    ) -> Annotated[CallToolResult, ArtworkPeople]:
        """Make a person approver, supplier or receiver of one artwork. Project orderer/manager only."""
        aid = require_uuid(artwork_id, "artwork_id")
        who = require_text(user, "user", max_chars=320)
        art = await _artwork(aid, username)
        if who.lower() in [p.username.lower() for p in people(art.get(f"{role}s"))]:
            return tool_result(_people_row(art, unchanged=True))
        doc = {"approver": D.ASSIGN_APPROVER, "supplier": D.ASSIGN_SUPPLIER, "receiver": D.ASSIGN_RECEIVER}[role]
        await gateway.execute(doc, {"input": {"artworkId": aid, "username": who}}, username=username)
        return tool_result(_people_row(await _artwork(aid, username)))

    @server.tool(title="Remove an approver", annotations=writes(destructive=True, idempotent=True))
    async def remove_artwork_approver(
        artwork_id: ArtworkId,
        user: Annotated[str, Field(description="The approver's username.")],
        username: Username = None,
    ) -> Annotated[CallToolResult, ArtworkPeople]:
        """Remove an approver from an artwork. Confirm with the user first. Project orderer/manager only."""
        aid = require_uuid(artwork_id, "artwork_id")
        who = require_text(user, "user", max_chars=320)
        art = await _artwork(aid, username)
        approvers = [p.username for p in people(art.get("approvers"))]
        match = [a for a in approvers if a.lower() == who.lower()]
        if not match:
            return tool_result(_people_row(art, unchanged=True))
        asked = await confirm_change(f"Remove {match[0]} as approver of {art.get('name')}.")
        await gateway.execute(D.REMOVE_APPROVER, {"input": {"artworkId": aid, "username": match[0]}}, username=username)
        return tool_result(_people_row(await _artwork(aid, username), confirmed_by_user=asked))

    @server.tool(title="Check out an artwork", annotations=writes(destructive=False, idempotent=True))
    async def checkout_artwork(artwork_id: ArtworkId, username: Username = None) -> Annotated[CallToolResult, Checked]:
        """Check out an artwork for editing (one person at a time) before making a new revision.
        Suppliers or the project manager; undo with checkin_artwork."""
        aid = require_uuid(artwork_id, "artwork_id")
        await _artwork(aid, username)
        ok = bool(
            (await gateway.execute(D.CHECKOUT_ARTWORK, {"artworkId": aid}, username=username)).get("checkoutArtwork")
        )
        art = await _artwork(aid, username)
        return tool_result(
            Checked(artwork_id=aid, name=art.get("name"), state=art.get("state"), checked_out=True, accepted=ok)
        )

    @server.tool(title="Check in an artwork", annotations=writes(destructive=False, idempotent=False))
    async def checkin_artwork(
        artwork_id: ArtworkId,
        source_files: CheckinFiles = None,
        resource_files: CheckinFiles = None,
        delivery_files: CheckinFiles = None,
        username: Username = None,
    ) -> Annotated[CallToolResult, Checked]:
        """Check in an artwork you checked out, with the edited files (already uploaded to Cway; at least one)."""
        aid = require_uuid(artwork_id, "artwork_id")
        lists = {"sourceFiles": source_files, "resourceFiles": resource_files, "deliveryFiles": delivery_files}
        wire: dict[str, Any] = {"artworkId": aid}
        for key, files in lists.items():
            wire[key] = [
                {"fileId": require_uuid(f.file_id, "file_id"), "filename": require_text(f.filename, "filename", max_chars=255)}
                for f in files or []
            ]  # fmt: skip
        if not any(wire[key] for key in lists):
            raise ToolError("Give at least one file (source_files, resource_files or delivery_files).")
        await _artwork(aid, username)
        data = await gateway.execute(D.CHECKIN_ARTWORK, {"input": wire}, username=username)
        art = await _artwork(aid, username)
        ok = bool(data.get("checkinArtwork"))
        return tool_result(
            Checked(artwork_id=aid, name=art.get("name"), state=art.get("state"), checked_out=False, accepted=ok)
        )

    async def _corrections(aid: str, username: str | None) -> tuple[dict[str, Any], list[Correction]]:
        art = await visible_object(gateway, D.ARTWORK_CORRECTIONS, "artwork", aid, "Artwork", username)
        revision = art.get("currentRevision") or {}
        return art, [_correction(c) for c in revision.get("corrections") or [] if isinstance(c, dict)]

    @server.tool(title="Artwork corrections", annotations=read_only())
    async def list_artwork_corrections(
        artwork_id: ArtworkId, username: Username = None
    ) -> Annotated[CallToolResult, Corrections]:
        """The corrections (change requests) on an artwork's current revision, valid and invalidated."""
        aid = require_uuid(artwork_id, "artwork_id")
        art, rows = await _corrections(aid, username)
        return tool_result(Corrections(artwork_id=aid, name=art.get("name"), state=art.get("state"), corrections=rows))

    @server.tool(title="Invalidate or restore a correction", annotations=writes(destructive=False, idempotent=True))
    async def set_correction_validity(
        artwork_id: ArtworkId,
        correction_id: Annotated[str, Field(description="From list_artwork_corrections.")],
        valid: Annotated[bool, Field(description="False hides the correction from the workflow; True restores it.")],
        username: Username = None,
    ) -> Annotated[CallToolResult, Corrections]:
        """Invalidate a correction (hidden from the approval workflow) or restore it. Its author or the
        project manager only."""
        aid = require_uuid(artwork_id, "artwork_id")
        cid = require_uuid(correction_id, "correction_id")
        art, rows = await _corrections(aid, username)
        found = next((c for c in rows if c.id == cid), None)
        if found is None:
            raise ToolError(f"Artwork {art.get('name')} has no correction {cid}; see list_artwork_corrections.")
        if found.valid is valid:
            out = Corrections(
                artwork_id=aid, name=art.get("name"), state=art.get("state"), corrections=rows, unchanged=True
            )
            return tool_result(out)
        doc = D.VALIDATE_CORRECTION if valid else D.INVALIDATE_CORRECTION
        await gateway.execute(doc, {"artworkId": aid, "correctionId": cid}, username=username)
        art, rows = await _corrections(aid, username)
        return tool_result(Corrections(artwork_id=aid, name=art.get("name"), state=art.get("state"), corrections=rows))
