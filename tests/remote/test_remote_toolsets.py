"""``cway-mcp serve`` lists what ``CWAY_TOOLSETS`` / ``CWAY_READ_ONLY`` say, like the stdio shim, and
its ``enable_toolset`` says the list is the operator's (stateless HTTP: an enable could not last).

The server is the real one (``build_server`` on a real runtime with PostgreSQL); the SDK's client
talks to it in process, so the OAuth layer in front is not in the way of what is listed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import TextContent

from cway_emulator.fixtures import ARTWORK_IDS
from cway_remote.app import RemoteRuntime, build_server
from cway_remote.settings import load_remote_settings
from tests.bench.tokens import GOAL_TOKENS, count_tokens

Served = Callable[..., AbstractAsyncContextManager[MCPServer]]


@pytest.fixture
def served(serve_env: dict[str, str], base_dir: Path) -> Served:
    @asynccontextmanager
    async def serve(**extra: str) -> AsyncIterator[MCPServer]:
        env = {k: v for k, v in serve_env.items() if k != "CWAY_TOOLSETS"} | extra
        runtime = await RemoteRuntime.create(load_remote_settings(env, cwd=base_dir), pool_size=2)
        try:
            yield build_server(runtime)
        finally:
            await runtime.aclose()

    return serve


def text(result: Any) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, TextContent))


async def test_serve_lists_the_default_set_and_fixes_it(served: Served) -> None:
    async with served() as server, Client(server, mode="legacy") as client:
        listing = await client.list_tools()
        names = {t.name for t in listing.tools}
        enabled = await client.call_tool("enable_toolset", {"name": "people"})
        after = {t.name for t in (await client.list_tools()).tools}
        off = await client.call_tool("create_team", {"name": "Print"})
    assert off.is_error and "operator has not turned on" in text(off)
    assert len(names) <= 30 and {"approve_artwork", "launch_projects", "enable_toolset", "whoami"} <= names
    assert count_tokens(listing) <= GOAL_TOKENS
    assert enabled.is_error and "fixed by its operator" in text(enabled) and "default" in text(enabled)
    assert after == names and "create_team" not in after


async def test_serve_honours_toolsets_and_read_only(served: Served) -> None:
    async with served(CWAY_TOOLSETS="people", CWAY_READ_ONLY="1") as server, Client(server, mode="legacy") as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert {"find_users_and_teams", "list_permission_groups", "whoami"} <= set(tools)
    assert "create_team" not in tools and "approve_artwork" not in tools and "run_graphql_mutation" not in tools
    changing = [n for n, t in tools.items() if n != "whoami" and not (t.annotations and t.annotations.read_only_hint)]
    assert changing == []


async def test_serve_lists_the_artwork_and_project_templates_but_offers_no_follows(served: Served) -> None:
    """Stateless HTTP keeps no session to hold a Cway subscription for: the templates are read-only."""
    async with served() as server, Client(server, mode="legacy") as client:
        caps = client.server_capabilities
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        with pytest.raises(MCPError):
            await client.subscribe_resource(f"cway://artworks/{ARTWORK_IDS[4]}")
    assert caps is not None and caps.resources is not None and not caps.resources.subscribe
    assert {"cway://artworks/{id}", "cway://projects/{id}"} <= templates
