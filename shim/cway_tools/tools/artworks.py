"""Artwork tools: what waits for my approval or my upload, artwork details and history, and the
approve / reject decisions (single and bulk).

Approving and rejecting are the decisions an approver delegates to an assistant, so these tools
are careful: ids are validated first, rejections always carry a comment (the supplier needs to
know why), bulk rejects check that every artwork belongs to the named project, and every
decision reports the state Cway actually holds afterwards rather than just "ok".
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
from cway_tools.links import artwork_link, with_links
from cway_tools.review_app import UI_META
from cway_tools.tool_models import (
    ArtworkRow,
    Event,
    FileInfo,
    Person,
    artwork_row,
    events_newest_first,
    file_info,
    people,
    person,
)
from cway_tools.tool_support import (
    ArtworkId,
    Out,
    Page,
    Paged,
    PageSize,
    ProjectId,
    Username,
    dicts,
    page_slice,
    read_only,
    require_text,
    require_uuid,
    require_uuids,
    tool_result,
    writes,
)

#: The toolset these tools come in (``CWAY_TOOLSETS``, toolsets.py).
TOOLSET = "approvals"
#: The ones in the small day-to-day set (docs/mcp.md#toolsets).
DEFAULT_TOOLS: frozenset[str] = frozenset(
    {
        "list_artworks_to_approve",
        "get_artwork",
        "get_artwork_history",
        "approve_artwork",
        "reject_artwork",
        "approve_artworks",
        "reject_artworks",
    }
)


ArtworkIds = Annotated[list[str], Field(min_length=1, max_length=100, description="Artwork ids (UUIDs), 1-100.")]
Comment = Annotated[
    str, Field(description="Why it is rejected / what must change; Cway shows it to the supplier.", max_length=5000)
]
OptionalProjectFilter = Annotated[str | None, Field(description="Only artworks of this project (UUID).")]


class ArtworksPage(Paged):
    artworks: list[ArtworkRow]


class Revision(Out):
    id: str
    name: str | None = None
    number: int | None = None
    comment: str | None = None
    created: str | None = None
    created_by: Person | None = None


class ArtworkDetail(ArtworkRow):
    description: str | None = None
    approval_date: str | None = None
    delivery_date: str | None = None
    orderer: Person | None = None
    receivers: list[Person] = Field(default_factory=list)
    current_revision: Revision | None = None
    preview_file: FileInfo | None = None
    files: list[FileInfo] = Field(default_factory=list, description="Use file ids with get_file_download_url.")


class ArtworkHistoryPage(Paged):
    artwork_id: str
    events: list[Event] = Field(description="Newest first.")


class ArtworkOutcome(Out):
    artwork_id: str
    name: str | None = None
    state: str | None = Field(default=None, description="State read back from Cway after the decision.")
    ok: bool = Field(description="Cway accepted the decision for this artwork (or it already held it).")
    error: str | None = None
    unchanged: bool | None = Field(
        default=None, description="True when the artwork already had this decision: nothing was sent to Cway."
    )


class Decision(Out):
    decision: Literal["approved", "rejected"]
    comment: str | None = None
    succeeded: int
    failed: int
    artworks: list[ArtworkOutcome]


def register(server: MCPServer, gateway: CwayGateway) -> None:
    """Register the artwork tools on ``server``; every call goes through ``gateway``."""

    async def _artwork_list(
        document: D.Document, field: str, project_id: str | None, page: int, page_size: int, username: str | None
    ) -> CallToolResult:
        pid = require_uuid(project_id, "project_id") if project_id else None
        data = await gateway.execute(document, username=username)
        rows = [artwork_row(a) for a in dicts(data.get(field)) if pid is None or a.get("projectId") == pid]
        rows.sort(key=lambda r: (r.due_date or "9999", r.project_name or "", r.name))
        shown, info = page_slice(rows, page, page_size)
        return tool_result(ArtworksPage(artworks=shown, **info))

    @server.tool(title="Artworks waiting for my approval", annotations=read_only(), meta=UI_META)
    async def list_artworks_to_approve(
        project_id: OptionalProjectFilter = None, page: Page = 1, page_size: PageSize = 25, username: Username = None
    ) -> Annotated[CallToolResult, ArtworksPage]:
        """The artworks waiting for this account's approval decision, soonest due first.

        Use for "what is waiting for my approval?" / "anything to review in project X?". Each row has
        the artwork and project ids, state, due date, approvers and suppliers; then use get_artwork for
        details and approve_artwork / reject_artwork to decide. Paged: page, page_size, total, has_more.
        """
        return await _artwork_list(D.ARTWORKS_TO_APPROVE, "artworksToApprove", project_id, page, page_size, username)

    @server.tool(title="Artworks waiting for my upload", annotations=read_only())
    async def list_artworks_to_upload(
        project_id: OptionalProjectFilter = None, page: Page = 1, page_size: PageSize = 25, username: Username = None
    ) -> Annotated[CallToolResult, ArtworksPage]:
        """The artworks this account (as supplier) still has to upload or revise, soonest due first.

        Use for a supplier's "what do I have to deliver?" or "what was rejected and needs a new
        version?". Paged: page, page_size, total, has_more.
        """
        return await _artwork_list(D.ARTWORKS_TO_UPLOAD, "artworksToUpload", project_id, page, page_size, username)

    @server.tool(title="Get artwork", annotations=read_only())
    async def get_artwork(artwork_id: ArtworkId, username: Username = None) -> Annotated[CallToolResult, ArtworkDetail]:
        """Everything needed to review one artwork: state, dates, people, current revision and its files.

        Use before approving or rejecting, or for "find the artwork files" (each file has an id for
        get_file_download_url). ``can_approve`` / ``can_reject`` say whether a decision is possible now.
        """
        aid = require_uuid(artwork_id, "artwork_id")
        data = await gateway.execute(D.ARTWORK, {"id": aid}, username=username)
        a = data.get("artwork")
        if not isinstance(a, dict):
            raise ToolError(f"Artwork {aid} was not found, or this account cannot see it.")
        rev = a.get("currentRevision")
        revision = None
        if isinstance(rev, dict) and rev.get("id"):
            revision = Revision(
                id=rev["id"],
                name=rev.get("name"),
                number=rev.get("revisionNo"),
                comment=rev.get("comment"),
                created=rev.get("created"),
                created_by=person(rev.get("createdBy")),
            )
        files = [file_info(f.get("file"), f.get("fileType")) for f in dicts(a.get("filesWithType"))]
        detail = ArtworkDetail(
            **artwork_row(a).model_dump(),
            description=a.get("description") or None,
            approval_date=a.get("approvalDate"),
            delivery_date=a.get("deliveryDate"),
            orderer=person(a.get("orderer")),
            receivers=people(a.get("receivers")),
            current_revision=revision,
            preview_file=file_info(a.get("previewFile")),
            files=[f for f in files if f is not None],
        )
        return with_links(tool_result(detail), artwork_link(detail.id, detail.name))

    @server.tool(title="Artwork history", annotations=read_only())
    async def get_artwork_history(
        artwork_id: ArtworkId, page: Page = 1, page_size: PageSize = 25, username: Username = None
    ) -> Annotated[CallToolResult, ArtworkHistoryPage]:
        """What happened to an artwork, newest first (uploads, comments, approvals, rejections...).

        Use for "why was this rejected?" or "when was it approved?". Paged: page, page_size, total, has_more.
        """
        aid = require_uuid(artwork_id, "artwork_id")
        data = await gateway.execute(D.ARTWORK_HISTORY, {"artworkId": aid}, username=username)
        rows, info = page_slice(events_newest_first(data.get("artworkHistory")), page, page_size)
        return tool_result(ArtworkHistoryPage(artwork_id=aid, events=rows, **info))

    async def _state(aid: str, username: str | None) -> dict[str, Any] | None:
        """The artwork's id/name/project/state, or None if it cannot be read."""
        try:
            a = (await gateway.execute(D.ARTWORK_STATE, {"id": aid}, username=username)).get("artwork")
        except ToolError:
            return None
        return a if isinstance(a, dict) else None

    async def _outcome(aid: str, ok: bool, username: str | None, error: str | None = None) -> ArtworkOutcome:
        after = await _state(aid, username)
        return ArtworkOutcome(
            artwork_id=aid,
            name=(after or {}).get("name"),
            state=(after or {}).get("state"),
            ok=ok,
            error=error if error else (None if ok else "Cway answered false (nothing changed)."),
        )

    def _decision(kind: Literal["approved", "rejected"], outcomes: list[ArtworkOutcome], comment: str | None) -> Any:
        ok = sum(1 for o in outcomes if o.ok)
        decision = Decision(decision=kind, comment=comment, succeeded=ok, failed=len(outcomes) - ok, artworks=outcomes)
        # Some succeeded: a result to report. None did: an error, with each artwork's reason.
        return tool_result(decision, is_error=bool(outcomes) and ok == 0)

    async def _acting_username(username: str | None) -> str:
        login = (await gateway.execute(D.CURRENT_USER, username=username)).get("loginInfo") or {}
        name = (login.get("user") or {}).get("username")
        if not name:
            raise ToolError("Cway did not say who this account is (loginInfo.user.username is empty).")
        return str(name)

    async def _reject_one(aid: str, comment: str, me: str, username: str | None) -> ArtworkOutcome:
        payload = {"artworkId": aid, "username": me, "comment": comment}
        try:
            data = await gateway.execute(D.REJECT_ARTWORK, {"input": payload}, username=username)
        except ToolError as exc:
            return await _outcome(aid, False, username, str(exc))
        return await _outcome(aid, bool(data.get("rejectArtwork")), username)

    @server.tool(title="Approve artwork", annotations=writes(destructive=True, idempotent=True))
    async def approve_artwork(artwork_id: ArtworkId, username: Username = None) -> Annotated[CallToolResult, Decision]:
        """Approve one artwork as this account. Only call when the user has clearly decided to approve.

        Approval is the sign-off that lets the artwork go to print/delivery (revoke_artwork_decisions can
        take it back). Returns the decision with the artwork's state read back from Cway; approving an
        artwork that is already approved changes nothing and says so (``unchanged``).
        """
        aid = require_uuid(artwork_id, "artwork_id")
        before = await _state(aid, username)
        if before is not None and before.get("state") == "APPROVED":  # idempotent: a repeat changes nothing
            same = ArtworkOutcome(artwork_id=aid, name=before.get("name"), state="APPROVED", ok=True, unchanged=True)
            return _decision("approved", [same], None)
        if before is not None:
            await confirm_change(
                f"Approve artwork {before.get('name')} (now {before.get('state')}): it goes on to print/delivery."
            )
        data = await gateway.execute(D.APPROVE_ARTWORK, {"artworkId": aid}, username=username)
        outcome = await _outcome(aid, bool(data.get("approveArtwork")), username)
        if not outcome.ok:
            raise ToolError(f"Cway did not approve artwork {aid} (state now: {outcome.state or 'unknown'}).")
        return _decision("approved", [outcome], None)

    @server.tool(title="Reject artwork", annotations=writes(destructive=True, idempotent=False))
    async def reject_artwork(
        artwork_id: ArtworkId, comment: Comment, username: Username = None
    ) -> Annotated[CallToolResult, Decision]:
        """Reject one artwork with a comment telling the supplier what to change.

        Only call when the user has decided to reject; use their words for the comment. The
        artwork goes back to the supplier for a new revision. Returns the state read back from Cway.
        """
        aid = require_uuid(artwork_id, "artwork_id")
        text = require_text(comment, "comment")
        me = await _acting_username(username)
        if can_confirm():
            name = (await _state(aid, username) or {}).get("name") or aid
            await confirm_change(f"Reject artwork {name} with the comment: {text!r}. It goes back to the supplier.")
        data = await gateway.execute(
            D.REJECT_ARTWORK, {"input": {"artworkId": aid, "username": me, "comment": text}}, username=username
        )
        outcome = await _outcome(aid, bool(data.get("rejectArtwork")), username)
        if not outcome.ok:
            raise ToolError(f"Cway did not reject artwork {aid} (state now: {outcome.state or 'unknown'}).")
        return _decision("rejected", [outcome], text)

    @server.tool(title="Approve several artworks", annotations=writes(destructive=True, idempotent=True))
    async def approve_artworks(
        project_id: ProjectId, artwork_ids: ArtworkIds, username: Username = None
    ) -> Annotated[CallToolResult, Decision]:
        """Approve several artworks of one project in a single Cway call. Confirm the list with the user first.

        Returns one outcome per artwork with its state read back; check ``failed``. Artworks that are
        already approved are left alone and reported ``unchanged``.
        """
        pid = require_uuid(project_id, "project_id")
        ids = require_uuids(artwork_ids, "artwork_ids")
        done: dict[str, ArtworkOutcome] = {}
        for aid in ids:
            before = await _state(aid, username)
            if before is not None and before.get("state") == "APPROVED" and before.get("projectId") == pid:
                done[aid] = ArtworkOutcome(
                    artwork_id=aid, name=before.get("name"), state="APPROVED", ok=True, unchanged=True
                )
        todo = [aid for aid in ids if aid not in done]
        if todo:
            await confirm_change(f"Approve {len(todo)} artwork(s) of project {pid}: they go on to print/delivery.")
            variables = {"projectId": pid, "artworkIds": todo}
            accepted = bool(
                (await gateway.execute(D.APPROVE_ARTWORKS, variables, username=username)).get("approveArtworks")
            )
            for aid in todo:
                done[aid] = await _outcome(aid, accepted, username)
        return _decision("approved", [done[aid] for aid in ids], None)

    @server.tool(title="Reject several artworks", annotations=writes(destructive=True, idempotent=False))
    async def reject_artworks(
        project_id: ProjectId, artwork_ids: ArtworkIds, comment: Comment, username: Username = None
    ) -> Annotated[CallToolResult, Decision]:
        """Reject several artworks of one project, each with the same comment. Confirm with the user first.

        Cway's own bulk reject cannot carry a comment, so each artwork is rejected individually with
        it; artworks not in ``project_id`` are refused before anything changes. Returns one outcome per
        artwork (``ok``, ``error``, state read back); check ``failed``.
        """
        pid = require_uuid(project_id, "project_id")
        ids = require_uuids(artwork_ids, "artwork_ids")
        text = require_text(comment, "comment")
        for aid in ids:
            state = await _state(aid, username)
            if state is None:
                raise ToolError(f"Artwork {aid} was not found, or this account cannot see it; nothing was rejected.")
            if state.get("projectId") != pid:
                raise ToolError(
                    f"Artwork {aid} ({state.get('name')}) belongs to project {state.get('projectId')}, "
                    f"not {pid}; nothing was rejected."
                )
        me = await _acting_username(username)
        await confirm_change(
            f"Reject {len(ids)} artwork(s) of project {pid} with the comment: {text!r}. They go back to the supplier."
        )
        outcomes = [await _reject_one(aid, text, me, username) for aid in ids]
        return _decision("rejected", outcomes, text)
