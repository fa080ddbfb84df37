"""Cway's AI tools that answer through a subscription: artwork analysis and project-history summary.

Why they need more than one call: ``artworkAIAnalysis`` and ``projectHistorySummary`` only
*start* an AI job and return its thread id; the text arrives later over the ``aiQueryResult``
subscription. Handing the model a bare thread id would be useless (no tool could read it), so
these tools start the job, listen on the subscription and return the text, within a bounded
wait: a slow job answers with its thread id and "still running" instead of holding the
conversation hostage.

They read Cway (no data changes) but are not idempotent: every call starts a new job.
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from cway_mcp_shim import documents as D
from cway_mcp_shim.gateway_protocol import CwayGateway
from cway_mcp_shim.tool_support import ArtworkId, Out, ProjectId, Username, read_only, require_uuid, tool_result

#: How long a tool waits for the AI's final message before answering "still running".
AI_WAIT_SECONDS = 60.0


class AIAnswer(Out):
    thread_id: str = Field(description="Cway's id for this AI job.")
    status: Literal["COMPLETED", "IN_PROGRESS"] = Field(
        description="COMPLETED: ``result`` holds the text. IN_PROGRESS: Cway had not finished within the wait."
    )
    result: str | None = Field(default=None, description="The AI's text (when COMPLETED).")
    note: str | None = Field(default=None, description="What to do next when the job is still running.")


def register(server: MCPServer, gateway: CwayGateway) -> None:
    """Register the subscription-backed AI tools on ``server``."""

    async def _ask(
        start: D.Document, variables: dict[str, Any], field: str, what: str, username: str | None
    ) -> CallToolResult:
        data = await gateway.execute(start, variables, username=username)
        thread = data.get(field)
        if not isinstance(thread, str) or not thread.strip():
            raise ToolError(f"Cway did not start the {what}: no thread id came back.")
        return tool_result(await _wait(thread, what, username))

    async def _wait(thread: str, what: str, username: str | None) -> AIAnswer:
        partial: str | None = None
        wait = AI_WAIT_SECONDS
        try:
            async with asyncio.timeout(wait):
                stream = gateway.subscribe(D.AI_QUERY_RESULT, {"threadId": thread}, username=username)
                async with aclosing(stream):
                    async for data in stream:
                        message = data.get("aiQueryResult") or {}
                        status = message.get("status")
                        if status == "FAILED":
                            reason = str(message.get("error") or "no reason given").strip()
                            raise ToolError(f"Cway's AI could not complete the {what} (thread {thread}): {reason}")
                        if status == "COMPLETED":
                            text = message.get("result") or partial
                            return AIAnswer(thread_id=thread, status="COMPLETED", result=text or "")
                        if isinstance(message.get("result"), str) and message["result"]:
                            partial = message["result"]  # some servers stream text before the final message
        except TimeoutError:
            return AIAnswer(
                thread_id=thread,
                status="IN_PROGRESS",
                note=(
                    f"Cway's AI had not finished the {what} after {wait:g} s; it is still running in Cway. "
                    "Tell the user, and call this tool again later if they still want it (that starts a new job)."
                ),
            )
        raise ToolError(f"Cway ended the {what} (thread {thread}) without a result; try again.")

    @server.tool(title="AI analysis of an artwork", annotations=read_only(idempotent=False))
    async def analyze_artwork(artwork_id: ArtworkId, username: Username = None) -> Annotated[CallToolResult, AIAnswer]:
        """Cway's AI analysis of one artwork: what state it is in, what is blocking it, what to do next.

        Starts an AI job in Cway and waits for its answer (usually seconds, at most about a minute);
        if Cway is slower, the answer says the job is still running. Each call starts a new job.
        For the plain facts (state, files, people) use get_artwork; for what happened, get_artwork_history.
        """
        aid = require_uuid(artwork_id, "artwork_id")
        return await _ask(D.ARTWORK_AI_ANALYSIS, {"artworkId": aid}, "artworkAIAnalysis", "artwork analysis", username)

    @server.tool(title="AI summary of a project's history", annotations=read_only(idempotent=False))
    async def summarize_project_history(
        project_id: ProjectId, username: Username = None
    ) -> Annotated[CallToolResult, AIAnswer]:
        """Cway's AI summary of everything that happened in a project (its history events), in prose.

        Use for "what has happened in project X?" / "catch me up on X". Starts an AI job in Cway and
        waits for its answer (usually seconds, at most about a minute); if Cway is slower, the answer
        says the job is still running. Each call starts a new job. For a quick status summary aimed at
        a role use summarize_project; for the raw events, get_project_history.
        """
        pid = require_uuid(project_id, "project_id")
        return await _ask(
            D.PROJECT_HISTORY_SUMMARY, {"projectId": pid}, "projectHistorySummary", "project history summary", username
        )
