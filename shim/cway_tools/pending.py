"""Long jobs that outlive the tool call that started them: bounded waits, progress, a handle.

Why: common MCP clients give up on a request after 60 s (the TypeScript SDK's default), and
Cway's AI answers and zip downloads can take longer. So a tool never blocks past
:data:`WAIT_SECONDS` (measured from the start of the call): it waits that long for the job,
sending ``notifications/progress`` every :data:`PROGRESS_EVERY_SECONDS` when the client gave a
``progressToken``, and otherwise answers with what it knows and a *handle*. The job keeps
running here in the background (for at most :data:`KEEP_SECONDS`), and ``get_pending_result``
collects it with the handle.

Handles are ``<kind>:<id>`` (``ai:<thread id>``, ``download:<job id>``); they live in this
process only, which is one MCP session (stdio), and belong to the account that started them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError

from cway_tools import request_scope

#: The longest a tool call waits for a job (the start call included): clients time out at 60 s.
WAIT_SECONDS = 40.0
#: How often a waiting call reports progress.
PROGRESS_EVERY_SECONDS = 2.0
#: How long a job is followed in the background after its call answered.
KEEP_SECONDS = 900.0
#: How many finished or running jobs are remembered (oldest dropped first).
MAX_JOBS = 100


@dataclass
class Job:
    handle: str
    owner: str | None
    task: asyncio.Task[Any]
    started: float = field(default_factory=time.monotonic)


class PendingJobs:
    """The jobs of this shim process, by handle."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}

    def start(self, handle: str, work: Awaitable[Any], *, owner: str | None) -> Job:
        """Run ``work`` in the background under ``handle`` (bounded by :data:`KEEP_SECONDS`)."""

        async def bounded() -> Any:
            async with asyncio.timeout(KEEP_SECONDS):
                return await work

        return self.adopt(handle, asyncio.get_running_loop().create_task(bounded()), owner=owner)

    def adopt(self, handle: str, task: asyncio.Task[Any], *, owner: str | None) -> Job:
        """Track an already running ``task`` (which bounds itself) under ``handle``."""
        old = self._jobs.pop(handle, None)
        if old is not None and not old.task.done() and old.task is not task:
            old.task.cancel()
        while len(self._jobs) >= MAX_JOBS:
            oldest = next(iter(self._jobs))
            self._jobs.pop(oldest).task.cancel()
        task.add_done_callback(_consume)
        job = Job(handle=handle, owner=owner, task=task)
        self._jobs[handle] = job
        return job

    def get(self, handle: str, owner: str | None) -> Job | None:
        job = self._jobs.get(handle)
        if job is None or (owner is not None and job.owner is not None and owner != job.owner):
            return None
        return job

    async def wait(self, job: Job, seconds: float, message: str, *, started: float | None = None) -> tuple[bool, Any]:
        """Wait for ``job`` until ``seconds`` after ``started`` (monotonic; default now).

        ``(True, result)`` or ``(False, None)`` when the time is up; the job's error is raised.
        Progress is reported as seconds since ``started`` out of ``seconds``, so the start call
        counts too and a client may show a bar that only moves forward.
        """
        started = time.monotonic() if started is None else started
        deadline = started + max(seconds, 0.0)
        while not job.task.done():
            now = time.monotonic()
            if now >= deadline:
                return False, None
            await request_scope.report_progress(round(now - started, 1), seconds, message)
            await asyncio.wait({job.task}, timeout=min(PROGRESS_EVERY_SECONDS, deadline - now))
        if job.task.cancelled():
            raise ToolError(f"The job {job.handle} was stopped before it finished; start it again.")
        exc = job.task.exception()
        if exc is not None:
            raise exc
        return True, job.task.result()

    async def aclose(self) -> None:
        """Cancel every job, wait until each has ended, forget them: the session is over.

        Waiting matters: a job still unwinding would use the Cway client its owner closes next.
        """
        jobs = list(self._jobs.values())
        self._jobs.clear()
        for job in jobs:
            job.task.cancel()
        await asyncio.gather(*(job.task for job in jobs), return_exceptions=True)


async def with_progress(work: Awaitable[Any], message: str, *, total: float | None = None) -> Any:
    """Await ``work`` (one slow Cway call), reporting progress every :data:`PROGRESS_EVERY_SECONDS`.

    For a call that is bounded by its own timeout (an HTTP request) but slow enough that a client
    should see it is alive; ``total`` is that timeout, if known.
    """
    task = asyncio.ensure_future(work)
    started = time.monotonic()
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=PROGRESS_EVERY_SECONDS)
            if done:
                return task.result()
            await request_scope.report_progress(round(time.monotonic() - started, 1), total, message)
    finally:
        task.cancel()


def _consume(task: asyncio.Task[Any]) -> None:
    """Mark a background job's exception as retrieved: it is reported to whoever collects the job."""
    if not task.cancelled():
        with contextlib.suppress(BaseException):
            task.exception()


#: The jobs of this process (one stdio session per shim process).
JOBS = PendingJobs()
