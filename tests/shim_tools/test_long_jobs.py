"""Long tools never hold a call past the bound: progress notifications while they wait (when the
client gave a progressToken), then what is known plus a handle that get_pending_result collects."""

from __future__ import annotations

import pytest
from mcp import Client

from cway_emulator import EmulatorServer
from cway_tools import pending
from cway_tools.tools import ai as tools_ai
from tests.shim_tools.conftest import artwork_id, build_server, connected
from tests.shim_tools.static_gateway import StaticTokenGateway


@pytest.fixture(autouse=True)
def _fast_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pending, "PROGRESS_EVERY_SECONDS", 0.1)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_progress_while_waiting_for_the_ai(
    gateway: StaticTokenGateway, emulator: EmulatorServer, mode: str
) -> None:
    emulator.knobs.update({"ai_seconds": 0.6})
    seen: list[tuple[float, float | None, str | None]] = []

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with Client(build_server(gateway), mode=mode) as client:
        result = await client.call_tool("analyze_artwork", {"artwork_id": artwork_id(1)}, progress_callback=progress)
    assert not result.is_error and (result.structured_content or {})["status"] == "COMPLETED"
    assert len(seen) >= 2, seen
    assert all(total == tools_ai.AI_WAIT_SECONDS for _, total, _ in seen)
    assert [done for done, _, _ in seen] == sorted(done for done, _, _ in seen)  # it only moves forward
    assert seen[0][2] == "Waiting for Cway's AI (artwork analysis)"


async def test_a_slow_job_gives_a_handle_that_collects_the_answer(
    gateway: StaticTokenGateway, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tools_ai, "AI_WAIT_SECONDS", 0.2)
    emulator.knobs.update({"ai_seconds": 1.0})
    async with connected(gateway) as client:
        first = await client.call_tool("analyze_artwork", {"artwork_id": artwork_id(1)})
        out = first.structured_content or {}
        assert out["status"] == "IN_PROGRESS" and out["handle"] == f"ai:{out['thread_id']}"
        assert "get_pending_result" in out["note"]
        later = await client.call_tool("get_pending_result", {"handle": out["handle"]})
    got = later.structured_content or {}
    assert not later.is_error and got["status"] == "COMPLETED", got
    assert "Poster A2" in got["result"]
    assert [c.name for c in gateway.calls].count("ArtworkAIAnalysis") == 1  # collected, not started again


async def test_a_handle_is_followed_anew_when_the_process_lost_it(
    gateway: StaticTokenGateway, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tools_ai, "AI_WAIT_SECONDS", 0.2)
    emulator.knobs.update({"ai_seconds": 0.5})
    async with connected(gateway) as client:
        out = (await client.call_tool("analyze_artwork", {"artwork_id": artwork_id(1)})).structured_content or {}
        await pending.JOBS.aclose()
        monkeypatch.setattr(pending, "JOBS", pending.PendingJobs())  # as after a restart of the shim
        later = await client.call_tool("get_pending_result", {"handle": out["handle"]})
    assert (later.structured_content or {})["status"] == "COMPLETED"
    assert [c.name for c in gateway.calls].count("AIQueryResult") == 2


async def test_unknown_handles_are_refused_plainly(gateway: StaticTokenGateway) -> None:
    async with connected(gateway) as client:
        bad = await client.call_tool("get_pending_result", {"handle": "thread_emu_x"})
        gone = await client.call_tool("get_pending_result", {"handle": "download:0000"})
    assert bad.is_error and "is not one this server gave out" in bad.content[0].text  # type: ignore[union-attr]
    assert gone.is_error and "start the download again" in gone.content[0].text  # type: ignore[union-attr]
