"""GraphQL subscriptions over WebSocket (graphql-transport-ws) and the AI jobs they deliver:
the same bearer and schema rules as POST /graphql, per-user threads, the emulator clock, knobs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from cway_contract.clock import ManualClock
from cway_emulator import EmulatorServer
from cway_emulator.fixtures import ARTWORK_IDS, PROJECT_IDS
from cway_emulator.knobs import KnobError
from tests.emulator.conftest import Flow

ALICE_TOKEN, BOB_TOKEN = "cway-static-alice-0001", "cway-static-bob-0001"
PROTOCOL = [Subprotocol("graphql-transport-ws")]
AI_RESULT = "subscription R($t: String!) { aiQueryResult(threadId: $t) { threadId status result error } }"
START_ANALYSIS = "query($a: UUID!) { artworkAIAnalysis(artworkId: $a) }"
START_SUMMARY = "query($p: UUID!) { projectHistorySummary(projectId: $p) }"


def ws_url(emu: EmulatorServer) -> str:
    return emu.cway_api_url.replace("http://", "ws://")


@asynccontextmanager
async def session(
    emu: EmulatorServer, token: str | None, *, header: str | None = None
) -> AsyncIterator[ClientConnection]:
    """A connection after ``connection_init`` (with ``token`` in the payload, if any)."""
    headers = {"Authorization": header} if header else None
    async with connect(ws_url(emu), subprotocols=PROTOCOL, additional_headers=headers, open_timeout=5) as ws:
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        yield ws


async def recv(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await ws.recv())
    return message


async def close_code(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed) as info:
        while True:
            await ws.recv()
    return info.value.rcvd.code if info.value.rcvd else None


def start(flow: Flow, token: str, query: str, variables: dict[str, Any]) -> str:
    body = flow.gql(token, query, variables).json()
    assert "errors" not in body, body
    return str(next(iter(body["data"].values())))


async def subscribe(ws: ClientConnection, thread: str, op_id: str = "1") -> None:
    payload = {"query": AI_RESULT, "variables": {"t": thread}}
    await ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))


async def test_an_ai_job_streams_progress_until_the_emulator_clock_reaches_it(
    emu: EmulatorServer, flow: Flow, clock: ManualClock
) -> None:
    thread = start(flow, ALICE_TOKEN, START_ANALYSIS, {"a": ARTWORK_IDS[1]})
    async with session(emu, ALICE_TOKEN) as ws:
        assert await recv(ws) == {"type": "connection_ack"}
        await subscribe(ws, thread)
        for _ in range(3):  # the clock stands still: the job keeps running
            progress = await recv(ws)
            assert progress["type"] == "next"
            assert progress["payload"]["data"]["aiQueryResult"] == {
                "threadId": thread, "status": None, "result": None, "error": None,
            }  # fmt: skip
        clock.advance(1)
        while (message := await recv(ws))["payload"]["data"]["aiQueryResult"]["status"] is None:
            pass
        final = message["payload"]["data"]["aiQueryResult"]
        assert final["status"] == "COMPLETED"
        assert "Poster A2" in final["result"] and "alice@contoso.example" in final["result"]
        assert await recv(ws) == {"id": "1", "type": "complete"}
    assert emu.counters["graphql_ws"] == 1


async def test_history_summary_is_derived_from_the_projects_events(emu: EmulatorServer, flow: Flow) -> None:
    emu.knobs.update({"ai_seconds": 0})
    thread = start(flow, ALICE_TOKEN, START_SUMMARY, {"p": PROJECT_IDS[1]})
    assert thread != start(flow, ALICE_TOKEN, START_SUMMARY, {"p": PROJECT_IDS[1]})  # a new job per call
    async with session(emu, ALICE_TOKEN) as ws:
        await recv(ws)
        await subscribe(ws, thread)
        final = (await recv(ws))["payload"]["data"]["aiQueryResult"]
    assert final["status"] == "COMPLETED"
    assert "Spring Campaign 2026 (CO-1001) is IN_PROGRESS" in final["result"]
    assert "Spring Campaign 2026 was created" in final["result"]


async def test_a_failed_job_ends_with_failed_and_an_error(emu: EmulatorServer, flow: Flow) -> None:
    emu.knobs.update({"ai_seconds": 0, "ai_result": "failed"})
    thread = start(flow, ALICE_TOKEN, START_ANALYSIS, {"a": ARTWORK_IDS[4]})
    async with session(emu, ALICE_TOKEN) as ws:
        await recv(ws)
        await subscribe(ws, thread)
        final = (await recv(ws))["payload"]["data"]["aiQueryResult"]
    assert final["status"] == "FAILED" and final["result"] is None and "emulated failure" in final["error"]
    with pytest.raises(KnobError):
        emu.knobs.update({"ai_result": "maybe"})


async def test_threads_and_targets_of_others_are_not_found(emu: EmulatorServer, flow: Flow) -> None:
    body = flow.gql(ALICE_TOKEN, START_ANALYSIS, {"a": ARTWORK_IDS[7]}).json()  # bob's artwork
    assert "not found" in body["errors"][0]["message"]
    bobs_thread = start(flow, BOB_TOKEN, START_ANALYSIS, {"a": ARTWORK_IDS[7]})
    async with session(emu, ALICE_TOKEN) as ws:
        await recv(ws)
        await subscribe(ws, bobs_thread)
        error = await recv(ws)
    assert error["type"] == "error" and error["id"] == "1"
    assert f"Thread {bobs_thread} not found" in error["payload"][0]["message"]


async def test_subscriptions_validate_against_the_real_schema(emu: EmulatorServer, flow: Flow) -> None:
    async with session(emu, ALICE_TOKEN) as ws:
        await recv(ws)
        bad = {"query": "subscription { aiQueryResult(threadId: 1) { threadId mood } }"}
        await ws.send(json.dumps({"id": "a", "type": "subscribe", "payload": bad}))
        error = await recv(ws)
        assert error["type"] == "error"
        assert any("mood" in e["message"] for e in error["payload"])
        query = {"query": "{ loginInfo { user { username } } }"}  # queries work too: one next, then complete
        await ws.send(json.dumps({"id": "b", "type": "subscribe", "payload": query}))
        assert (await recv(ws))["payload"]["data"]["loginInfo"]["user"]["username"] == "alice@contoso.example"
        assert await recv(ws) == {"id": "b", "type": "complete"}
    assert emu.counters["graphql_invalid"] == 1
    over_http = flow.gql(ALICE_TOKEN, AI_RESULT, {"t": "x"}).json()
    assert "not supported over HTTP POST" in over_http["errors"][0]["message"]


@pytest.mark.parametrize("token", [None, "not-a-token", "cway-static-nobody"])
async def test_a_bad_or_missing_token_closes_with_4401(emu: EmulatorServer, token: str | None) -> None:
    async with session(emu, token) as ws:
        assert await close_code(ws) == 4401
    assert emu.counters["graphql_ws_unauthorized"] == 1


async def test_the_upgrade_header_is_enough_and_a_revoked_sign_in_stops_working(
    emu: EmulatorServer, flow: Flow
) -> None:
    access = str(flow.cway_login()["access_token"])
    async with session(emu, None, header=f"Bearer {access}") as ws:
        assert await recv(ws) == {"type": "connection_ack"}
        emu.revoke_user("alice@contoso.example")
        await subscribe(ws, "thread_emu_whatever")
        assert await close_code(ws) == 4401  # checked again at every subscribe


async def test_protocol_rules(emu: EmulatorServer) -> None:
    with pytest.raises(InvalidStatus):  # only graphql-transport-ws is spoken
        async with connect(ws_url(emu), open_timeout=5):
            pass
    async with connect(ws_url(emu), subprotocols=PROTOCOL, open_timeout=5) as ws:
        await subscribe(ws, "t")  # before connection_init
        assert await close_code(ws) == 4401
    async with session(emu, ALICE_TOKEN) as ws:
        await recv(ws)
        await ws.send(json.dumps({"type": "ping"}))
        assert await recv(ws) == {"type": "pong"}
        await ws.send(json.dumps({"type": "connection_init"}))
        assert await close_code(ws) == 4429


@pytest.mark.parametrize(("mode", "code"), [("401", 4401), ("503", 1013), ("500", 1011)])
async def test_failure_knob(emu: EmulatorServer, mode: str, code: int) -> None:
    emu.knobs.fail("graphql_ws", mode)
    async with session(emu, ALICE_TOKEN) as ws:
        assert await close_code(ws) == code
    async with session(emu, ALICE_TOKEN) as ws:  # one shot only
        assert await recv(ws) == {"type": "connection_ack"}
    assert emu.counters["injected_failures"] == 1


@pytest.mark.parametrize("token", [None, "not-a-token"])
async def test_a_per_operation_cway_acknowledges_and_refuses_each_subscribe(
    emu: EmulatorServer, flow: Flow, token: str | None
) -> None:
    # cway_unauthenticated=graphql_error: the refusal is a GraphQL error, on the socket as on POST.
    emu.knobs.update({"cway_unauthenticated": "graphql_error"})
    async with session(emu, token) as ws:
        assert await recv(ws) == {"type": "connection_ack"}
        await subscribe(ws, "thread_emu_whatever")
        refused = await recv(ws)
        await ws.send(json.dumps({"type": "ping"}))
        assert await recv(ws) == {"type": "pong"}  # the socket stays open
    assert refused["type"] == "error" and refused["id"] == "1"
    assert refused["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    emu.knobs.fail("graphql_ws", "401")  # a refusal of a valid token: its next subscribe, not the connection
    thread = start(flow, ALICE_TOKEN, START_SUMMARY, {"p": PROJECT_IDS[1]})
    async with session(emu, ALICE_TOKEN) as ws:
        assert await recv(ws) == {"type": "connection_ack"}
        await subscribe(ws, thread, op_id="a")
        assert (await recv(ws))["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        await subscribe(ws, thread, op_id="b")
        assert (await recv(ws))["type"] == "next"
    assert emu.counters["graphql_ws_unauthorized"] == 2
