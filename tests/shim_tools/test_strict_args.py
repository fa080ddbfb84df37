"""Strict arguments through a real MCPServer, at both protocol revisions: an unknown or misspelt
argument is an error naming it and the expected ones, nothing reaches Cway, and validation
errors are one plain sentence (no pydantic text, no links)."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.types import TextContent

from tests.shim_tools.conftest import artwork_id, build_server, connected
from tests.shim_tools.static_gateway import StaticTokenGateway

REVISIONS = ["legacy", "auto"]  # 2025-11-25 (initialize handshake) and 2026-07-28 (the SDK's default)


def text(result: Any) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, TextContent))


@pytest.mark.parametrize("mode", REVISIONS)
async def test_a_misspelt_argument_is_named_with_its_likely_meaning(gateway: StaticTokenGateway, mode: str) -> None:
    async with Client(build_server(gateway), mode=mode) as client:
        assert client.protocol_version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
        result = await client.call_tool("find_users", {"query": "dave"})
    assert result.is_error
    assert text(result).startswith("find_users does not take the argument 'query'")
    assert "'query'" in text(result) and "search, page, page_size, username" in text(result)
    assert gateway.calls == []  # nothing was sent to Cway


async def test_an_unknown_argument_on_a_decision_changes_nothing(gateway: StaticTokenGateway) -> None:
    async with connected(gateway) as client:
        result = await client.call_tool("approve_artwork", {"artwork_id": artwork_id(1), "bogus": 1})
        assert result.is_error
        assert text(result) == "approve_artwork does not take the argument 'bogus'; it takes: artwork_id, username."
        assert gateway.calls == []
        state = await client.call_tool("get_artwork", {"artwork_id": artwork_id(1)})
    assert state.structured_content is not None and state.structured_content["state"] == "FOR_REVIEW"


async def test_close_matches_are_suggested(gateway: StaticTokenGateway) -> None:
    async with connected(gateway) as client:
        result = await client.call_tool("get_artwork", {"artworkId": artwork_id(1)})
    assert result.is_error
    assert "'artworkId' (did you mean 'artwork_id'?)" in text(result)


@pytest.mark.parametrize("mode", REVISIONS)
async def test_validation_errors_are_one_plain_sentence(gateway: StaticTokenGateway, mode: str) -> None:
    async with Client(build_server(gateway), mode=mode) as client:
        too_big = await client.call_tool("list_projects", {"page_size": 500})
        missing = await client.call_tool("get_artwork", {})
        nested = await client.call_tool("create_download_job", {"files": [{"file_id": "x", "name": "a", "size": 1}]})
    assert too_big.is_error and missing.is_error and nested.is_error
    assert text(too_big) == (
        "list_projects was called with invalid arguments: "
        "'page_size': input should be less than or equal to 100 (got 500)."
    )
    assert text(missing) == "get_artwork was called with invalid arguments: 'artwork_id' is required."
    assert (
        text(nested)
        == "create_download_job was called with invalid arguments: 'files[0].size' is not an accepted field."
    )
    for result in (too_big, missing, nested):
        assert "pydantic" not in text(result) and "http" not in text(result) and "\n" not in text(result)
    assert gateway.calls == []


async def test_every_input_schema_is_closed(gateway: StaticTokenGateway) -> None:
    async with connected(gateway) as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        assert tool.input_schema.get("additionalProperties") is False, tool.name
    (download,) = [t for t in tools if t.name == "create_download_job"]
    item = download.input_schema["properties"]["files"]["items"]
    resolved = download.input_schema["$defs"][item["$ref"].rsplit("/", 1)[1]] if "$ref" in item else item
    assert resolved["additionalProperties"] is False
