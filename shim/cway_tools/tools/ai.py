"""Cway's AI tools that answer through a subscription: artwork analysis and project-history summary.

Why they need more than one call: ``artworkAIAnalysis`` and ``projectHistorySummary`` only
*start* an AI job and return its thread id; the text arrives later over the ``aiQueryResult``
subscription. Handing the model a bare thread id would be useless (no tool could read it), so
these tools start the job, listen on the subscription and return the text, within a bounded
wait (``pending.py``: at most 40 s per call, progress notifications while waiting): a slow job
answers with its thread id and a handle instead of holding the conversation hostage, and keeps
being followed in the background for ``get_pending_result`` (``tools_pending.py``).

They read Cway (no data changes) but are not idempotent: every call starts a new job.
"""

from __future__ import annotations

import time
from contextlib import aclosing
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from cway_tools import documents as D
from cway_tools import pending
from cway_tools.gateway_protocol import CwayGateway
from cway_tools.tool_support import ArtworkId, Out, ProjectId, Username, read_only, require_uuid, tool_result

#: The toolset these tools come in (``CWAY_TOOLSETS``, toolsets.py).
TOOLSET = "ai"
DEFAULT_TOOLS: frozenset[str] = frozenset()


#: Kept for tests and callers that bound the wait: the same limit as every long job (see pending.py).
AI_WAIT_SECONDS = pending.WAIT_SECONDS


class AIAnswer(Out):
    thread_id: str = Field(description="Cway's id for this AI job.")
    status: Literal["COMPLETED", "IN_PROGRESS"] = Field(
        description="COMPLETED: ``result`` holds the text. IN_PROGRESS: Cway had not finished within the wait."
    )
    result: str | None = Field(default=None, description="The AI's text (when COMPLETED).")
    handle: str | None = Field(
        default=None, description="When IN_PROGRESS: pass it to get_pending_result to collect the answer later."
    )
    note: str | None = Field(default=None, description="What to do next when the job is still running.")


async def listen(gateway: CwayGateway, thread: str, what: str, username: str | None) -> AIAnswer:
    """Follow ``aiQueryResult(threadId)`` to its final message (run as a background job)."""
    partial: str | None = None
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
    raise ToolError(f"Cway ended the {what} (thread {thread}) without a result; try again.")


async def collect(
    job: pending.Job, thread: str, what: str, seconds: float, *, started: float | None = None
) -> AIAnswer:
    """The answer if the job finishes within ``seconds`` of ``started``, else "still running" with its handle."""
    done, answer = await pending.JOBS.wait(job, seconds, f"Waiting for Cway's AI ({what})", started=started)
    if done:
        assert isinstance(answer, AIAnswer)
        return answer
    return AIAnswer(
        thread_id=thread,
        status="IN_PROGRESS",
        handle=job.handle,
        note=(
            f"Cway's AI had not finished the {what} yet; it is still running. Tell the user, and call "
            f"get_pending_result with handle {job.handle!r} in a little while to collect the answer "
            "(calling this tool again would start a new job)."
        ),
    )


def register(server: MCPServer, gateway: CwayGateway) -> None:
    """Register the subscription-backed AI tools on ``server``."""

    async def _ask(
        start: D.Document, variables: dict[str, Any], field: str, what: str, username: str | None
    ) -> CallToolResult:
        started = time.monotonic()
        data = await gateway.execute(start, variables, username=username)
        thread = data.get(field)
        if not isinstance(thread, str) or not thread.strip():
            raise ToolError(f"Cway did not start the {what}: no thread id came back.")
        job = pending.JOBS.start(f"ai:{thread}", listen(gateway, thread, what, username), owner=username)
        return tool_result(await collect(job, thread, what, AI_WAIT_SECONDS, started=started))

    @server.tool(title="AI analysis of an artwork", annotations=read_only(idempotent=False))
    async def analyze_artwork(artwork_id: ArtworkId, username: Username = None) -> Annotated[CallToolResult, AIAnswer]:
        """Cway's AI analysis of one artwork: what state it is in, what is blocking it, what to do next.

        Starts an AI job in Cway and waits for its answer (usually seconds, at most about 40 s, with
        progress notifications); if Cway is slower, the answer is IN_PROGRESS with a ``handle`` for
        get_pending_result. Each call starts a new job. For the plain facts (state, files, people) use get_artwork; for what happened, get_artwork_history.
        """
        aid = require_uuid(artwork_id, "artwork_id")
        return await _ask(D.ARTWORK_AI_ANALYSIS, {"artworkId": aid}, "artworkAIAnalysis", "artwork analysis", username)

    @server.tool(title="AI summary of a project's history", annotations=read_only(idempotent=False))
    async def summarize_project_history(
        project_id: ProjectId, username: Username = None
    ) -> Annotated[CallToolResult, AIAnswer]:
        """Cway's AI summary of everything that happened in a project (its history events), in prose.

        Use for "what has happened in project X?" / "catch me up on X". Starts an AI job in Cway and
        waits for its answer (usually seconds, at most about 40 s); if Cway is slower, the answer is
        IN_PROGRESS with a ``handle`` for get_pending_result. Each call starts a new job. For a quick status summary aimed at
        a role use summarize_project; for the raw events, get_project_history.
        """
        pid = require_uuid(project_id, "project_id")
        return await _ask(
            D.PROJECT_HISTORY_SUMMARY, {"projectId": pid}, "projectHistorySummary", "project history summary", username
        )
