"""Downloads end to end: a URL the user can open, for one file or for a zip of several.

* one file: ``tempFileDownloadUrl`` gives a short-lived URL at once (``get_file_download_url``);
* several files: ``createDownloadJob`` only returns a job id, and Cway's schema has no query for
  a job. What it does have is the ``download`` subscription (``{username, fileId, shareId}``),
  which names no job. So ``create_download_job`` listens on it *first* (the subscription is sent
  before the job is created, so the announcement cannot be missed), creates the job, takes the
  first announcement for the acting user that carries a file id as the zip, and turns that file
  into a URL with ``tempFileDownloadUrl``. Within the 40 s bound of every long tool (progress
  while waiting); past it, a ``download:<job id>`` handle for ``get_pending_result``.

The reading of the ``download`` subscription is ours, not documented by Cway: see docs/mcp.md.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import aclosing
from typing import Annotated, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from cway_tools import documents as D
from cway_tools import pending
from cway_tools.gateway_protocol import CwayGateway
from cway_tools.links import file_link, with_links
from cway_tools.tool_models import FileInfo, file_info
from cway_tools.tool_support import (
    MAX_BULK_IDS,
    In,
    Out,
    Username,
    optional_text,
    read_only,
    require_uuid,
    tool_result,
    writes,
)

#: The toolset these tools come in (``CWAY_TOOLSETS``, toolsets.py).
TOOLSET = "media"
#: The ones in the small day-to-day set (docs/mcp.md#toolsets).
DEFAULT_TOOLS: frozenset[str] = frozenset({"get_file_download_url"})


FileId = Annotated[str, Field(description="File id (UUID), from get_artwork, find_media_items or a share.")]
#: How long to wait for the subscription to be sent before creating the job anyway.
SUBSCRIBE_TIMEOUT_SECONDS = 10.0


class DownloadLink(Out):
    file: FileInfo | None = None
    url: str = Field(description="Short-lived download URL; give it to the user, do not fetch it yourself.")


class DownloadFile(In):
    file_id: str = Field(description="File id (UUID).")
    name: str = Field(description="File name inside the zip.")


class DownloadJob(Out):
    job_id: str
    files: int
    status: Literal["COMPLETED", "IN_PROGRESS"] = Field(
        description="COMPLETED: ``url`` is the zip. IN_PROGRESS: Cway is still packing it; use ``handle``."
    )
    url: str | None = Field(default=None, description="Short-lived URL of the zip; give it to the user.")
    zip: FileInfo | None = None
    handle: str | None = Field(default=None, description="When IN_PROGRESS: pass it to get_pending_result later.")
    note: str | None = None


async def _zip_link(gateway: CwayGateway, file_id: str, username: str | None) -> DownloadLink:
    meta = (await gateway.execute(D.FILE, {"uuid": file_id}, username=username)).get("file")
    url = (await gateway.execute(D.TEMP_FILE_DOWNLOAD_URL, {"fileId": file_id}, username=username)).get(
        "tempFileDownloadUrl"
    )
    if not url:
        raise ToolError(f"Cway returned no download URL for file {file_id}.")
    return DownloadLink(file=file_info(meta), url=str(url))


def register(server: MCPServer, gateway: CwayGateway) -> None:
    """Register the download tools on ``server``."""

    @server.tool(title="File download link", annotations=read_only())
    async def get_file_download_url(
        file_id: FileId, username: Username = None
    ) -> Annotated[CallToolResult, DownloadLink]:
        """A short-lived download URL for one file, with the file's name, size and type.

        Use when the user wants to download or open a file. Give the URL to the user.
        """
        fid = require_uuid(file_id, "file_id")
        link = await _zip_link(gateway, fid, username)
        return with_links(tool_result(link), file_link(link.url, link.file, description="Short-lived download URL."))

    async def _me(username: str | None) -> str:
        login = (await gateway.execute(D.CURRENT_USER, username=username)).get("loginInfo") or {}
        name = (login.get("user") or {}).get("username")
        if not name:
            raise ToolError("Cway did not say who this account is (loginInfo.user.username is empty).")
        return str(name)

    async def _follow(me: str, subscribed: asyncio.Event, username: str | None) -> DownloadLink:
        stream = gateway.subscribe(D.DOWNLOAD_EVENTS, username=username, on_subscribed=subscribed.set)
        async with asyncio.timeout(pending.KEEP_SECONDS), aclosing(stream):
            async for data in stream:
                event = data.get("download") or {}
                if str(event.get("username") or "").lower() == me.lower() and event.get("fileId"):
                    return await _zip_link(gateway, str(event["fileId"]), username)
        raise ToolError("Cway ended the download announcements before the zip was ready; start it again.")

    @server.tool(title="Download several files as a zip", annotations=writes(destructive=False, idempotent=False))
    async def create_download_job(
        files: Annotated[list[DownloadFile], Field(min_length=1, max_length=MAX_BULK_IDS)],
        zip_name: Annotated[str | None, Field(description="Name of the zip file.")] = None,
        username: Username = None,
    ) -> Annotated[CallToolResult, DownloadJob]:
        """Pack several files into one zip in Cway and return a URL the user can open to download it.

        Waits while Cway prepares the zip (usually seconds, at most about 40 s, with progress
        notifications). If Cway is slower, the answer is IN_PROGRESS with a ``handle`` for
        get_pending_result. Give the URL to the user; do not fetch it. For a single file use
        get_file_download_url instead.
        """
        started = time.monotonic()
        selections = [
            {"name": f.name.strip() or f.file_id, "type": "FILE", "fileId": require_uuid(f.file_id, "files[].file_id")}
            for f in files
        ]
        me = await _me(username)
        subscribed = asyncio.Event()
        follower = asyncio.get_running_loop().create_task(_follow(me, subscribed, username))
        waiter = asyncio.ensure_future(subscribed.wait())
        try:  # listen first: the announcement of a zip that is ready before we listen is lost
            await asyncio.wait({follower, waiter}, timeout=SUBSCRIBE_TIMEOUT_SECONDS, return_when="FIRST_COMPLETED")
        finally:
            waiter.cancel()
        if follower.done() and not follower.cancelled() and (failure := follower.exception()) is not None:
            raise failure  # could not even listen: say why, before creating a job nobody follows
        variables = {"selections": selections, "zipName": optional_text(zip_name), "forceZipFile": True}
        try:
            job = (await gateway.execute(D.CREATE_DOWNLOAD_JOB, variables, username=username)).get("createDownloadJob")
        except BaseException:
            follower.cancel()
            raise
        if not job:
            follower.cancel()
            raise ToolError("Cway did not create a download job.")
        handle = f"download:{job}"
        tracked = pending.JOBS.adopt(handle, follower, owner=username)
        done, link = await pending.JOBS.wait(
            tracked, pending.WAIT_SECONDS, "Cway is preparing the zip", started=started
        )
        if done:
            assert isinstance(link, DownloadLink)
            return with_links(
                tool_result(
                    DownloadJob(job_id=str(job), files=len(selections), status="COMPLETED", url=link.url, zip=link.file)
                ),
                file_link(link.url, link.file, description=f"The zip of {len(selections)} files (short-lived URL)."),
            )
        return tool_result(
            DownloadJob(
                job_id=str(job),
                files=len(selections),
                status="IN_PROGRESS",
                handle=handle,
                note=f"Cway is still preparing the zip; call get_pending_result with handle {handle!r} in a little "
                "while to get its URL.",
            )
        )
