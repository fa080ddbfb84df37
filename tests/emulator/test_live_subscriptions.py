"""The emulator's ``artwork(id)`` / ``project(id)`` subscriptions: a subscriber of the object's
organisation gets the object after each change made after it subscribed (no replay); another
organisation's id is refused at subscribe time."""

from __future__ import annotations

import asyncio
import json

import pytest

from cway_emulator import EmulatorServer
from cway_emulator.fixtures import ARTWORK_IDS, PROJECT_IDS
from tests.emulator.conftest import Flow
from tests.emulator.test_graphql_ws import ALICE_TOKEN, BOB_TOKEN, close_code, recv, session

FOLLOW = "subscription($id: UUID!) { artwork(id: $id) { id name } }"
RENAME = "mutation($p: UUID!, $a: UUID!, $n: String!) { changeArtworkName(projectId: $p, artworkId: $a, name: $n) }"


async def follow(ws: object, ident: str) -> None:
    message = {"id": "1", "type": "subscribe", "payload": {"query": FOLLOW, "variables": {"id": ident}}}
    await ws.send(json.dumps(message))  # type: ignore[attr-defined]


async def nothing_pending(ws: object) -> None:
    await ws.send(json.dumps({"type": "ping"}))  # type: ignore[attr-defined]
    assert await recv(ws) == {"type": "pong"}  # type: ignore[arg-type]


async def test_a_change_after_subscribing_is_told_and_earlier_ones_are_not(emu: EmulatorServer, flow: Flow) -> None:
    poster, project = ARTWORK_IDS[1], PROJECT_IDS[1]
    assert "errors" not in flow.gql(ALICE_TOKEN, RENAME, {"p": project, "a": poster, "n": "Before"}).json()
    async with session(emu, ALICE_TOKEN) as alice:
        assert await recv(alice) == {"type": "connection_ack"}
        await follow(alice, poster)
        await nothing_pending(alice)  # the rename before subscribing is not replayed
        assert "errors" not in flow.gql(ALICE_TOKEN, RENAME, {"p": project, "a": poster, "n": "After"}).json()
        event = await recv(alice)
    assert event["type"] == "next"
    assert event["payload"]["data"]["artwork"] == {"id": poster, "name": "After"}


async def test_another_organisations_artwork_is_not_found_at_subscribe_time(emu: EmulatorServer) -> None:
    async with session(emu, BOB_TOKEN) as bob:
        assert await recv(bob) == {"type": "connection_ack"}
        await follow(bob, ARTWORK_IDS[1])
        answer = await recv(bob)
    assert answer["type"] == "error"
    assert "not found" in json.dumps(answer["payload"]).lower()


@pytest.mark.parametrize("close_on_expiry", [True, False])
async def test_a_socket_whose_bearer_stops_working_is_closed_or_kept_as_the_knob_says(
    emu: EmulatorServer, flow: Flow, close_on_expiry: bool
) -> None:
    """Strict (default): a follow lives no longer than its bearer (close 4401, so the client comes
    back with a fresh one). Off: the socket keeps streaming on the token it was opened with."""
    poster, project = ARTWORK_IDS[1], PROJECT_IDS[1]
    emu.knobs.update(
        {"ws_close_on_expiry": close_on_expiry, "static_tokens": {"cway-static-short": "alice@contoso.example"}}
    )
    try:
        async with session(emu, "cway-static-short") as alice:
            assert await recv(alice) == {"type": "connection_ack"}
            await follow(alice, poster)
            await nothing_pending(alice)
            del emu.knobs.static_tokens["cway-static-short"]  # the bearer stops working (revoked, expired)
            if close_on_expiry:
                assert await close_code(alice) == 4401
                assert emu.counters.get("graphql_ws_expired", 0) >= 1
            else:
                await asyncio.sleep(1.0)  # two watchdog periods would have passed
                assert "errors" not in flow.gql(ALICE_TOKEN, RENAME, {"p": project, "a": poster, "n": "Kept"}).json()
                event = await recv(alice)
                assert event["payload"]["data"]["artwork"]["name"] == "Kept"
    finally:
        emu.knobs.update({"ws_close_on_expiry": True})
