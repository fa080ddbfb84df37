"""The AI tools end to end against the emulator: start the job over HTTP, get the text over the
``aiQueryResult`` subscription (graphql-transport-ws), and the ways that can go wrong; plus the
system-admin-only ``get_system_status``."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.types import CallToolResult, TextContent

from cway_emulator import EmulatorServer
from cway_tools.tools import ai as tools_ai
from tests.shim_tools.conftest import ADMIN, ALICE, DAVE, artwork_id, connected, project_id
from tests.shim_tools.static_gateway import StaticTokenGateway


def text_of(result: CallToolResult) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, TextContent))


async def call(gateway: StaticTokenGateway, tool: str, arguments: dict[str, Any]) -> CallToolResult:
    async with connected(gateway) as client:
        return await client.call_tool(tool, arguments)


async def test_analyze_artwork_returns_the_analysis_not_a_thread_id(
    gateway: StaticTokenGateway, emulator: EmulatorServer
) -> None:
    result = await call(gateway, "analyze_artwork", {"artwork_id": artwork_id(1)})
    assert not result.is_error, text_of(result)
    out = result.structured_content or {}
    assert out["status"] == "COMPLETED"
    assert out["thread_id"].startswith("thread_emu_")
    assert "Poster A2" in out["result"] and "FOR_REVIEW" in out["result"]
    assert [c.name for c in gateway.calls] == ["ArtworkAIAnalysis", "AIQueryResult"]
    assert gateway.calls[1].variables == {"threadId": out["thread_id"]}
    assert emulator.counters["graphql_ws"] == 1


async def test_summarize_project_history_reflects_what_happened(gateway: StaticTokenGateway) -> None:
    # A rejection is history: the summary must be derived from the data, not canned.
    rejected = await call(
        gateway, "reject_artwork", {"artwork_id": artwork_id(1), "comment": "Colours off", "username": ALICE}
    )
    assert not rejected.is_error, text_of(rejected)
    result = await call(gateway, "summarize_project_history", {"project_id": project_id(1)})
    assert not result.is_error, text_of(result)
    out = result.structured_content or {}
    assert out["status"] == "COMPLETED"
    assert "Spring Campaign 2026" in out["result"]
    assert "Poster A2 rejected" in out["result"]
    again = await call(gateway, "summarize_project_history", {"project_id": project_id(1)})
    assert (again.structured_content or {})["thread_id"] != out["thread_id"]  # a new job per call


async def test_another_organisations_artwork_is_not_found(gateway: StaticTokenGateway) -> None:
    result = await call(gateway, "analyze_artwork", {"artwork_id": artwork_id(7)})  # bob's (Fabrikam)
    assert result.is_error
    assert "not found" in text_of(result)
    assert [c.name for c in gateway.calls] == ["ArtworkAIAnalysis"]  # no subscription for a failed start


async def test_a_slow_job_answers_with_its_thread_id_instead_of_hanging(
    gateway: StaticTokenGateway, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tools_ai, "AI_WAIT_SECONDS", 0.5)
    emulator.knobs.update({"ai_seconds": 3600})  # had the tool waited for it, the test would time out
    result = await call(gateway, "analyze_artwork", {"artwork_id": artwork_id(1)})
    assert not result.is_error, text_of(result)
    out = result.structured_content or {}
    assert out["status"] == "IN_PROGRESS"
    assert out["thread_id"].startswith("thread_emu_")
    assert "result" not in out
    assert "still running" in out["note"]


async def test_an_ai_failure_is_a_tool_error_with_cways_message(
    gateway: StaticTokenGateway, emulator: EmulatorServer
) -> None:
    emulator.knobs.update({"ai_result": "failed"})
    result = await call(gateway, "summarize_project_history", {"project_id": project_id(2)})
    assert result.is_error
    text = text_of(result)
    assert "Cway's AI could not complete the project history summary" in text
    assert "could not complete this request (emulated failure)" in text


async def test_a_refused_token_on_the_websocket_is_a_clear_error(
    gateway: StaticTokenGateway, emulator: EmulatorServer
) -> None:
    emulator.knobs.fail("graphql_ws", "401")  # HTTP accepts the token; the subscription endpoint does not
    result = await call(gateway, "analyze_artwork", {"artwork_id": artwork_id(1)})
    assert result.is_error
    text = text_of(result)
    assert "subscription endpoint refused CWAY_API_TOKEN (WebSocket close 4401)" in text
    assert gateway.tokens[ALICE] not in text
    assert emulator.counters["graphql_ws_unauthorized"] == 1


async def test_a_subscription_endpoint_that_never_acknowledges_is_bounded(
    gateway: StaticTokenGateway, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tools_ai, "AI_WAIT_SECONDS", 0.5)
    emulator.knobs.update({"hang_seconds": 5})
    emulator.knobs.fail("graphql_ws", "hang")
    result = await call(gateway, "analyze_artwork", {"artwork_id": artwork_id(1)})
    assert not result.is_error, text_of(result)
    assert (result.structured_content or {})["status"] == "IN_PROGRESS"


async def test_system_status_for_a_system_admin(gateway: StaticTokenGateway) -> None:
    result = await call(gateway, "get_system_status", {"username": ADMIN})
    assert not result.is_error, text_of(result)
    out = result.structured_content or {}
    assert out["viewer_version"] == "emulator"
    assert out["renderers"][0]["hostname"] == "renderer-1.emulator.invalid"
    assert out["renderers"][0]["active"] is True


async def test_system_status_for_anyone_else_says_it_needs_admin_rights(gateway: StaticTokenGateway) -> None:
    result = await call(gateway, "get_system_status", {"username": DAVE})
    assert result.is_error
    assert f"{DAVE} cannot read Cway's system status: it needs Cway system-admin rights." in text_of(result)


async def test_subscription_logs_never_carry_the_bearer(
    gateway: StaticTokenGateway, caplog: pytest.LogCaptureFixture
) -> None:
    """The init payload and the upgrade header carry the token, and websockets logs headers and frames
    at DEBUG: neither the shim's client nor the emulator's server (uvicorn hands websockets its
    ``uvicorn.error`` logger) may put them in a log, even with the root logger at DEBUG."""
    import logging

    caplog.set_level(logging.DEBUG)
    result = await call(gateway, "analyze_artwork", {"artwork_id": artwork_id(1)})
    assert not result.is_error, text_of(result)
    leaking = sorted({r.name for r in caplog.records if gateway.tokens[ALICE] in r.getMessage()})
    assert leaking == []
