"""Following an artwork: the approver is told when someone else approves it, in both MCP revisions.

Spawned shims (the environment an MCP client passes), one daemon, the emulator: Alice reads an
artwork (its ``resource_link``), follows ``cway://artworks/<id>``; Dave approves it through his own
shim; Alice's client is told, and reads the new state from the resource. Behind it: Cway's
``artwork(id)`` subscription over graphql-transport-ws with Alice's bearer. One test runs the follow
across token expiries (the emulator closes a socket whose bearer expired, as strict servers do) and
checks the change is still told, over a fresh bearer.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from mcp import Client
from mcp.types import ResourceLink, TextResourceContents

from cway_emulator.fixtures import ALICE, ARTWORK_IDS, DAVE
from cway_emulator.server import EmulatorServer
from tests.helpers.daemon import RunningDaemon, daemon_env, running_daemon
from tests.shim.harness import first_listened_event, shim_params, shim_session, sign_in

CEREAL_BOX = ARTWORK_IDS[4]  # FOR_REVIEW; approvers Alice and Dave (Contoso)
URI = f"cway://artworks/{CEREAL_BOX}"
FABRIKAM_LABEL = ARTWORK_IDS[7]  # another organisation's artwork
TOLD_WITHIN_SECONDS = 20


class Updates:
    """The ``notifications/resources/updated`` a client received."""

    def __init__(self) -> None:
        self.uris: list[str] = []
        self.arrived = asyncio.Event()

    async def __call__(self, message: Any) -> None:
        if getattr(message, "method", None) == "notifications/resources/updated":
            self.uris.append(str(message.params.uri))
            self.arrived.set()


async def _dave_approves(env: dict[str, str], emu: EmulatorServer) -> None:
    async with shim_session({**env, "CWAY_USERNAME": DAVE}, trimmed=True) as dave:
        await sign_in(dave, emu, DAVE)
        await dave.ok("approve_artwork", {"artwork_id": CEREAL_BOX})


@pytest.mark.filterwarnings("ignore:resources/.*subscribe is removed")
async def test_an_approver_following_an_artwork_is_told_when_another_user_approves_it(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon
) -> None:
    updates = Updates()
    async with shim_session({**env, "CWAY_USERNAME": ALICE}, trimmed=True, message_handler=updates) as alice:
        assert alice.session.initialize_result is not None
        caps = alice.session.initialize_result.capabilities.resources
        assert caps is not None and caps.subscribe is True
        await sign_in(alice, emu, ALICE)
        templates = {t.uri_template for t in (await alice.session.list_resource_templates()).resource_templates}
        assert {"cway://artworks/{id}", "cway://projects/{id}"} <= templates

        artwork = await alice.ok("get_artwork", {"artwork_id": CEREAL_BOX})
        links = [str(block.uri) for block in artwork.content if isinstance(block, ResourceLink)]
        assert URI in links

        await alice.session.subscribe_resource(URI)
        await asyncio.sleep(0.5)  # the follow is open at Cway before Dave acts (no replay, as at Cway)
        assert not updates.arrived.is_set()

        await _dave_approves(env, emu)

        await asyncio.wait_for(updates.arrived.wait(), TOLD_WITHIN_SECONDS)
        assert updates.uris[0] == URI
        read = await alice.session.read_resource(URI)
        (content,) = read.contents
        assert isinstance(content, TextResourceContents)
        assert json.loads(content.text)["state"] == "APPROVED"

        # unsubscribed: the next change is not told
        await alice.session.unsubscribe_resource(URI)
        await asyncio.sleep(0.3)
        told = len(updates.uris)
        async with shim_session({**env, "CWAY_USERNAME": DAVE}, trimmed=True) as dave:
            await dave.ok("rename_artwork", {"artwork_id": CEREAL_BOX, "name": "Cereal Box Front v2"})
        await asyncio.sleep(1.0)
        assert len(updates.uris) == told

        with pytest.raises(Exception, match=r"cway://artworks/<id>"):
            await alice.session.subscribe_resource("cway://artworks/not-an-id")
        with pytest.raises(Exception, match=rf"Cannot follow artwork {FABRIKAM_LABEL}: .*not found"):
            await alice.session.subscribe_resource(f"cway://artworks/{FABRIKAM_LABEL}")


async def test_the_same_follow_at_2026_07_28_through_subscriptions_listen(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon
) -> None:
    async with shim_session({**env, "CWAY_USERNAME": ALICE}, trimmed=True) as first:  # signs in once
        await sign_in(first, emu, ALICE)
    async with Client(shim_params({**env, "CWAY_USERNAME": ALICE}, trimmed=True)) as alice:  # SDK default: 2026-07-28
        async with alice.listen(resource_subscriptions=[URI]) as subscription:
            assert subscription.honored.resource_subscriptions == [URI]
            await asyncio.sleep(0.5)
            await _dave_approves(env, emu)
            event = await first_listened_event(subscription, TOLD_WITHIN_SECONDS)
    assert getattr(event, "uri", None) == URI


@pytest.mark.filterwarnings("ignore:resources/.*subscribe is removed")
async def test_a_follow_survives_its_token_expiring_and_is_refreshed(emu: EmulatorServer) -> None:
    """Access tokens live 6 s (the daemon refreshes them 3 s before expiry); the emulator closes a
    socket once its bearer expired. After several expiries the follow is still there, on a new token."""
    emu.reset()
    emu.knobs.update({"cway_access_lifetime": 6})
    env = daemon_env({**emu.env(), "CWAY_REFRESH_THRESHOLD_SECONDS": "3"})
    emu.register_redirect_uri(env["AZURE_REDIRECT_URI"])
    with running_daemon(env, cleanup=True):
        updates = Updates()
        async with shim_session({**env, "CWAY_USERNAME": ALICE}, trimmed=True, message_handler=updates) as alice:
            await sign_in(alice, emu, ALICE)
            await alice.session.subscribe_resource(URI)
            expired_before = emu.counters.get("graphql_ws_expired", 0)
            deadline = asyncio.get_running_loop().time() + 30
            while emu.counters.get("graphql_ws_expired", 0) < expired_before + 2:  # two sockets outlived their token
                assert asyncio.get_running_loop().time() < deadline, "the emulator never closed an expired socket"
                await asyncio.sleep(0.5)
            assert not updates.arrived.is_set()
            await asyncio.sleep(1.5)  # reconnected (first pause 1 s) with the refreshed bearer
            await _dave_approves(env, emu)
            await asyncio.wait_for(updates.arrived.wait(), TOLD_WITHIN_SECONDS)
            assert updates.uris == [URI]
            assert emu.counters.get("cway_token_refresh", 0) >= 2
