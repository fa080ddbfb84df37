"""The emulator's zip jobs and its ``download`` subscription: the zip is announced to its owner's
open subscriptions once the job is ``download_seconds`` old on the emulator clock, never to
anyone else, and never replayed to a subscriber who arrives later."""

from __future__ import annotations

import json

from cway_contract.clock import ManualClock
from cway_emulator import EmulatorServer
from cway_emulator.fixtures import uid
from tests.emulator.conftest import Flow
from tests.emulator.test_graphql_ws import ALICE_TOKEN, BOB_TOKEN, recv, session

DOWNLOADS = "subscription { download { username fileId shareId } }"
JOB = "mutation($s: [DownloadFileDescriptorInput!]!, $n: String) { createDownloadJob(selections: $s, zipName: $n) }"
LOGO = [{"name": "logo.svg", "type": "FILE", "fileId": uid(0x0F, 1)}]


async def listen(ws: object) -> None:
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": DOWNLOADS}}))  # type: ignore[attr-defined]


async def nothing_pending(ws: object) -> None:
    """A ping answered by a pong proves no event was queued before it."""
    await ws.send(json.dumps({"type": "ping"}))  # type: ignore[attr-defined]
    assert await recv(ws) == {"type": "pong"}  # type: ignore[arg-type]


async def test_the_zip_is_announced_to_its_owner_only(emu: EmulatorServer, flow: Flow, clock: ManualClock) -> None:
    async with session(emu, ALICE_TOKEN) as alice, session(emu, BOB_TOKEN) as bob:
        assert await recv(alice) == {"type": "connection_ack"} and await recv(bob) == {"type": "connection_ack"}
        await listen(alice)
        await listen(bob)
        body = flow.gql(ALICE_TOKEN, JOB, {"s": LOGO, "n": "brand"}).json()
        assert "errors" not in body, body
        await nothing_pending(alice)  # the clock stands still: not ready yet
        clock.advance(seconds=1)
        event = await recv(alice)
        assert event["type"] == "next"
        announced = event["payload"]["data"]["download"]
        assert announced["username"] == "alice@contoso.example" and announced["shareId"] is None
        await nothing_pending(bob)
    zip_file = flow.gql(
        ALICE_TOKEN, "query($f: UUID!) { file(uuid: $f) { name contentType } }", {"f": announced["fileId"]}
    )
    assert zip_file.json()["data"]["file"] == {"name": "brand.zip", "contentType": "application/zip"}
    foreign = flow.gql(BOB_TOKEN, "query($f: UUID!) { tempFileDownloadUrl(fileId: $f) }", {"f": announced["fileId"]})
    assert "not found" in foreign.json()["errors"][0]["message"]


async def test_a_late_subscriber_is_not_told(emu: EmulatorServer, flow: Flow, clock: ManualClock) -> None:
    assert "errors" not in flow.gql(ALICE_TOKEN, JOB, {"s": LOGO, "n": "early"}).json()
    clock.advance(seconds=1)  # ready before anyone listens
    async with session(emu, ALICE_TOKEN) as alice:
        assert await recv(alice) == {"type": "connection_ack"}
        await listen(alice)
        await nothing_pending(alice)
        assert "errors" not in flow.gql(ALICE_TOKEN, JOB, {"s": LOGO, "n": "late"}).json()
        clock.advance(seconds=1)
        event = await recv(alice)  # the first announcement is the second zip: the first was never replayed
    first = event["payload"]["data"]["download"]["fileId"]
    named = flow.gql(ALICE_TOKEN, "query($f: UUID!) { file(uuid: $f) { name } }", {"f": first}).json()
    assert named["data"]["file"]["name"] == "late.zip"
