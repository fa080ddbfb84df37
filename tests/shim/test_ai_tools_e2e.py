"""The AI tools through the real shim and daemon: the subscription takes its bearer from the
daemon like every HTTP call, and a refusal on the WebSocket forces one refresh and one retry."""

from __future__ import annotations

import pytest

from cway_emulator.server import EmulatorServer
from tests.helpers.daemon import RunningDaemon
from tests.shim.harness import shim_session, sign_in

pytestmark = pytest.mark.slow

ALICE = "alice@contoso.example"
POSTER = "0000000d-0000-4000-8000-000000000001"
FABRIKAM_LABEL = "0000000d-0000-4000-8000-000000000007"


async def test_ai_analysis_through_the_daemon_with_one_refresh_on_a_refused_websocket(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon
) -> None:
    async with shim_session({**env, "CWAY_USERNAME": ALICE}) as shim:
        await sign_in(shim, emu, ALICE)
        first = await shim.ok("analyze_artwork", {"artwork_id": POSTER})
        before = emu.counters
        emu.knobs.fail("graphql_ws", "401")  # the subscription endpoint refuses the (valid) bearer once
        second = await shim.ok("summarize_project_history", {"project_id": "0000000c-0000-4000-8000-000000000001"})
        after = emu.counters
        foreign = await shim.error("analyze_artwork", {"artwork_id": FABRIKAM_LABEL})
        emu.knobs.fail("graphql_ws", "401", count=2)
        refused = await shim.error("analyze_artwork", {"artwork_id": POSTER})
        transcript = shim.transcript
    assert first.structured_content is not None and first.structured_content["status"] == "COMPLETED"
    assert "Poster A2" in first.structured_content["result"]
    assert second.structured_content is not None and "Spring Campaign 2026" in second.structured_content["result"]
    assert after["cway_token_refresh"] - before["cway_token_refresh"] == 1
    assert after["graphql_ws"] - before["graphql_ws"] == 2  # the refused connection and its one retry
    assert "not found" in foreign
    assert "refused the access token for alice@contoso.example even after refreshing it" in refused
    assert "login" in refused
    assert not any("eyJ" in t for t in transcript)  # no Cway JWT ever reaches the model


async def test_ai_analysis_in_static_mode(emu: EmulatorServer, env: dict[str, str]) -> None:
    token = emu.issue_static_token(ALICE)
    static_env = {**env, "AUTH_METHOD": "static", "CWAY_API_TOKEN": token}
    async with shim_session(static_env) as shim:
        answer = await shim.ok("analyze_artwork", {"artwork_id": POSTER})
        emu.knobs.fail("graphql_ws", "401")
        refused = await shim.error("analyze_artwork", {"artwork_id": POSTER})
        transcript = shim.transcript
    assert answer.structured_content is not None and answer.structured_content["status"] == "COMPLETED"
    assert "refused CWAY_API_TOKEN (WebSocket close 4401)" in refused
    assert not any(token in t for t in transcript)


async def test_an_unauthenticated_graphql_error_on_the_websocket_is_a_refusal_too(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon
) -> None:
    # A Cway that acknowledges every socket and refuses the bearer per operation, as a GraphQL error.
    emu.knobs.update({"cway_unauthenticated": "graphql_error"})
    async with shim_session({**env, "CWAY_USERNAME": ALICE}) as shim:
        await sign_in(shim, emu, ALICE)
        before = emu.counters
        emu.knobs.fail("graphql_ws", "401")
        answer = await shim.ok("analyze_artwork", {"artwork_id": POSTER})
        after = emu.counters
        emu.knobs.fail("graphql_ws", "401", count=2)
        refused = await shim.error("analyze_artwork", {"artwork_id": POSTER})
        transcript = shim.transcript
    assert answer.structured_content is not None and answer.structured_content["status"] == "COMPLETED"
    assert after["cway_token_refresh"] - before["cway_token_refresh"] == 1
    assert after["graphql_ws"] - before["graphql_ws"] == 2  # the refused operation's socket and the retry
    assert "even after refreshing it (GraphQL UNAUTHENTICATED)" in refused
    assert not any("eyJ" in t for t in transcript)
