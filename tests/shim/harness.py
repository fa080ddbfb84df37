"""Driving the real shim the way an MCP client does: the SDK's stdio client spawning ``cway-mcp``.

Every tool answer a test sees goes through :class:`Shim`, which also records the answer's text,
so a test can check at the end that no token ever reached the model.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.context import ClientRequestContext
from mcp.client.stdio import get_default_environment
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, ElicitRequestParams, ElicitResult, TextContent

from cway_emulator.server import EmulatorServer
from tests.helpers.daemon import process_env

CALL_TIMEOUT_SECONDS = 60.0


@dataclass
class Shim:
    """One MCP client session with one shim process."""

    session: ClientSession
    transcript: list[str] = field(default_factory=list)

    async def call(self, tool: str, args: Mapping[str, Any] | None = None) -> CallToolResult:
        result = await asyncio.wait_for(self.session.call_tool(tool, dict(args or {})), CALL_TIMEOUT_SECONDS)
        self.transcript.append(text_of(result))
        if result.structured_content is not None:
            self.transcript.append(json.dumps(result.structured_content))
        return result

    async def ok(self, tool: str, args: Mapping[str, Any] | None = None) -> CallToolResult:
        result = await self.call(tool, args)
        assert not result.is_error, f"{tool} failed: {text_of(result)}"
        return result

    async def error(self, tool: str, args: Mapping[str, Any] | None = None) -> str:
        result = await self.call(tool, args)
        assert result.is_error, f"{tool} unexpectedly succeeded: {text_of(result)}"
        return text_of(result)

    async def protocol_error(self, tool: str, args: Mapping[str, Any] | None = None) -> MCPError:
        try:
            result = await asyncio.wait_for(self.session.call_tool(tool, dict(args or {})), CALL_TIMEOUT_SECONDS)
        except MCPError as exc:
            self.transcript.append(f"{exc.message} {json.dumps(exc.data)}")
            return exc
        raise AssertionError(f"{tool} answered a result, not a protocol error: {text_of(result)}")


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def shim_params(
    env: Mapping[str, str], *, trimmed: bool = False, command: Sequence[str] | None = None
) -> StdioServerParameters:
    """``trimmed``: only what a desktop MCP client passes (the SDK's default environment: HOME, LOGNAME,
    PATH, SHELL, TERM, USER) plus ``env`` as the client's ``env`` block; else this process's environment too.
    ``command`` replaces ``python -m cway_mcp_shim`` (e.g. an installed ``cway-mcp``)."""
    executable, *args = command or (sys.executable, "-m", "cway_mcp_shim")
    return StdioServerParameters(
        command=executable,
        args=args,
        env={**get_default_environment(), **env} if trimmed else process_env(env),
        cwd=env["CWAY_TEST_BASE"],
    )


async def _accept_url_elicitation(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
    return ElicitResult(action="accept")


@contextlib.asynccontextmanager
async def shim_session(
    env: Mapping[str, str],
    *,
    url_elicitation: bool = False,
    trimmed: bool = False,
    command: Sequence[str] | None = None,
    message_handler: Any = None,
) -> AsyncIterator[Shim]:
    """A shim process with an initialized client session; its stderr goes to ``<base>/shim.log``.

    ``message_handler`` sees the server's notifications (e.g. ``notifications/resources/updated``).

    ``url_elicitation`` makes the client declare the elicitation capability (form and URL), as a
    client that can show a sign-in page itself would.
    """
    log_path = Path(env["CWAY_TEST_BASE"]) / "shim.log"
    with log_path.open("a") as errlog:
        async with stdio_client(shim_params(env, trimmed=trimmed, command=command), errlog=errlog) as (read, write):
            callback = _accept_url_elicitation if url_elicitation else None
            async with ClientSession(
                read, write, elicitation_callback=callback, message_handler=message_handler
            ) as session:
                await asyncio.wait_for(session.initialize(), CALL_TIMEOUT_SECONDS)
                yield Shim(session)


async def sign_in(shim: Shim, emu: EmulatorServer, username: str) -> None:
    """What a person does: ``login``, sign in in the browser, the browser follows the redirect home."""
    result = await shim.ok("login", {"username": username})
    assert result.structured_content is not None
    url = result.structured_content["sign_in_url"]
    location = await asyncio.to_thread(emu.browser_sign_in, url, username)
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        page = await http.get(location)
    assert page.status_code == 200, page.text


def secrets_in(text: str, known: list[str]) -> list[str]:
    """Anything token-shaped, or any known token, found in ``text``."""
    found = [token for token in known if token and token in text]
    found += [marker for marker in ("eyJ", "cway_rt.", "cway-static-") if marker in text]
    return found


def kill_daemon_pid(pid: int, timeout: float = 20.0) -> None:
    """Stop a daemon this test caused to be started (autostart), by its pid; SIGKILL if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


async def first_listened_event(subscription: Any, timeout: float) -> Any:
    """The first event a ``Client.listen()`` subscription yields, or TimeoutError after ``timeout`` s."""

    async def first() -> Any:
        async for event in subscription:
            return event
        raise AssertionError("the subscription ended before any event")

    return await asyncio.wait_for(first(), timeout)
