"""``get_pending_result``: collect a long job that was still running when its tool answered.

The AI tools and the zip download answer IN_PROGRESS with a ``handle`` rather than blocking past
the clients' 60 s timeout (``pending.py``). This one tool takes any such handle and waits for it
again, within the same bound and with progress notifications. An AI handle whose job this
process no longer follows (the shim restarted) is followed anew: the thread id is enough to
listen for its answer.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from cway_tools import pending
from cway_tools.gateway_protocol import CwayGateway
from cway_tools.tool_support import Out, Username, optional_text, read_only, require_text, tool_result
from cway_tools.tools import ai as tools_ai

#: The toolset these tools come in (``CWAY_TOOLSETS``, toolsets.py).
TOOLSET = "ai"
DEFAULT_TOOLS: frozenset[str] = frozenset()


class PendingResult(Out):
    handle: str
    kind: Literal["ai", "download"]
    status: Literal["COMPLETED", "IN_PROGRESS"]
    result: str | None = Field(default=None, description="For an AI job: the AI's text.")
    url: str | None = Field(
        default=None, description="For a download: the short-lived URL to give the user (do not fetch it yourself)."
    )
    note: str | None = None


def register(server: MCPServer, gateway: CwayGateway) -> None:
    """Register ``get_pending_result`` on ``server``."""

    @server.tool(title="Collect a pending result", annotations=read_only())
    async def get_pending_result(
        handle: Annotated[
            str, Field(description="The handle an earlier answer gave (ai:... or download:...).", max_length=200)
        ],
        username: Username = None,
    ) -> Annotated[CallToolResult, PendingResult]:
        """Collect the result of an AI analysis/summary or a zip download whose tool answered IN_PROGRESS.

        Use only with a ``handle`` from such an answer, when the user still wants the result. Waits up to
        about 40 s (with progress notifications); if the job is still running, answers IN_PROGRESS again
        with the same handle — tell the user and try later rather than calling it in a tight loop.
        """
        key = require_text(handle, "handle", max_chars=200)
        kind, _, ident = key.partition(":")
        if kind not in ("ai", "download") or not ident:
            raise ToolError(f"handle {handle!r} is not one this server gave out; it looks like ai:... or download:...")
        who = optional_text(username)
        job = pending.JOBS.get(key, who)
        if kind == "ai":
            if job is None:  # not followed here (any more): the thread id is enough to listen again
                job = pending.JOBS.start(key, tools_ai.listen(gateway, ident, "AI job", who), owner=who)
            answer = await tools_ai.collect(job, ident, "AI job", pending.WAIT_SECONDS)
            return tool_result(_from_ai(key, answer))
        if job is None:
            raise ToolError(
                f"No download {ident} is followed by this server (it finished long ago, or the server restarted); "
                "start the download again with create_download_job."
            )
        done, ready = await pending.JOBS.wait(job, pending.WAIT_SECONDS, "Waiting for Cway to prepare the download")
        if not done:
            return tool_result(
                PendingResult(
                    handle=key,
                    kind="download",
                    status="IN_PROGRESS",
                    note="Cway is still preparing the zip; try again in a little while.",
                )
            )
        return tool_result(PendingResult(handle=key, kind="download", status="COMPLETED", url=_url(ready)))


def _from_ai(key: str, answer: tools_ai.AIAnswer) -> PendingResult:
    return PendingResult(handle=key, kind="ai", status=answer.status, result=answer.result, note=answer.note)


def _url(ready: Any) -> str:
    url = getattr(ready, "url", None)
    if not isinstance(url, str) or not url:
        raise ToolError("Cway finished the download without a URL; start it again.")
    return url
