"""Toolsets: the small default list, read-only, ``CWAY_TOOLSETS`` errors and ``enable_toolset``.

The server is the shim's own (``server.build_server``) built from settings the one loader read, and
the client is the SDK's, in process: what it lists and receives is what a client gets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import TextContent, ToolListChangedNotification

from cway_contract.config import ConfigError, Settings, load_settings
from cway_contract.config_names import TOOLSET_NAMES
from cway_mcp_shim.server import build_server
from cway_tools.toolsets import ALWAYS_ON
from tests.bench.tokens import GOAL_TOKENS, count_tokens

AUTH_TOOLS = {"login", "complete_login", "logout", "whoami", "list_authenticated_users"}


def settings(tmp_path: Path, **env: str) -> Settings:
    (tmp_path / "config.toml").touch()
    values = {
        "AUTH_METHOD": "static",
        "CWAY_API_TOKEN": "static-test-token",
        "CWAY_MCP_STATE_DIR": str(tmp_path / "state"),
        "CWAY_MCP_CONFIG": str(tmp_path / "config.toml"),
        **env,
    }
    return load_settings(values, component="shim", cwd=tmp_path)


async def listed(server: MCPServer) -> dict[str, Any]:
    async with Client(server, mode="legacy") as client:
        return {tool.name: tool for tool in (await client.list_tools()).tools}


def text(result: Any) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


async def test_the_default_list_is_small_and_covers_the_day(tmp_path: Path) -> None:
    server = build_server(settings(tmp_path))
    async with Client(server, mode="legacy") as client:
        result = await client.list_tools()
    names = {tool.name for tool in result.tools}
    assert len(names) <= 30, sorted(names)
    assert ALWAYS_ON <= names
    day = {"list_artworks_to_approve", "approve_artwork", "reject_artwork", "launch_projects", "set_project_dates"}
    assert day <= names  # the approver's and the project manager's own steps
    assert "run_graphql_mutation" not in names and "delete_projects" not in names
    tokens = count_tokens(result)
    assert tokens <= GOAL_TOKENS, f"default tools/list is {tokens} tokens"


async def test_all_lists_every_tool_with_output_schemas_and_more_tokens(tmp_path: Path) -> None:
    default = await listed(build_server(settings(tmp_path)))
    everything = await listed(build_server(settings(tmp_path, CWAY_TOOLSETS="all")))
    assert set(default) - {"enable_toolset"} < set(everything) and len(everything) > 90
    assert "enable_toolset" not in everything  # nothing left to enable
    assert all(everything[name].output_schema for name in everything if name not in AUTH_TOOLS)
    assert not any(tool.output_schema for tool in default.values())  # the compact listing


async def test_read_only_lists_no_tool_that_changes_anything(tmp_path: Path) -> None:
    for extra in ({"CWAY_TOOLSETS": "all"}, {}):
        tools = await listed(build_server(settings(tmp_path, CWAY_READ_ONLY="1", **extra)))
        changing = [
            name
            for name, tool in tools.items()
            if name not in ALWAYS_ON and not (tool.annotations and tool.annotations.read_only_hint is True)
        ]
        assert changing == [] and "run_graphql_mutation" not in tools
        assert "get_artwork" in tools and "approve_artwork" not in tools


async def test_named_toolsets_list_those_in_full(tmp_path: Path) -> None:
    tools = await listed(build_server(settings(tmp_path, CWAY_TOOLSETS="people, catalogue")))
    assert {"create_team", "save_article", "enable_toolset"} <= set(tools)
    assert "approve_artwork" not in tools  # the default set is not on unless named
    both = await listed(build_server(settings(tmp_path, CWAY_TOOLSETS="default,people")))
    assert {"create_team", "approve_artwork"} <= set(both)


@pytest.mark.parametrize("value", ["aprovals", "projects,bogus", " , "])
def test_an_unknown_toolset_is_a_config_error_naming_the_valid_ones(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings(tmp_path, CWAY_TOOLSETS=value)
    message = str(raised.value)
    assert "CWAY_TOOLSETS" in message and all(name in message for name in TOOLSET_NAMES), message


def test_read_only_is_a_switch(tmp_path: Path) -> None:
    assert settings(tmp_path, CWAY_READ_ONLY="yes").read_only is True
    assert settings(tmp_path).read_only is False
    with pytest.raises(ConfigError, match="CWAY_READ_ONLY"):
        settings(tmp_path, CWAY_READ_ONLY="maybe")


async def test_enable_toolset_sends_list_changed_then_the_new_tool_is_listed_and_called(tmp_path: Path) -> None:
    """2025-11-25 (handshake): the notification comes on the session; the capability is declared."""
    changed = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, ToolListChangedNotification):
            changed.set()

    server = build_server(settings(tmp_path))
    async with Client(server, mode="legacy", message_handler=on_message, cache=None) as client:
        handshake = client.session.initialize_result
        assert handshake is not None and handshake.capabilities.tools is not None
        assert handshake.capabilities.tools.list_changed is True
        before = {tool.name for tool in (await client.list_tools()).tools}
        assert "list_catalogue" not in before
        answer = await client.call_tool("enable_toolset", {"name": "catalogue"})
        assert not answer.is_error, text(answer)
        with anyio.fail_after(10):
            await changed.wait()
        after = {tool.name for tool in (await client.list_tools()).tools}
        assert {"list_catalogue", "save_article"} <= after and before < after
        called = await client.call_tool("list_catalogue", {"kind": "brands"})
        again = await client.call_tool("enable_toolset", {"name": "catalogue"})
        wrong = await client.call_tool("enable_toolset", {"name": "billing"})
    # the tool ran (static token to an unreachable Cway: a Cway error, not "unknown tool")
    assert "Unknown tool" not in text(called) and "not found" not in text(called).lower()
    assert "already on" in text(again)
    assert wrong.is_error and "approvals" in text(wrong)


async def test_enable_toolset_reaches_a_2026_listener(tmp_path: Path) -> None:
    """2026-07-28 (stateless): the change is published to ``subscriptions/listen`` streams."""
    server = build_server(settings(tmp_path, CWAY_READ_ONLY="1"))
    async with Client(server, mode="2026-07-28", cache=None) as client:
        async with client.listen(tools_list_changed=True) as stream:
            answer = await client.call_tool("enable_toolset", {"name": "people"})
            assert not answer.is_error, text(answer)
            with anyio.fail_after(10):
                event = await stream.__anext__()
        assert type(event).__name__ == "ToolsListChanged"
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert {"find_users_and_teams", "list_permission_groups"} <= names
    assert "create_team" not in names  # read-only holds for enabled toolsets too


async def test_a_tool_that_is_off_says_how_to_get_it(tmp_path: Path) -> None:
    async with Client(build_server(settings(tmp_path)), mode="legacy") as client:
        off = await client.call_tool("create_team", {"name": "Print"})
        unknown = await client.call_tool("no_such_tool", {})
    assert off.is_error and "'people' toolset" in text(off) and "enable_toolset" in text(off)
    assert unknown.is_error and "toolset" not in text(unknown)
    read_only = build_server(settings(tmp_path, CWAY_READ_ONLY="1", CWAY_TOOLSETS="all"))
    async with Client(read_only, mode="legacy") as client:
        refused = await client.call_tool("delete_projects", {"project_ids": ["x"]})
    assert refused.is_error and "read-only" in text(refused)
