"""The approval loop beyond approve/reject: chase an approver, take a decision back, ask for changes.

* ``remind_approver``: a project manager's "the poster is still waiting for Alice — nudge her";
* ``revoke_artwork_decisions``: "that approval was a mistake" — approved or rejected artworks go
  back to review (destructive; confirmed with the user where the client can ask);
* ``add_correction``: an approver's "the logo must be bigger" without rejecting the revision.

Each checks what it can before sending (the artwork's state, who approves it, the project) so
the model gets a specific reason instead of Cway's generic refusal, and reports the state
read back from Cway afterwards.
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
from cway_tools.tool_support import (
    ArtworkId,
    Out,
    ProjectId,
    Username,
    optional_text,
    require_text,
    require_uuid,
    require_uuids,
    tool_result,
    visible_object,
    writes,
)

#: The toolset these tools come in (``CWAY_TOOLSETS``, toolsets.py).
TOOLSET = "approvals"
#: The ones in the small day-to-day set (docs/mcp.md#toolsets).
DEFAULT_TOOLS: frozenset[str] = frozenset({"remind_approver", "add_correction"})


AWAITING_DECISION = ("FOR_REVIEW", "COMMENTED")
DECIDED = ("APPROVED", "REJECTED")
ArtworkIds = Annotated[list[str], Field(min_length=1, max_length=100, description="Artwork ids (UUIDs), 1-100.")]


class Reminded(Out):
    artwork_id: str
    name: str | None = None
    state: str | None = None
    reminded: list[str] = Field(description="The approvers Cway sent a reminder e-mail to.")


class Revoked(Out):
    artwork_id: str
    name: str | None = None
    was: str | None = Field(default=None, description="The decision that was revoked.")
    state: str | None = Field(default=None, description="State read back from Cway afterwards.")


class RevokedDecisions(Out):
    project_id: str
    accepted: bool = Field(description="What Cway answered.")
    confirmed_by_user: bool = Field(description="The user confirmed in their client before the change was sent.")
    artworks: list[Revoked]


class CorrectionAdded(Out):
    artwork_id: str
    name: str | None = None
    state: str | None = Field(default=None, description="State read back (COMMENTED while corrections are open).")
    text: str


def register(server: MCPServer, gateway: CwayGateway) -> None:
    """Register the reminder, revocation and correction tools on ``server``."""

    async def _artwork(aid: str, username: str | None) -> dict[str, Any]:
        return await visible_object(gateway, D.ARTWORK_PEOPLE, "artwork", aid, "Artwork", username)

    def _names(people: Any) -> list[str]:
        return [p["username"] for p in people or [] if isinstance(p, dict) and p.get("username")]

    @server.tool(title="Remind an approver", annotations=writes(destructive=False, idempotent=False))
    async def remind_approver(
        artwork_id: ArtworkId,
        approver: Annotated[
            str | None,
            Field(description="Username of the approver to remind; omit to remind every approver of the artwork."),
        ] = None,
        username: Username = None,
    ) -> Annotated[CallToolResult, Reminded]:
        """Send an approver Cway's reminder e-mail about an artwork still waiting for their decision.

        Use for "chase Alice about the poster" / "remind the approvers". Only the project's orderer or
        project manager can remind, and only while the artwork awaits a decision (FOR_REVIEW or
        COMMENTED). Each call sends a new e-mail, so do not repeat it unasked. Returns who was reminded.
        """
        aid = require_uuid(artwork_id, "artwork_id")
        art = await _artwork(aid, username)
        if art.get("state") not in AWAITING_DECISION:
            raise ToolError(f"Artwork {art.get('name')} is {art.get('state')}: it is not waiting for a decision.")
        approvers = _names(art.get("approvers"))
        who = optional_text(approver)
        if who and who.lower() not in [a.lower() for a in approvers]:
            listed = ", ".join(approvers) or "nobody"
            raise ToolError(f"{who} is not an approver of {art.get('name')}; its approvers are: {listed}.")
        targets = [a for a in approvers if a.lower() == who.lower()] if who else approvers
        if not targets:
            raise ToolError(f"Artwork {art.get('name')} has no approvers to remind; assign one first.")
        for target in targets:
            payload = {"projectId": art["projectId"], "artworkId": aid, "username": target}
            await gateway.execute(D.REMIND_APPROVER, {"input": payload}, username=username)
        return tool_result(Reminded(artwork_id=aid, name=art.get("name"), state=art.get("state"), reminded=targets))

    @server.tool(title="Revoke approvals or rejections", annotations=writes(destructive=True, idempotent=False))
    async def revoke_artwork_decisions(
        project_id: ProjectId, artwork_ids: ArtworkIds, username: Username = None
    ) -> Annotated[CallToolResult, RevokedDecisions]:
        """Take back the approval or rejection of artworks in one project: they go back to review (FOR_REVIEW).

        Use when the user says an approval or rejection was a mistake. Ask the user first, naming the
        artworks; clients that can show a form are asked to confirm before anything changes. Every
        artwork must be APPROVED or REJECTED and belong to the project, or nothing is sent. Only the
        artwork's approvers or the project's orderer/manager may revoke. Returns each artwork's state
        before and after.
        """
        pid = require_uuid(project_id, "project_id")
        ids = require_uuids(artwork_ids, "artwork_ids")
        before: dict[str, dict[str, Any]] = {}
        for aid in ids:
            art = await _artwork(aid, username)
            if art.get("projectId") != pid:
                raise ToolError(f"Artwork {art.get('name')} belongs to another project; nothing was revoked.")
            if art.get("state") not in DECIDED:
                raise ToolError(
                    f"Artwork {art.get('name')} is {art.get('state')}: there is no approval or rejection to revoke; "
                    "nothing was revoked."
                )
            before[aid] = art
        listing = "; ".join(f"{a.get('name')} ({str(a.get('state')).lower()})" for a in before.values())
        project = next(iter(before.values())).get("projectName") or pid
        asked = await confirm_change(
            f"Revoke the decision on {len(ids)} artwork(s) in project {project}: {listing}. "
            "They go back to review and need a new decision."
        )
        data = await gateway.execute(D.REVOKE_DECISIONS, {"projectId": pid, "artworkIds": ids}, username=username)
        rows = []
        for aid in ids:
            after = await _artwork(aid, username)
            rows.append(
                Revoked(artwork_id=aid, name=after.get("name"), was=before[aid].get("state"), state=after.get("state"))
            )
        accepted = bool(data.get("revokeArtworkApprovalOrRejection"))
        return tool_result(RevokedDecisions(project_id=pid, accepted=accepted, confirmed_by_user=asked, artworks=rows))

    @server.tool(title="Add a correction", annotations=writes(destructive=False, idempotent=False))
    async def add_correction(
        artwork_id: ArtworkId,
        text: Annotated[str, Field(description="What must change, in the user's words; the supplier reads it.")],
        file_ids: Annotated[
            list[str] | None, Field(description="Ids of reference files already in Cway to attach (optional).")
        ] = None,
        username: Username = None,
    ) -> Annotated[CallToolResult, CorrectionAdded]:
        """Add a correction (a change request) to an artwork under review, without rejecting it.

        Use for "tell the supplier the logo must be bigger" when the user does not want to reject the
        revision outright (reject_artwork does that). The artwork must be under review (FOR_REVIEW or
        COMMENTED) and the account must be on it (approver, supplier, receiver) or manage the project.
        Returns the artwork's state afterwards (COMMENTED). Each call adds another correction.
        """
        aid = require_uuid(artwork_id, "artwork_id")
        body = require_text(text, "text")
        files = require_uuids(file_ids, "file_ids") if file_ids else []
        art = await _artwork(aid, username)
        if art.get("state") not in AWAITING_DECISION:
            raise ToolError(f"Artwork {art.get('name')} is {art.get('state')}: corrections are added during review.")
        payload: dict[str, Any] = {"artworkId": aid, "text": body}
        if files:
            payload["fileIds"] = files
        await gateway.execute(D.ADD_CORRECTION, {"input": payload}, username=username)
        after = await _artwork(aid, username)
        return tool_result(CorrectionAdded(artwork_id=aid, name=after.get("name"), state=after.get("state"), text=body))
