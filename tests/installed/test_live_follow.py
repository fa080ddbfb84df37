"""A follow from the installed ``cway-mcp``: the approver is told when another user approves.

The follow runs on code and dependencies only the installed wheel can show missing: the
graphql-transport-ws client, the ``artwork`` subscription document (package data), the SDK's
``subscriptions/listen`` wiring. Both people use the installed shim, spawned with a desktop
client's environment, against the installed daemon.
"""

from __future__ import annotations

import asyncio

import pytest
from mcp import Client

from cway_emulator.fixtures import ALICE, ARTWORK_IDS, DAVE
from cway_emulator.server import EmulatorServer
from tests.helpers.artifacts import InstalledVenv
from tests.helpers.daemon import RunningDaemon
from tests.shim.harness import first_listened_event, shim_params, shim_session, sign_in

pytestmark = pytest.mark.slow
CEREAL_BOX = ARTWORK_IDS[4]  # FOR_REVIEW; approvers Alice and Dave (Contoso)
URI = f"cway://artworks/{CEREAL_BOX}"
TOLD_WITHIN_SECONDS = 20


async def test_the_installed_shim_tells_a_follower_when_another_user_approves(
    emu: EmulatorServer, installed_daemon: RunningDaemon, installed: InstalledVenv
) -> None:
    command = [str(installed.exe("cway-mcp"))]
    alice_env = {**installed_daemon.env, "CWAY_USERNAME": ALICE}
    dave_env = {**installed_daemon.env, "CWAY_USERNAME": DAVE}
    for user, env in ((ALICE, alice_env), (DAVE, dave_env)):
        async with shim_session(env, trimmed=True, command=command) as shim:
            await sign_in(shim, emu, user)

    async with Client(shim_params(alice_env, trimmed=True, command=command)) as alice:  # 2026-07-28
        async with alice.listen(resource_subscriptions=[URI]) as subscription:
            assert subscription.honored.resource_subscriptions == [URI]
            await asyncio.sleep(0.5)  # the follow is open at Cway before Dave acts (no replay, as at Cway)
            async with shim_session(dave_env, trimmed=True, command=command) as dave:
                await dave.ok("approve_artwork", {"artwork_id": CEREAL_BOX})
            event = await first_listened_event(subscription, TOLD_WITHIN_SECONDS)
        assert getattr(event, "uri", None) == URI
        read = await alice.read_resource(URI)
        assert '"APPROVED"' in str(read.contents[0])
