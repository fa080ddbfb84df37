"""Prompts for the recurring jobs, and argument completion from the caller's own Cway data.

Prompts are what a person picks from the client's menu ("/cway approvals today"); each renders
one user message that names the tools to use, so the model does the job the same way every time.
Completion (``completion/complete``) fills a prompt's ``project`` / ``artwork`` argument (and the
``id`` of a ``cway://projects/{id}`` / ``cway://artworks/{id}`` resource template) with names and
ids the caller can see: it asks Cway through the gateway as the caller (the default account; on
the remote server the signed-in user), so another user's objects can never appear. A completion
that fails (not signed in, Cway down) answers with no values rather than an error: completion is
a convenience while typing, not a place to explain a sign-in.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import Completion, CompletionArgument, CompletionContext, PromptReference, ResourceTemplateReference
from pydantic import Field

from cway_tools import documents as D
from cway_tools.gateway_protocol import CwayGateway
from cway_tools.tool_support import dicts

log = logging.getLogger(__name__)

#: The most values one completion answers with (the spec's limit is 100).
MAX_VALUES = 20

ProjectArg = Annotated[str, Field(description="The project's name or id (completion offers yours).")]
ArtworkArg = Annotated[str, Field(description="The artwork's name or id (completion offers yours).")]
OptionalProjectArg = Annotated[str | None, Field(description="Only this project (name or id); omit for all.")]


def _match(partial: str, pairs: list[tuple[str, str]]) -> list[str]:
    """Names (then ids) that start with, then contain, what was typed; ids match by prefix."""
    typed = partial.strip().lower()
    starts = [name for name, _ in pairs if name.lower().startswith(typed)]
    contains = [name for name, _ in pairs if typed and typed in name.lower() and name not in starts]
    ids = [ident for _, ident in pairs if typed and ident.lower().startswith(typed)]
    return list(dict.fromkeys(starts + contains + ids))


def register(server: MCPServer, gateway: CwayGateway) -> None:
    """Register the prompts and the completion handler on ``server``."""

    @server.prompt(name="approvals_today", title="What needs my approval today")
    def approvals_today() -> str:
        """Everything waiting for my approval decision, soonest due first, with what to look at."""
        return (
            "What needs my approval in Cway today? Call list_artworks_to_approve, then list what is due "
            "today or overdue first (name, project, due date), then the rest. For anything due today, "
            "call review_artwork so I can see it. Do not approve or reject anything until I say so."
        )

    @server.prompt(name="project_status_for_orderer", title="Status of a project for its orderer")
    def project_status_for_orderer(project: ProjectArg) -> str:
        """A status note about one project written for the person who ordered it."""
        return (
            f"Write a short status update about the Cway project {project!r} for its orderer. Find it with "
            "list_projects (search by name) unless it is an id, then call get_project and "
            "get_project_history. Say what is approved, what waits for whom and since when, what was "
            "rejected and why, and whether the due date holds. Plain language, no ids, at most 150 words."
        )

    @server.prompt(name="chase_overdue_approvers", title="Chase overdue approvers")
    def chase_overdue_approvers(project: OptionalProjectArg = None) -> str:
        """Find approvals past their due date and draft reminders to the approvers."""
        scope = f"in the project {project!r}" if project else "in my projects"
        return (
            f"Find Cway artworks {scope} that are past their due date and still wait for an approval "
            "(get_project or list_projects with get_project; state FOR_REVIEW or COMMENTED, due date "
            "before today). List them with their approvers and how many days overdue. Then propose one "
            "remind_approver call per artwork and send them only after I confirm."
        )

    @server.prompt(name="review_an_artwork", title="Review an artwork")
    def review_an_artwork(artwork: ArtworkArg) -> str:
        """Look at one artwork with me and help me decide."""
        return (
            f"Show me the Cway artwork {artwork!r} with review_artwork (find its id with "
            "list_artworks_to_approve if it is a name). Summarise its state, approvers, corrections and "
            "latest history, then ask me whether to approve or reject (and with which comment)."
        )

    async def _projects(partial: str) -> list[tuple[str, str]]:
        variables: dict[str, Any] = {"paging": {"page": 0, "pageSize": 50}}
        if partial.strip():
            variables["filter"] = {"name": partial.strip()}
        data = await gateway.execute(D.PROJECTS, variables)
        found = list(dicts((data.get("projects") or {}).get("projects")))
        if not found and "filter" in variables:  # perhaps the start of an id: the first page, unfiltered
            data = await gateway.execute(D.PROJECTS, {"paging": variables["paging"]})
            found = list(dicts((data.get("projects") or {}).get("projects")))
        return [(p["name"], p["id"]) for p in found if p.get("id")]

    async def _artworks() -> list[tuple[str, str]]:
        approve = await gateway.execute(D.ARTWORKS_TO_APPROVE)
        upload = await gateway.execute(D.ARTWORKS_TO_UPLOAD)
        rows = [*dicts(approve.get("artworksToApprove")), *dicts(upload.get("artworksToUpload"))]
        return list(dict.fromkeys((a["name"], a["id"]) for a in rows if a.get("id")))

    @server.completion()
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        if isinstance(ref, PromptReference):
            kind = {"project": "projects", "artwork": "artworks"}.get(argument.name)
        else:
            uri = ref.uri
            kind = next((k for k in ("projects", "artworks") if f"://{k}/" in uri), None)
            kind = kind if argument.name == "id" else None
        if kind is None:
            return None
        try:
            pairs = await (_projects(argument.value) if kind == "projects" else _artworks())
        except ToolError as exc:
            log.info("completion of %s not offered: %s", kind, exc)
            return Completion(values=[], total=0, has_more=False)
        if isinstance(ref, ResourceTemplateReference):  # a URI wants the id, not the name
            typed = argument.value.strip().lower()
            values = [ident for _, ident in pairs if ident.lower().startswith(typed)]
        else:
            values = _match(argument.value, pairs)
        return Completion(values=values[:MAX_VALUES], total=len(values), has_more=len(values) > MAX_VALUES)
