"""Every SDK internal ``cway_tools.sdk_adapter`` relies on, checked against the installed mcp.

If an SDK upgrade moves or changes one, these fail with the adapter function and the internal named;
the ``mcp`` upper bound in pyproject.toml is the range verified here (``sdk_adapter.VERIFIED_MCP``).
"""

from __future__ import annotations

import ast
import inspect
from importlib.metadata import version
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import ToolManager
from mcp.types import SetLevelRequestParams

from cway_tools import sdk_adapter

ROOT = Path(__file__).resolve().parents[2]
#: SDK private attribute names; only sdk_adapter.py may touch them.
SDK_PRIVATE_NAMES = {"_tool_manager", "_lowlevel_server", "_resource_manager", "_prompt_manager", "_tools"}

#: Our own attributes that share an SDK private name (origin checked by hand: not SDK objects).
OWN_ATTRIBUTES = {("daemon/cway_remote/metrics.py", "_tools")}  # RemoteMetrics' cache of tool names


def _server() -> MCPServer[Any]:
    server: MCPServer[Any] = MCPServer("adapter-check")

    @server.tool()
    def echo(text: str) -> str:
        return text

    return server


def test_installed_mcp_is_inside_the_verified_range() -> None:
    low, high = sdk_adapter.VERIFIED_MCP
    installed = version("mcp")

    def release(text: str) -> tuple[int, ...]:
        return tuple(int(part) for part in text.split(".")[:3] if part.isdigit())

    assert release(low) <= release(installed) < release(high), (
        f"mcp {installed} is outside {low} <= mcp < {high}, the range whose internals sdk_adapter was checked "
        "against; re-run tests/shim/test_sdk_adapter.py, then widen VERIFIED_MCP and the pyproject bound"
    )
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'"mcp>={low},<{high}"' in pyproject, "pyproject's mcp bound must equal sdk_adapter.VERIFIED_MCP"


def test_tool_manager_is_the_managers_attribute() -> None:
    server = _server()
    manager = sdk_adapter.tool_manager(server)
    assert isinstance(manager, ToolManager), "tool_manager: MCPServer._tool_manager is no longer a ToolManager"
    tool = manager.get_tool("echo")
    assert tool is not None and "text" in tool.parameters["properties"], (
        "tool_manager: ToolManager.get_tool(name).parameters no longer holds the input schema"
    )


async def test_replace_tool_manager_is_what_mcpserver_lists_and_calls() -> None:
    server = _server()
    replacement = ToolManager()

    def shout(text: str) -> str:
        return text.upper()

    replacement.add_tool(shout)
    sdk_adapter.replace_tool_manager(server, replacement)
    async with Client(server) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        result = await client.call_tool("shout", {"text": "hi"})
    assert names == ["shout"], "replace_tool_manager: MCPServer no longer lists tools from MCPServer._tool_manager"
    assert "HI" in str(result.content), "replace_tool_manager: MCPServer no longer calls tools via _tool_manager"


async def test_declare_tools_list_changed_reaches_the_handshake() -> None:
    params = inspect.signature(sdk_adapter.lowlevel_server(_server()).get_capabilities).parameters
    assert "notification_options" in params, (
        "declare_tools_list_changed: lowlevel Server.get_capabilities lost its notification_options parameter"
    )
    assert hasattr(NotificationOptions(), "tools_changed"), (
        "declare_tools_list_changed: NotificationOptions.tools_changed"
    )
    server = _server()
    async with Client(server, mode="legacy") as plain:
        before = plain.server_capabilities
    sdk_adapter.declare_tools_list_changed(server)
    async with Client(server, mode="legacy") as client:
        after = client.server_capabilities
    assert before is not None and not (before.tools and before.tools.list_changed)
    assert after is not None and after.tools is not None and after.tools.list_changed, (
        "declare_tools_list_changed: wrapping lowlevel Server.get_capabilities no longer sets tools.listChanged"
    )


async def test_serve_method_is_what_answers_the_request() -> None:
    server = _server()
    seen: list[str] = []

    async def set_level(ctx: Any, params: SetLevelRequestParams) -> dict[str, Any]:
        seen.append(params.level)
        return {}

    assert sdk_adapter.served_handler(server, "logging/setLevel") is None
    sdk_adapter.serve_method(server, "logging/setLevel", SetLevelRequestParams, set_level)
    assert sdk_adapter.served_handler(server, "logging/setLevel") is set_level, (
        "serve_method/served_handler: lowlevel Server.get_request_handler/add_request_handler changed"
    )
    async with Client(server, mode="legacy") as client:
        await client.set_logging_level("warning")
    assert seen == ["warning"], "serve_method: the added handler is not what answers the request"


def test_advertise_extension_keeps_what_is_there() -> None:
    server = _server()
    extensions = sdk_adapter.lowlevel_server(server).extensions
    assert isinstance(extensions, dict), "advertise_extension: lowlevel Server.extensions is no longer a dict"
    sdk_adapter.advertise_extension(server, "x/test", {"a": 1})
    sdk_adapter.advertise_extension(server, "x/test", {"a": 2})
    assert sdk_adapter.lowlevel_server(server).extensions["x/test"] == {"a": 1}


def test_no_module_outside_the_adapter_touches_sdk_private_attributes() -> None:
    offenders = []
    for base in (ROOT / "contract", ROOT / "shim", ROOT / "daemon", ROOT / "tests"):
        for path in base.rglob("*.py"):
            if path.name in {"sdk_adapter.py", "test_sdk_adapter.py"} or ".venv" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                own = (str(path.relative_to(ROOT)), getattr(node, "attr", None)) in OWN_ATTRIBUTES
                if isinstance(node, ast.Attribute) and node.attr in SDK_PRIVATE_NAMES and not own:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
                if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mcp"):
                    private = [a.name for a in node.names if a.name.startswith("_")]
                    if private or any(part.startswith("_") for part in node.module.split(".")):
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} from {node.module}")
    assert offenders == [], "SDK internals outside sdk_adapter.py: " + ", ".join(offenders)


def test_built_tools_is_what_the_manager_serves() -> None:
    manager = sdk_adapter.tool_manager(_server())
    tools = sdk_adapter.built_tools(manager)
    assert isinstance(tools, dict) and set(tools) == {"echo"}, "built_tools: ToolManager._tools is no longer the dict"
    tools["again"] = tools["echo"]
    assert manager.get_tool("again") is tools["echo"], "built_tools: ToolManager.get_tool no longer reads _tools"
    assert sdk_adapter.tool_manager_logger().name == "mcp.server.mcpserver.tools.tool_manager", (
        "tool_manager_logger: mcp.server.mcpserver.tools.tool_manager.logger moved"
    )


async def test_a_bus_passed_to_mcpserver_is_the_one_listen_streams_read() -> None:
    """live.py builds the shim's server with its own bus (the public ``subscriptions=``) and publishes
    on it; a 2026-07-28 client listening for a resource must get what is published there."""
    from mcp.server.subscriptions import InMemorySubscriptionBus, ResourceUpdated

    bus = InMemorySubscriptionBus()
    server = MCPServer("probe", subscriptions=bus)
    async with Client(server) as client, client.listen(resource_subscriptions=["cway://x/1"]) as stream:
        await bus.publish(ResourceUpdated(uri="cway://x/1"))
        async for event in stream:
            assert getattr(event, "uri", None) == "cway://x/1"
            break
