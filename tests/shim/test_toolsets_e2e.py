"""Toolsets through the real shim process, spawned as an MCP client does (trimmed environment plus
the config's env block): the default list, ``--read-only``, and ``enable_toolset`` with the
``notifications/tools/list_changed`` a 2025-11-25 client receives, then the new tool listed and
called against the emulator."""

from __future__ import annotations

import asyncio
from typing import Any

from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.types import ToolListChangedNotification

from cway_emulator import EmulatorServer
from cway_emulator.fixtures import ALICE
from tests.shim.harness import CALL_TIMEOUT_SECONDS, shim_params, text_of


def static_env(env: dict[str, str], emu: EmulatorServer, **extra: str) -> dict[str, str]:
    out = {**env, "AUTH_METHOD": "static", "CWAY_API_TOKEN": emu.issue_static_token(ALICE)}
    out.pop("CWAY_TOOLSETS")  # the harness lists every tool; these tests choose themselves
    return {**out, **extra}


async def test_enable_toolset_through_the_spawned_shim(env: dict[str, str], emu: EmulatorServer) -> None:
    changed = asyncio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, ToolListChangedNotification):
            changed.set()

    params = shim_params(static_env(env, emu), trimmed=True)
    async with (
        stdio_client(params) as (read, write),
        ClientSession(read, write, message_handler=on_message) as session,
    ):
        init = await asyncio.wait_for(session.initialize(), CALL_TIMEOUT_SECONDS)
        assert init.capabilities.tools is not None and init.capabilities.tools.list_changed is True
        before = {t.name for t in (await session.list_tools()).tools}
        assert len(before) <= 30 and "enable_toolset" in before and "find_users_and_teams" not in before
        answer = await session.call_tool("enable_toolset", {"name": "people"})
        assert not answer.is_error, text_of(answer)
        await asyncio.wait_for(changed.wait(), CALL_TIMEOUT_SECONDS)
        after = {t.name for t in (await session.list_tools()).tools}
        found = await session.call_tool("find_users_and_teams", {"search": "alice"})
    assert {"find_users_and_teams", "create_team"} <= after
    assert not found.is_error, text_of(found)
    assert ALICE in text_of(found) or "alice" in str(found.structured_content).lower()


async def test_read_only_flag_through_the_spawned_shim(env: dict[str, str], emu: EmulatorServer) -> None:
    base = shim_params(static_env(env, emu, CWAY_TOOLSETS="all"), trimmed=True)
    params = StdioServerParameters(command=base.command, args=[*base.args, "--read-only"], env=base.env, cwd=base.cwd)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await asyncio.wait_for(session.initialize(), CALL_TIMEOUT_SECONDS)
        tools = (await session.list_tools()).tools
    always = {"login", "complete_login", "logout", "whoami", "list_authenticated_users"}
    changing = [t.name for t in tools if t.name not in always and not (t.annotations and t.annotations.read_only_hint)]
    assert changing == [] and len(tools) > 30
