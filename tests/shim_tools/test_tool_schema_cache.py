"""The committed tool-schema cache (``tool_schemas.json``) can never go stale unnoticed.

The shim answers ``tools/list`` from that file and builds a tool's pydantic models only when the
tool is first used (``lazy_tools.py``); these tests fail as soon as the file differs from what the
live models produce, and prove the lazily listed tools are exactly what the built tools list.
"""

from __future__ import annotations

from typing import Any

from mcp.types import Tool as MCPTool

from cway_mcp_shim.tool_schema_cache import live_schemas, registered_server, render
from cway_tools import sdk_adapter
from cway_tools.lazy_tools import SCHEMAS_FILE, LazyServer, load_cached_schemas
from cway_tools.middleware import install as install_middleware


def test_the_committed_cache_matches_the_live_models() -> None:
    assert SCHEMAS_FILE.read_text(encoding="utf-8") == render(live_schemas()), (
        "tool_schemas.json is stale: a tool's arguments or output changed. Run `make tool-schemas` and commit it."
    )


def _dump(tools: list[MCPTool]) -> list[dict[str, Any]]:
    return [tool.model_dump(by_alias=True, exclude_none=True) for tool in tools]


async def _listing_before_and_after_building(server: LazyServer) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    install_middleware(server)  # closes the input schemas, as in the shim
    before = _dump(await server.list_tools())
    sdk_adapter.tool_manager(server).list_tools()  # builds every tool (the SDK path)
    assert not set(server.lazy_tools.registrations) - set(sdk_adapter.built_tools(server.lazy_tools))
    after = _dump(await server.list_tools())
    return before, after


async def test_the_cached_listing_is_what_the_built_tools_list() -> None:
    server = registered_server()
    server.lazy_tools.cached = load_cached_schemas()
    assert set(server.lazy_tools.cached) == set(server.lazy_tools.registrations)  # no tool missing, none extra
    before, after = await _listing_before_and_after_building(server)
    assert sdk_adapter.built_tools(server.lazy_tools)  # built now...
    assert before == after  # ...and listed exactly as from the cache
    assert all(tool["inputSchema"].get("additionalProperties") is False for tool in before)
    assert any("outputSchema" in tool for tool in before) and any(tool.get("annotations") for tool in before)


async def test_listing_builds_nothing_and_a_call_builds_one_tool() -> None:
    server = registered_server()
    server.lazy_tools.cached = load_cached_schemas()
    install_middleware(server)
    await server.list_tools()
    assert sdk_adapter.built_tools(server.lazy_tools) == {}
    assert sdk_adapter.tool_manager(server).get_tool("whoami") is not None
    assert list(sdk_adapter.built_tools(server.lazy_tools)) == ["whoami"]


async def test_a_tool_missing_from_the_cache_is_built_and_listed_the_same() -> None:
    server = registered_server()  # an empty cache: every tool is built when listed
    before, after = await _listing_before_and_after_building(server)
    assert before == after and len(before) == len(server.lazy_tools.registrations)
